package billingtest

import (
	"math"
	"testing"
)

func TestPage(t *testing.T) {
	tests := []struct {
		offset, limit float64
		n             int
		from, to      int
	}{
		{0, 5, 12, 0, 5},
		{10, 5, 12, 10, 12},
		{12, 5, 12, 12, 12},
		{99, 5, 12, 12, 12},
		{1.9, 2.5, 12, 1, 3},
		{-3, 2, 12, 0, 2},
		{0, 0, 12, 0, 0},
		{0, -1, 12, 0, 0},
		{math.NaN(), math.NaN(), 12, 0, 0},
		{math.Inf(-1), math.Inf(1), 12, 0, 12},
		{math.Inf(1), 1, 12, 12, 12},
		{1e300, 1e300, 3, 3, 3},
		{0, 1e300, 3, 0, 3},
		{0, 5, 0, 0, 0},
	}
	for _, tt := range tests {
		from, to := page(tt.offset, tt.limit, tt.n)
		if from != tt.from || to != tt.to {
			t.Errorf("page(%v, %v, %d) = %d, %d, want %d, %d", tt.offset, tt.limit, tt.n, from, to, tt.from, tt.to)
		}
	}
}
