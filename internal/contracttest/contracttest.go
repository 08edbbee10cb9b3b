// Package contracttest checks HTTP traffic against the Billing API spec, in tests:
// Transport is an http.RoundTripper that validates every request sent to an
// operation of the embedded spec and every answer received, and reports each
// violation, by default as a test error of the test that caused it.
//
// What is checked, with internal/spec (kin-openapi's openapi3filter):
//
//   - every request to an operation of the spec: path, query and header
//     parameters, the JSON body, and a bearer token (every operation has a
//     security requirement);
//   - every answer with a 2xx status, or a status the operation declares: that
//     the status is declared, the Content-Type, and the body against its schema.
//
// Requests to anything else (a token endpoint, a download link) pass unchecked.
// So do answers with a non-2xx status the operation does not declare (a 429, a
// 503 from a gateway): OpenAPI does not require a spec to list every status, and
// the SDK turns them into errors whatever their body. An answer whose body cannot
// be read whole (a dropped connection), or is larger than MaxCheckedBody, is
// passed on as it came, unchecked.
//
// The transport changes nothing the layers around it rely on: the base transport
// gets the request as sent (a request without GetBody still has none, so net/http
// cannot replay it), and the caller reads the same bytes, and the same error at the
// same place, as without it.
//
// A test that breaks the spec on purpose says so with a named Exemption, which
// then must be needed: an exemption that no request or answer used is a test error
// too, so that exemptions do not outlive the reason for them.
package contracttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

// MaxCheckedBody is the largest answer body the transport reads to check it
// (billing.DefaultMaxResponseBytes); a larger one streams through unchecked.
const MaxCheckedBody = 4 << 20

// Exemption lets a test break the spec on purpose in one direction. Build it with
// OffSpecRequests or OffSpecAnswers.
type Exemption struct {
	dir    direction
	reason string
}

type direction int

const (
	requests direction = iota
	answers
)

func (d direction) String() string {
	if d == requests {
		return "OffSpecRequests"
	}
	return "OffSpecAnswers"
}

// OffSpecRequests exempts requests that break the spec: the test sends them on
// purpose (client-side checks off). reason says why; it is logged when used.
func OffSpecRequests(reason string) Exemption { return Exemption{requests, reason} }

// OffSpecAnswers exempts answers that break the spec: the test's server gives
// them on purpose (a fault test). reason says why; it is logged when used.
func OffSpecAnswers(reason string) Exemption { return Exemption{answers, reason} }

// Violation is a request or an answer that breaks the spec.
type Violation struct {
	Operation string // operationId
	Method    string
	URL       string // path and query
	Status    int    // the answer's status; 0 for a request
	Err       error  // what is wrong (a *spec.FieldError mostly)
}

func (v Violation) Error() string {
	what := "request"
	if v.Status != 0 {
		what = fmt.Sprintf("%d answer", v.Status)
	}
	return fmt.Sprintf("contracttest: %s (%s %s): %s breaks the spec: %v", v.Operation, v.Method, v.URL, what, v.Err)
}

func (v Violation) Unwrap() error { return v.Err }

// Transport validates the traffic it carries against the spec; see the package
// documentation. It is safe for concurrent use.
type Transport struct {
	base    http.RoundTripper
	router  *spec.Router
	secured map[string]bool // operations whose security requires a token
	report  func(Violation)
	logf    func(format string, args ...any)

	exempt [2]*Exemption
	used   [2]atomic.Bool

	checkedRequests atomic.Int64
	checkedAnswers  atomic.Int64
	mu              sync.Mutex
	violations      []Violation
}

// New returns a Transport over base (http.DefaultTransport if nil) that reports
// each violation as an error of t, except those the exemptions allow, and that
// fails t at its end for an exemption nothing needed.
func New(t testing.TB, base http.RoundTripper, exemptions ...Exemption) *Transport {
	t.Helper()
	tr := NewFunc(base, func(v Violation) { t.Errorf("%v", v) })
	tr.logf = t.Logf
	for _, e := range exemptions {
		if e.reason == "" {
			t.Fatalf("contracttest: %s needs a reason", e.dir)
		}
		tr.exempt[e.dir] = &e
	}
	t.Cleanup(func() {
		for d, e := range tr.exempt {
			if e != nil && !tr.used[d].Load() {
				t.Errorf("contracttest: %s(%q) was not needed: no %s broke the spec; remove it",
					e.dir, e.reason, strings.TrimPrefix(strings.ToLower(e.dir.String()), "offspec"))
			}
		}
	})
	return tr
}

// NewFunc returns a Transport over base (http.DefaultTransport if nil) that calls
// report for each violation (concurrently if requests are). Nothing is exempt.
func NewFunc(base http.RoundTripper, report func(Violation)) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	router, err := spec.Load()
	if err != nil {
		panic("contracttest: " + err.Error())
	}
	return &Transport{base: base, router: router, secured: secured(router), report: report, logf: func(string, ...any) {}}
}

// secured returns the operations that need credentials: a security requirement
// with no empty (anonymous) alternative.
func secured(r *spec.Router) map[string]bool {
	m := map[string]bool{}
	for _, item := range r.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			reqs := r.Doc.Security
			if op.Security != nil {
				reqs = *op.Security
			}
			m[op.OperationID] = len(reqs) > 0 && !slices.ContainsFunc(reqs, func(req openapi3.SecurityRequirement) bool { return len(req) == 0 })
		}
	}
	return m
}

// Client returns a copy of hc (http.DefaultClient if nil) whose transport is New(t,
// hc.Transport, exemptions...).
func Client(t testing.TB, hc *http.Client, exemptions ...Exemption) *http.Client {
	t.Helper()
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.Transport = New(t, hc.Transport, exemptions...)
	return &c
}

// Checked returns how many requests and answers the transport validated.
func (tr *Transport) Checked() (requests, answers int64) {
	return tr.checkedRequests.Load(), tr.checkedAnswers.Load()
}

// Violations returns the violations found so far, exempt ones included.
func (tr *Transport) Violations() []Violation {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Violation(nil), tr.violations...)
}

// RoundTrip validates req, sends it with the base transport and validates the
// answer. It never changes what the caller gets: the same answer, or the same
// error, as the base transport gives.
func (tr *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	op, params, ok := tr.router.Find(req.Method, req.URL.EscapedPath())
	if !ok {
		return tr.base.RoundTrip(req)
	}
	out, err := tr.checkRequest(req, op, params)
	if err != nil {
		return nil, err
	}
	resp, err := tr.base.RoundTrip(out)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode/100 != 2 && !op.Declares(resp.StatusCode) || resp.ContentLength > MaxCheckedBody {
		return resp, nil
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxCheckedBody+1))
	if readErr == nil && len(body) > MaxCheckedBody {
		// Too large to check: the caller reads what was read, then the rest.
		resp.Body = &prefixBody{Reader: io.MultiReader(bytes.NewReader(body), resp.Body), Closer: resp.Body}
		return resp, nil
	}
	_ = resp.Body.Close()
	resp.Body = &replayBody{Reader: bytes.NewReader(body), err: readErr}
	if readErr != nil {
		return resp, nil // cut off: the caller sees the same error when it reads
	}
	tr.checkedAnswers.Add(1)
	// The validator reads the request only for its route and parameters.
	if err := tr.router.ValidateResponse(context.WithoutCancel(req.Context()), op, req, params, resp.StatusCode, resp.Header, body); err != nil {
		tr.violation(answers, Violation{Operation: op.ID, Method: req.Method, URL: req.URL.RequestURI(), Status: resp.StatusCode, Err: err})
	}
	return resp, nil
}

// checkRequest validates req and returns the request to send: req itself, or a
// copy whose body was read for the check and put back.
func (tr *Transport) checkRequest(req *http.Request, op *ops.Operation, params map[string]string) (*http.Request, error) {
	out := req
	check := req.Clone(context.WithoutCancel(req.Context()))
	if req.Body != nil && req.Body != http.NoBody {
		var body []byte
		if req.GetBody != nil {
			rc, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("contracttest: %s: copying the request body: %w", op.ID, err)
			}
			body, err = io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				return nil, fmt.Errorf("contracttest: %s: copying the request body: %w", op.ID, err)
			}
		} else {
			var err error
			body, err = io.ReadAll(req.Body)
			_ = req.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("contracttest: %s: reading the request body: %w", op.ID, err)
			}
			// The same body again, and still no GetBody: what net/http may replay
			// must not change.
			out = req.Clone(req.Context())
			out.Body = io.NopCloser(bytes.NewReader(body))
		}
		check.Body = io.NopCloser(bytes.NewReader(body))
	}
	tr.checkedRequests.Add(1)
	v := Violation{Operation: op.ID, Method: req.Method, URL: req.URL.RequestURI()}
	if err := tr.router.ValidateRequest(check.Context(), op, check, params); err != nil {
		v.Err = err
		tr.violation(requests, v)
	}
	if tr.secured[op.ID] {
		if scheme, tok, _ := strings.Cut(req.Header.Get("Authorization"), " "); !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			v.Err = errors.New("no bearer token in the Authorization header (the operation's security requires one)")
			tr.violation(requests, v)
		}
	}
	return out, nil
}

func (tr *Transport) violation(d direction, v Violation) {
	tr.mu.Lock()
	tr.violations = append(tr.violations, v)
	tr.mu.Unlock()
	if e := tr.exempt[d]; e != nil {
		tr.used[d].Store(true)
		tr.logf("contracttest: exempt (%s: %s): %v", e.dir, e.reason, v)
		return
	}
	tr.report(v)
}

// replayBody gives back a body read whole, then the error that ended the read.
type replayBody struct {
	*bytes.Reader
	err error
}

func (b *replayBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		return n, b.err
	}
	return n, err
}

func (b *replayBody) Close() error { return nil }

// prefixBody gives back the bytes read so far, then the rest of the body.
type prefixBody struct {
	io.Reader
	io.Closer
}
