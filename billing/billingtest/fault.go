package billingtest

import (
	"io"
	"net/http"
	"net/http/httptest"
)

// TokenEndpoint names the token endpoint for Server.Fault, where an operation
// of the spec is named by its operationId.
const TokenEndpoint = "token"

// A Fault is a scripted failure of the next calls of an operation, or of the
// token endpoint: an error status, or a connection closed without an answer,
// before or after the call is carried out.
//
// An operation's faults apply to calls that pass authentication and request
// validation (a refused call does not use one up), after Requests counted
// them. Token endpoint faults apply to any request, before its checks. Faults
// queued for the same target apply in order.
type Fault struct {
	// Times is how many calls the fault applies to; 0 means 1.
	Times int

	// Status answers this status instead of the call's answer: the spec's error
	// body for an API call, an OAuth2 error for the token endpoint.
	Status int
	// RetryAfter, if set, is sent as the Retry-After header of a Status answer.
	RetryAfter string

	// Drop closes the connection without an answer (over HTTP/2 the stream is
	// reset with INTERNAL_ERROR).
	Drop bool

	// Apply carries the call out before the fault answers: Applied counts it
	// (if it succeeded) and the state changes, but the client gets the Status
	// answer, or nothing with Drop: it cannot tell whether the call was
	// applied. Without Apply the call is not carried out.
	Apply bool

	// Respond, if set, writes the answer itself, for a misbehaviour the fields
	// above do not name (the SDK's own tests script redirects, stalls, answers
	// cut short or padded with it). It gets the fake's answer when Apply is set,
	// else nil. The request's context ends when the client goes away or the
	// Server is closed: Respond must return by then. Its answer is not checked
	// against the spec.
	Respond func(w http.ResponseWriter, r *http.Request, answer *http.Response)
}

// Fault queues f for the next f.Times calls of the operation named by its
// operationId in the spec (for example "setSubscriptionItemUsage"), or of the
// token endpoint (TokenEndpoint). It panics on an unknown operation or an
// invalid Fault: one of Status, Drop and Respond must be set.
//
// Go's http.Transport resends a request on its own after a dropped connection
// when the request is replayable (GET, HEAD, or with an Idempotency-Key header)
// and the connection was reused, and over HTTP/2 after some stream resets: such
// a replay is a new call to the server.
func (s *Server) Fault(operationID string, f Fault) {
	if operationID != TokenEndpoint && s.router.Op(operationID) == nil {
		panic("billingtest: Fault: unknown operation " + operationID)
	}
	n := 0
	for _, set := range []bool{f.Status != 0, f.Drop, f.Respond != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		panic("billingtest: a Fault sets exactly one of Status, Drop and Respond")
	case f.Status != 0 && (f.Status < 100 || f.Status > 599):
		panic("billingtest: Fault.Status is not an HTTP status")
	case f.Times < 0:
		panic("billingtest: negative Fault.Times")
	case f.RetryAfter != "" && f.Status == 0:
		panic("billingtest: Fault.RetryAfter goes with Status")
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[operationID] = append(s.faults[operationID], f)
}

// serveFaulted serves a call with serve, into a recorder, and sends its answer
// with reply, unless a fault is queued for target: then the fault answers, after
// serve if Fault.Apply is set, else instead of it. writeStatus writes the error
// body of a Status fault.
func (s *Server) serveFaulted(w http.ResponseWriter, r *http.Request, target string, writeStatus func(http.ResponseWriter, int),
	serve, reply func(*httptest.ResponseRecorder)) {
	s.mu.Lock()
	q := s.faults[target]
	faulted := len(q) > 0
	var f Fault
	if faulted {
		f = q[0]
		if q[0].Times--; q[0].Times == 0 {
			s.faults[target] = q[1:]
		}
	}
	s.mu.Unlock()
	var answer *http.Response
	if !faulted || f.Apply {
		rec := httptest.NewRecorder()
		serve(rec)
		if !faulted {
			reply(rec)
			return
		}
		answer = rec.Result()
	}
	switch {
	case f.Respond != nil:
		f.Respond(w, r, answer)
	case f.Drop: // net/http closes the connection without an answer (HTTP/2: resets the stream)
		panic(http.ErrAbortHandler)
	default:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeStatus(w, f.Status)
	}
}

// send writes an answer (status, header, body).
func send(w http.ResponseWriter, res *http.Response) {
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body) // the client left if it fails
}
