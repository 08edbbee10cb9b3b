package billing

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// The tests of this file prove, each with a server that misbehaves on purpose, the
// layers under the promise that a non-idempotent call is never applied twice and
// that its caller always knows when the outcome is unknown.

// Nothing below the doer may re-send a non-idempotent request: such a request
// carries no GetBody, so no transport can rewind its body for a replay. Idempotent
// ones keep it (a transport replay of them is harmless).
func TestNoGetBodyOnNonIdempotentRequests(t *testing.T) {
	api := newTestAPI(t, ok)
	for _, tc := range calls {
		t.Run(tc.op, func(t *testing.T) {
			rec := &faultlab.Recorder{Transport: api.Client().Transport}
			c, _ := api.client(t, WithHTTPClient(contracttest.Client(t, &http.Client{Transport: rec})))
			if err := tc.do(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			for _, req := range rec.Requests() {
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
		c, err := NewClient(WithBaseURL(srv.URL), WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-tls"})),
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

// A 2xx body far larger than WithMaxResponseBytes, flushed in small chunks: the
// client stops reading just past the bound and closes the connection, so the
// server cannot write the rest (64 MiB, more than loopback buffers hold).
func TestSlowOversizedBodyStopsAtTheBound(t *testing.T) {
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
