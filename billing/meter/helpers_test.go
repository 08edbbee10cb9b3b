package meter_test

import (
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

const (
	sub  = billingtest.SubscriptionID
	item = billingtest.APICallsAddonID // metered, per unit, 2 cents a unit
	op   = "setSubscriptionItemUsage"
)

// newMeter returns a Meter on store sending to api, closed with t.
func newMeter(t *testing.T, api billing.API, store meter.Store, opts ...meter.Option) *meter.Meter {
	t.Helper()
	m, err := meter.New(api, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func add(t *testing.T, m *meter.Meter, key string, q float64) {
	t.Helper()
	if err := m.Add(t.Context(), meter.Usage{Key: key, SubscriptionID: sub, ItemID: item, Quantity: q}); err != nil {
		t.Fatal(err)
	}
}

func flush(t *testing.T, m *meter.Meter) meter.Report {
	t.Helper()
	r, err := m.Flush(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}
