package webhook_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// TestHoldTellsALateCreationEvent: a creation event that comes after newer
// events of its entity runs, and its Hold says it is late, with the newest
// version processed, so that its function does not undo the newer events.
func TestHoldTellsALateCreationEvent(t *testing.T) {
	tr := webhook.NewTracker(webhook.NewMemoryStore(0))
	type seen struct {
		Version, Newest webhook.Version
		Late            bool
	}
	var got []seen
	for _, ev := range []*webhook.Event{
		event(t, webhook.SubscriptionUpdated, "m2", "sub_1", 2000),
		event(t, webhook.SubscriptionCreated, "m1", "sub_1", 1000), // its retry, late
		event(t, webhook.SubscriptionUpdated, "m3", "sub_1", 3000),
	} {
		out, err := tr.Process(t.Context(), ev, func(ctx context.Context) error {
			h, _ := webhook.HoldFrom(ctx)
			got = append(got, seen{h.Version, h.Newest, h.Late()})
			return nil
		})
		if err != nil || out != webhook.Processed {
			t.Fatalf("%s: %v, %v; want it processed", ev.Type, out, err)
		}
	}
	want := []seen{{2000, 0, false}, {1000, 2000, true}, {3000, 2000, false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holds (-want +got):\n%s", diff)
	}
}
