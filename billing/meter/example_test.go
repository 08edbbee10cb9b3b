package meter_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

// A service records each API call it serves under the call's id, then a flush
// reports them to Billing in one call per subscription item.
func Example() {
	srv := billingtest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	m, err := meter.New(srv.Client(), meter.NewMemoryStore(), meter.WithSandbox(true))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	for _, id := range []string{"req-1", "req-2", "req-3", "req-2"} { // req-2 recorded twice
		err := m.Add(ctx, meter.Usage{
			Key:            "api-call/" + id,
			SubscriptionID: billingtest.SubscriptionID,
			ItemID:         billingtest.APICallsAddonID,
			Quantity:       1,
		})
		if err != nil {
			panic(err)
		}
	}
	r, err := m.Flush(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Printf("sent %d batch, %g units\n", r.Sent, r.Units)
	got := srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, true)
	fmt.Printf("Billing counted %g units in %d call\n", got.Quantity, got.Calls)
	// Output:
	// sent 1 batch, 3 units
	// Billing counted 3 units in 1 call
}

// fixedClock is a Clock that stays at one time (examples).
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                         { return c.t }
func (c fixedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// A call whose answer was lost is parked; once the period's invoice exists,
// Parked proposes what happened, and Resolve records it.
func ExampleMeter_Parked() {
	now := time.Date(2025, 12, 15, 9, 0, 0, 0, time.UTC)
	srv := billingtest.NewServer(billingtest.WithClock(func() time.Time { return now }))
	defer srv.Close()
	ctx := context.Background()
	m, err := meter.New(srv.Client(), meter.NewMemoryStore(), meter.WithClock(fixedClock{now}))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	if err := m.Add(ctx, meter.Usage{Key: "emails/2025-12-15", SubscriptionID: billingtest.SubscriptionID,
		ItemID: billingtest.APICallsAddonID, Quantity: 40}); err != nil {
		panic(err)
	}
	// Billing counts the usage, then the answer is lost: the outcome is unknown.
	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Status: 502, Apply: true})
	r, err := m.Flush(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("parked batches:", len(r.Parked))

	// The period closes (on 2026-01-01, the seed's renewal date): its invoice tells.
	if _, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false); err != nil {
		panic(err)
	}
	parked, err := m.Parked(ctx)
	if err != nil {
		panic(err)
	}
	for _, p := range parked {
		fmt.Printf("batch of %g units: proposed %s from %s\n", p.Batch.Quantity, p.Proposal.Resolution, p.Proposal.InvoiceID)
		if err := m.Resolve(ctx, p.Batch.ID, p.Proposal.Resolution, "from "+p.Proposal.InvoiceID); err != nil {
			panic(err)
		}
	}
	if r, err = m.Flush(ctx); err != nil {
		panic(err)
	}
	fmt.Println("sent again:", r.Sent, "- Billing counted in all:", srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, false).Quantity)
	// Output:
	// parked batches: 1
	// batch of 40 units: proposed applied from INV-2026-00013
	// sent again: 0 - Billing counted in all: 40
}
