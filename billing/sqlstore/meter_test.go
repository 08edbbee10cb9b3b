package sqlstore

import (
	"context"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter/metertest"
)

func TestMeterStoreConformance(t *testing.T) {
	for _, dialect := range []Dialect{SQLite, Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			metertest.TestStore(t, func(t *testing.T) func() meter.Store {
				open := openers(t)[dialect]
				return func() meter.Store {
					st, err := open(t).Meter(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					return st
				}
			})
		})
	}
}
