package billingtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// A Fault is a scripted misbehaviour for the next calls of an operation or of
// the token endpoint. It sets exactly one of Status, Stall, Drop, Truncate and
// Pad; Apply, Location, RetryAfter, Body and ContentType refine some of them.
//
// An operation's faults apply to calls that pass authentication and request
// validation (a refused call does not use one up), after Requests counted them.
// Token endpoint faults apply to any request, before its checks (except the
// ones that carry the request out: Apply, DropAfterApply, Truncate, Pad). Faults
// queued for the same target apply in order, whichever listener of the Server
// (its URL or an Origin) receives the call.
type Fault struct {
	// Times is how many calls the fault applies to; 0 means 1.
	Times int

	// Status answers this status instead of the call's answer: the spec's error
	// body for an API call, an OAuth2 error for the token endpoint, unless Body
	// replaces it. Without Apply the call is not carried out.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header of a Status answer.
	RetryAfter string
	// Body, if set, replaces the body of a Status answer verbatim (for example
	// with malformed JSON, or with a 2xx body the spec does not describe).
	Body string
	// ContentType is the Content-Type of Body (default application/json).
	ContentType string
	// Location, with a 3xx Status, is sent as the Location header: the fault
	// answers a redirect, for example to Server.URL (the same origin) or to an
	// Origin (another host, or plain http).
	Location string

	// Stall holds the call, without answering, until the client gives up (the
	// request's context is done) or the Server is closed; the connection is then
	// closed. Without Apply the call is not carried out.
	Stall bool

	// Drop closes the connection without an answer, before or after carrying the
	// call out. Over HTTP/2 the stream is reset (INTERNAL_ERROR) instead.
	Drop DropMode

	// Truncate carries the call out and sends its answer cut short: the status,
	// the headers and the Content-Length of the whole answer, then half of the
	// body, then the connection is closed (over HTTP/2 the stream is reset).
	Truncate bool

	// Pad, if positive, carries the call out and sends its answer followed by
	// spaces, Pad bytes in all, with no Content-Length: a valid JSON body that is
	// larger than a client should accept. Sending stops when the client goes away
	// or the Server is closed.
	Pad int64

	// Apply, with Status or Stall, carries the call out before the fault
	// answers: Applied counts it (if it succeeded) and the state changes, but the
	// client gets the Status answer (a 5xx after the fact, a 303 See Other, a 2xx
	// whose body is not JSON) or nothing.
	Apply bool
}

// DropMode tells when a Fault drops the connection.
type DropMode int

const (
	// DropNone does not drop the connection.
	DropNone DropMode = iota
	// DropBeforeApply closes the connection before the call is carried out: the
	// state is unchanged.
	DropBeforeApply
	// DropAfterApply carries the call out (Applied counts it), then closes the
	// connection without answering: the client cannot tell whether it was applied.
	DropAfterApply
)

// Fault queues f for the next f.Times calls of the operation named by its
// operationId in the spec (for example "setSubscriptionItemUsage"). It panics on
// an unknown operation or an invalid Fault (see Fault).
//
// Go's http.Transport resends a request on its own after a dropped connection
// when the request is replayable (GET, HEAD, or with an Idempotency-Key header)
// and the connection was reused, and over HTTP/2 after some stream resets: such
// a replay is a new call to the server.
func (s *Server) Fault(operationID string, f Fault) {
	if s.router.Op(operationID) == nil {
		panic("billingtest: Fault: unknown operation " + operationID)
	}
	f.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[operationID] = append(s.faults[operationID], f)
}

// TokenFault queues f for the next f.Times requests to the token endpoint. With
// DropAfterApply or Apply a token is issued but never delivered. It panics on an
// invalid Fault (see Fault).
func (s *Server) TokenFault(f Fault) {
	f.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFaults = append(s.tokenFaults, f)
}

func (f *Fault) check() {
	n := 0
	for _, set := range []bool{f.Status != 0, f.Stall, f.Drop != DropNone, f.Truncate, f.Pad != 0} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		panic("billingtest: a Fault sets exactly one of Status, Stall, Drop, Truncate and Pad")
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		panic("billingtest: Fault.Status is not an HTTP status")
	case f.Drop < DropNone || f.Drop > DropAfterApply:
		panic("billingtest: unknown Fault.Drop")
	case f.Times < 0:
		panic("billingtest: negative Fault.Times")
	case f.Pad < 0:
		panic("billingtest: negative Fault.Pad")
	case f.Apply && f.Status == 0 && !f.Stall:
		panic("billingtest: Fault.Apply goes with Status or Stall")
	case f.Location != "" && (f.Status < 300 || f.Status > 399):
		panic("billingtest: Fault.Location goes with a 3xx Status")
	case (f.RetryAfter != "" || f.Body != "" || f.ContentType != "") && f.Status == 0:
		panic("billingtest: Fault.RetryAfter, Body and ContentType go with Status")
	}
	if f.Times == 0 {
		f.Times = 1
	}
}

// applies reports whether the fault carries the call out before answering.
func (f *Fault) applies() bool {
	return f.Apply || f.Drop == DropAfterApply || f.Truncate || f.Pad > 0
}

// popFault takes one use of the first fault of q. The caller holds the mutex.
func popFault(q *[]Fault) (Fault, bool) {
	if len(*q) == 0 {
		return Fault{}, false
	}
	f := (*q)[0]
	if (*q)[0].Times--; (*q)[0].Times == 0 {
		*q = (*q)[1:]
	}
	return f, true
}

// inject answers the call as f's Status, Stall or Drop says. writeStatus writes
// the error body of a Status fault.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, f Fault, writeStatus func(http.ResponseWriter, int)) {
	switch {
	case f.Stall:
		<-r.Context().Done() // the client gave up, or Close
		abort(w)
	case f.Drop != DropNone:
		abort(w)
	default:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Location != "" {
			w.Header().Set("Location", f.Location)
		}
		if f.Body == "" {
			writeStatus(w, f.Status)
			return
		}
		ct := f.ContentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	}
}

// send writes an answer (status, header, body) to the call r, cut short or
// padded as f says.
func send(w http.ResponseWriter, r *http.Request, status int, header http.Header, body []byte, f Fault) {
	for k, v := range header {
		w.Header()[k] = v
	}
	switch {
	case f.Truncate:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		abort(w)
	case f.Pad > 0:
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		// A client that stops reading blocks the writes; when the call's
		// context ends (the client gave up, or Close), the write deadline
		// ends them.
		rc := http.NewResponseController(w)
		fired := make(chan struct{})
		stop := context.AfterFunc(r.Context(), func() {
			defer close(fired)
			_ = rc.SetWriteDeadline(time.Now())
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
		if _, err := w.Write(body); err != nil {
			return
		}
		spaces := bytes.Repeat([]byte{' '}, 32<<10)
		for left := f.Pad - int64(len(body)); left > 0; left -= int64(len(spaces)) {
			if _, err := w.Write(spaces[:min(left, int64(len(spaces)))]); err != nil {
				return // the client went away, or Close
			}
		}
	default:
		w.WriteHeader(status)
		_, _ = w.Write(body) // the client left if it fails
	}
}

// abort closes the connection of the call without an answer (over HTTP/2, it
// resets the stream).
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
