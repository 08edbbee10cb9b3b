package meter_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

func TestBatchOfDecimalQuantitiesIsSentAsTheirDecimalSum(t *testing.T) {
	for _, tc := range []struct {
		name string
		qs   []float64
		want float64
	}{
		{"0.1+0.2", []float64{0.1, 0.2}, 0.3},
		{"ten times 0.1", []float64{0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, 1},
		{"whole units", []float64{1, 2, 3}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := billingtest.NewServer(billingtest.WithT(t))
			m := newMeter(t, srv.Client(), meter.NewMemoryStore())
			for i, q := range tc.qs {
				add(t, m, string(rune('a'+i)), q)
			}
			r := flush(t, m)
			if r.Sent != 1 || r.Units != tc.want {
				t.Errorf("report = %+v, want 1 batch of %g units", r, tc.want)
			}
			if diff := cmp.Diff(billingtest.ItemUsage{Quantity: tc.want, Calls: 1}, srv.UsageReceived(sub, item, false)); diff != "" {
				t.Errorf("server (-want +got):\n%s", diff)
			}
		})
	}
}
