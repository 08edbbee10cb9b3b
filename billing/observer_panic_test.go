package billing

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
)

// panicking is an Observer that panics in the method it names, and reports
// each panic on panicked (when not nil).
type panicking struct {
	in       string
	panicked chan<- string
}

func (p panicking) maybe(method string) {
	if method != p.in {
		return
	}
	if p.panicked != nil {
		defer func() { p.panicked <- method }()
	}
	panic("observer " + method)
}

func (p panicking) StartCall(ctx context.Context, _ *Call) context.Context {
	p.maybe("StartCall")
	return ctx
}

func (p panicking) StartAttempt(ctx context.Context, _ *Call, _ *Attempt) context.Context {
	p.maybe("StartAttempt")
	return ctx
}

func (p panicking) EndAttempt(context.Context, *Call, *Attempt) { p.maybe("EndAttempt") }
func (p panicking) Event(context.Context, *Call, Event)         { p.maybe("Event") }
func (p panicking) EndCall(context.Context, *Call)              { p.maybe("EndCall") }

// An Observer that panics, in any of its methods, fails no call: a usage
// refused once (401) and then added returns its result, sent twice (the 401
// replay) and applied once, and observers added after it still see the call.
func TestPanickingObserverDoesNotFailTheCall(t *testing.T) {
	for _, method := range []string{"StartCall", "StartAttempt", "EndAttempt", "Event", "EndCall", "nil context"} {
		t.Run(method, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					writeError(w, 401, "UNAUTHORIZED", "token expired")
					return
				}
				ok(w, r)
			})
			var first Observer = panicking{in: method}
			if method == "nil context" {
				first = nilContexts{}
			}
			after := &traceObserver{}
			c, _ := api.client(t, WithObserver(first), WithObserver(after))
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("the call panicked: %v", v)
					}
				}()
				if err := usage(context.Background(), c); err != nil {
					t.Errorf("usage: %v", err)
				}
			}()
			if got := api.apiRequests.Load(); got != 2 {
				t.Errorf("%d requests, want 2 (the 401 and its replay)", got)
			}
			if lines := after.lines; len(lines) == 0 || lines[len(lines)-1] != `end call (in call): 2 attempts, status 201, error "", unknown false` {
				t.Errorf("the next observer saw %q", lines)
			}
		})
	}
}

// nilContexts is an Observer whose StartCall and StartAttempt return nil.
type nilContexts struct{ panicking }

func (nilContexts) StartCall(context.Context, *Call) context.Context              { return nil }
func (nilContexts) StartAttempt(context.Context, *Call, *Attempt) context.Context { return nil }

// An Observer whose Event panics when told of a token renewal that failed,
// which runs on a goroutine of its own, does not crash the program: the call
// goes on with the cached token, and later calls too.
func TestPanickingObserverOfRenewalDoesNotCrash(t *testing.T) {
	api := newTestAPI(t, ok)
	failing := failTokenRequests(api, map[string]string{"error": "invalid_scope"})
	panicked := make(chan string, 1)
	c, _ := api.client(t, WithObserver(panicking{in: "Event", panicked: panicked}))
	if err := usage(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	enterRenewalWindow(c)
	failing.Store(true)
	if err := usage(context.Background(), c); err != nil {
		t.Fatalf("call in the renewal window: %v", err)
	}
	<-panicked
	// The renewal's goroutine is panicking (panicked is sent to from a deferred
	// call as it unwinds); were the panic not recovered, the program would
	// crash before this next round trip ends.
	if err := usage(context.Background(), c); err != nil {
		t.Fatalf("call after the renewal failed: %v", err)
	}
}
