package billingtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/hydra"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// call is what serveAPI learnt about an API call, for the handlers.
type call struct {
	op     *ops.Operation
	params map[string]string // path parameters
	claims *hydra.Claims
	st     *store // the sandbox or live store; the handlers hold the Server's mutex
}

type callKey struct{}

func callOf(ctx context.Context) *call { return ctx.Value(callKey{}).(*call) }

// handlers implements the generated strict server on the Server's stores.
type handlers struct{ s *Server }

// serveAPI runs an API call through the steps the package documentation lists.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	op, params, ok := s.router.Find(r.Method, path)
	// Find accepts a prefix before the spec's path; the fake serves none.
	if !ok || strings.Count(path, "/") != strings.Count(op.Path, "/") {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no operation %s %s", r.Method, r.URL.Path)
		return
	}
	s.mu.Lock()
	s.requests[op.ID]++
	s.mu.Unlock()

	c := &call{op: op, params: params}
	rec := httptest.NewRecorder()
	if e, ok := s.authenticate(r, c); !ok {
		writeError(rec, e.Status, e.Body.ErrorCode, "%s", e.Body.Message)
		s.reply(w, r, c, rec)
		return
	}
	if err := s.router.ValidateRequest(r.Context(), op, r, params); err != nil {
		writeError(rec, http.StatusBadRequest, "BAD_REQUEST", "%v", err)
		s.reply(w, r, c, rec)
		return
	}
	c.st = s.store(isTrue(r.Header.Get("sandbox")) || isTrue(r.URL.Query().Get("sandbox")))
	s.serveFaulted(w, r, op.ID, writeFault, func(rec *httptest.ResponseRecorder) {
		s.api.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
		if rec.Code < 300 {
			s.mu.Lock()
			s.applied[op.ID]++
			s.mu.Unlock()
		}
	}, func(rec *httptest.ResponseRecorder) { s.reply(w, r, c, rec) })
}

// locked is the generated server's middleware: the handlers run under the
// Server's mutex, once the request is decoded.
func (s *Server) locked(f fakeapi.StrictHandlerFunc, _ string) fakeapi.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return f(ctx, w, r, req)
	}
}

// reply validates the recorded answer against the spec and sends it. An invalid
// answer is a bug of the fake: a test error with WithT, else a 500. A 400 or 401
// the operation does not declare is sent unchecked: the fake refuses invalid and
// unauthenticated calls on every operation.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, c *call, rec *httptest.ResponseRecorder) {
	res := rec.Result()
	lenient := (res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusUnauthorized) &&
		!c.op.Declares(res.StatusCode)
	if !lenient {
		if err := s.router.ValidateResponse(r.Context(), c.op, r, c.params, res.StatusCode, res.Header, rec.Body.Bytes()); err != nil {
			v := fmt.Errorf("billingtest: %s (%s %s) answered %d against the spec: %w", c.op.ID, r.Method, r.URL, res.StatusCode, err)
			if s.cfg.t == nil {
				writeError(w, http.StatusInternalServerError, "INVALID_RESPONSE", "%v", v)
				return
			}
			s.cfg.t.Errorf("%v", v)
		}
	}
	send(w, res)
}

// authenticate checks the call's bearer token and the operation's scopes, and
// sets c.claims. It returns the error answer when they do not pass.
func (s *Server) authenticate(r *http.Request, c *call) (fakeapi.ErrorResponse, bool) {
	const unauthorized = "UNAUTHORIZED"
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	switch {
	case r.Header.Get("Authorization") == "":
		return newError(http.StatusUnauthorized, unauthorized, "missing bearer access token"), false
	case !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "":
		return newError(http.StatusUnauthorized, unauthorized, "the Authorization header is not a bearer token"), false
	}
	cl, err := s.tokens.Verify(strings.TrimSpace(raw))
	if err != nil {
		return newError(http.StatusUnauthorized, unauthorized, "invalid access token: %v", err), false
	}
	for _, want := range c.op.Scopes {
		if !slices.Contains(cl.Scopes, want) {
			return newError(http.StatusForbidden, "INSUFFICIENT_SCOPE", "missing scope %s", want), false
		}
	}
	c.claims = cl
	return fakeapi.ErrorResponse{}, true
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// newError is an error answer of any operation.
func newError(status int, code, format string, args ...any) fakeapi.ErrorResponse {
	msg := fmt.Sprintf(format, args...)
	return fakeapi.ErrorResponse{Status: status, Body: gen.Error{StatusCode: float64(status), ErrorCode: code, Message: msg}}
}

// notFound answers 404 WHAT_NOT_FOUND: what id not found.
func notFound(what, id string) fakeapi.ErrorResponse {
	code := strings.ToUpper(strings.ReplaceAll(what, " ", "_")) + "_NOT_FOUND"
	return newError(http.StatusNotFound, code, "%s %s not found", what, id)
}

// writeError writes the spec's error body, and a 401's WWW-Authenticate.
func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, newError(status, code, format, args...).Body)
}

// writeFault writes the error body of an injected status, its code derived from
// the status text (503: SERVICE_UNAVAILABLE).
func writeFault(w http.ResponseWriter, status int) {
	code := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	if code == "" {
		code = "ERROR"
	}
	writeError(w, status, code, "fault injected by billingtest")
}

// answerError returns a handler of the generated server's errors that answers
// the spec's error body rather than text/plain: its decoding errors (400: request
// validation ran first, so it only sees what the validator lets through, such as
// an email the generated type refuses) and a handler's failure (500, which reply
// reports as a violation of the spec).
func answerError(status int, code string) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, _ *http.Request, err error) {
		writeError(w, status, code, "%s", strings.TrimPrefix(err.Error(), "can't decode JSON body: "))
	}
}

// writeJSON writes v as a JSON answer; a failed write means that the client left.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("billingtest: encoding an answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
