// Package sendtrace records how far an HTTP request got, from the events of
// its httptrace.ClientTrace, to tell two things net/http does not: whether a
// round trip that failed can have delivered the request to the server, and
// whether a layer under the HTTP client sent it twice in one round trip.
package sendtrace

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptrace"
	"sync/atomic"
)

// Trace records how far one request got. It holds its ClientTrace, so that one
// allocation (and one per hook) serves a request. Its methods are safe on a nil
// *Trace (an untraced request), which knows nothing.
type Trace struct {
	getConn atomic.Bool  // the transport asked for a connection
	gotConn atomic.Bool  // a connection was obtained (dialled, TLS done, or reused)
	writes  atomic.Int32 // how many times the whole request was written
	ct      httptrace.ClientTrace
	// The request's body reads through the trace (see WrapBody). net/http gets
	// a second connection for a request only while its body is unread (it
	// cannot rewind it); a transport that reads it first (to log or check it)
	// then gets one. Two connections after the body was read are two round
	// trips of a body read once: a layer under the client re-sends it.
	body     io.ReadCloser
	bodyRead atomic.Bool
	connLate atomic.Int32
}

// New returns a Trace and ctx carrying it (composed with ctx's own trace).
func New(ctx context.Context) (context.Context, *Trace) {
	t := &Trace{}
	t.ct = t.Hooks()
	return httptrace.WithClientTrace(ctx, &t.ct), t
}

// Hooks returns a new ClientTrace that reports to t. httptrace.WithClientTrace
// composes it, in place, with the trace of the context it is given: give it a
// context that does not carry t already, or the hooks of that context's trace
// run twice.
func (t *Trace) Hooks() httptrace.ClientTrace {
	return httptrace.ClientTrace{
		GetConn: func(string) { t.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) {
			t.gotConn.Store(true)
			if t.bodyRead.Load() {
				t.connLate.Add(1)
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				t.writes.Add(1)
			}
		},
	}
}

// WrapBody returns body reading through t, so that Resent sees a transport
// that reads the body before it gets a connection.
func (t *Trace) WrapBody(body io.ReadCloser) io.ReadCloser {
	t.body = body
	return t
}

// Read reads the wrapped body.
func (t *Trace) Read(p []byte) (int, error) {
	t.bodyRead.Store(true)
	return t.body.Read(p)
}

// Close closes the wrapped body.
func (t *Trace) Close() error { return t.body.Close() }

// Resent reports whether the request was sent twice in one round trip: written
// twice, or given two connections after its body was read.
func (t *Trace) Resent() bool {
	return t != nil && (t.writes.Load() > 1 || t.connLate.Load() > 1)
}

// NothingSent reports whether a round trip that failed with err never
// delivered a complete request, so the server cannot have acted on it: no
// connection was obtained (DNS, dial, TLS handshake or certificate failures),
// or one was but the request was not completely written. A transport that
// reports no trace events at all (a caller's own RoundTripper) is assumed to
// have sent the request, unless the error is a DNS or dial error.
//
// cut tells a round trip cut short by its context or the client's Timeout:
// net/http then returns without waiting for the goroutine that writes the
// request (HTTP/2 notably), so WroteRequest may not be reported yet; only a
// request that never got a connection is then known not to have been sent (the
// connection events are reported before the round trip returns, whatever ended
// it).
func (t *Trace) NothingSent(err error, cut bool) bool {
	return t.neverConnected(err) || !cut && t != nil && t.gotConn.Load() && t.writes.Load() == 0
}

// neverConnected reports whether a round trip that failed with err never got a
// connection (DNS, dial, TLS handshake or certificate failures), so that
// nothing of the request can have been written.
func (t *Trace) neverConnected(err error) bool {
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) && opErr.Op == "dial" || errors.As(err, &dnsErr) {
		return true
	}
	return t != nil && t.getConn.Load() && !t.gotConn.Load()
}
