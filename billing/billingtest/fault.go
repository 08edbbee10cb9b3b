package billingtest

import (
	"io"
	"net/http"
)

// A Fault is a scripted misbehaviour for the next calls of an operation or of
// the token endpoint. It sets exactly one of Status, Stall and Drop.
//
// An operation's faults apply to calls that pass authentication and request
// validation (a refused call does not use one up), after Requests counted them.
// Token endpoint faults apply to any request, before its checks. Faults queued
// for the same target apply in order.
type Fault struct {
	// Times is how many calls the fault applies to; 0 means 1.
	Times int

	// Status answers this status without carrying the call out: the spec's error
	// body for an API call, an OAuth2 error for the token endpoint.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header of a Status answer.
	RetryAfter string
	// Body, if set, replaces the body of a Status answer verbatim (for example
	// with malformed JSON). It is sent as application/json.
	Body string

	// Stall holds the call, without answering, until the client gives up (the
	// request's context is done) or the Server is closed; the connection is then
	// closed. The call is not carried out.
	Stall bool

	// Drop closes the connection without an answer, before or after carrying the
	// call out.
	Drop DropMode
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
// an unknown operation or a Fault that does not set exactly one of Status, Stall
// and Drop.
//
// Go's http.Transport resends a request on its own after a dropped connection
// when the request is replayable (GET, HEAD, or with an Idempotency-Key header)
// and the connection was reused: such a replay is a new call to the server.
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
// DropAfterApply a token is issued but never delivered. It panics on a Fault that
// does not set exactly one of Status, Stall and Drop.
func (s *Server) TokenFault(f Fault) {
	f.check()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFaults = append(s.tokenFaults, f)
}

func (f *Fault) check() {
	n := 0
	if f.Status != 0 {
		n++
	}
	if f.Stall {
		n++
	}
	if f.Drop != DropNone {
		n++
	}
	switch {
	case n != 1:
		panic("billingtest: a Fault sets exactly one of Status, Stall and Drop")
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		panic("billingtest: Fault.Status is not an HTTP status")
	case f.Drop < DropNone || f.Drop > DropAfterApply:
		panic("billingtest: unknown Fault.Drop")
	case f.Times < 0:
		panic("billingtest: negative Fault.Times")
	}
	if f.Times == 0 {
		f.Times = 1
	}
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

// inject answers the call as f says, for every fault but DropAfterApply, which
// the caller handles. writeStatus writes the error body of a Status fault.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, f Fault, writeStatus func(http.ResponseWriter, int)) {
	switch {
	case f.Stall:
		select {
		case <-r.Context().Done():
		case <-s.closed:
		}
		abort(w)
	case f.Drop != DropNone:
		abort(w)
	default:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Body == "" {
			writeStatus(w, f.Status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	}
}

// abort closes the connection of the call without an answer.
func abort(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
