package meter_test

import (
	"context"
	"fmt"

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
