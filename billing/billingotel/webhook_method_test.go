package billingotel_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// The span of a delivery names its method only when HTTP defines it: the
// method comes from whoever sent the request, unauthenticated, and may be
// long; any other is _OTHER, in the span's name and its attribute.
func TestWebhookSpanOfAnUnknownMethodIsOther(t *testing.T) {
	tel := newTelemetry()
	v, err := webhook.NewSignatureVerifier([]string{webhook.NewSecret()})
	if err != nil {
		t.Fatal(err)
	}
	h := webhook.NewHandler(v, webhook.WithObserver(tel.obs))
	for _, m := range []string{http.MethodGet, "X-" + strings.Repeat("A", 4096), "PROPFIND"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/webhooks/billing", nil))
	}
	want := []string{
		"billing.webhook GET [http.request.method=GET]",
		"billing.webhook _OTHER [http.request.method=_OTHER]",
		"billing.webhook _OTHER [http.request.method=_OTHER]",
	}
	if diff := cmp.Diff(want, tel.tree("http.request.method")); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
}
