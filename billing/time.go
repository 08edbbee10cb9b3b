package billing

import (
	"math"
	"time"
)

// Time returns the instant of a Billing API timestamp: UTC seconds since the Unix
// epoch, as the API sends them (a JSON number, so a fraction or an exponent is
// possible: 1764071100, 1764071100.5, 1.7640711e9). The result is in UTC, to the
// nearest nanosecond that a float64 can tell apart.
//
// Timestamps are float64 in the generated types (gen.Subscription.ActivatedAt,
// gen.Invoice.InvoiceDate, gen.InvoiceDownload.ValidTill, ...) because the API's
// schema types them as numbers, not integers:
//
//	if sub.NextRenewalAt != 0 { // 0: not in the answer
//		fmt.Println("renews on", billing.Time(sub.NextRenewalAt).Format(time.DateOnly))
//	}
//
// NaN, an infinity or a value beyond the range of time.Unix gives the zero Time
// (IsZero reports true).
func Time(seconds float64) time.Time {
	if math.IsNaN(seconds) || math.Abs(seconds) >= math.MaxInt64 {
		return time.Time{}
	}
	sec, frac := math.Modf(seconds)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
}
