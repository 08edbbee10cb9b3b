package billing

// Each test below tries to break one of the promises of README.md "Errors and
// retries" and of RetryPolicy's doc, with a server or a transport that misbehaves
// on purpose: an applied call never comes back as a plain error or a success
// sent twice.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// newProtoAPI starts the test API over HTTP/2 ("h2") or HTTP/1.1 (any other proto),
// the latter without logging the connections the tests cut on purpose.
func newProtoAPI(t *testing.T, proto string, handle http.HandlerFunc) *testAPI {
	t.Helper()
	if proto == "h2" {
		return newH2API(t, handle)
	}
	api := newTestAPI(t, handle)
	api.Config.ErrorLog = discardLog()
	return api
}

// newH2API is newTestAPI over TLS with HTTP/2, as production runs.
func newH2API(t *testing.T, handle http.HandlerFunc) *testAPI {
	t.Helper()
	a := &testAPI{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			n := a.tokenRequests.Add(1)
			_ = r.ParseForm()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":3599,"token_type":"bearer"}`, n)
			return
		}
		a.apiRequests.Add(1)
		handle(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = discardLog()
	srv.StartTLS()
	a.Server = srv
	a.afterClose = func() { waitForH2Handlers(t) }
	t.Cleanup(a.Close)
	return a
}

// waitForH2Handlers waits (polling, for at most 10 s) until no HTTP/2 handler
// of any server is running or about to. httptest.Server.Close waits for its
// connections, and an HTTP/2 connection ends without waiting for the handlers
// of its streams: the handler of a stream the client reset runs on, and may
// yet read the whole body and apply the call. Once the connections are closed
// no handler goroutine can start, but one may be started and not have run yet;
// it is in the goroutine dump, in the server's runHandler, until it ends. No
// test of this package runs in parallel, so every such goroutine is the test's
// own.
func waitForH2Handlers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := h2Handlers()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d HTTP/2 handlers still running 10 s after the server closed", n)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// h2Handlers counts the HTTP/2 handlers running or about to.
func h2Handlers() int { return strings.Count(allStacks(), "serverConn).runHandler(") }

// allStacks returns the stacks of all goroutines.
func allStacks() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// applyUsage reads the whole request body (the server "applies" only a complete
// request), counts it, and answers a valid 201.
func applyUsage(applied *atomic.Int32, r *http.Request) bool {
	if _, err := io.ReadAll(r.Body); err != nil {
		return false
	}
	applied.Add(1)
	return true
}

func usage(ctx context.Context, c *Client, e ...RequestEditorFn) error {
	_, err := c.SetSubscriptionItemUsage(ctx, "s", "i", gen.UsageInput{UsageQuantity: 1}, e...)
	return err
}

// checkUnknownIfApplied fails unless: nil error <=> applied exactly once; applied
// and failed => ErrOutcomeUnknown.
func checkOutcome(t *testing.T, err error, applied int32) {
	t.Helper()
	switch {
	case applied > 1:
		t.Errorf("applied %d times (double billing); error = %v", applied, err)
	case err == nil && applied != 1:
		t.Errorf("nil error but applied %d times", applied)
	case err != nil && applied == 1 && !errors.Is(err, ErrOutcomeUnknown):
		t.Errorf("applied once but error does not wrap ErrOutcomeUnknown: %v", err)
	}
	if err != nil && (strings.Count(err.Error(), "billing:") != 1 || !strings.HasPrefix(err.Error(), "billing: setSubscriptionItemUsage: ")) {
		t.Errorf("error text %q: want exactly one billing: prefix, operation first", err)
	}
}

func TestHTTP2FaultsAfterApplyAreUnknown(t *testing.T) {
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter, r *http.Request)
	}{
		{"panic after apply (RST_STREAM INTERNAL_ERROR)", func(w http.ResponseWriter, r *http.Request) { panic("boom") }},
		{"ErrAbortHandler after apply", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }},
		{"headers then abort", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":`)
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}},
		{"103 early hints then 201", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</x>; rel=preload")
			w.WriteHeader(103)
			ok(w, r)
		}},
		{"many 1xx then 201", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 10; i++ {
				w.WriteHeader(103)
			}
			ok(w, r)
		}},
		{"content-length larger than body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "200")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQuantity":1}}`)
		}},
		{"content-length smaller than body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "5")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQuantity":1}}`)
		}},
		{"gzip garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"item":{"usageQuantity":1}}`)
		}},
		{"500", func(w http.ResponseWriter, r *http.Request) { writeError(w, 500, "E", "x") }},
		{"307 to self", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.String(), http.StatusTemporaryRedirect)
		}},
		{"undeclared 200 with JSON", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) }},
		{"201 text/plain", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(201)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var applied atomic.Int32
			api := newH2API(t, func(w http.ResponseWriter, r *http.Request) {
				if !applyUsage(&applied, r) {
					return
				}
				tt.handle(w, r)
			})
			if strings.HasPrefix(tt.name, "undeclared") || strings.HasPrefix(tt.name, "201 text") {
				api.allowOffSpec(contracttest.OffSpecAnswers("a 2xx the spec does not describe is what this case is about"))
			}
			c, _ := api.client(t)
			err := usage(context.Background(), c)
			api.Close() // wait for the handlers
			t.Logf("err = %v", err)
			checkOutcome(t, err, applied.Load())
		})
	}
}

// Many calls with a random deadline (0 to 2 ms): whatever the point the context ends
// at, a call the server applied must never come back as a bare error.
func TestRandomDeadlineNeverHidesAnAppliedCall(t *testing.T) {
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			var mu sync.Mutex
			applied := map[string]int{}
			h := func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					return
				}
				mu.Lock()
				applied[r.Header.Get("X-Call")]++
				mu.Unlock()
				ok(w, r)
			}
			api := newProtoAPI(t, proto, h)
			c, _ := api.client(t)
			if _, err := c.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			n := outcomeRuns(3000)
			errs := make([]error, n)
			for i := range n {
				d := time.Duration(i%outcomeSpan()) * time.Microsecond
				ctx, cancel := context.WithTimeout(context.Background(), d)
				errs[i] = usage(ctx, c, withHeader("X-Call", fmt.Sprint(i)))
				cancel()
			}
			api.Close() // waits for the handlers
			mu.Lock()   // and orders their writes before these reads
			defer mu.Unlock()
			var ok, unknown, bare, bad int
			for i, err := range errs {
				a := applied[fmt.Sprint(i)]
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrOutcomeUnknown):
					unknown++
				default:
					bare++
				}
				if a > 1 || (err == nil && a != 1) || (err != nil && a == 1 && !errors.Is(err, ErrOutcomeUnknown)) {
					bad++
					if bad < 5 {
						t.Errorf("call %d: applied %d, error %v", i, a, err)
					}
				}
			}
			t.Logf("%s: %d ok, %d unknown, %d bare (not applied), %d broken promises", proto, ok, unknown, bare, bad)
		})
	}
}

func withHeader(k, v string) RequestEditorFn {
	return func(_ context.Context, r *http.Request) error { r.Header.Set(k, v); return nil }
}

// OUTCOME_RUNS and OUTCOME_SPAN_US scale the random-deadline runs.
func outcomeRuns(def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("OUTCOME_RUNS"), &n); err == nil && n > 0 {
		return n
	}
	return def
}

func outcomeSpan() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("OUTCOME_SPAN_US"), &n); err == nil && n > 0 {
		return n
	}
	return 2000
}

// The server applies the usage, then the caller's context ends (before any answer).
// Over HTTP/2 the error must wrap ErrOutcomeUnknown every time.
func TestCancelAfterApplyIsUnknownOverHTTP2(t *testing.T) {
	var mu sync.Mutex
	cancels := map[string]context.CancelFunc{}
	applied := map[string]int{}
	api := newH2API(t, func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		id := r.Header.Get("X-Call")
		mu.Lock()
		applied[id]++
		cancel := cancels[id]
		mu.Unlock()
		cancel()
		<-r.Context().Done() // no answer: the client resets the stream
	})
	c, _ := api.client(t)
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := outcomeRuns(2000)
	bad := 0
	for i := range n {
		id := fmt.Sprint(i)
		ctx, cancel := context.WithCancel(context.Background())
		mu.Lock()
		cancels[id] = cancel
		mu.Unlock()
		err := usage(ctx, c, withHeader("X-Call", id))
		cancel()
		mu.Lock()
		a := applied[id]
		mu.Unlock()
		if a == 1 && !errors.Is(err, ErrOutcomeUnknown) {
			bad++
			if bad <= 3 {
				t.Errorf("call %d applied, error does not wrap ErrOutcomeUnknown: %v", i, err)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d applied calls came back as a bare error", bad, n)
	}
}

// A caller's http.Client with a Timeout: the server applies the usage and stalls;
// the client's Timeout fires. The SDK must not send the usage again, and the error
// must wrap ErrOutcomeUnknown.
func TestClientTimeoutNeverResendsUsage(t *testing.T) {
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			var mu sync.Mutex
			applied := map[string]int{}
			h := func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					return
				}
				id := r.Header.Get("X-Call")
				mu.Lock()
				applied[id]++
				first := applied[id] == 1
				mu.Unlock()
				if first {
					<-r.Context().Done() // stall until the client gives up
					return
				}
				ok(w, r)
			}
			api := newProtoAPI(t, proto, h)
			var clients []*Client
			for us := 100; us < 500; us += 50 {
				c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: api.Client().Transport, Timeout: time.Duration(us) * time.Microsecond}),
					WithTokenSource(staticToken("tok")))
				clients = append(clients, c)
			}
			n := outcomeRuns(2000)
			double, bare := 0, 0
			for i := range n {
				id := fmt.Sprint(i)
				err := usage(context.Background(), clients[i%len(clients)], withHeader("X-Call", id))
				mu.Lock()
				a := applied[id]
				mu.Unlock()
				if a > 1 {
					double++
					if double <= 3 {
						t.Errorf("call %d applied %d times; error = %v", i, a, err)
					}
				} else if a == 1 && err != nil && !errors.Is(err, ErrOutcomeUnknown) {
					bare++
				}
			}
			api.Close() // waits for the handlers: a re-sent call may be applied late
			mu.Lock()
			double = 0
			for _, a := range applied {
				if a > 1 {
					double++
				}
			}
			mu.Unlock()
			if double > 0 || bare > 0 {
				t.Errorf("%d of %d calls applied twice, %d applied with a bare error", double, n, bare)
			}
		})
	}
}

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s)}, nil
}

// hangTimeout bounds calls that might hang.
const hangTimeout = 3 * time.Second

// The server shuts down (GOAWAY) or drops every connection right after applying.
func TestShutdownAfterApplyIsUnknown(t *testing.T) {
	for _, mode := range []string{"Shutdown (graceful GOAWAY), then answer", "CloseClientConnections, no answer"} {
		t.Run(mode, func(t *testing.T) {
			var applied atomic.Int32
			var api *testAPI
			api = newH2API(t, func(w http.ResponseWriter, r *http.Request) {
				if !applyUsage(&applied, r) {
					return
				}
				if strings.HasPrefix(mode, "Shutdown") {
					go api.Config.Shutdown(context.Background()) // races the answer: either order must hold
					ok(w, r)
					return
				}
				api.CloseClientConnections()
				<-r.Context().Done()
			})
			c, _ := api.client(t)
			err := usage(context.Background(), c)
			t.Logf("err = %v", err)
			checkOutcome(t, err, applied.Load())
		})
	}
}

// A 2xx whose body is another operation's shape: the SDK reports success with
// zero values (here: no invoices at all), although the spec's required "total"
// is missing.
func TestWrongShape2xx(t *testing.T) {
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

// waitForH2Handlers counts the handlers by a frame name of net/http's HTTP/2
// server: if a Go release renames it, the wait must fail, not pass silently.
func TestH2HandlersAreCounted(t *testing.T) {
	release := make(chan struct{})
	api := newH2API(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		ok(w, r)
	})
	c, _ := api.client(t, WithTokenSource(staticToken("tok")))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = usage(context.Background(), c)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for h2Handlers() == 0 {
		if time.Now().After(deadline) {
			close(release)
			<-done
			t.Fatal("no HTTP/2 handler seen in 10 s while one waits: has net/http renamed runHandler?")
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	<-done
	api.Close()
	if n := h2Handlers(); n != 0 {
		t.Errorf("%d HTTP/2 handlers left after Close", n)
	}
}
