package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// A 2xx body far larger than WithMaxResponseBytes, flushed in small chunks: the
// client stops reading just past the bound and closes the connection, so the
// server cannot write the rest (64 MiB, more than loopback buffers hold).
func TestReviewSlowOversizedBody(t *testing.T) {
	stopped := make(chan int, 1) // the bytes the server wrote before a write failed
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		chunk := []byte(strings.Repeat(" ", 64))
		written := 0
		for range 1 << 20 {
			n, err := w.Write(chunk)
			written += n
			if err != nil {
				break
			}
			w.(http.Flusher).Flush()
		}
		stopped <- written
	})
	// The client's own transport: the spec-checking one of the tests would read
	// the whole answer to check it.
	c, _ := api.client(t, WithMaxResponseBytes(4096), WithHTTPClient(api.Client()))
	_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
	if !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), "larger than 4096 bytes") {
		t.Errorf("err = %v, want ErrUnexpectedResponse naming the bound", err)
	}
	if n := <-stopped; n >= 64<<20 {
		t.Errorf("the server wrote all %d bytes: the client read the rest of the answer", n)
	}
}

// Error texts: one "billing:" prefix, the operation first, no secret, on every path
// tried.
func TestReviewErrorTexts(t *testing.T) {
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
			s := newRawH2(t, func(c *rawH2Conn, id uint32) { c.goAway(0, 0) })
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithBaseURL("http://"+s.ln.Addr().String()), WithHTTPClient(h2cClient()), WithTokenSource(staticToken("tok")))
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
