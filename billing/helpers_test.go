package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// testAPI is an httptest server with a token endpoint at /oauth2/token (issuing
// "tok-1", "tok-2", ...) and the API answered by handle.
type testAPI struct {
	*httptest.Server
	tokenRequests atomic.Int32
	apiRequests   atomic.Int32

	mu       sync.Mutex
	lastForm map[string][]string
	lastUser string
	lastPass string
	requests []*http.Request // API requests received, bodies read into bodies
	bodies   []string

	offSpec []contracttest.Exemption // see allowOffSpec

	afterClose func() // newH2API: wait for the handlers (see Close)
}

// Close shuts the server down and waits for its handlers, so that a test may
// then read what they did.
func (a *testAPI) Close() {
	a.Server.Close()
	if a.afterClose != nil {
		a.afterClose()
	}
}

func newTestAPI(t *testing.T, handle http.HandlerFunc) *testAPI {
	t.Helper()
	a := &testAPI{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			n := a.tokenRequests.Add(1)
			_ = r.ParseForm()
			user, pass, _ := r.BasicAuth()
			a.mu.Lock()
			a.lastForm, a.lastUser, a.lastPass = r.PostForm, user, pass
			a.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":3599,"scope":%q,"token_type":"bearer"}`, n, r.PostForm.Get("scope"))
			return
		}
		a.apiRequests.Add(1)
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.requests = append(a.requests, r)
		a.bodies = append(a.bodies, string(body))
		a.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		handle(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

// allowOffSpec lets the clients of a test API break the spec in the ways named,
// for tests that do so on purpose. Without it, every request a client sends and
// every answer it gets is checked against the spec (contracttest), and a
// violation fails the test.
func (a *testAPI) allowOffSpec(e ...contracttest.Exemption) *testAPI {
	a.offSpec = append(a.offSpec, e...)
	return a
}

// client returns a Client of the test API that records its backoff waits in waits
// instead of sleeping. Its traffic is checked against the spec (see allowOffSpec).
func (a *testAPI) client(t *testing.T, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	var mu sync.Mutex
	waits := &[]time.Duration{}
	base := []Option{
		WithBaseURL(a.URL),
		WithTokenURL(a.URL + "/oauth2/token"),
		WithClientCredentials("client-1", "s3cret"),
		WithHTTPClient(contracttest.Client(t, a.Client(), a.offSpec...)),
		withSleep(func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			*waits = append(*waits, d)
			mu.Unlock()
			return ctx.Err()
		}),
	}
	c, err := NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, waits
}

func withSleep(f func(context.Context, time.Duration) error) Option {
	return func(c *config) { c.sleep = f }
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "errorCode": code, "message": msg})
}

// ok answers every operation with a minimal valid 2xx body.
func ok(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/usage"):
		writeJSON(w, 201, map[string]any{"item": map[string]any{"usageQuantity": 1}})
	case strings.HasSuffix(r.URL.Path, "/quantity"):
		writeJSON(w, 200, map[string]any{"item": map[string]any{"quantity": 1}})
	case strings.HasSuffix(r.URL.Path, "/charge_at_term"):
		writeJSON(w, 201, map[string]any{"item": map[string]any{"amount": 100, "description": "x"}})
	case strings.HasSuffix(r.URL.Path, "/components"):
		writeJSON(w, 200, map[string]any{"items": []any{}, "total": 0})
	case strings.HasSuffix(r.URL.Path, "/customers"):
		writeJSON(w, 201, map[string]any{"item": map[string]any{"id": "u", "email": "a@b.co", "locale": "fr", "type": "user"}})
	case strings.HasSuffix(r.URL.Path, "/estimates"):
		writeJSON(w, 201, map[string]any{"item": map[string]any{"invoiceEstimate": map[string]any{
			"amountDue": 0, "subTotal": 0, "total": 0, "discounts": []any{}, "lineItems": []any{}, "lineItemTaxes": []any{}, "taxes": []any{}}}})
	case strings.HasSuffix(r.URL.Path, "/download"):
		writeJSON(w, 200, map[string]any{"item": map[string]any{"downloadUrl": "https://example.com/x.pdf", "validTill": 1}})
	case r.URL.Path == "/v1/invoices":
		writeJSON(w, 200, map[string]any{"items": []any{}, "total": 0})
	case r.Method == http.MethodPatch:
		writeJSON(w, 200, map[string]any{"item": map[string]any{"id": "s", "productId": "p", "shopId": "sh", "status": "active",
			"currencyCode": "EUR", "billingPeriodUnit": "month", "resourceVersion": "1", "subscriptionItems": []any{}}})
	default:
		http.NotFound(w, r)
	}
}
