package meter_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

func TestFlushSendsOneCallPerItemAndCountsAKeyOnce(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	m := newMeter(t, srv.Client(), meter.NewMemoryStore())
	add(t, m, "order-1", 2)
	add(t, m, "order-2", 3)
	add(t, m, "order-1", 2) // the same fact again: counted once
	r := flush(t, m)
	if r.Sealed != 1 || r.Sent != 1 || r.Units != 5 {
		t.Fatalf("report = %+v, want 1 batch sealed and sent, 5 units", r)
	}
	if diff := cmp.Diff(billingtest.ItemUsage{Quantity: 5, Calls: 1}, srv.UsageReceived(sub, item, false)); diff != "" {
		t.Errorf("server (-want +got):\n%s", diff)
	}
	if r := flush(t, m); r.Sealed != 0 || r.Sent != 0 {
		t.Errorf("a flush with nothing recorded: %+v", r)
	}
	add(t, m, "order-1", 2) // after it was sent: still counted once
	if r := flush(t, m); r.Sent != 0 {
		t.Errorf("a key sent once was sent again: %+v", r)
	}
}

func TestModeIsPartOfTheKeyAndOfTheCall(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	store := meter.NewMemoryStore()
	// The client's own sandbox setting does not decide: each Meter's mode does.
	live := newMeter(t, srv.Client(billing.WithSandbox(true)), store)
	sandbox := newMeter(t, srv.Client(), store, meter.WithSandbox(true))
	add(t, live, "k", 4)
	add(t, sandbox, "k", 6) // the same key in the other mode is another fact
	if live.Mode() != meter.Live || sandbox.Mode() != meter.Sandbox {
		t.Fatalf("modes %s, %s", live.Mode(), sandbox.Mode())
	}
	if r := flush(t, sandbox); r.Units != 6 {
		t.Fatalf("sandbox flush sent %g units, want 6", r.Units)
	}
	if r := flush(t, live); r.Units != 4 {
		t.Fatalf("live flush sent %g units, want 4", r.Units)
	}
	if got := srv.UsageReceived(sub, item, false).Quantity; got != 4 {
		t.Errorf("live usage on the server = %g, want 4", got)
	}
	if got := srv.UsageReceived(sub, item, true).Quantity; got != 6 {
		t.Errorf("sandbox usage on the server = %g, want 6", got)
	}
}

func TestRefusalIsKeptWithItsError(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	m := newMeter(t, srv.Client(), meter.NewMemoryStore())
	// A plan item is not metered: Billing answers 400.
	if err := m.Add(t.Context(), meter.Usage{Key: "k", SubscriptionID: sub, ItemID: billingtest.UsersPlanID, Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	r := flush(t, m)
	if len(r.Refused) != 1 || !strings.Contains(r.Refused[0].Error, "400") {
		t.Fatalf("report = %+v, want one refused batch with the 400", r)
	}
	if r := flush(t, m); r.Sent+r.Retry+len(r.Refused) != 0 {
		t.Fatalf("a refused batch was sent again: %+v", r)
	}
	if n := srv.Requests(op); n != 1 {
		t.Errorf("%d usage calls, want 1", n)
	}
	refused, err := m.Batches(t.Context(), meter.Refused)
	if err != nil || len(refused) != 1 {
		t.Fatalf("Batches(Refused) = %v, %v", refused, err)
	}
}

func TestNothingSentIsRetriedOnTheNextFlush(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(srv *billingtest.Server)
	}{
		{"429", func(srv *billingtest.Server) { srv.Fault(op, billingtest.Fault{Status: 429, RetryAfter: "0"}) }},
		{"token endpoint down", func(srv *billingtest.Server) { srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 503}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := billingtest.NewServer(billingtest.WithT(t))
			m := newMeter(t, srv.Client(billing.WithRetryPolicy(billing.RetryPolicy{MaxAttempts: 1})), meter.NewMemoryStore(),
				meter.WithConcurrency(1))
			add(t, m, "a", 1)
			if err := m.Add(t.Context(), meter.Usage{Key: "b", SubscriptionID: "other", ItemID: item, Quantity: 1}); err != nil {
				t.Fatal(err)
			}
			tc.fault(srv)
			r := flush(t, m)
			if r.Retry != 1 || r.Sent != 0 {
				t.Fatalf("report = %+v, want the first batch back to pending, the second not tried", r)
			}
			if got := srv.UsageReceived(sub, item, false); got.Calls != 0 {
				t.Fatalf("applied %+v under the fault", got)
			}
			pending, _ := m.Batches(t.Context(), meter.Pending)
			if len(pending) != 2 || pending[0].Error == "" {
				t.Fatalf("pending = %+v, want 2, with the last error", pending)
			}
			r = flush(t, m)
			if r.Sent != 1 || len(r.Refused) != 1 { // "other" is no subscription: 404
				t.Fatalf("next flush: %+v, want one sent and one refused", r)
			}
			if got := srv.UsageReceived(sub, item, false); got != (billingtest.ItemUsage{Quantity: 1, Calls: 1}) {
				t.Fatalf("server = %+v, want 1 unit in 1 call", got)
			}
		})
	}
}

func TestUnknownOutcomeIsParkedAndResolvedFromTheInvoice(t *testing.T) {
	clock := fakeclock.New(time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC))
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithClock(clock.Now))
	m := newMeter(t, srv.Client(), meter.NewMemoryStore(), meter.WithClock(clock))
	ctx := t.Context()

	add(t, m, "a", 10)
	srv.Fault(op, billingtest.Fault{Status: 502}) // not applied
	if r := flush(t, m); len(r.Parked) != 1 {
		t.Fatalf("report = %+v, want one parked", r)
	}
	add(t, m, "b", 5)
	srv.Fault(op, billingtest.Fault{Status: 502, Apply: true}) // applied, answered 502
	if r := flush(t, m); len(r.Parked) != 1 {
		t.Fatalf("report = %+v, want one parked", r)
	}
	add(t, m, "c", 3)
	if r := flush(t, m); r.Sent != 1 || len(r.Parked) != 0 {
		t.Fatalf("report = %+v: a parked batch was sent again?", r)
	}
	if n := srv.Requests(op); n != 3 {
		t.Fatalf("%d usage calls, want 3: parked batches are never sent again on their own", n)
	}

	parked, err := m.Parked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 2 || parked[0].Proposal.Resolution != meter.NoResolution ||
		!strings.Contains(parked[0].Proposal.Reason, "no invoice") {
		t.Fatalf("before the invoice: %+v", parked)
	}
	if diff := cmp.Diff([]meter.Usage{{Key: "a", SubscriptionID: sub, ItemID: item, Quantity: 10, At: clock.Now()}}, parked[0].Usages); diff != "" {
		t.Errorf("usages of the parked batch (-want +got):\n%s", diff)
	}
	if !strings.Contains(parked[0].Batch.Error, billing.ErrOutcomeUnknown.Error()) {
		t.Errorf("parked batch's error = %q", parked[0].Batch.Error)
	}

	// The period closes: the invoice bills (5 + 3) x 2 cents.
	if _, err := srv.CloseBillingPeriod(sub, false); err != nil {
		t.Fatal(err)
	}
	parked, err = m.Parked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := []meter.Resolution{parked[0].Proposal.Resolution, parked[1].Proposal.Resolution}
	if diff := cmp.Diff([]meter.Resolution{meter.NotApplied, meter.Applied}, got); diff != "" {
		t.Fatalf("proposals (-want +got):\n%s\n%+v", diff, parked)
	}
	for _, p := range parked {
		if err := m.Resolve(ctx, p.Batch.ID, p.Proposal.Resolution, "from "+p.Proposal.InvoiceID); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Resolve(ctx, parked[1].Batch.ID, meter.NotApplied, ""); !errors.Is(err, meter.ErrState) {
		t.Fatalf("resolving a sent batch: %v, want ErrState", err)
	}
	if r := flush(t, m); r.Sent != 1 || r.Units != 10 {
		t.Fatalf("after resolving: %+v, want the batch not applied sent", r)
	}
	if got := srv.UsageReceived(sub, item, false).Quantity; got != 18 {
		t.Errorf("server applied %g, want 18 (every unit once)", got)
	}
}

func TestProposalNeedsAPerUnitPrice(t *testing.T) {
	clock := fakeclock.New(time.Date(2025, 12, 15, 10, 0, 0, 0, time.UTC))
	seed := billingtest.DefaultSeed()
	seed.Addons[0].PricingModel = gen.Stairstep
	srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithClock(clock.Now), billingtest.WithSeed(seed))
	m := newMeter(t, srv.Client(), meter.NewMemoryStore(), meter.WithClock(clock))
	add(t, m, "a", 10)
	srv.Fault(op, billingtest.Fault{Status: 502})
	flush(t, m)
	if _, err := srv.CloseBillingPeriod(sub, false); err != nil {
		t.Fatal(err)
	}
	parked, err := m.Parked(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Proposal.Resolution != meter.NoResolution || !strings.Contains(parked[0].Proposal.Reason, "stairstep") {
		t.Fatalf("parked = %+v, want no proposal: the item is not priced per unit", parked)
	}
}

func TestAddChecksTheUsage(t *testing.T) {
	m := newMeter(t, billingtest.NewServer(billingtest.WithT(t)).Client(), meter.NewMemoryStore())
	for _, u := range []meter.Usage{
		{Key: "", SubscriptionID: sub, ItemID: item, Quantity: 1},
		{Key: strings.Repeat("k", meter.MaxKeyLen+1), SubscriptionID: sub, ItemID: item, Quantity: 1},
		{Key: "k", ItemID: item, Quantity: 1},
		{Key: "k", SubscriptionID: sub, Quantity: 1},
		{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: 0},
		{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: -1},
		{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: math.NaN()},
		{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: math.Inf(1)},
		// Text PostgreSQL cannot store: one such usage would fail the
		// journal transaction of every Add committed with it.
		{Key: "k\x00", SubscriptionID: sub, ItemID: item, Quantity: 1},
		{Key: "k\xff", SubscriptionID: sub, ItemID: item, Quantity: 1},
		{Key: "k", SubscriptionID: sub + "\x00", ItemID: item, Quantity: 1},
		{Key: "k", SubscriptionID: sub, ItemID: "\xc3" + item, Quantity: 1},
		// Ids too long for PostgreSQL's indexes (a third of a page): the same.
		{Key: "k", SubscriptionID: strings.Repeat("s", meter.MaxKeyLen+1), ItemID: item, Quantity: 1},
		{Key: "k", SubscriptionID: sub, ItemID: strings.Repeat("i", meter.MaxKeyLen+1), Quantity: 1},
	} {
		if err := m.Add(t.Context(), u); err == nil || strings.Count(err.Error(), "billing:") != 1 {
			t.Errorf("Add(%+v) = %v, want one billing: error", u, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(context.Background(), meter.Usage{Key: "k", SubscriptionID: sub, ItemID: item, Quantity: 1}); !errors.Is(err, meter.ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
}

// flakyStore fails the first Complete, as a database that drops a connection.
type flakyStore struct {
	meter.Store
	failed atomic.Bool
}

func (s *flakyStore) Complete(ctx context.Context, mode meter.Mode, id int64, owner string, to meter.State, errText string, now time.Time) error {
	if s.failed.CompareAndSwap(false, true) {
		return errors.New("connection reset by peer")
	}
	return s.Store.Complete(ctx, mode, id, owner, to, errText, now)
}

func TestOutcomeIsJournaledAgainAfterAJournalFailure(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	m := newMeter(t, srv.Client(), &flakyStore{Store: meter.NewMemoryStore()})
	add(t, m, "a", 3)
	if r := flush(t, m); r.Sent != 1 {
		t.Fatalf("report = %+v, want the batch sent and journaled on the second try", r)
	}
	if sent, _ := m.Batches(t.Context(), meter.Sent); len(sent) != 1 {
		t.Fatalf("sent batches = %+v", sent)
	}
}
