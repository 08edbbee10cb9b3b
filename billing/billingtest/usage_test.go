package billingtest_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestUsageReceivedCountsAppliedUsagePerItemAcrossPeriods(t *testing.T) {
	srv := newServer(t)
	c := srv.Client()
	ctx := t.Context()
	add := func(q float64, opts ...billing.RequestEditorFn) error {
		_, err := c.SetSubscriptionItemUsage(ctx, billingtest.SubscriptionID, billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: q}, opts...)
		return err
	}
	if err := add(3); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false); err != nil {
		t.Fatal(err)
	}
	if err := add(4); err != nil {
		t.Fatal(err)
	}
	// Applied, then the connection dropped: counted.
	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Drop: true, Apply: true})
	if err := add(5); !errors.Is(err, billing.ErrOutcomeUnknown) {
		t.Fatalf("dropped after applying: %v, want ErrOutcomeUnknown", err)
	}
	// Refused before applying: not counted.
	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Status: 503})
	if err := add(100); err == nil {
		t.Fatal("503: no error")
	}
	if err := add(7, billing.Sandbox(true)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(billingtest.ItemUsage{Quantity: 12, Calls: 3},
		srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, false)); diff != "" {
		t.Errorf("live (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(billingtest.ItemUsage{Quantity: 7, Calls: 1},
		srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, true)); diff != "" {
		t.Errorf("sandbox (-want +got):\n%s", diff)
	}
	if got := srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false); got != 9 {
		t.Errorf("the current period's usage = %g, want 9", got)
	}
}
