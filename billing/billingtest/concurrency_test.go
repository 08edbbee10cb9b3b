package billingtest_test

import (
	"sync"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestConcurrentUsage(t *testing.T) {
	srv := newServer(t)
	c := fullClient(t, srv)
	const workers, calls = 20, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range calls {
				res, err := postUsage(t.Context(), c, 1)
				if err != nil || res.JSON201 == nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	// Readers and other writers at the same time, for the race detector.
	wg.Go(func() {
		for q := 1.0; q <= 20; q++ {
			if _, err := c.SetSubscriptionItemQuantityWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.UsersPlanID, gen.QuantityInput{Quantity: q}); err != nil {
				t.Error(err)
			}
			srv.Subscription(billingtest.SubscriptionID, false)
			srv.Invoices(billingtest.SubscriptionID, false)
		}
	})
	wg.Wait()
	if got := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); got != workers*calls {
		t.Errorf("usage = %v, want %d", got, workers*calls)
	}
	if r, a := srv.Requests(usageOp), srv.Applied(usageOp); r != workers*calls || a != workers*calls {
		t.Errorf("Requests, Applied = %d, %d, want %d", r, a, workers*calls)
	}
}
