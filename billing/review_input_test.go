package billing

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// Every id reaches the server as itself, in its own path segment, or is refused
// before sending.
func TestReviewPathIDs(t *testing.T) {
	var mu sync.Mutex
	var got []string
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.EscapedPath())
		mu.Unlock()
		ok(w, r)
	})
	c, _ := api.client(t, WithBaseURL(api.URL+"/prefix/api"))
	ids := []string{"a/b", "a%2Fb", "%", "ü", "%2e%2e", "%2e", "a b", "a?b=c", "a#b", "a\nb", "a\x00b", ".hidden", "...", "․․", "a;b", "a\\b", "..\\..", "\u202e", "a\u0000", strings.Repeat("x", 10000)}
	for _, id := range ids {
		mu.Lock()
		got = nil
		mu.Unlock()
		_, err := c.SetSubscriptionItemUsage(context.Background(), id, "item/"+id, gen.UsageInput{UsageQuantity: 1})
		var ie *InvalidRequestError
		if errors.As(err, &ie) {
			t.Logf("id %.20q refused before sending: %v", id, err)
			continue
		}
		if err != nil {
			t.Errorf("id %.20q: %v", id, err)
			continue
		}
		mu.Lock()
		p := got[0]
		mu.Unlock()
		segs := strings.Split(p, "/")
		if len(segs) != 9 || segs[1] != "prefix" || segs[3] != "v1" {
			t.Errorf("id %.20q: path %q", id, p)
			continue
		}
		s, _ := url.PathUnescape(segs[5])
		i, _ := url.PathUnescape(segs[7])
		if s != id || i != "item/"+id {
			t.Errorf("id %.20q arrived as %q, %q (path %q)", id, s, i, p)
		}
	}
	for _, id := range []string{".", ".."} {
		_, err := c.SetSubscriptionItemUsage(context.Background(), "s", id, gen.UsageInput{UsageQuantity: 1})
		var ie *InvalidRequestError
		if !errors.As(err, &ie) {
			t.Errorf("item id %q: err %v, want InvalidRequestError", id, err)
		}
	}
}

// The invoices query: a subscription id with query syntax stays one value.
func TestReviewQueryIDs(t *testing.T) {
	var mu sync.Mutex
	var q url.Values
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		q = r.URL.Query()
		mu.Unlock()
		ok(w, r)
	})
	c, _ := api.client(t)
	id := "s&type=customer&limit=1#x"
	for _, err := range c.Invoices(context.Background(), id) {
		if err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if q.Get("id") != id || q.Get("type") != "subscription" || len(q["type"]) != 1 {
		t.Errorf("query = %v", q)
	}
}

// A request editor (the caller's code, or a library's) that points the request at
// another host over plain http: the bearer token goes with it. NewClient refuses
// such a base URL; nothing checks the URL after the editors ran.
func TestReviewEditorRedirectsTokenOverHTTP(t *testing.T) {
	api := newTestAPI(t, ok)
	var leakedTo []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme == "http" && !isLoopback(r.URL.Hostname()) && r.Header.Get("Authorization") != "" {
			leakedTo = append(leakedTo, r.URL.String())
		}
		return nil, errors.New("not sent (test transport)")
	})
	c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: rt}), WithTokenSource(staticToken("secret-token")))
	_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{}, func(_ context.Context, r *http.Request) error {
		r.URL.Scheme, r.URL.Host = "http", "billing.example.invalid"
		return nil
	})
	if len(leakedTo) > 0 {
		t.Errorf("bearer token handed to the transport for %v (err %v)", leakedTo, err)
	}
}

// Header injection through editors is refused before sending, never a network
// error (and never an unknown outcome).
func TestReviewHeaderInjection(t *testing.T) {
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
func TestReviewTokenWithControlChar(t *testing.T) {
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

// A 2xx whose body is another operation's shape: the SDK reports success with
// zero values (here: no invoices at all), although the spec's required "total"
// is missing.
func TestReviewWrongShape2xx(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"item": map[string]any{"downloadUrl": "https://x/y.pdf", "validTill": 1}})
	})
	api.allowOffSpec(contracttest.OffSpecAnswers("another operation's answer is what this test is about"))
	c, _ := api.client(t)
	page, err := c.GetInvoices(context.Background(), gen.GetInvoicesParams{ID: "s", Type: "subscription", Limit: 10})
	if !errors.Is(err, ErrUnexpectedResponse) {
		t.Errorf("getInvoices answered with a download link: error %v, page %+v; want ErrUnexpectedResponse (total missing, required by the spec)", err, page)
	}
	n := 0
	for _, err := range c.Invoices(context.Background(), "s") {
		if err != nil {
			break
		}
		n++
	}
	if n != 0 {
		t.Errorf("Invoices yielded %d invoices from answers without a list", n)
	}
}
