package billing_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestTime(t *testing.T) {
	tests := []struct {
		seconds float64
		want    time.Time
	}{
		{1764071100, time.Date(2025, 11, 25, 11, 45, 0, 0, time.UTC)},
		{1.7640711e9, time.Date(2025, 11, 25, 11, 45, 0, 0, time.UTC)},
		{1764071100.5, time.Date(2025, 11, 25, 11, 45, 0, 5e8, time.UTC)},
		{0, time.Unix(0, 0).UTC()},
		{-1.25, time.Date(1969, 12, 31, 23, 59, 58, 75e7, time.UTC)},
		{math.NaN(), time.Time{}},
		{math.Inf(1), time.Time{}},
		{math.Inf(-1), time.Time{}},
		{1e19, time.Time{}},
		{-1e19, time.Time{}},
	}
	for _, tt := range tests {
		got := billing.Time(tt.seconds)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Time(%v) = %v, want %v (UTC)", tt.seconds, got, tt.want)
		}
	}
}

// Every form of JSON number the API may send for a timestamp decodes.
func TestTimestampsDecodeAnyNumber(t *testing.T) {
	for _, n := range []string{"1764071100", "1764071100.5", "1.7640711e9", "1.7640711E+9"} {
		var dl gen.InvoiceDownload
		body := fmt.Sprintf(`{"downloadUrl":"https://example.com/x.pdf","validTill":%s}`, n)
		if err := json.Unmarshal([]byte(body), &dl); err != nil {
			t.Errorf("validTill %s: %v", n, err)
			continue
		}
		if got := billing.Time(dl.ValidTill); got.Before(time.Date(2025, 11, 25, 11, 45, 0, 0, time.UTC)) || got.After(time.Date(2025, 11, 25, 11, 45, 1, 0, time.UTC)) {
			t.Errorf("validTill %s = %v", n, got)
		}
	}
}

func ExampleTime() {
	var dl gen.InvoiceDownload
	_ = json.Unmarshal([]byte(`{"downloadUrl":"https://example.com/x.pdf","validTill":1.7640711e9}`), &dl)
	fmt.Println(billing.Time(dl.ValidTill).Format(time.RFC3339))
	// Output: 2025-11-25T11:45:00Z
}
