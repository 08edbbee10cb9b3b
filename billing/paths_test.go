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
)

// Every id reaches the server as itself, in its own path segment, or is refused
// before sending.
func TestPathIDsStayInTheirSegment(t *testing.T) {
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
func TestQueryIDsStayOneValue(t *testing.T) {
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

func TestURLChecks(t *testing.T) {
	tests := []struct {
		url     string
		wantErr string // "" for accepted
	}{
		{"http://LOCALHOST:8080", ""},
		{"http://LocalHost", ""},
		{"http://[::1]:9", ""},
		{"https://api.example.test", ""},
		{"https://user:pw@api.example.test", `billing: base URL "https://user:xxxxx@api.example.test": user information in a URL is not allowed; use WithClientCredentials`},
		{"https://api.example.test?sandbox=true", `billing: base URL "https://api.example.test?sandbox=true": a query is not allowed`},
		{"https://api.example.test?", `billing: base URL "https://api.example.test?": a query is not allowed`},
		{"https://api.example.test#v1", `billing: base URL "https://api.example.test#v1": a fragment is not allowed`},
		{"http://api.example.test", `billing: base URL "http://api.example.test": plain http is only allowed to a loopback host; use https`},
		{"http://localhost.example.test", `billing: base URL "http://localhost.example.test": plain http is only allowed to a loopback host; use https`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := NewClient(WithBaseURL(tt.url), WithClientCredentials("id", "secret"))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("NewClient(WithBaseURL(%q)) error = %q, want %q", tt.url, got, tt.wantErr)
			}
		})
	}
	_, err := NewClient(WithTokenURL("https://id:pw@oauth.example.test/oauth2/token"), WithClientCredentials("id", "secret"))
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("token URL with user information: error = %v, want a refusal that hides the password", err)
	}
}

// Ids that a URL path would collapse are refused naming the parameter.
func TestDotSegmentIDs(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		do    func() error
		field string
	}{
		{"subscription .", func() error {
			_, err := c.SetSubscriptionItemUsage(ctx, ".", "i", gen.UsageInput{UsageQuantity: 1})
			return err
		}, "path parameter subscriptionId"},
		{"item ..", func() error {
			_, err := c.SetSubscriptionItemQuantity(ctx, "s", "..", gen.QuantityInput{Quantity: 1})
			return err
		}, "path parameter subscriptionItemId"},
		{"charge ..", func() error {
			_, err := c.AddSubscriptionChargeAtTerm(ctx, "..", gen.ChargeAtTermInput{Amount: 1, Description: "x"})
			return err
		}, "path parameter subscriptionId"},
		{"update .", func() error {
			_, err := c.UpdateSubscription(ctx, ".", gen.SubscriptionUpdateInput{SubscriptionItemID: "p"})
			return err
		}, "path parameter subscriptionId"},
		{"invoice ..", func() error {
			_, err := c.GetInvoiceDownload(ctx, "..")
			return err
		}, "path parameter invoiceId"},
		{"product .", func() error {
			_, err := c.GetProductComponents(ctx, ".", gen.GetProductComponentsParams{})
			return err
		}, "path parameter productId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			var ie *InvalidRequestError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Errorf("error = %v, want an InvalidRequestError on %s", err, tt.field)
			}
		})
	}
	if n := api.apiRequests.Load(); n != 0 {
		t.Errorf("the server got %d requests, want 0", n)
	}
}
