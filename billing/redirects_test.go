package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/endpoint"
)

// The Billing API has no redirects: none is followed, for any status, to any
// target, and for a non-idempotent call a 3xx is an unknown outcome (the server
// may have applied the call before redirecting).
func TestRedirectsAreNeverFollowed(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
		ok(w, r)
	}))
	t.Cleanup(target.Close)
	var applied atomic.Int32
	var status atomic.Int32
	var location atomic.Value
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("warm") == "" {
			applied.Add(1)
		}
		http.Redirect(w, r, location.Load().(string)+r.URL.Path, int(status.Load()))
	})
	targets := map[string]string{"same host": api.URL + "/elsewhere", "other host": target.URL, "http": "http://127.0.0.1:1"}
	for _, code := range []int{301, 302, 303, 307, 308} {
		for name, loc := range targets {
			for _, tc := range calls {
				t.Run(fmt.Sprintf("%d %s %s", code, name, tc.op), func(t *testing.T) {
					status.Store(int32(code))
					location.Store(loc)
					applied.Store(0)
					targetHits.Store(0)
					c, _ := api.client(t)
					err := tc.do(context.Background(), c)
					var apiErr *APIError
					if !errors.As(err, &apiErr) || apiErr.StatusCode != code || apiErr.Location == "" {
						t.Fatalf("error = %v, want an APIError %d with its Location", err, code)
					}
					if got := errors.Is(err, ErrOutcomeUnknown); got != !tc.idempotent {
						t.Errorf("error = %v: wraps ErrOutcomeUnknown = %v, want %v", err, got, !tc.idempotent)
					}
					if n := applied.Load(); n != 1 {
						t.Errorf("the API got %d calls, want 1", n)
					}
					if n := targetHits.Load(); n != 0 {
						t.Errorf("the redirect target got %d requests, want 0", n)
					}
				})
			}
		}
	}
}

// A token endpoint behind TLS that redirects to plain http must not get the
// client's credentials sent there: the redirect is not followed.
func TestTokenRedirectToHTTPNotFollowed(t *testing.T) {
	var leaked atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	t.Cleanup(plain.Close)
	var apiCalls atomic.Int32
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			http.Redirect(w, r, plain.URL+"/oauth2/token", http.StatusTemporaryRedirect)
			return
		}
		apiCalls.Add(1)
		ok(w, r)
	}))
	t.Cleanup(tlsSrv.Close)
	c, err := NewClient(WithBaseURL(tlsSrv.URL), WithTokenURL(tlsSrv.URL+"/oauth2/token"),
		WithClientCredentials("client-1", "s3cret"), WithHTTPClient(tlsSrv.Client()),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1})
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("error = %v, want the token endpoint's 307 as an *oauth2.RetrieveError", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q shows the client secret", err)
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the plain-http server got %d requests, want 0", n)
	}
	if n := apiCalls.Load(); n != 0 {
		t.Errorf("the API got %d calls without a token, want 0", n)
	}
}

// A request editor (the caller's code, or a library's) that points the request at
// another host over plain http: the bearer token goes with it. NewClient refuses
// such a base URL; nothing checks the URL after the editors ran.
func TestEditorRedirectToHTTPKeepsToken(t *testing.T) {
	api := newTestAPI(t, ok)
	var leakedTo []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Scheme == "http" && !endpoint.IsLoopback(r.URL.Hostname()) && r.Header.Get("Authorization") != "" {
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

// A request editor that turns a call into another operation's request (another
// method or path) is refused before sending: the retry policy of the call's own
// operation would otherwise re-send, say, a usage as if it were an idempotent read.
func TestEditorCannotTurnACallIntoAnotherOperation(t *testing.T) {
	tests := []struct {
		name string
		edit func(*http.Request)
	}{
		{"method", func(r *http.Request) { r.Method = http.MethodPost }},
		{"path", func(r *http.Request) { r.URL.Path = "/v1/subscriptions/s/items/i/usage" }},
		{"both", func(r *http.Request) {
			r.Method, r.URL.Path = http.MethodPost, "/v1/subscriptions/s/charge_at_term"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Int32
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent.Add(1)
				return nil, errors.New("not sent (test transport)")
			})
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: rt}), WithTokenSource(staticToken("secret-token")))
			_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{}, func(_ context.Context, r *http.Request) error {
				tt.edit(r)
				return nil
			})
			var ire *InvalidRequestError
			if !errors.As(err, &ire) || ire.Field != "URL" {
				t.Fatalf("err = %v, want an *InvalidRequestError on URL", err)
			}
			if n := sent.Load(); n != 0 {
				t.Errorf("the transport got %d requests, want 0", n)
			}
		})
	}
}
