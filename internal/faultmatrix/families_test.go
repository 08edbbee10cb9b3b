package faultmatrix

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/net/http2"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// A family is one kind of fault; a cell is a family applied to an operation.
type family struct {
	name   string
	proto  proto
	server []billingtest.Option // options of the fake
	// prefetch says whether the client fetches its token before the fault is
	// armed (nil: always), as a long-lived client has.
	prefetch func(r *run) bool
	slow     bool // waits on the wall clock: all runs of a cell go at once
	// detached: a token fetch may outlive the call (the client shares one fetch
	// among callers); connections are counted after the servers close.
	detached bool
	setup    func(r *run) // before the client is created
	arm      func(r *run) // after the token was fetched, before the call
	expect   func(op *operation) expect
}

// expect is what the retry policy promises for a cell, on top of the rules
// every cell checks (see classify).
type expect struct {
	success  bool    // a retry must succeed: an error is a lost success
	fail     bool    // the caller must get an error
	definite bool    // nothing can have been applied: the error must not wrap ErrOutcomeUnknown
	errIs    []error // an error must wrap each of these
	status   int     // an error must be an *APIError of this status (300: any 3xx)
}

func promised(*operation) expect { return expect{success: true} }

// idempotentPromised: a retry succeeds for idempotent operations; the others
// fail, maybe with an unknown outcome.
func idempotentPromised(op *operation) expect { return expect{success: op.idempotent} }

// definiteFailure: the call fails and nothing can have been applied.
func definiteFailure(*operation) expect { return expect{fail: true, definite: true} }

func never(*run) bool { return false }

// closeThen drops the client's idle connections (the token fetch's), so that
// the call dials again, then applies fn.
func closeThen(fn func(d *dialer)) func(r *run) {
	return func(r *run) {
		r.tr.CloseIdleConnections()
		r.dial.mu.Lock()
		fn(r.dial)
		r.dial.mu.Unlock()
	}
}

func fault(f billingtest.Fault) func(r *run) {
	return func(r *run) { r.srv.Fault(r.op.id, f) }
}

func tokenFault(f billingtest.Fault) func(r *run) {
	return func(r *run) { r.srv.Fault(billingtest.TokenEndpoint, f) }
}

func frames(a faultlab.Action, code http2.ErrCode) func(r *run) {
	return func(r *run) { r.proxy.Fault("/v1/", faultlab.FrameFault{Action: a, Code: code}) }
}

// jitteredDeadline gives the call a random deadline of 2 to 25 ms.
func jitteredDeadline(arm func(r *run)) func(r *run) {
	return func(r *run) {
		r.deadline = r.rnd.duration(2*time.Millisecond, 25*time.Millisecond)
		arm(r)
	}
}

// families lists the fault families, in the order of the table.
func families() []family {
	fams := []family{
		{name: "connection refused once", arm: closeThen(func(d *dialer) { d.refuse = 1 }), expect: promised},
		{name: "connection refused (server down)", arm: closeThen(func(d *dialer) { d.refuse = 1 << 30 }), expect: definiteFailure},

		{name: "dropped before apply", arm: fault(billingtest.Fault{Drop: true}), expect: idempotentPromised},
		{name: "dropped after apply", arm: fault(billingtest.Fault{Drop: true, Apply: true}), expect: idempotentPromised},
		{name: "dropped before apply", proto: h1, arm: fault(billingtest.Fault{Drop: true}), expect: idempotentPromised},
		{name: "dropped after apply", proto: h1, arm: fault(billingtest.Fault{Drop: true, Apply: true}), expect: idempotentPromised},
		{name: "dropped after apply, Idempotency-Key sent", proto: h1,
			arm: func(r *run) {
				key := fmt.Sprintf("matrix-%x", r.rnd.Uint64())
				r.callOpts = append(r.callOpts, func(_ context.Context, req *http.Request) error {
					req.Header.Set("Idempotency-Key", key)
					return nil
				})
				r.srv.Fault(r.op.id, billingtest.Fault{Drop: true, Apply: true})
			}, expect: idempotentPromised},
	}

	for _, status := range []int{500, 502, 503, 504} {
		fams = append(fams, family{name: fmt.Sprint(status), arm: fault(billingtest.Fault{Status: status}),
			expect: func(op *operation) expect {
				if op.idempotent {
					return expect{success: true}
				}
				return expect{fail: true, errIs: []error{billing.ErrOutcomeUnknown}, status: status}
			}})
	}
	fams = append(fams,
		family{name: "500 after apply", arm: fault(billingtest.Fault{Status: 500, Apply: true}), expect: idempotentPromised},
		family{name: "429 without Retry-After", arm: fault(billingtest.Fault{Status: 429}), expect: promised},
		family{name: "429 with Retry-After: 1", slow: true, arm: fault(billingtest.Fault{Status: 429, RetryAfter: "1"}), expect: promised},
		family{name: "429 on every attempt", arm: fault(billingtest.Fault{Status: 429, Times: fastRetries.MaxAttempts}),
			expect: func(*operation) expect { return expect{fail: true, definite: true, status: 429} }},
		family{name: "stall past the deadline", arm: jitteredDeadline(fault(billingtest.Fault{Respond: faultlab.Stall})),
			expect: func(*operation) expect { return expect{fail: true, errIs: []error{context.DeadlineExceeded}} }},
		family{name: "stall after apply past the deadline", arm: jitteredDeadline(fault(billingtest.Fault{Respond: faultlab.Stall, Apply: true})),
			expect: func(*operation) expect { return expect{fail: true, errIs: []error{context.DeadlineExceeded}} }},

		family{name: "RST_STREAM PROTOCOL_ERROR before apply", proto: raw, arm: frames(faultlab.ResetBefore, http2.ErrCodeProtocol), expect: idempotentPromised},
		family{name: "RST_STREAM PROTOCOL_ERROR after apply", proto: raw, arm: frames(faultlab.ResetAfter, http2.ErrCodeProtocol), expect: idempotentPromised},
		// REFUSED_STREAM and a GOAWAY below the stream mean "not processed" (RFC 9113
		// 8.7, 6.8), but without GetBody net/http reports them, for a request whose
		// body was written, as a plain error text, as for a reset that may follow
		// processing: the SDK reports them as unknown outcomes (its README says so),
		// and promises a retry only for idempotent operations.
		family{name: "RST_STREAM REFUSED_STREAM", proto: raw, arm: frames(faultlab.ResetBefore, http2.ErrCodeRefusedStream), expect: idempotentPromised},
		family{name: "GOAWAY before processing", proto: raw, arm: frames(faultlab.GoAwayBefore, http2.ErrCodeNo), expect: idempotentPromised},
		family{name: "GOAWAY after apply", proto: raw, arm: frames(faultlab.GoAwayAfter, http2.ErrCodeNo), expect: idempotentPromised},
	)

	// Redirects, answered after the call was carried out (a 303 See Other is
	// what a server sends after applying a POST). The SDK never follows one.
	for _, target := range []struct {
		name string
		base func(r *run) string
	}{
		{"the same host", func(r *run) string { return r.base }},
		{"another host", func(r *run) string { return r.origin(true, "localhost") }},
		{"http://", func(r *run) string { return r.origin(false, "127.0.0.1") }},
	} {
		for _, status := range []int{301, 302, 303, 307, 308} {
			fams = append(fams, family{name: fmt.Sprintf("%d to %s", status, target.name),
				arm: func(r *run) {
					r.srv.Fault(r.op.id, billingtest.Fault{Respond: faultlab.Redirect(status, target.base(r)+r.op.path), Apply: true})
				},
				expect: func(*operation) expect { return expect{fail: true, status: 300} }})
		}
	}

	broken := func(op *operation) expect {
		return expect{fail: !op.idempotent, errIs: []error{billing.ErrUnexpectedResponse}}
	}
	fams = append(fams,
		family{name: "2xx truncated", arm: fault(billingtest.Fault{Respond: faultlab.Truncate, Apply: true}), expect: broken},
		family{name: "2xx not JSON", arm: func(r *run) {
			r.srv.Fault(r.op.id, billingtest.Fault{Respond: faultlab.Answer(r.op.okStatus, "text/html", "<html><body>Done</body></html>"), Apply: true})
		}, expect: broken},
		family{name: "2xx JSON of the wrong shape", arm: func(r *run) {
			r.srv.Fault(r.op.id, billingtest.Fault{Respond: faultlab.Answer(r.op.okStatus, "", `{"item": 42, "items": 42, "total": "many"}`), Apply: true})
		}, expect: broken},
		family{name: "2xx oversized", arm: fault(billingtest.Fault{Respond: faultlab.Pad(4 * maxBody), Apply: true}), expect: broken},

		family{name: "token endpoint down", prefetch: never,
			setup: func(r *run) { r.tokenURL = "http://" + refusedAddr + "/oauth2/token" }, expect: definiteFailure},
		family{name: "token endpoint stalls past the deadline", prefetch: never, detached: true,
			arm: jitteredDeadline(tokenFault(billingtest.Fault{Respond: faultlab.Stall})),
			expect: func(*operation) expect {
				return expect{fail: true, definite: true, errIs: []error{context.DeadlineExceeded}}
			}},
		family{name: "token endpoint answers garbage", prefetch: never,
			arm: tokenFault(billingtest.Fault{Respond: faultlab.Answer(200, "text/html", "<html>Welcome</html>")}), expect: definiteFailure},
		family{name: "token endpoint 503 once", prefetch: never, arm: tokenFault(billingtest.Fault{Status: 503}), expect: promised},
		family{name: "token endpoint 307 to http://", prefetch: never,
			arm: func(r *run) {
				r.srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Respond: faultlab.Redirect(307, r.origin(false, "127.0.0.1")+"/oauth2/token")})
			}, expect: definiteFailure},
		family{name: "401, then token endpoint 503 on renewal",
			arm: func(r *run) {
				r.srv.Fault(r.op.id, billingtest.Fault{Status: 401})
				r.srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 503})
			}, expect: promised},
		family{name: "token renewal fails, token still valid", slow: true,
			// The fake's clock stands still, so it never refuses the token as
			// expired: only the client's view of its life matters.
			server: []billingtest.Option{billingtest.WithTokenTTL(2 * time.Second), billingtest.WithClock(frozenClock())},
			arm:    renewalFails, expect: promised},
		family{name: "401 on a valid-looking token", arm: fault(billingtest.Fault{Status: 401}), expect: promised},
		family{name: "401 twice", arm: fault(billingtest.Fault{Status: 401, Times: 2}),
			expect: func(*operation) expect { return expect{fail: true, definite: true, status: 401} }},

		family{name: "TLS certificate not trusted", arm: func(r *run) {
			r.tr.CloseIdleConnections()
			r.startImpostor()
		}, expect: definiteFailure},
		family{name: "DNS failure", setup: func(r *run) { r.base = "https://api.billing.invalid" }, expect: definiteFailure},
		family{name: "invalid header value", arm: func(r *run) {
			r.callOpts = append(r.callOpts, func(_ context.Context, req *http.Request) error {
				req.Header.Set("X-Note", "line one\nline two")
				return nil
			})
		}, expect: definiteFailure},
		family{name: "context ends at a random point",
			prefetch: func(r *run) bool { return r.rnd.IntN(2) == 0 },
			arm: func(r *run) {
				r.deadline = r.rnd.duration(0, 2*calibrated[r.op.id])
				if r.deadline == 0 {
					r.deadline = time.Nanosecond
				}
			},
			expect: func(*operation) expect { return expect{errIs: []error{context.DeadlineExceeded}} }},
	)
	return append(fams, hostileFamilies()...)
}

// frozenClock returns a clock that always tells the time it was made.
func frozenClock() func() time.Time {
	now := time.Now()
	return func() time.Time { return now }
}

// renewalFails waits until the client's token (2 s) is due for renewal (after
// 3/4 of its life, counted from the fetch) but not expired, then makes every
// token request fail: the client must go on with the token it has. The wait is
// on the wall clock by design (the client has no clock to move), which leaves
// the call ~0.5 s before the token expires. A run whose call ends after the
// expiry is inconclusive rather than failed: on a loaded machine the client
// may have asked for the token only once it had expired, and then failing is
// right. A call that ends before used a valid token and must succeed.
func renewalFails(r *run) {
	renewAt := r.tokenEnd.Add(r.tokenExpiry.Sub(r.tokenEnd) * 3 / 4) // the latest it can be
	time.Sleep(time.Until(renewAt) + 5*time.Millisecond)
	r.srv.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 503, Times: 10})
	r.conclusiveUntil = r.tokenExpiry
}
