package webhook_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// The record of a request refused for its method quotes at most the start of
// the method, which whoever sent the request chose, unauthenticated, and may be
// as long as a request line.
func TestHandlerLogsRefusedMethodBounded(t *testing.T) {
	var text strings.Builder
	h := webhook.NewHandler(newBilling(t).verifier(), webhook.WithLogger(slog.New(slog.NewTextHandler(&text, nil))))
	method := "X" + strings.Repeat("A", 64<<10)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, "/webhooks/billing", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("status %d, want 405", w.Code)
	}
	if !strings.Contains(text.String(), `method \"XAAAA`) || text.Len() > 512 {
		t.Errorf("record of %d bytes: %.300s", text.Len(), text.String())
	}
}
