package billingotel_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// A token renewal that failed in the background is told after the call that
// started it has ended: it is a span of its own under that call's, with its
// error.type, not an event lost on an ended span.
func TestRenewalFailureIsASpanOfItsOwn(t *testing.T) {
	tel := newTelemetry()
	call := &billing.Call{Operation: "getInvoices", Method: http.MethodGet, Route: "/v1/invoices", Start: time.Now()}
	ctx := tel.obs.StartCall(context.Background(), call)
	call.Duration, call.Attempts, call.StatusCode = time.Millisecond, 1, 200
	tel.obs.EndCall(ctx, call)
	tel.obs.Event(ctx, nil, billing.Event{Kind: billing.EventTokenRenewalFailed, Err: context.DeadlineExceeded})
	want := []string{
		"getInvoices",
		"  billing.token_renewal_failed [error.type=timeout]",
	}
	if diff := cmp.Diff(want, tel.tree("error.type")); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}
