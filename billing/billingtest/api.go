package billingtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// call is what the middleware learnt about an API call, for the handlers.
type call struct {
	op      *ops.Operation
	params  map[string]string // path parameters
	claims  *claims
	sandbox bool
}

type callKey struct{}

func callOf(ctx context.Context) *call { return ctx.Value(callKey{}).(*call) }

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
		if e.status == http.StatusUnauthorized {
			rec.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		writeJSON(rec, e.status, e.body)
		s.reply(w, r, c, rec)
		return
	}
	if err := s.router.ValidateRequest(r.Context(), op, r, params); err != nil {
		writeError(rec, http.StatusBadRequest, "BAD_REQUEST", "%v", err)
		s.reply(w, r, c, rec)
		return
	}
	c.sandbox = isTrue(r.Header.Get("sandbox")) || isTrue(r.URL.Query().Get("sandbox"))

	f, faulted := s.popFault(op.ID)
	if faulted && !f.Apply {
		inject(w, r, f, nil, writeFault)
		return
	}

	s.api.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), callKey{}, c)))
	if rec.Code < 300 {
		s.mu.Lock()
		s.applied[op.ID]++
		s.mu.Unlock()
	}
	if faulted {
		inject(w, r, f, rec.Result(), writeFault)
		return
	}
	s.reply(w, r, c, rec)
}

// reply validates the recorded answer against the spec and sends it. An invalid
// answer is a bug of the fake: a test error with WithT, else a 500. A 400 or 401 the operation does not declare is sent unchecked: the
// fake refuses invalid and unauthenticated calls on every operation.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, c *call, rec *httptest.ResponseRecorder) {
	res := rec.Result()
	body := rec.Body.Bytes()
	lenient := (res.StatusCode == http.StatusBadRequest || res.StatusCode == http.StatusUnauthorized) &&
		!c.op.Declares(res.StatusCode)
	if !lenient {
		if err := s.router.ValidateResponse(r.Context(), c.op, r, c.params, res.StatusCode, res.Header, body); err != nil {
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
func (s *Server) authenticate(r *http.Request, c *call) (apiError, bool) {
	const unauthorized = "UNAUTHORIZED"
	h := r.Header.Get("Authorization")
	if h == "" {
		return newError(http.StatusUnauthorized, unauthorized, "missing bearer access token"), false
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return newError(http.StatusUnauthorized, unauthorized, "the Authorization header is not a bearer token"), false
	}
	var cl claims
	_, err := jwt.ParseWithClaims(strings.TrimSpace(raw), &cl, s.keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(s.cfg.now),
		jwt.WithIssuer(s.issuer()),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return newError(http.StatusUnauthorized, unauthorized, "invalid access token: %v", err), false
	}
	for _, want := range c.op.Scopes {
		if !slices.Contains(cl.Scopes, want) {
			return newError(http.StatusForbidden, "INSUFFICIENT_SCOPE", "missing scope %s", want), false
		}
	}
	c.claims = &cl
	return apiError{}, true
}

func (s *Server) keyFunc(t *jwt.Token) (any, error) {
	if kid, _ := t.Header["kid"].(string); kid != s.key.kid {
		return nil, errors.New("unknown key id")
	}
	return &s.key.priv.PublicKey, nil
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
