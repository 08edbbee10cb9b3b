package billing

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// Error texts: one "billing:" prefix, the operation first, no secret, on every path
// tried.
func TestErrorTextsOnEveryFailurePath(t *testing.T) {
	type scenario struct {
		name string
		run  func(t *testing.T) error
	}
	tokenServer := func(t *testing.T, h http.HandlerFunc) string {
		s := newTestAPI(t, ok)
		s.Config.Handler = h
		return s.URL + "/oauth2/token"
	}
	scenarios := []scenario{
		{"token endpoint refuses and echoes the client secret", func(t *testing.T) error {
			api := newTestAPI(t, ok)
			u := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(401)
				w.Write([]byte(`{"error":"invalid_client","error_description":"bad secret s3cret"}`))
			})
			c, _ := api.client(t, WithTokenURL(u))
			return usage(context.Background(), c)
		}},
		{"token endpoint down", func(t *testing.T) error {
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithTokenURL(closedURL(t)+"/oauth2/token"), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			return usage(context.Background(), c)
		}},
		{"token without access_token", func(t *testing.T) error {
			api := newTestAPI(t, ok)
			u := tokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"token_type":"bearer"}`))
			})
			c, _ := api.client(t, WithTokenURL(u))
			return usage(context.Background(), c)
		}},
		{"5xx exhausted (idempotent)", func(t *testing.T) error {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) { writeError(w, 503, "DOWN", "down") })
			c, _ := api.client(t)
			_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
			return err
		}},
		{"retry after the deadline", func(t *testing.T) error {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "30")
				writeError(w, 429, "SLOW", "slow")
			})
			c, _ := api.client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return usage(ctx, c)
		}},
		{"cancel during backoff", func(t *testing.T) error {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) { writeError(w, 429, "SLOW", "slow") })
			ctx, cancel := context.WithCancel(context.Background())
			c, _ := api.client(t, withSleep(func(context.Context, time.Duration) error { cancel(); return context.Canceled }))
			return usage(ctx, c)
		}},
		{"h2 GOAWAY on idempotent POST (net/http's advice)", func(t *testing.T) error {
			s := faultlab.NewRawH2(t, func(c *faultlab.RawH2Conn, id uint32) { c.GoAway(0, 0) })
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithBaseURL("http://"+s.Ln.Addr().String()), WithHTTPClient(faultlab.H2CClient()), WithTokenSource(staticToken("tok")))
			return usage(context.Background(), c)
		}},
		{"editor changes the path", func(t *testing.T) error {
			api := newTestAPI(t, ok)
			c, _ := api.client(t)
			return usage(context.Background(), c, func(_ context.Context, r *http.Request) error { r.URL.Path += "/x"; return nil })
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			err := sc.run(t)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Logf("%s", msg)
			if strings.Count(msg, "billing:") != 1 || !strings.HasPrefix(msg, "billing: setSubscriptionItemUsage: ") && !strings.HasPrefix(msg, "billing: getProductComponents: ") {
				t.Errorf("want exactly one billing: prefix, operation first")
			}
			for _, secret := range []string{"s3cret", "tok-", "Bearer"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error text holds %q", secret)
				}
			}
			if strings.Contains(msg, "define Request.GetBody") {
				t.Errorf("error text advises to define Request.GetBody (net/http's internal hint): the one thing a non-idempotent call must not do")
			}
		})
	}
}

// Error texts: one billing: prefix, the operation first, then what happened.
func TestErrorTexts(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		api  http.HandlerFunc
		call int // index in calls
		want string
	}{
		{"outcome unknown on 503", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1})}, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, 503, "UNAVAILABLE", "try later")
		}, 5, "billing: setSubscriptionItemUsage: outcome unknown, not retried: 503 Service Unavailable: UNAVAILABLE: try later"},
		{"429 names its Retry-After", []Option{WithRetryPolicy(RetryPolicy{MaxAttempts: 1})}, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			writeError(w, 429, "TOO_MANY_REQUESTS", "slow down")
		}, 5, "billing: setSubscriptionItemUsage: 429 Too Many Requests: TOO_MANY_REQUESTS: slow down (Retry-After 7s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, tt.api)
			c, _ := api.client(t, tt.opts...)
			err := calls[tt.call].do(context.Background(), c)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant    %s", err, tt.want)
			}
		})
	}
	t.Run("token error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"bad secret"}`)
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenURL(srv.URL+"/oauth2/token"), WithClientCredentials("id", "s3cret"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetInvoiceDownload(context.Background(), "inv")
		want := fmt.Sprintf("billing: getInvoiceDownload: getting an access token: %s/oauth2/token answered 401 Unauthorized: invalid_client: bad secret", srv.URL)
		if err == nil || err.Error() != want {
			t.Errorf("error = %v\nwant    %s", err, want)
		}
		_, err = c.Token(context.Background())
		if want := strings.Replace(want, "getInvoiceDownload: ", "", 1); err == nil || err.Error() != want {
			t.Errorf("Token error = %v\nwant          %s", err, want)
		}
	})
}
