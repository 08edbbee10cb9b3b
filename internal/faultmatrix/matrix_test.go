package faultmatrix

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

var (
	runsFlag    = flag.Int("runs", 0, "runs per cell of the fault matrix; 0 skips it")
	workersFlag = flag.Int("workers", 4, "runs of a cell going at once (slow cells run all at once)")
	seedFlag    = flag.Uint64("seed", 0, "seed of the random choices (0: from the clock); printed for a replay")
	onlyFlag    = flag.String("only", "", "run only the families and operations whose name contains this")
	tableFlag   = flag.String("table", "", "write the observed outcomes as a markdown table to this file")
)

// kind is a kind of violation. The first four are the closing line's.
type kind int

const (
	duplicated kind = iota // a non-idempotent call applied more than once
	lost                   // an error where the policy promises success
	unflagged              // applied, but the caller was not told the outcome is unknown (or success, not applied)
	leak                   // a goroutine or connection left behind
	other                  // anything else the cell requires (see classify)
	kinds
)

var kindNames = [kinds]string{"duplicated", "lost", "unflagged", "leaks", "other"}

type violation struct {
	kind kind
	msg  string
}

// result is what one run observed.
type result struct {
	err          error
	applied      int
	requests     int
	state        string // what the server's state says is wrong, or ""
	originHits   int
	credLeaks    []string
	impostorHits int
	openConns    int32
	inconclusive bool
	setupErr     error
	secrets      []string // never in an error
}

// calibrated is the typical duration of a clean call of each operation over
// HTTP/2, measured before the matrix: the range of the random deadlines.
var calibrated = map[string]time.Duration{}

func TestFaultMatrix(t *testing.T) {
	if *runsFlag <= 0 {
		t.Skip("the fault matrix runs with -runs=N (make faults)")
	}
	if c, err := net.Dial("tcp", refusedAddr); err == nil {
		_ = c.Close()
		t.Fatalf("something listens on %s: the refused-connection cells need it closed", refusedAddr)
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fmt.Printf("faults: %d runs per cell, %d at once, seed %d, GOMAXPROCS %d\n", *runsFlag, *workersFlag, seed, runtime.GOMAXPROCS(0))
	start := time.Now()
	calibrate(t)

	var table cellTable
	var totals [kinds]int
	cells, runs := 0, 0
	fams := families()
	for oi := range operations {
		op := &operations[oi]
		var opTotals [kinds]int
		opCells, opRuns, opStart := 0, 0, time.Now()
		for fi := range fams {
			fam := &fams[fi]
			if *onlyFlag != "" && !strings.Contains(fam.name+" "+fam.proto.String()+" "+op.id, *onlyFlag) {
				continue
			}
			cr := runCell(fam, op, seed^uint64(oi*1000+fi+1)*0x9E3779B97F4A7C15)
			opCells++
			opRuns += len(cr.results)
			for k := range kinds {
				opTotals[k] += cr.counts[k]
			}
			table.add(fam, op, cr)
		}
		if opCells == 0 {
			continue
		}
		cells += opCells
		runs += opRuns
		for k := range kinds {
			totals[k] += opTotals[k]
		}
		idem := "not idempotent"
		if op.idempotent {
			idem = "idempotent"
		}
		fmt.Printf("faults: %-36s %-14s %3d cells %5d runs  %d duplicated  %d lost  %d unflagged  %d leaks  %d other  (%.1fs)\n",
			op.id, idem, opCells, opRuns, opTotals[duplicated], opTotals[lost], opTotals[unflagged], opTotals[leak], opTotals[other],
			time.Since(opStart).Seconds())
	}
	if *tableFlag != "" {
		if err := os.WriteFile(*tableFlag, []byte(table.markdown(fams)), 0o644); err != nil {
			t.Error(err)
		}
	}
	if totals[other] > 0 {
		fmt.Printf("faults: %d other violations (see the FAIL lines)\n", totals[other])
	}
	fmt.Printf("faults: %d cells in %.0fs\n", cells, time.Since(start).Seconds())
	fmt.Printf("faults: %d cells, %d runs, %d duplicated side effects, %d lost successes, %d unflagged unknowns, %d leaks\n",
		cells, runs, totals[duplicated], totals[lost], totals[unflagged], totals[leak])
	for k := range kinds {
		if totals[k] > 0 {
			t.Errorf("%d %s", totals[k], kindNames[k])
		}
	}
}

// calibrate measures clean calls of each operation, and warms up what is
// started once per process (keys, certificates, the spec), so that the first
// cell's goroutine count is not off.
func calibrate(t *testing.T) {
	clean := &family{name: "clean"}
	for _, p := range []proto{h1, h2, raw} {
		fam := &family{name: "warm-up", proto: p}
		if res := runOnce(fam, &operations[0], newRNG(1)); res.err != nil || res.setupErr != nil {
			t.Fatalf("warm-up over %s: %v %v", p, res.err, res.setupErr)
		}
	}
	for i := range operations {
		op := &operations[i]
		var took []time.Duration
		for j := range 5 {
			r := newRun(clean, op, newRNG(uint64(j)))
			r.newClient()
			if _, err := r.client.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			s := time.Now()
			if err := op.call(context.Background(), r.client); err != nil {
				t.Fatalf("clean %s: %v", op.id, err)
			}
			took = append(took, time.Since(s))
			r.tr.CloseIdleConnections()
			r.closeServers()
		}
		slices.Sort(took)
		calibrated[op.id] = took[len(took)/2]
	}
}

// cellResult is what a cell observed.
type cellResult struct {
	results []result
	counts  [kinds]int
}

// runCell runs a cell: *runsFlag runs, then the goroutine check.
func runCell(fam *family, op *operation, seed uint64) cellResult {
	before := runtime.NumGoroutine()
	n := *runsFlag
	parallel := max(1, *workersFlag)
	if fam.slow {
		parallel = n
	}
	cr := cellResult{results: make([]result, n)}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cr.results[i] = runOnce(fam, op, newRNG(seed+uint64(i)))
		}()
	}
	wg.Wait()

	label := fmt.Sprintf("%s | %s (%s)", op.id, fam.name, fam.proto)
	shown := map[kind]int{}
	report := func(run int, v violation) {
		cr.counts[v.kind]++
		if shown[v.kind]++; shown[v.kind] <= 2 {
			fmt.Printf("faults: FAIL %s | run %d | %s: %s\n", label, run, kindNames[v.kind], v.msg)
		}
	}
	inconclusive := 0
	for i, res := range cr.results {
		if res.inconclusive {
			inconclusive++
		}
		for _, v := range classify(fam, op, res) {
			report(i, v)
		}
	}
	if extra, stacks := settle(runtime.NumGoroutine, before, 5*time.Second); extra > 0 {
		report(-1, violation{leak, fmt.Sprintf("%d goroutines left after the cell: %s", extra, stacks)})
	}
	for k, s := range shown {
		if s > 2 {
			fmt.Printf("faults: FAIL %s | %d more %s\n", label, s-2, kindNames[k])
		}
	}
	if inconclusive > 0 {
		fmt.Printf("faults: note: %s: %d of %d runs inconclusive\n", label, inconclusive, n)
	}
	return cr
}

// settle waits (polling, bounded) for the goroutine count (count: all of
// them, runtime.NumGoroutine, or some) to come back to before; it returns how
// many are left and where all goroutines wait.
func settle(count func() int, before int, limit time.Duration) (int, string) {
	deadline := time.Now().Add(limit)
	for {
		n := count()
		if n <= before {
			return 0, ""
		}
		if time.Now().After(deadline) {
			return n - before, stackSummary()
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// creators counts the goroutines by the function they were started with.
func creators() map[string]int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if i := strings.Index(g, "created by "); i >= 0 {
			line, _, _ := strings.Cut(g[i+len("created by "):], "\n")
			line, _, _ = strings.Cut(line, " in goroutine")
			counts[line]++
		}
	}
	return counts
}

// stackSummary counts the goroutines by the function they were started with.
func stackSummary() string {
	var parts []string
	for fn, c := range creators() {
		parts = append(parts, fmt.Sprintf("%d× %s", c, fn))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// runOnce runs a cell once, in a world of its own.
func runOnce(fam *family, op *operation, rnd *rng) (res result) {
	r := newRun(fam, op, rnd)
	if fam.setup != nil {
		fam.setup(r)
	}
	r.newClient()
	res.secrets = basicForms()
	if fam.prefetch == nil || fam.prefetch(r) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		r.tokenStart = time.Now()
		tok, err := r.client.Token(ctx)
		r.tokenEnd = time.Now()
		cancel()
		if err != nil {
			res.setupErr = err
		} else {
			res.secrets = append(res.secrets, tok.AccessToken)
			r.tokenExpiry = tok.Expiry
		}
	}
	if fam.arm != nil && res.setupErr == nil {
		fam.arm(r)
	}
	if res.setupErr == nil {
		d := r.deadline
		if d == 0 {
			d = callTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		res.err = op.call(ctx, r.client, r.callOpts...)
		cancel()
		if !r.conclusiveUntil.IsZero() && time.Now().After(r.conclusiveUntil) {
			r.inconclusive = true
		}
	}
	if r.gateway != nil {
		res.secrets = append(res.secrets, r.gateway.seenTokens()...)
	}
	res.applied = r.srv.Applied(op.id)
	res.requests = r.srv.Requests(op.id)
	if op.state != nil {
		// A call the caller gave up on may still run on the server: it changes the
		// state, then counts itself applied. Wait (bounded) for the two to agree.
		deadline := time.Now().Add(2 * time.Second)
		for {
			res.state = op.state(r.srv, res.applied)
			if res.state == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
			res.applied = r.srv.Applied(op.id)
		}
	}
	res.originHits, res.credLeaks = r.originRequests()
	res.impostorHits = int(r.impostorHits.Load())
	res.inconclusive = r.inconclusive

	// Once idle, every connection the client opened must close.
	if !fam.detached {
		res.openConns = closeIdle(r, 5*time.Second)
	}
	r.closeServers()
	if fam.detached {
		res.openConns = closeIdle(r, 5*time.Second)
	}
	return res
}

// closeIdle closes the client's idle connections until none is open, polling
// (bounded): a connection becomes idle a little after the call that used it
// returns (a canceled HTTP/2 stream is cleaned up in the background). It
// returns how many are still open: those the client still holds (a response
// body not closed, a request still running).
func closeIdle(r *run, limit time.Duration) int32 {
	deadline := time.Now().Add(limit)
	for {
		r.tr.CloseIdleConnections()
		v := r.dial.open.Load()
		if v <= 0 || time.Now().After(deadline) {
			return v
		}
		time.Sleep(time.Millisecond)
	}
}

// classify checks one run. Every cell checks:
//   - duplicated side effect: a non-idempotent operation applied more than once;
//   - unflagged unknown: a non-idempotent operation applied and an error that
//     does not wrap billing.ErrOutcomeUnknown; or success while the operation was
//     not applied (or, not idempotent, applied other than once);
//   - lost success: an error where the cell's policy promises success (a retry
//     that must work: 429, a refused connection, a 401 followed by a good
//     token, a token endpoint failing once, a token renewal failing while the
//     token is valid; and for idempotent operations a single 5xx, dropped
//     connection, stream reset or GOAWAY);
//   - leaks: a client connection still open once the client is idle (a body
//     not closed), goroutines left after the cell (in runCell);
//   - other: the server's state disagrees with Applied; an origin received a
//     request (a redirect followed) or credentials; an untrusted server received
//     a request; an error where success is required or the reverse; an
//     ErrOutcomeUnknown where nothing can have been applied; an error that does
//     not wrap what the cell requires; an error text that is not one line with
//     one "billing: " prefix.
//
// A leak is also a credential (the client secret in any form it travels in, a
// bearer token the client sent) shown by any error of the chain, with Error()
// or %+v; and an idempotent call applied then refused with a 4xx that does not
// say an earlier attempt may have been applied is an unflagged unknown.
func classify(fam *family, op *operation, res result) []violation {
	if res.setupErr != nil {
		return []violation{{other, "setup: fetching the token before the fault: " + res.setupErr.Error()}}
	}
	var vs []violation
	add := func(k kind, format string, args ...any) { vs = append(vs, violation{k, fmt.Sprintf(format, args...)}) }
	exp := fam.expect(op)
	err := res.err
	unknown := errors.Is(err, billing.ErrOutcomeUnknown)
	saw := "success"
	if err != nil {
		saw = "error: " + err.Error()
	}

	if !op.idempotent && res.applied > 1 {
		add(duplicated, "applied %d times; caller saw %s", res.applied, saw)
	}
	switch {
	case err == nil && op.idempotent && res.applied < 1:
		add(unflagged, "caller saw success, but the server applied nothing")
	case err == nil && !op.idempotent && res.applied != 1:
		add(unflagged, "caller saw success, the server applied %d times", res.applied)
	case err != nil && !op.idempotent && res.applied >= 1 && !unknown:
		add(unflagged, "applied %d, error without ErrOutcomeUnknown: %v", res.applied, err)
	case err != nil && op.idempotent && res.applied >= 1 && refusalSaysNothingApplied(err):
		add(unflagged, "applied %d, then a refusal that does not say an earlier attempt may have been applied: %v", res.applied, err)
	}
	if exp.success && err != nil && !res.inconclusive {
		add(lost, "the policy promises success (applied %d, %d requests): %v", res.applied, res.requests, err)
	}
	if res.openConns > 0 {
		add(leak, "%d client connections still open once the client is idle", res.openConns)
	}
	if text := secretIn(err, res.secrets); text != "" {
		add(leak, "an error of the chain shows a credential or a token: %q", text)
	}

	if res.state != "" {
		add(other, "server state: %s", res.state)
	}
	for _, l := range res.credLeaks {
		add(other, "credentials leaked: %s", l)
	}
	if res.originHits > 0 {
		add(other, "followed a redirect: the target received %d requests", res.originHits)
	}
	if res.impostorHits > 0 {
		add(other, "an untrusted server received %d requests", res.impostorHits)
	}
	if exp.fail && err == nil {
		add(other, "caller saw success, want an error (applied %d)", res.applied)
	}
	if exp.definite && unknown {
		add(other, "ErrOutcomeUnknown where nothing can have been applied: %v", err)
	}
	if err != nil {
		for _, want := range exp.errIs {
			if !errors.Is(err, want) {
				add(other, "error does not wrap %q: %v", want, err)
			}
		}
		if exp.status != 0 {
			var apiErr *billing.APIError
			switch {
			case !errors.As(err, &apiErr):
				add(other, "error is not an *APIError: %v", err)
			case exp.status == 300 && (apiErr.StatusCode < 300 || apiErr.StatusCode > 399 || apiErr.Location == ""):
				add(other, "error is not a 3xx *APIError with its Location: %v", err)
			case exp.status != 300 && apiErr.StatusCode != exp.status:
				add(other, "error is not a %d *APIError: %v", exp.status, err)
			}
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "billing: ") || strings.Count(msg, "billing: ") != 1 || strings.ContainsAny(msg, "\r\n") {
			add(other, "error text is not one line with one \"billing: \" prefix: %q", msg)
		}
	}
	return vs
}

// refusalSaysNothingApplied reports whether err is a 4xx *APIError that does not
// say the call may have been applied.
func refusalSaysNothingApplied(err error) bool {
	var apiErr *billing.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && !apiErr.MayHaveApplied()
}

// secretIn returns the text of the first error of err's chain (walked through
// Unwrap() error and Unwrap() []error, printed with Error() and %+v) that shows
// one of secrets, or "".
func secretIn(err error, secrets []string) string {
	if err == nil {
		return ""
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				return text
			}
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return secretIn(u.Unwrap(), secrets)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if text := secretIn(e, secrets); text != "" {
				return text
			}
		}
	}
	return ""
}

// rng is the random source of a run: jitter of deadlines and choices.
type rng struct{ *rand.Rand }

func newRNG(seed uint64) *rng { return &rng{rand.New(rand.NewPCG(seed, seed>>7+1))} }

// duration returns a random duration in [lo, hi).
func (r *rng) duration(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}
