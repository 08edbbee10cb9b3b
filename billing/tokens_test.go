package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// A token still valid when its early renewal fails is used until it expires; the
// token request is retried on 5xx and network errors, never on a 4xx.
func TestTokenRenewal(t *testing.T) {
	t.Run("renewal fails, cached token still used", func(t *testing.T) {
		var fail atomic.Bool
		var tokenReqs atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oauth2/token" {
				n := tokenReqs.Add(1)
				if fail.Load() {
					w.WriteHeader(503)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":3600,"token_type":"bearer"}`, n)
				return
			}
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				w.WriteHeader(401)
				return
			}
			ok(w, r)
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenURL(srv.URL+"/oauth2/token"), WithClientCredentials("id", "s"),
			withSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		c.doer.tokens.SetClock(func() time.Time { return now })
		if _, err := c.GetInvoiceDownload(context.Background(), "inv"); err != nil {
			t.Fatal(err)
		}
		fail.Store(true)
		now = now.Add(3600*time.Second - 10*time.Second) // inside the 30 s renewal window
		for i := 0; i < 3; i++ {
			if _, err := c.GetInvoiceDownload(context.Background(), "inv"); err != nil {
				t.Fatalf("call %d in the renewal window: %v", i, err)
			}
		}
		// Wait for the background renewals to finish: each made MaxAttempts requests.
		waitFor(t, c.doer.tokens.Idle)
		if n := tokenReqs.Load(); n < 1+DefaultMaxAttempts {
			t.Errorf("token requests = %d, want the first one and %d attempts to renew", n, DefaultMaxAttempts)
		}
	})
	t.Run("4xx not retried", func(t *testing.T) {
		var tokenReqs atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tokenReqs.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = io.WriteString(w, `{"error":"invalid_scope"}`)
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenURL(srv.URL+"/oauth2/token"), WithClientCredentials("id", "s"),
			withSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err == nil {
			t.Fatal("want an error")
		}
		if n := tokenReqs.Load(); n != 1 {
			t.Errorf("token requests = %d, want 1", n)
		}
	})
	t.Run("5xx and network errors retried", func(t *testing.T) {
		var tokenReqs atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch tokenReqs.Add(1) {
			case 1:
				w.WriteHeader(502)
			case 2:
				abortConn(w)
			default:
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"access_token":"t","expires_in":3600,"token_type":"bearer"}`)
			}
		}))
		t.Cleanup(srv.Close)
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenURL(srv.URL+"/oauth2/token"), WithClientCredentials("id", "s"),
			withSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Token(context.Background()); err != nil {
			t.Fatalf("Token: %v, want success on the third attempt", err)
		}
		if n := tokenReqs.Load(); n != 3 {
			t.Errorf("token requests = %d, want 3", n)
		}
	})
}

// The token endpoint is slow; the API call's context has a short deadline: the
// call ends at its deadline, not wrapped in ErrOutcomeUnknown (nothing was sent),
// and the fetch keeps going for the next caller.
func TestSlowTokenEndpointEndsAtTheDeadline(t *testing.T) {
	release := make(chan struct{})
	var tokenReqs atomic.Int32
	api := newTestAPI(t, ok)
	tokSrv := newTestAPI(t, ok)
	tokSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenReqs.Add(1)
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"slow","expires_in":3600,"token_type":"bearer"}`)
	})
	c, _ := api.client(t, WithTokenURL(tokSrv.URL+"/oauth2/token"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := usage(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrOutcomeUnknown) || !strings.HasPrefix(err.Error(), "billing: setSubscriptionItemUsage: ") {
		t.Errorf("err = %v, want DeadlineExceeded, not unknown", err)
	}
	close(release)
	if err := usage(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if n := tokenReqs.Load(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

// Many concurrent callers whose token the API starts refusing: one refresh, each
// call replayed once, nobody fails.
func TestConcurrent401RefreshOnce(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			writeError(w, 401, "UNAUTHORIZED", "expired")
			return
		}
		ok(w, r)
	})
	c, _ := api.client(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := api.tokenRequests.Load(); n != 2 {
		t.Errorf("token requests = %d, want 2 (tok-1, then one refresh)", n)
	}
}
