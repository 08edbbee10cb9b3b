package meter_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// truthAPI learns, call by call, whether Billing applied each batch: the
// Meter sends one call at a time (WithConcurrency(1)), and the fake's count of
// applied calls tells.
type truthAPI struct {
	billing.API
	srv     *billingtest.Server
	mu      sync.Mutex
	applied map[int64]int
}

func (a *truthAPI) SetSubscriptionItemUsage(ctx context.Context, subscriptionID, itemID string, body gen.UsageInput, opts ...billing.RequestEditorFn) (*gen.UsageResponse, error) {
	b, _ := meter.BatchFromContext(ctx)
	before := a.srv.UsageReceived(subscriptionID, itemID, false).Calls
	resp, err := a.API.SetSubscriptionItemUsage(ctx, subscriptionID, itemID, body, opts...)
	after := a.srv.UsageReceived(subscriptionID, itemID, false).Calls
	a.mu.Lock()
	a.applied[b.ID] += after - before
	a.mu.Unlock()
	return resp, err
}

// TestFaultFamiliesKeepTheAccounts records usage and flushes it while Billing
// and its token endpoint misbehave as the fault matrix's families do, then
// checks the crash test's invariants: every unit recorded is applied or parked
// (not applied), none is applied twice, and resolving the parked batches to
// the truth ends with Billing's count equal to what was recorded.
func TestFaultFamiliesKeepTheAccounts(t *testing.T) {
	families := []struct {
		name   string
		faults []func(srv *billingtest.Server)
	}{
		{"5xx", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 500}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 503, Apply: true}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 502, Times: 2}) },
		}},
		{"drop", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Drop: true, Apply: true}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Drop: true}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Truncate}) },
		}},
		{"429", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 429, RetryAfter: "0"}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 429, RetryAfter: "0", Times: 5}) },
		}},
		{"token", []func(*billingtest.Server){
			func(s *billingtest.Server) {
				s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 503, Times: 3})
			},
			func(s *billingtest.Server) {
				s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Drop: true, Times: 3})
			},
			func(s *billingtest.Server) { s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 401}) },
		}},
		{"deadline", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Stall}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Stall, Apply: true}) },
		}},
	}
	subs := []string{"S0", "S1", "S2"}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			seed, _ := crashSeedData(0)
			for _, s := range subs {
				sub := billingtest.DefaultSeed().Subscriptions[0]
				sub.ID = s
				seed.Subscriptions = append(seed.Subscriptions, sub)
			}
			srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithSeed(seed))
			db, err := sqlstore.OpenSQLite(dbtest.SQLitePath(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			store, err := db.Meter(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			api := &truthAPI{API: srv.Client(billing.WithRetryPolicy(billing.RetryPolicy{MaxAttempts: 2})), srv: srv, applied: map[int64]int{}}
			// A short lease: a stalled call meets its deadline quickly.
			m := newMeter(t, api, store, meter.WithConcurrency(1), meter.WithLease(400*time.Millisecond))
			ctx := t.Context()
			recorded := 0.0
			for n := range 60 {
				k := fmt.Sprintf("fact-%d", n)
				if err := m.Add(ctx, meter.Usage{Key: k, SubscriptionID: subs[n%len(subs)], ItemID: item, Quantity: quantityOf(k)}); err != nil {
					t.Fatal(err)
				}
				recorded += quantityOf(k)
				if n%6 == 5 {
					fam.faults[(n/6)%len(fam.faults)](srv)
					if _, err := m.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := drain(ctx, m, aheadClock(0)); err != nil {
				t.Fatal(err)
			}
			all, err := m.Batches(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			applied, parked := 0.0, 0.0
			for _, s := range subs {
				applied += srv.UsageReceived(s, item, false).Quantity
			}
			nParked := 0
			for _, b := range all {
				n := api.applied[b.ID]
				switch {
				case n > 1:
					t.Errorf("batch %d applied %d times", b.ID, n)
				case b.State == meter.Sent && n != 1:
					t.Errorf("batch %d sent in the journal, applied %d times", b.ID, n)
				case b.State == meter.Unknown:
					nParked++
					if n == 0 {
						parked += b.Quantity
					}
				case b.State != meter.Sent:
					t.Errorf("batch %d ends %s (%s)", b.ID, b.State, b.Error)
				}
			}
			if !same(recorded, applied+parked) {
				t.Errorf("recorded %g, applied %g + parked and not applied %g", recorded, applied, parked)
			}
			for _, b := range all {
				if b.State == meter.Unknown {
					r := meter.NotApplied
					if api.applied[b.ID] > 0 {
						r = meter.Applied
					}
					if err := m.Resolve(ctx, b.ID, r, "the truth"); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := drain(ctx, m, aheadClock(0)); err != nil {
				t.Fatal(err)
			}
			after := 0.0
			for _, s := range subs {
				after += srv.UsageReceived(s, item, false).Quantity
			}
			if !same(after, recorded) {
				t.Errorf("after resolving: Billing counted %g, %g recorded", after, recorded)
			}
			t.Logf("%s: %g units recorded, %g applied through the faults, %d batches parked (%g units not applied), %d batches in all",
				fam.name, recorded, applied, nParked, parked, len(all))
		})
	}
}
