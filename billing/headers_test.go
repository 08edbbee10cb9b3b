package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Header injection through editors is refused before sending, never a network
// error (and never an unknown outcome).
func TestEditorHeaderInjectionRefusedBeforeSending(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, kv := range [][2]string{{"X-A", "v\r\nX-Evil: 1"}, {"X-A\r\nX-Evil", "1"}, {"X A", "1"}, {"X-A", "v\x00"}, {"", "v"}, {"X-Ü", "v"}, {"X-A", "ü\x7f"}} {
		_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1}, func(_ context.Context, r *http.Request) error {
			r.Header[kv[0]] = []string{kv[1]}
			return nil
		})
		var ie *InvalidRequestError
		if !errors.As(err, &ie) || errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("header %q: %q: err %v, want InvalidRequestError", kv[0], kv[1], err)
		}
	}
}

// A token with a control character (a broken token endpoint or token source) is
// refused by net/http before anything is written; the SDK reports it as an unknown
// outcome (and retries idempotent calls with it).
func TestTokenWithControlCharacter(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t, WithTokenSource(staticToken("abc\r\nX-Evil: 1")))
	err := usage(context.Background(), c)
	if api.apiRequests.Load() != 0 {
		t.Fatalf("a request went out")
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("nothing was sent, yet err = %v", err)
	}
	if strings.Contains(err.Error(), "abc") {
		t.Errorf("token in the error text: %v", err)
	}
}
