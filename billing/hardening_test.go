package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// The tests of this file prove, each with a server that misbehaves on purpose, the
// layers under the promise that a non-idempotent call is never applied twice and
// that its caller always knows when the outcome is unknown.

// recordingTransport records the requests the doer hands to the transport.
type recordingTransport struct {
	rt   http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.rt.RoundTrip(req)
}

// Nothing below the doer may re-send a non-idempotent request: such a request
// carries no GetBody, so no transport can rewind its body for a replay. Idempotent
// ones keep it (a transport replay of them is harmless).
func TestNoGetBodyOnNonIdempotentRequests(t *testing.T) {
	api := newTestAPI(t, ok)
	for _, tc := range calls {
		t.Run(tc.op, func(t *testing.T) {
			rec := &recordingTransport{rt: api.Client().Transport}
			c, _ := api.client(t, WithHTTPClient(contracttest.Client(t, &http.Client{Transport: rec})))
			if err := tc.do(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, req := range rec.reqs {
				if req.URL.Path == "/oauth2/token" || req.Body == nil || req.Body == http.NoBody {
					continue
				}
				if got := req.GetBody != nil; got != tc.idempotent {
					t.Errorf("%s %s: GetBody set = %v, want %v", req.Method, req.URL.Path, got, tc.idempotent)
				}
			}
		})
	}
}

// An HTTP/1.1 POST with an Idempotency-Key on a kept-alive connection that the
// server closes without answering is replayed by net/http when it can rewind the
// body. The server below applies the usage and then closes the connection: the
// caller must get ErrOutcomeUnknown and the usage must be applied once.
func TestKeepAliveReplayWithIdempotencyKey(t *testing.T) {
	var applied atomic.Int32
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/usage") && r.URL.Query().Get("first") == "" {
			applied.Add(1)
			abortConn(w)
			return
		}
		ok(w, r)
	})
	for _, header := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
		t.Run(header, func(t *testing.T) {
			applied.Store(0)
			c, _ := api.client(t, WithRequestEditors(func(_ context.Context, r *http.Request) error {
				r.Header.Set(header, "key-1")
				return nil
			}))
			// Warm a kept-alive connection, so that the usage call reuses it.
			if _, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{}); err != nil {
				t.Fatal(err)
			}
			_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1})
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("error = %v, want ErrOutcomeUnknown", err)
			}
			if n := applied.Load(); n != 1 {
				t.Errorf("applied %d times, want 1", n)
			}
		})
	}
}

// abortConn closes the connection of an HTTP/1 call without an answer.
func abortConn(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

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

// A failure after a 2xx arrived is an applied call: for a non-idempotent call it
// wraps ErrOutcomeUnknown and ErrUnexpectedResponse, never a bare error, and it is
// not sent again. An idempotent call whose answer was cut short is sent again.
func TestFailuresAfterSuccessStatus(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		want    string
		offSpec bool // the answer breaks the spec (contracttest)
	}{
		{"truncated body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQu`)
		}, "201 answer cut short: unexpected EOF", false},
		{"not JSON", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `<html>ok</html>`)
		}, "201 answer does not decode: invalid character '<'", true},
		{"does not decode", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQuantity":"five"}}`)
		}, "201 answer does not decode: json: cannot unmarshal string", true},
		{"oversized", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQuantity":1},"pad":"`+strings.Repeat("x", 4096)+`"}`)
		}, "201 answer larger than 1024 bytes (WithMaxResponseBytes), not read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				applied.Add(1)
				tt.answer(w)
			})
			if tt.offSpec {
				api.allowOffSpec(contracttest.OffSpecAnswers("a 201 that does not decode is what this test is about"))
			}
			c, _ := api.client(t, WithMaxResponseBytes(1024))
			_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1})
			if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrOutcomeUnknown and ErrUnexpectedResponse with %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "billing: setSubscriptionItemUsage: outcome unknown, not retried: ") || strings.Count(err.Error(), "billing:") != 1 {
				t.Errorf("error = %q, want one billing: prefix, the operation, then \"outcome unknown, not retried\"", err)
			}
			if n := applied.Load(); n != 1 {
				t.Errorf("applied %d times, want 1", n)
			}
		})
	}

	t.Run("idempotent call cut short is retried", func(t *testing.T) {
		var n atomic.Int32
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(200)
				_, _ = io.WriteString(w, `{"item":`)
				return
			}
			ok(w, r)
		})
		c, _ := api.client(t)
		if _, err := c.SetSubscriptionItemQuantity(context.Background(), "s", "i", gen.QuantityInput{Quantity: 2}); err != nil {
			t.Fatalf("error = %v, want success after a retry", err)
		}
		if got := n.Load(); got != 2 {
			t.Errorf("calls = %d, want 2", got)
		}
	})
}

// The caller's context ending while a 2xx body is read: the usage was applied, so
// the error wraps ErrOutcomeUnknown (and the context's error).
func TestContextEndsWhileReadingSuccessBody(t *testing.T) {
	headersSent := make(chan struct{})
	release := make(chan struct{})
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"item":`)
		w.(http.Flusher).Flush()
		close(headersSent)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	c, _ := api.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-headersSent
		cancel()
	}()
	_, err := c.SetSubscriptionItemUsage(ctx, "s", "i", gen.UsageInput{UsageQuantity: 1})
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want ErrOutcomeUnknown and context.Canceled", err)
	}
}

// A body larger than the bound is not read into memory: reading stops just past
// the bound, whatever the size the server sends.
func TestOversizedBodyIsNotRead(t *testing.T) {
	var written atomic.Int64
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for i := 0; i < 1600; i++ { // 100 MiB
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	c, _ := api.client(t, WithMaxResponseBytes(1<<20))
	_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
	if !errors.Is(err, ErrUnexpectedResponse) || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Fatalf("error = %v, want ErrUnexpectedResponse naming the bound", err)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("error = %v: an idempotent call never wraps ErrOutcomeUnknown", err)
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

// Failures that provably happen before anything is written are "nothing sent":
// never ErrOutcomeUnknown.
func TestNothingSentIsNotUnknown(t *testing.T) {
	t.Run("TLS certificate refused", func(t *testing.T) {
		var hits atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		srv.Config.ErrorLog = discardLog()
		t.Cleanup(srv.Close)
		// A client that does not trust the test certificate; the token comes from
		// a token source, so only the API call meets the TLS failure.
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})),
			WithHTTPClient(&http.Client{Transport: &http.Transport{}}), WithRetryPolicy(RetryPolicy{MaxAttempts: 2}),
			withSleep(func(ctx context.Context, _ time.Duration) error { return ctx.Err() }))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1})
		if err == nil || errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("error = %v, want a certificate error that does not wrap ErrOutcomeUnknown", err)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the server got %d requests, want 0", n)
		}
	})
	t.Run("header value the transport rejects", func(t *testing.T) {
		api := newTestAPI(t, ok)
		c, _ := api.client(t)
		_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 1},
			func(_ context.Context, r *http.Request) error { r.Header.Set("X-Trace", "a\nb"); return nil })
		var ie *InvalidRequestError
		if !errors.As(err, &ie) || ie.Field != "header X-Trace" || errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("error = %v, want an InvalidRequestError naming header X-Trace", err)
		}
		if n := api.apiRequests.Load(); n != 0 {
			t.Errorf("the server got %d requests, want 0", n)
		}
	})
	t.Run("DNS", func(t *testing.T) {
		dnsFail := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.example.test", IsNotFound: true}}
		}}
		c, err := NewClient(WithBaseURL("https://api.example.test"), WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})),
			WithHTTPClient(&http.Client{Transport: dnsFail}), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AddSubscriptionChargeAtTerm(context.Background(), "s", gen.ChargeAtTermInput{Amount: 1, Description: "x"})
		if err == nil || errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("error = %v, want a DNS error that does not wrap ErrOutcomeUnknown", err)
		}
	})
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
		c.tokens.now = func() time.Time { return now }
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
		waitFor(t, func() bool {
			c.tokens.mu.Lock()
			defer c.tokens.mu.Unlock()
			return c.tokens.inflight == nil
		})
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

// waitFor polls cond until it holds, failing the test after 10 s. It waits for
// background work to end, not to order events.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
