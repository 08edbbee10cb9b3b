package meter_test

import (
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter/metertest"
)

func TestMemoryStoreConformance(t *testing.T) {
	metertest.TestStore(t, func(t *testing.T) func() meter.Store {
		s := meter.NewMemoryStore()
		return func() meter.Store { return s }
	})
}
