package billing_test

// Benchmarks of two operations, each three ways against one in-process loopback
// server that answers fixed, valid JSON bodies:
//
//   - raw: net/http and encoding/json by hand into hand-written structs (the floor);
//     the components are decoded in one pass, each into a typed plan or addon;
//   - gen: the plain generated client with a static bearer header (its union
//     helper, ValueByDiscriminator, turns each component into a Plan or an Addon);
//   - sdk: billing.NewClient with everything on (client credentials against the
//     server's token endpoint, token cache, sandbox, request checks, default
//     retry policy).
//
// The three make the same call, in sandbox mode (header Sandbox: true), which
// the server checks. Every iteration checks what it got. When the three
// sub-benchmarks of an operation ran, the operation's benchmark measures them
// again side by side, one call of each in turn (the order changing from one
// turn to the next), and prints the median of the per-round ratios: on a
// shared machine, two figures taken seconds apart drift more than the overhead
// they are meant to show, two calls made one after the other do not.
//
//	overhead: sdk/raw = 1.03x ns/op, 1.10x allocs/op (getProductComponents; gen/raw = ...)
//
// (testing.Benchmark cannot be called from inside a benchmark: both take the testing
// package's benchmark lock, and it deadlocks. So the sub-benchmarks record their
// figures themselves, and the parent runs the rounds with the same functions.)
//
// The server runs in the same process, so every figure (ns, B and allocs per op)
// includes the server's own work for the request, the same for the three.
//
//	go test -run '^$' -bench . -benchtime=200ms ./billing/
//	go test -run '^$' -bench 'GetProductComponents/sdk' -cpuprofile /tmp/cpu.out ./billing/

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/rawclient"
	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

const (
	benchProductID    = "builtfor_example"
	benchSubscription = "AzZltzSnnXURXasn"
	benchItem         = "builtfor_example-api-calls-EUR-Monthly"
	benchUsage        = 250
	benchClientID     = "bench-client"
	benchSecret       = "bench-secret"
	benchToken        = "bench-token"

	benchComponentsPath = "/v1/products/" + benchProductID + "/components"
	benchUsagePath      = "/v1/subscriptions/" + benchSubscription + "/items/" + benchItem + "/usage"
)

// benchComponentsBody is the getProductComponents answer: 3 plans (flat_fee,
// per_unit, stairstep with tiers), 1 addon and 1 charge. Every field of gen.Plan and
// gen.Addon occurs (TestBenchFixtures checks it); price and tiers follow the spec
// (price not on stairstep, tiers only on stairstep plans and a tiered addon).
const benchComponentsBody = `{
 "items": [
  {"id": "builtfor_example-standard-EUR-Monthly", "productId": "builtfor_example",
   "componentGroupId": "builtfor_example-standard", "componentType": "plan",
   "pricingModel": "flat_fee", "status": "active", "isUsageBased": false,
   "billingPeriodUnit": "month", "price": 1999, "freeQuantity": 0,
   "mandatoryComponentIds": ["builtfor_example-setup-EUR"],
   "trialPeriodUnit": "day", "trialPeriodValue": 30,
   "details": {"title": "Standard", "features": ["Unlimited products", "Email support"]}},
  {"id": "builtfor_example-seats-EUR-Yearly", "productId": "builtfor_example",
   "componentGroupId": "builtfor_example-seats", "componentType": "plan",
   "pricingModel": "per_unit", "status": "active", "isUsageBased": false,
   "billingPeriodUnit": "year", "price": 999, "freeQuantity": 1,
   "mandatoryComponentIds": ["builtfor_example-setup-EUR"],
   "trialPeriodUnit": "month", "trialPeriodValue": 1,
   "details": {"title": "Seats", "features": ["One back-office user per seat", "Priority support"]}},
  {"id": "builtfor_example-pro-EUR-Monthly", "productId": "builtfor_example",
   "componentGroupId": "builtfor_example-pro", "componentType": "plan",
   "pricingModel": "stairstep", "status": "active", "isUsageBased": false,
   "billingPeriodUnit": "month",
   "tiers": [
    {"startingUnit": 1, "endingUnit": 10, "price": 4900},
    {"startingUnit": 11, "endingUnit": 50, "price": 9900},
    {"startingUnit": 51, "price": 19900}],
   "freeQuantity": 0, "mandatoryComponentIds": ["builtfor_example-setup-EUR"],
   "trialPeriodUnit": "week", "trialPeriodValue": 2,
   "details": {"title": "Pro", "features": ["Up to 50 shops", "Phone support", "SLA 99.9%"]}},
  {"id": "builtfor_example-api-calls-EUR-Monthly", "productId": "builtfor_example",
   "componentGroupId": "builtfor_example-api-calls", "componentType": "addon",
   "pricingModel": "per_unit", "status": "active", "isUsageBased": true, "price": 2,
   "tiers": [
    {"startingUnit": 1, "endingUnit": 10000, "price": 2},
    {"startingUnit": 10001, "price": 1}]},
  {"id": "builtfor_example-setup-EUR", "productId": "builtfor_example",
   "componentGroupId": "builtfor_example-setup", "componentType": "charge",
   "pricingModel": "flat_fee", "status": "active", "isUsageBased": false, "price": 4900}
 ],
 "total": 5
}`

const benchUsageBody = `{"item":{"usageQuantity":250}}`

// benchWant is what every iteration checks in the components it decoded.
var benchWant = []struct {
	id, componentType string
	tiers             int
}{
	{"builtfor_example-standard-EUR-Monthly", "plan", 0},
	{"builtfor_example-seats-EUR-Yearly", "plan", 0},
	{"builtfor_example-pro-EUR-Monthly", "plan", 3},
	{"builtfor_example-api-calls-EUR-Monthly", "addon", 2},
	{"builtfor_example-setup-EUR", "charge", 0},
}

func benchCheckComponent(i int, id, componentType string, tiers int) error {
	if i >= len(benchWant) {
		return fmt.Errorf("component %d: want %d components", i, len(benchWant))
	}
	if w := benchWant[i]; id != w.id || componentType != w.componentType || tiers != w.tiers {
		return fmt.Errorf("component %d = %s %s with %d tiers, want %s %s with %d tiers", i, componentType, id, tiers, w.componentType, w.id, w.tiers)
	}
	return nil
}

// The hand-written structs of the raw benchmarks: every field of the answers.
type (
	rawTier struct {
		StartingUnit float64  `json:"startingUnit"`
		EndingUnit   *float64 `json:"endingUnit,omitempty"`
		Price        float64  `json:"price"`
	}
	rawPlanDetails struct {
		Title    string   `json:"title"`
		Features []string `json:"features,omitempty"`
	}
	rawPlan struct {
		ID                    string          `json:"id"`
		ProductID             string          `json:"productId"`
		ComponentGroupID      string          `json:"componentGroupId"`
		ComponentType         string          `json:"componentType"`
		PricingModel          string          `json:"pricingModel"`
		Status                string          `json:"status"`
		IsUsageBased          bool            `json:"isUsageBased"`
		BillingPeriodUnit     string          `json:"billingPeriodUnit"`
		Price                 *float64        `json:"price,omitempty"`
		Tiers                 []rawTier       `json:"tiers,omitempty"`
		FreeQuantity          *float64        `json:"freeQuantity,omitempty"`
		MandatoryComponentIDs []string        `json:"mandatoryComponentIds,omitempty"`
		TrialPeriodUnit       string          `json:"trialPeriodUnit,omitempty"`
		TrialPeriodValue      *float64        `json:"trialPeriodValue,omitempty"`
		Details               *rawPlanDetails `json:"details,omitempty"`
	}
	rawAddon struct {
		ID               string    `json:"id"`
		ProductID        string    `json:"productId"`
		ComponentGroupID string    `json:"componentGroupId"`
		ComponentType    string    `json:"componentType"`
		PricingModel     string    `json:"pricingModel"`
		Status           string    `json:"status"`
		IsUsageBased     bool      `json:"isUsageBased"`
		Price            *float64  `json:"price,omitempty"`
		Tiers            []rawTier `json:"tiers,omitempty"`
	}
	// rawComponentList decodes the components in one pass: each item into a
	// rawPlan, whose fields are a superset of rawAddon's (the same way as the SDK).
	rawComponentList struct {
		Items []rawPlan `json:"items"`
		Total float64   `json:"total"`
	}
	rawUsage struct {
		UsageQuantity float64 `json:"usageQuantity"`
	}
	rawUsageResponse struct {
		Item rawUsage `json:"item"`
	}
)

// rawComponents decodes a getProductComponents answer in one pass and sorts its
// items into typed plans and addons by componentType.
func rawComponents(body []byte) (plans []rawPlan, addons []rawAddon, total float64, err error) {
	var list rawComponentList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, 0, err
	}
	for _, c := range list.Items {
		switch c.ComponentType {
		case "plan":
			plans = append(plans, c)
		case "addon", "charge":
			addons = append(addons, rawAddon{
				ID: c.ID, ProductID: c.ProductID, ComponentGroupID: c.ComponentGroupID, ComponentType: c.ComponentType,
				PricingModel: c.PricingModel, Status: c.Status, IsUsageBased: c.IsUsageBased, Price: c.Price, Tiers: c.Tiers,
			})
		default:
			return nil, nil, 0, fmt.Errorf("unknown componentType %q", c.ComponentType)
		}
	}
	return plans, addons, list.Total, nil
}

// benchServer is the loopback server of one benchmark: the token endpoint at
// /oauth2/token and the two operations, with fixed answers.
type benchServer struct {
	*httptest.Server
	tokenRequests atomic.Int64
	conns         atomic.Int64     // connections accepted
	invoices      http.HandlerFunc // GET /v1/invoices, when set before the first call
}

func newBenchServer(tb testing.TB) *benchServer {
	tb.Helper()
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(benchComponentsBody)); err != nil {
		tb.Fatal(err)
	}
	components := compact.Bytes()
	usage := []byte(benchUsageBody)
	s := &benchServer{}
	answer := func(w http.ResponseWriter, status int, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
	fail := func(w http.ResponseWriter, status int, msg string) {
		answer(w, status, fmt.Appendf(nil, `{"statusCode":%d,"errorCode":"BENCH","message":%q}`, status, msg))
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			s.tokenRequests.Add(1)
			user, pass, _ := r.BasicAuth()
			if r.Method != http.MethodPost || user != benchClientID || pass != benchSecret ||
				r.PostFormValue("grant_type") != "client_credentials" || r.PostFormValue("client_id") != benchClientID {
				fail(w, http.StatusUnauthorized, "bad token request")
				return
			}
			answer(w, http.StatusOK, []byte(`{"access_token":"`+benchToken+`","token_type":"bearer","expires_in":3600}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+benchToken {
			fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		if r.Header.Get("Sandbox") != "true" { // the three make the same call: the SDK's runs in sandbox mode
			fail(w, http.StatusBadRequest, "not in sandbox mode")
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == benchComponentsPath:
			answer(w, http.StatusOK, components)
		case r.Method == http.MethodPost && r.URL.Path == benchUsagePath:
			var in rawUsage
			if body, err := io.ReadAll(r.Body); err != nil || json.Unmarshal(body, &in) != nil || in.UsageQuantity != benchUsage {
				fail(w, http.StatusBadRequest, "want usageQuantity 250")
				return
			}
			answer(w, http.StatusCreated, usage)
		case r.Method == http.MethodGet && r.URL.Path == "/v1/invoices" && s.invoices != nil:
			s.invoices(w, r)
		default:
			fail(w, http.StatusNotFound, r.Method+" "+r.URL.Path)
		}
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	tb.Cleanup(s.Close)
	return s
}

// httpClient returns the one client (and transport) of a sub-benchmark.
func (s *benchServer) httpClient(b *testing.B) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// bearer makes the gen client's calls the SDK's: with the token, in sandbox mode.
func bearer(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", "Bearer "+benchToken)
	req.Header.Set("Sandbox", "true")
	return nil
}

func (s *benchServer) genClient(b *testing.B) *rawclient.ClientWithResponses {
	c, err := rawclient.NewClientWithResponses(s.URL, rawclient.WithHTTPClient(s.httpClient(b)), rawclient.WithRequestEditorFn(bearer))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func (s *benchServer) sdkClient(b *testing.B, opts ...billing.Option) *billing.Client {
	c, err := billing.NewClient(append([]billing.Option{
		billing.WithBaseURL(s.URL),
		billing.WithTokenURL(s.URL + "/oauth2/token"),
		billing.WithClientCredentials(benchClientID, benchSecret),
		billing.WithHTTPClient(s.httpClient(b)),
		billing.WithSandbox(true),
	}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchResult is what one run of a sub-benchmark measured.
type benchResult struct {
	n                                int
	nsPerOp, bytesPerOp, allocsPerOp float64
}

// benchRuns holds the runs of each sub-benchmark of an operation ("raw", "gen",
// "sdk"): one each, or -count of them.
type benchRuns map[string][]benchResult

// benchOps holds the function each sub-benchmark measured, for the rounds.
type benchOps map[string]func(context.Context) error

var benchKinds = []string{"raw", "gen", "sdk"}

// measure runs op in the b.Loop of the sub-benchmark kind, adds the result to runs
// and op to ops. op is called once before the loop (outside the timer): it opens
// the connection and, for the sdk, fetches the token.
func measure(b *testing.B, s *benchServer, runs benchRuns, ops benchOps, kind string, op func(context.Context) error) {
	b.ReportAllocs()
	ctx := context.Background()
	if err := op(ctx); err != nil {
		b.Fatalf("first call: %v", err)
	}
	conns0 := s.conns.Load()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	runtime.ReadMemStats(&m1)
	// Connections must be reused: a benchmark that dials each time measures the dial.
	if c := s.conns.Load() - conns0; c > 1 {
		b.Errorf("%d new connections in %d calls: connections are not reused", c, b.N)
	}
	n := float64(b.N)
	runs[kind] = append(runs[kind], benchResult{
		n:           b.N,
		nsPerOp:     float64(b.Elapsed().Nanoseconds()) / n,
		bytesPerOp:  float64(m1.TotalAlloc-m0.TotalAlloc) / n,
		allocsPerOp: float64(m1.Mallocs-m0.Mallocs) / n,
	})
	ops[kind] = op
}

// sideBySide runs the ops of kinds in turn, calls calls of each per round,
// block calls of one kind at a time, and returns each kind's ns per call in
// each round (per[k][i]). The order of the kinds changes from one turn to the
// next (for three kinds, all six orders in turn), so that no kind always
// follows the same one: the machine's drift and the caches weigh on all kinds
// alike. Blocks of one call compare kinds that allocate alike most closely;
// longer blocks, each after a garbage collection (as testing.B does before
// each run), make each kind pay for the garbage it makes, not for the
// others'.
func sideBySide(ctx context.Context, kinds []string, ops benchOps, rounds, calls, block int) (map[string][]float64, error) {
	per := map[string][]float64{}
	n := len(kinds)
	order := make([]string, n)
	turn := 0
	for range rounds {
		total := make(map[string]time.Duration, n)
		for done := 0; done < calls; done += block {
			for j := range n {
				if turn/n%2 == 0 {
					order[j] = kinds[(turn+j)%n]
				} else {
					order[j] = kinds[(turn+n-j)%n]
				}
			}
			turn++
			for _, k := range order {
				if block > 1 {
					runtime.GC()
				}
				start := time.Now()
				for range block {
					if err := ops[k](ctx); err != nil {
						return nil, fmt.Errorf("%s: %w", k, err)
					}
				}
				total[k] += time.Since(start)
			}
		}
		for _, k := range kinds {
			per[k] = append(per[k], float64(total[k].Nanoseconds())/float64((calls+block-1)/block*block))
		}
	}
	return per, nil
}

// sideBySideCalls is the number of calls of each kind in a round of
// sideBySide: about -benchtime of each kind in benchRounds rounds (nsPerOp: a
// kind's sub-benchmark), and at least minSideBySideCalls when -benchtime is a
// duration: a brief run (CI's 100 ms) would otherwise make rounds of a few
// hundred calls, whose ratios scatter by 10%.
func sideBySideCalls(nsPerOp float64) int {
	d, n := benchTime()
	if n > 0 {
		return max(1, n/benchRounds)
	}
	return max(minSideBySideCalls, int(float64(d.Nanoseconds())/benchRounds/nsPerOp))
}

// minSideBySideCalls is the fewest calls of each kind in a round of sideBySide
// when -benchtime is a duration.
const minSideBySideCalls = 2000

// medianRatio returns the median over rounds of per[num][i] / per[den][i].
func medianRatio(per map[string][]float64, num, den string) float64 {
	v := make([]float64, len(per[den]))
	for i := range v {
		v[i] = per[num][i] / per[den][i]
	}
	return medianOf(v)
}

// benchTime returns -test.benchtime: a duration, or a number of iterations.
func benchTime() (time.Duration, int) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return time.Second, 0
	}
	v := f.Value.String()
	if n, ok := strings.CutSuffix(v, "x"); ok {
		if i, err := strconv.Atoi(n); err == nil {
			return 0, i
		}
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d, 0
	}
	return time.Second, 0
}

// medianOf returns the median of v.
func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// median returns the median of each figure over the runs of a sub-benchmark.
func median(runs []benchResult) benchResult {
	mid := func(f func(benchResult) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	m := benchResult{
		nsPerOp:     mid(func(r benchResult) float64 { return r.nsPerOp }),
		bytesPerOp:  mid(func(r benchResult) float64 { return r.bytesPerOp }),
		allocsPerOp: mid(func(r benchResult) float64 { return r.allocsPerOp }),
	}
	for _, r := range runs {
		m.n += r.n
	}
	return m
}

// benchRounds is the number of side-by-side rounds of compare and
// compareObserved, per -count.
const benchRounds = 10

// compare runs the three ways of an operation whose sub-benchmarks ran side by
// side (sideBySide: benchRounds rounds per -count, as many calls of each way as
// raw makes in -benchtime), and prints the median of the per-round ratios of time per call, the
// ratio of the sub-benchmarks' allocations per call (they do not drift), then
// the figures of the sub-benchmarks. It prints to stdout: the log of a
// benchmark with sub-benchmarks is only shown with -v.
func compare(b *testing.B, name string, runs benchRuns, ops benchOps) {
	for _, k := range benchKinds {
		if len(runs[k]) == 0 || ops[k] == nil {
			return // some were filtered out by -bench
		}
	}
	rounds := benchRounds * len(runs["raw"]) // one run per -count
	// One call at a time: the three share the collector's work, which follows
	// the bytes they allocate, and those are close (the sdk's 8.6 and 15.3 kB
	// a call against raw's 8.7 and 17.8 kB; gen's 10.0 and 17.9 kB).
	per, err := sideBySide(context.Background(), benchKinds, ops, rounds, sideBySideCalls(median(runs["raw"]).nsPerOp), 1)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	allocs := func(k string) float64 { return median(runs[k]).allocsPerOp / median(runs["raw"]).allocsPerOp }
	fmt.Printf("overhead: sdk/raw = %.2fx ns/op, %.2fx allocs/op (%s; gen/raw = %.2fx ns/op, %.2fx allocs/op; medians of %d interleaved rounds)\n",
		medianRatio(per, "sdk", "raw"), allocs("sdk"), name, medianRatio(per, "gen", "raw"), allocs("gen"), rounds)
	for _, k := range benchKinds {
		x := median(runs[k])
		fmt.Printf("    %s/%s: %.0f ns/op, %.0f B/op, %.0f allocs/op (sub-benchmark, median of %d runs); side by side %.0f ns/op\n",
			name, k, x.nsPerOp, x.bytesPerOp, x.allocsPerOp, len(runs[k]), medianOf(per[k]))
	}
}

func BenchmarkGetProductComponents(b *testing.B) {
	s := newBenchServer(b)
	runs, ops := benchRuns{}, benchOps{}

	b.Run("raw", func(b *testing.B) {
		hc := s.httpClient(b)
		u := s.URL + "/v1/products/" + url.PathEscape(benchProductID) + "/components"
		measure(b, s, runs, ops, "raw", func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+benchToken)
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Sandbox", "true")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d: %s", resp.StatusCode, body)
			}
			plans, addons, total, err := rawComponents(body)
			if err != nil {
				return err
			}
			if total != 5 || len(plans)+len(addons) != len(benchWant) {
				return fmt.Errorf("%d plans and %d addons, total %v", len(plans), len(addons), total)
			}
			for i, p := range plans {
				if err := benchCheckComponent(i, p.ID, p.ComponentType, len(p.Tiers)); err != nil {
					return err
				}
			}
			for i, a := range addons {
				if err := benchCheckComponent(len(plans)+i, a.ID, a.ComponentType, len(a.Tiers)); err != nil {
					return err
				}
			}
			return nil
		})
	})

	b.Run("gen", func(b *testing.B) {
		c := s.genClient(b)
		measure(b, s, runs, ops, "gen", func(ctx context.Context) error {
			resp, err := c.GetProductComponentsWithResponse(ctx, benchProductID, nil)
			if err != nil {
				return err
			}
			return checkGenComponents(resp)
		})
	})

	b.Run("sdk", func(b *testing.B) {
		c := s.sdkClient(b)
		tokens := s.tokenRequests.Load()
		measure(b, s, runs, ops, "sdk", sdkComponents(c))
		if n := s.tokenRequests.Load() - tokens; n != 1 {
			b.Errorf("%d token requests, want 1 (cached)", n)
		}
	})

	compare(b, "getProductComponents", runs, ops)
}

// checkGenComponents checks a getProductComponents answer of the generated client,
// turning each item into a gen.Plan or a gen.Addon.
func checkGenComponents(resp *rawclient.GetProductComponentsResponse) error {
	if resp.StatusCode() != http.StatusOK || resp.JSON200 == nil {
		return fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body)
	}
	return checkComponents(resp.JSON200)
}

// checkSDKComponents checks the client's typed components (benchWant lists the
// plans first).
func checkSDKComponents(c *billing.Components) error {
	if c.Total != 5 || len(c.Plans)+len(c.Addons) != len(benchWant) {
		return fmt.Errorf("%d plans and %d addons, total %v", len(c.Plans), len(c.Addons), c.Total)
	}
	for i, p := range c.Plans {
		if err := benchCheckComponent(i, p.ID, string(p.ComponentType), len(p.Tiers)); err != nil {
			return err
		}
	}
	for i, a := range c.Addons {
		if err := benchCheckComponent(len(c.Plans)+i, a.ID, string(a.ComponentType), len(a.Tiers)); err != nil {
			return err
		}
	}
	return nil
}

// checkComponents checks a component list, turning each item into a gen.Plan or a
// gen.Addon.
func checkComponents(list *gen.ComponentList) error {
	if list.Total != 5 || len(list.Items) != len(benchWant) {
		return fmt.Errorf("%d components, total %v", len(list.Items), list.Total)
	}
	for i, item := range list.Items {
		v, err := item.ValueByDiscriminator()
		if err != nil {
			return err
		}
		switch c := v.(type) {
		case gen.Plan:
			err = benchCheckComponent(i, c.ID, string(c.ComponentType), len(c.Tiers))
		case gen.Addon:
			err = benchCheckComponent(i, c.ID, string(c.ComponentType), len(c.Tiers))
		default:
			err = fmt.Errorf("component %d is a %T", i, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkSetSubscriptionItemUsage(b *testing.B) {
	s := newBenchServer(b)
	runs, ops := benchRuns{}, benchOps{}

	b.Run("raw", func(b *testing.B) {
		hc := s.httpClient(b)
		measure(b, s, runs, ops, "raw", func(ctx context.Context) error {
			u := s.URL + "/v1/subscriptions/" + url.PathEscape(benchSubscription) + "/items/" + url.PathEscape(benchItem) + "/usage"
			in, err := json.Marshal(rawUsage{UsageQuantity: benchUsage})
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(in))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+benchToken)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("Sandbox", "true")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("status %d: %s", resp.StatusCode, body)
			}
			var out rawUsageResponse
			if err := json.Unmarshal(body, &out); err != nil {
				return err
			}
			if out.Item.UsageQuantity != benchUsage {
				return fmt.Errorf("usageQuantity %v, want %v", out.Item.UsageQuantity, benchUsage)
			}
			return nil
		})
	})

	b.Run("gen", func(b *testing.B) {
		c := s.genClient(b)
		measure(b, s, runs, ops, "gen", func(ctx context.Context) error {
			resp, err := c.SetSubscriptionItemUsageWithResponse(ctx, benchSubscription, benchItem, gen.UsageInput{UsageQuantity: benchUsage})
			if err != nil {
				return err
			}
			return checkGenUsage(resp)
		})
	})

	b.Run("sdk", func(b *testing.B) {
		c := s.sdkClient(b)
		tokens := s.tokenRequests.Load()
		measure(b, s, runs, ops, "sdk", sdkUsage(c))
		if n := s.tokenRequests.Load() - tokens; n != 1 {
			b.Errorf("%d token requests, want 1 (cached)", n)
		}
	})

	compare(b, "setSubscriptionItemUsage", runs, ops)
}

func checkGenUsage(resp *rawclient.SetSubscriptionItemUsageResponse) error {
	if resp.StatusCode() != http.StatusCreated || resp.JSON201 == nil {
		return fmt.Errorf("status %d: %s", resp.StatusCode(), resp.Body)
	}
	if q := resp.JSON201.Item.UsageQuantity; q != benchUsage {
		return fmt.Errorf("usageQuantity %v, want %v", q, benchUsage)
	}
	return nil
}

// The benchmarks' answers are valid for the spec, every field of gen.Plan and
// gen.Addon occurs in them, and the raw structs (the floor) and the generated
// types both keep every field: nothing the raw benchmark skips makes it cheaper.
func TestBenchFixtures(t *testing.T) {
	router, err := spec.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	header := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		op, path string
		params   map[string]string
		status   int
		body     string
	}{
		{"getProductComponents", benchComponentsPath, map[string]string{"productId": benchProductID}, 200, benchComponentsBody},
		{"setSubscriptionItemUsage", benchUsagePath, map[string]string{"subscriptionId": benchSubscription, "subscriptionItemId": benchItem}, 201, benchUsageBody},
	} {
		op := router.Op(tc.op)
		if op == nil {
			t.Fatalf("no operation %s in the spec", tc.op)
		}
		req := httptest.NewRequest(op.Method, tc.path, nil)
		if err := router.ValidateResponse(ctx, op, req, tc.params, tc.status, header, []byte(tc.body)); err != nil {
			t.Errorf("%s answer: %v", tc.op, err)
		}
	}

	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal([]byte(benchComponentsBody), &list); err != nil {
		t.Fatal(err)
	}
	keys := map[string]map[string]bool{"plan": {}, "addon": {}}
	for i, item := range list.Items {
		var orig map[string]any
		if err := json.Unmarshal(item, &orig); err != nil {
			t.Fatal(err)
		}
		kind := "addon"
		if orig["componentType"] == "plan" {
			kind = "plan"
		}
		for k := range orig {
			keys[kind][k] = true
		}
		plans, addons, _, err := rawComponents([]byte(`{"items":[` + string(item) + `],"total":1}`))
		if err != nil {
			t.Fatal(err)
		}
		var raw any
		if kind == "plan" {
			raw = plans[0]
		} else {
			raw = addons[0]
		}
		var c gen.Component
		if err := c.UnmarshalJSON(item); err != nil {
			t.Fatal(err)
		}
		generated, err := c.ValueByDiscriminator()
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]any{"raw": raw, "gen": generated} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var again map[string]any
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatal(err)
			}
			// An optional field of zero value (0, false, "") reads the same as an
			// absent one: gen's plain values leave it out when encoding again.
			if diff := cmp.Diff(orig, again, cmpopts.IgnoreMapEntries(func(_ string, v any) bool { return v == 0.0 || v == false || v == "" })); diff != "" {
				t.Errorf("component %d decoded by %s and encoded again (-answer +re-encoded):\n%s", i, name, diff)
			}
		}
	}
	for kind, typ := range map[string]reflect.Type{"plan": reflect.TypeFor[gen.Plan](), "addon": reflect.TypeFor[gen.Addon]()} {
		var fields, seen []string
		for i := range typ.NumField() {
			fields = append(fields, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		for k := range keys[kind] {
			seen = append(seen, k)
		}
		sort.Strings(fields)
		sort.Strings(seen)
		if !slices.Equal(fields, seen) {
			t.Errorf("%s fields in the answer = %v, want every field of the generated type %v", kind, seen, fields)
		}
	}

	// The check each iteration makes must refuse a wrong answer.
	if err := benchCheckComponent(0, benchWant[1].id, "plan", 0); err == nil {
		t.Error("benchCheckComponent accepts the wrong component")
	}
	if err := benchCheckComponent(4, benchWant[4].id, "charge", 0); err != nil {
		t.Error(err)
	}
}
