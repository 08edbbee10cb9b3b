package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook/webhooktest"
)

func TestMemoryStoreConforms(t *testing.T) {
	webhooktest.TestStore(t, func(_ *testing.T, now func() time.Time) webhook.Store {
		return webhook.NewMemoryStore(0, webhook.WithStoreClock(now))
	})
}

func TestNewTrackerRefusesANonPositiveLease(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "webhook: ") {
					t.Errorf("lease %v: panic %v, want one starting with webhook:", d, r)
				}
			}()
			webhook.NewTracker(webhook.NewMemoryStore(0), webhook.WithLease(d))
		}()
	}
}

func TestHoldFromOutsideATracker(t *testing.T) {
	if h, ok := webhook.HoldFrom(t.Context()); ok {
		t.Errorf("HoldFrom = %+v, true outside of Process", h)
	}
}

// event returns a decoded subscription event with message id and version.
func event(t testing.TB, typ webhook.Type, id, subID string, version webhook.Version) *webhook.Event {
	t.Helper()
	ev, err := webhook.Decode(fmt.Appendf(nil, `{"eventType":%q,"data":{"subscription":{"id":%q,"resource_version":%d}}}`, typ, subID, version))
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = id
	return ev
}

func TestTrackerProcess(t *testing.T) {
	type step struct {
		ev      *webhook.Event
		fail    bool
		want    webhook.Outcome
		wantErr bool
		ran     bool
	}
	errHandler := errors.New("handler failed")
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "s", 2), want: webhook.Processed, ran: true},
		}},
		{"duplicate", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Duplicate},
		}},
		{"out of order: the older one is stale", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "s", 2), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Stale},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Duplicate},
		}},
		{"same version, another message (updated and status-updated of one change)", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 2), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionStatusUpdated, "m2", "s", 2), want: webhook.Processed, ran: true},
		}},
		{"other entities are independent", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "a", 9), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "b", 1), want: webhook.Processed, ran: true},
		}},
		{"failure, then redelivery", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), fail: true, wantErr: true, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Duplicate},
		}},
		{"a failed newer event does not make the older stale", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "s", 2), fail: true, wantErr: true, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 1), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "s", 2), want: webhook.Processed, ran: true},
		}},
		{"no version: never stale", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "m1", "s", 5), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m2", "s", 0), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "m3", "s", 4), want: webhook.Stale},
		}},
		{"no message id (legacy): versions only", []step{
			{ev: event(t, webhook.SubscriptionUpdated, "", "s", 2), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "", "s", 2), want: webhook.Processed, ran: true},
			{ev: event(t, webhook.SubscriptionUpdated, "", "s", 1), want: webhook.Stale},
		}},
		{"unknown type: once, no order", []step{
			{ev: event(t, "invoice.generated", "m1", "s", 1), want: webhook.Processed, ran: true},
			{ev: event(t, "invoice.generated", "m1", "s", 1), want: webhook.Duplicate},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := webhook.NewTracker(webhook.NewMemoryStore(0))
			for i, s := range tt.steps {
				ran := false
				out, err := tr.Process(t.Context(), s.ev, func(context.Context) error {
					ran = true
					if s.fail {
						return errHandler
					}
					return nil
				})
				if s.wantErr != (err != nil) || (err != nil && !errors.Is(err, errHandler)) {
					t.Fatalf("step %d: error %v, want error %v", i, err, s.wantErr)
				}
				if err == nil && out != s.want {
					t.Errorf("step %d: %s, want %s", i, out, s.want)
				}
				if ran != s.ran {
					t.Errorf("step %d: ran %v, want %v", i, ran, s.ran)
				}
			}
		})
	}
}

// Two deliveries of one message at once: one runs, the other is refused, and the
// message is processed once.
func TestTrackerConcurrentDelivery(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	ev := event(t, webhook.SubscriptionUpdated, "m1", "s", 1)
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := tr.Process(context.Background(), ev, func(context.Context) error {
			close(started)
			<-release
			return nil
		})
		done <- err
	}()
	<-started
	ran := false
	_, err := tr.Process(t.Context(), ev, func(context.Context) error { ran = true; return nil })
	if !errors.Is(err, webhook.ErrInProgress) || ran {
		t.Errorf("second delivery: %v (ran %v), want ErrInProgress", err, ran)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out, err := tr.Process(t.Context(), ev, func(context.Context) error { ran = true; return nil }); out != webhook.Duplicate || err != nil || ran {
		t.Errorf("third delivery: %s %v, want duplicate", out, err)
	}
}

// Two messages of one entity do not run at once: the second waits for the
// first (here it gives up, its context being done), and its claim is released.
func TestTrackerSerializesAnEntity(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := tr.Process(context.Background(), event(t, webhook.SubscriptionUpdated, "m1", "s", 1), func(context.Context) error {
			close(started)
			<-release
			return nil
		})
		done <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	second := event(t, webhook.SubscriptionStatusUpdated, "m2", "s", 2)
	if _, err := tr.Process(ctx, second, func(context.Context) error { t.Error("ran while m1 runs"); return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("second message: %v, want to wait (context.Canceled)", err)
	}
	// Another entity does not wait.
	if out, err := tr.Process(ctx, event(t, webhook.SubscriptionUpdated, "m3", "other", 1), func(context.Context) error { return nil }); out != webhook.Processed || err != nil {
		t.Errorf("other entity: %s %v", out, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out, err := tr.Process(t.Context(), second, func(context.Context) error { return nil }); out != webhook.Processed || err != nil {
		t.Errorf("m2 delivered again: %s %v, want processed", out, err)
	}
}

// A Store whose recording fails: the event may be processed again, never lost.
type failingStore struct {
	webhook.Store
	failAdvance bool
}

func (f failingStore) AdvanceVersion(ctx context.Context, kind, id string, v webhook.Version) (bool, error) {
	if f.failAdvance {
		return false, errors.New("database down")
	}
	return f.Store.AdvanceVersion(ctx, kind, id, v)
}

func TestTrackerStoreFailure(t *testing.T) {
	mem := webhook.NewMemoryStore(0)
	ev := event(t, webhook.SubscriptionUpdated, "m1", "s", 1)
	runs := 0
	fn := func(context.Context) error { runs++; return nil }
	if _, err := webhook.NewTracker(failingStore{mem, true}).Process(t.Context(), ev, fn); err == nil {
		t.Fatal("no error when recording fails")
	}
	if out, err := webhook.NewTracker(failingStore{mem, false}).Process(t.Context(), ev, fn); out != webhook.Processed || err != nil {
		t.Errorf("redelivery: %s %v, want processed", out, err)
	}
	if runs != 2 {
		t.Errorf("ran %d times, want 2 (at least once)", runs)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[webhook.Outcome]string{webhook.Processed: "processed", webhook.Duplicate: "duplicate", webhook.Stale: "stale", 0: "Outcome(0)"} {
		if o.String() != want {
			t.Errorf("%d: %s", int(o), o)
		}
	}
}
