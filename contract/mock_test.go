package contract_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// onePass is a retry policy that sends each call once: the tests count what Prism
// answers, and a retried 500 would hide one.
var onePass = billing.RetryPolicy{MaxAttempts: 1}

// mockClient returns a billing client of a Prism mock at url. Its traffic goes
// through check (if not nil) and is recorded by w.
func mockClient(t *testing.T, url string, w *wire, check func(http.RoundTripper) http.RoundTripper, opts ...billing.Option) *billing.Client {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	w.base = tr
	var rt http.RoundTripper = w
	if check != nil {
		rt = check(w)
	}
	c, err := billing.NewClient(append([]billing.Option{
		billing.WithBaseURL(url),
		// Prism accepts any bearer token (and refuses none).
		billing.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "prism", TokenType: "Bearer"})),
		billing.WithHTTPClient(&http.Client{Transport: rt, Timeout: 30 * time.Second}),
		billing.WithRetryPolicy(onePass),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checked returns a check that validates traffic with contracttest, reporting to t.
func checked(t *testing.T, e ...contracttest.Exemption) func(http.RoundTripper) http.RoundTripper {
	return func(base http.RoundTripper) http.RoundTripper { return contracttest.New(t, base, e...) }
}

// Prism's static mock answers the spec's examples. Through billing.Client every
// operation gets its 2xx, decoded into the generated types with nothing lost:
// the decoded value encodes back to the JSON Prism sent. Then the failure side:
// requests that break the spec, sent with the SDK's checks off, are refused by
// Prism and become *billing.APIError.
func TestPrismMock(t *testing.T) {
	t.Parallel()
	p := startPrism(t, "mock", "--errors", specPath)

	t.Run("static", func(t *testing.T) {
		w := &wire{}
		c := mockClient(t, p.URL, w, checked(t), billing.WithSandbox(true))
		passed := 0
		for _, op := range operations(mockIDs) {
			t.Run(op.id, func(t *testing.T) {
				body, err := op.call(t.Context(), c)
				if err != nil {
					t.Fatalf("%s: %v", op.id, err)
				}
				ex := w.take()
				if len(ex) != 1 || ex[0].status/100 != 2 || ex[0].violations != "" {
					t.Fatalf("exchanges %+v, want one 2xx without sl-violations", ex)
				}
				if comps, ok := body.(*billing.Components); ok {
					seen := map[string]int{}
					if err := components(comps, ex[0].body, true, seen); err != nil {
						t.Error(err)
					}
					if want := map[string]int{"plan": 1, "addon": 1}; !cmp.Equal(want, seen) {
						t.Errorf("components by type = %v, want %v (the spec's example)", seen, want)
					}
				} else {
					again, err := json.Marshal(body)
					if err != nil {
						t.Fatal(err)
					}
					// An optional field of zero value (0, false, "") reads as an absent
					// one: gen's plain values leave it out when encoding again.
					zero := cmpopts.IgnoreMapEntries(func(_ string, v any) bool { return v == 0.0 || v == false || v == "" })
					if diff := cmp.Diff(jsonValue(t, ex[0].body), jsonValue(t, again), zero); diff != "" {
						t.Errorf("%T encoded again differs from Prism's answer (-Prism +again):\n%s", body, diff)
					}
				}
				if !t.Failed() {
					passed++
				}
			})
		}
		t.Logf("static: %d/9 operations decoded", passed)
	})

	t.Run("off-spec requests", func(t *testing.T) {
		w := &wire{}
		c := mockClient(t, p.URL, w,
			checked(t, contracttest.OffSpecRequests("requests that break the spec are what Prism must refuse here")),
			billing.WithRequestValidation(false))
		for _, tt := range offSpecCalls {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call(t.Context(), c)
				var apiErr *billing.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error = %v, want *billing.APIError", err)
				}
				if apiErr.Operation != tt.op || (apiErr.StatusCode != 400 && apiErr.StatusCode != 422) {
					t.Errorf("APIError %s %d, want %s 400 or 422", apiErr.Operation, apiErr.StatusCode, tt.op)
				}
				if errors.Is(err, billing.ErrOutcomeUnknown) {
					t.Errorf("error %v says the outcome is unknown; a 4xx refusal is definite", err)
				}
				ex := w.take()
				if len(ex) != 1 {
					t.Fatalf("%d exchanges, want 1 (a refusal is never retried)", len(ex))
				}
				// 400 where the operation declares it (Prism fills the spec's
				// example), else Prism's 422 problem: either way sl-violations or
				// the problem names the field.
				if !strings.Contains(ex[0].violations, tt.field) && !strings.Contains(string(ex[0].body), tt.field) {
					t.Errorf("Prism's refusal does not name %s: sl-violations %q, body %s", tt.field, ex[0].violations, ex[0].body)
				}
			})
		}
	})
}

// Prism's dynamic mock answers random values the spec allows. With --errors
// Prism checks its own answer and answers 500 when it broke the spec (it ignores
// exclusiveMinimum and mixes the Plan/Addon branches); those are counted apart.
// Every 2xx must decode, and at least 20 per operation must come.
func TestPrismDynamic(t *testing.T) {
	t.Parallel()
	const want, maxCalls = 20, 400
	p := startPrism(t, "mock", "-d", "--errors", specPath)
	w := &wire{}
	c := mockClient(t, p.URL, w, checked(t))
	var mu sync.Mutex
	seen := map[string]int{}
	decoded, prism500 := 0, 0
	for _, op := range operations(mockIDs) {
		t.Run(op.id, func(t *testing.T) {
			n, calls, refused := 0, 0, 0
			for ; n < want && calls < maxCalls; calls++ {
				body, err := op.call(t.Context(), c)
				ex := w.take()
				var apiErr *billing.APIError
				switch {
				case err == nil:
					n++
					if comps, ok := body.(*billing.Components); ok {
						mu.Lock()
						err = components(comps, ex[0].body, false, seen)
						mu.Unlock()
						if err != nil {
							t.Fatalf("call %d: %v\nanswer: %s", calls, err, ex[0].body)
						}
					}
				case errors.As(err, &apiErr) && apiErr.StatusCode == 500 && len(ex) == 1 && ex[0].violations != "":
					refused++ // Prism refused its own answer
				default:
					t.Fatalf("call %d: %v\nexchanges: %+v", calls, err, ex)
				}
			}
			if n < want {
				t.Errorf("%d answers decoded in %d calls, want %d", n, calls, want)
			}
			t.Logf("%s: %d decoded, %d Prism 500s, in %d calls", op.id, n, refused, calls)
			mu.Lock()
			decoded += n
			prism500 += refused
			mu.Unlock()
		})
	}
	t.Logf("dynamic --errors: %d random answers decoded, %d Prism 500s apart; components by type %v", decoded, prism500, seen)
}

// Without --errors, Prism's dynamic mock answers whatever it generated, spec or
// not. The decoders must not care: every answer decodes, and every component
// lands on the type its componentType names, all three kinds seen. How many
// answers broke the spec is counted, by Prism (sl-violations) and by kin-openapi.
func TestPrismDynamicUnchecked(t *testing.T) {
	t.Parallel()
	const calls = 30
	p := startPrism(t, "mock", "-d", specPath)
	w := &wire{}
	var mu sync.Mutex
	kin := map[string]int{}
	c := mockClient(t, p.URL, w, func(base http.RoundTripper) http.RoundTripper {
		return contracttest.NewFunc(base, func(v contracttest.Violation) {
			mu.Lock()
			kin[v.Operation]++
			mu.Unlock()
		})
	})
	seen := map[string]int{}
	total, flagged := 0, 0
	for _, op := range operations(mockIDs) {
		for i := range calls {
			body, err := op.call(t.Context(), c)
			ex := w.take()
			if err != nil {
				t.Fatalf("%s call %d: %v\nexchanges: %+v", op.id, i, err, ex)
			}
			total++
			if len(ex) == 1 && ex[0].violations != "" {
				flagged++
			}
			if comps, ok := body.(*billing.Components); ok {
				if err := components(comps, ex[0].body, false, seen); err != nil {
					t.Fatalf("%s call %d: %v\nanswer: %s", op.id, i, err, ex[0].body)
				}
			}
		}
	}
	for _, k := range []string{"plan", "addon", "charge"} {
		if seen[k] == 0 {
			t.Errorf("no %s among %d random components: the union was not exercised", k, seen["plan"]+seen["addon"]+seen["charge"])
		}
	}
	nKin := 0
	for _, n := range kin {
		nKin += n
	}
	t.Logf("dynamic, unchecked: %d/%d random answers decoded; %d broke the spec by Prism, %d by kin-openapi; components by type %v",
		total, total, flagged, nKin, seen)
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return v
}
