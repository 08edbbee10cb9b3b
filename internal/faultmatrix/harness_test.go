package faultmatrix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// These tests run with every go test: they prove that the matrix's checks can
// fail, without running the matrix.

var (
	usageOp = &operations[5]
	readOp  = &operations[0]
)

func TestOperationsTable(t *testing.T) {
	want := []string{"getProductComponents", "addCustomer", "addSubscriptionEstimateForCustomer", "addSubscriptionChargeAtTerm",
		"setSubscriptionItemQuantity", "setSubscriptionItemUsage", "updateSubscription", "getInvoices", "getInvoiceDownload"}
	var got, notIdem []string
	for _, op := range operations {
		got = append(got, op.id)
		if !op.idempotent {
			notIdem = append(notIdem, op.id)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"addCustomer", "addSubscriptionChargeAtTerm", "setSubscriptionItemUsage"}, notIdem); diff != "" {
		t.Errorf("not idempotent (-want +got):\n%s", diff)
	}
	if usageOp.id != "setSubscriptionItemUsage" || readOp.id != "getProductComponents" {
		t.Fatal("usageOp or readOp moved")
	}
}

// errUnknownOutcome is an error as the SDK returns it for an unknown outcome.
var errUnknownOutcome = fmt.Errorf("billing: setSubscriptionItemUsage: %w: connection reset", billing.ErrOutcomeUnknown)

func TestClassify(t *testing.T) {
	plain := errors.New("billing: setSubscriptionItemUsage: 404 Not Found")
	for _, tt := range []struct {
		name string
		op   *operation
		exp  expect
		res  result
		want []kind
	}{
		{"applied once, success", usageOp, expect{}, result{applied: 1}, nil},
		{"applied twice", usageOp, expect{}, result{applied: 2}, []kind{duplicated, unflagged}},
		{"applied, bare error", usageOp, expect{}, result{applied: 1, err: plain}, []kind{unflagged}},
		{"applied, unknown", usageOp, expect{}, result{applied: 1, err: errUnknownOutcome}, nil},
		{"success, nothing applied", usageOp, expect{}, result{applied: 0}, []kind{unflagged}},
		{"read: success, nothing served", readOp, expect{}, result{applied: 0}, []kind{unflagged}},
		{"read: served twice", readOp, expect{}, result{applied: 2}, nil},
		{"promised success", readOp, expect{success: true}, result{err: plain}, []kind{lost}},
		{"promised, inconclusive", readOp, expect{success: true}, result{err: plain, inconclusive: true}, nil},
		{"connection left open", readOp, expect{}, result{applied: 1, openConns: 1}, []kind{leak}},
		{"false unknown", usageOp, expect{definite: true}, result{err: errUnknownOutcome}, []kind{other}},
		{"want failure", readOp, expect{fail: true}, result{applied: 1}, []kind{other}},
		{"wrong error", readOp, expect{errIs: []error{context.DeadlineExceeded}}, result{err: plain}, []kind{other}},
		{"want an APIError", readOp, expect{status: 429}, result{err: plain}, []kind{other}},
		{"want a 3xx APIError", readOp, expect{status: 300}, result{err: &billing.APIError{StatusCode: 302, Location: "x", Operation: "x"}}, nil},
		{"two prefixes", readOp, expect{}, result{err: errors.New("billing: x: billing: y")}, []kind{other}},
		{"secret in error", readOp, expect{}, result{err: errors.New("billing: x: s3cret"), secrets: []string{"s3cret"}}, []kind{leak}},
		{"secret deep in the chain", readOp, expect{}, result{err: fmt.Errorf("billing: x: %w", &unknownLike{causes: []error{errUnknownOutcome, errors.New("oauth2: s3cret")}}),
			secrets: []string{"s3cret"}}, []kind{leak}},
		{"applied, refused after a retry, not said", readOp, expect{}, result{applied: 1, err: &billing.APIError{Operation: "x", StatusCode: 409, Attempts: 2}}, []kind{unflagged}},
		{"applied, refused after a retry, said", readOp, expect{}, result{applied: 1, err: &billing.APIError{Operation: "x", StatusCode: 409, Attempts: 2, EarlierAttemptMayHaveApplied: true}}, nil},
		{"redirect followed, token sent", readOp, expect{}, result{applied: 1, originHits: 1, credLeaks: []string{"Bearer"}}, []kind{other, other}},
		{"state disagrees", usageOp, expect{}, result{applied: 1, state: "usage 20"}, []kind{other}},
		{"setup failed", usageOp, expect{}, result{setupErr: plain}, []kind{other}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fam := &family{expect: func(*operation) expect { return tt.exp }}
			var got []kind
			for _, v := range classify(fam, tt.op, tt.res) {
				got = append(got, v.kind)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

// unknownLike is an error with several causes, as billing's unknown outcomes are.
type unknownLike struct{ causes []error }

func (e *unknownLike) Error() string   { return "outcome unknown" }
func (e *unknownLike) Unwrap() []error { return e.causes }

// A response body left open keeps its connection (over HTTP/2, while the
// stream is not ended): closeIdle reports it.
func TestCloseIdleFindsAnUnclosedBody(t *testing.T) {
	for _, p := range []proto{h1, h2} {
		r := newRun(&family{proto: p}, usageOp, newRNG(1))
		r.newClient()
		tok, err := r.client.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r.srv.Fault(usageOp.id, billingtest.Fault{Respond: faultlab.Pad(1 << 30), Apply: true}) // a body that does not end
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, r.srv.URL+usageOp.path, strings.NewReader(`{"usageQuantity": 1}`))
		req.Header.Set("Content-Type", "application/json")
		tok.SetAuthHeader(req)
		res, err := (&http.Client{Transport: r.tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if n := closeIdle(r, 50*time.Millisecond); n != 1 {
			t.Errorf("%s: open connections with a body not closed = %d, want 1", p, n)
		}
		_ = res.Body.Close()
		if n := closeIdle(r, 5*time.Second); n != 0 {
			t.Errorf("%s: open connections once the body is closed = %d, want 0", p, n)
		}
		r.closeServers()
	}
}

func TestSettleFindsAGoroutine(t *testing.T) {
	// Only the goroutines this test starts are counted: those left by other
	// tests (servers, connections closing) end or start at any time.
	count := func() int {
		n := 0
		for fn, c := range creators() {
			if strings.HasSuffix(fn, ".TestSettleFindsAGoroutine") {
				n += c
			}
		}
		return n
	}
	before := count()
	stop := make(chan struct{})
	go func() { <-stop }()
	n, where := settle(count, before, 20*time.Millisecond)
	close(stop)
	if n != 1 || !strings.Contains(where, "TestSettleFindsAGoroutine") {
		t.Errorf("settle = %d, %q; want 1 goroutine started by this test", n, where)
	}
	if n, _ := settle(count, before, 5*time.Second); n != 0 {
		t.Errorf("after the goroutine ended: %d left", n)
	}
}

func TestTableMarkdown(t *testing.T) {
	var tab cellTable
	fam := &family{name: "503"}
	tab.add(fam, usageOp, cellResult{results: []result{{applied: 1}, {applied: 0, err: errUnknownOutcome}, {applied: 1, err: errUnknownOutcome}}})
	tab.add(fam, readOp, cellResult{results: []result{{applied: 2}, {err: errors.New("billing: x")}}})
	got := strings.Split(tab.markdown([]family{*fam}), "\n")[2]
	want := "| 503 (HTTP/2) | ok 2, error 0 |  |  |  |  | ok 1, unknown 0/1 |  |  |  |"
	if got != want {
		t.Errorf("row\n got %q\nwant %q", got, want)
	}
}
