package meter_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// The crash test's parameters (make crash sets them).
var (
	crashKills     = flag.Int("crash.kills", 6, "crash test: how many times to kill a child (0 skips the test)")
	crashStore     = flag.String("crash.store", "sqlite", "crash test: the journal: sqlite (a file) or postgres (BILLING_POSTGRES_URL)")
	crashInstances = flag.Int("crash.instances", 1, "crash test: how many child processes record and flush at once on one journal (more than 1 needs postgres)")
	crashSeed      = flag.Uint64("crash.seed", 0, "crash test: the random seed (0: from the clock)")
)

// Environment of a crash child.
const (
	envChild    = "METER_CRASH_CHILD"
	envStore    = "METER_CRASH_STORE" // sqlite:PATH or postgres:URL
	envAPI      = "METER_CRASH_API"
	envClient   = "METER_CRASH_CLIENT" // id:secret
	envRun      = "METER_CRASH_RUN"
	envInstance = "METER_CRASH_INSTANCE"
	envPoint    = "METER_CRASH_POINT" // a hook point, and at which hit: "claimed:3"
	envFinal    = "METER_CRASH_FINAL"
	envSubs     = "METER_CRASH_SUBS"
	envOffset   = "METER_CRASH_OFFSET" // the child's clock runs this far ahead
)

const (
	crashLease     = 250 * time.Millisecond
	crashAddsRun   = 40 // new keys per run and instance
	crashReAdds    = 10 // keys of the previous run recorded again
	crashAdders    = 4
	headerBatch    = "X-Crash-Batch"
	headerInstance = "X-Crash-Instance" // "instance/run"
)

// childPoints are the kill points inside a child, with how many hits a run
// makes of each, roughly (the hit to kill at is drawn below it).
var childPoints = []struct {
	name string
	hits int
}{
	{"add", crashAddsRun + crashReAdds}, {"record", 8}, {"recorded", 8}, {"sealed", 6},
	{"claimed", 6}, {"send", 10}, {"answered", 10},
}

// quantityOf is the quantity of a key: the same on every recording.
func quantityOf(key string) float64 {
	n := 0
	for _, c := range key {
		n += int(c)
	}
	return float64(n%5 + 1)
}

// TestCrashChild is the child process of TestCrash; it does nothing otherwise.
func TestCrashChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("the child process of TestCrash")
	}
	if err := crashChild(); err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// taggedAPI tells the parent which batch and instance each usage call carries.
type taggedAPI struct {
	*billing.Client
	instance string // "instance/run"
}

func (a taggedAPI) SetSubscriptionItemUsage(ctx context.Context, subscriptionID, itemID string, body gen.UsageInput, opts ...billing.RequestEditorFn) (*gen.UsageResponse, error) {
	b, _ := meter.BatchFromContext(ctx)
	tag := func(_ context.Context, req *http.Request) error {
		req.Header.Set(headerBatch, strconv.FormatInt(b.ID, 10))
		req.Header.Set(headerInstance, a.instance)
		return nil
	}
	return a.Client.SetSubscriptionItemUsage(ctx, subscriptionID, itemID, body, append(opts, tag)...)
}

func openStore(ctx context.Context, spec string) (meter.Store, func(), error) {
	kind, target, _ := strings.Cut(spec, ":")
	var db *sqlstore.DB
	var err error
	closeDB := func() {}
	switch kind {
	case "sqlite":
		db, err = sqlstore.OpenSQLite(target)
		if err == nil {
			closeDB = func() { _ = db.Close() }
		}
	case "postgres":
		var sdb *sql.DB
		if sdb, err = sql.Open("pgx", target); err == nil {
			sdb.SetMaxOpenConns(8)
			closeDB = func() { _ = sdb.Close() }
			db, err = sqlstore.New(sdb, sqlstore.Postgres)
		}
	default:
		err = fmt.Errorf("unknown store %q", spec)
	}
	if err != nil {
		return nil, closeDB, err
	}
	st, err := db.Meter(ctx)
	return st, closeDB, err
}

func crashChild() error {
	ctx := context.Background()
	var killAt int
	point, at, _ := strings.Cut(os.Getenv(envPoint), ":")
	if point != "" {
		killAt, _ = strconv.Atoi(at)
		var mu sync.Mutex
		hits := 0
		meter.SetTestHook(func(p string) {
			if p != point {
				return
			}
			mu.Lock()
			hits++
			n := hits
			mu.Unlock()
			if n == killAt {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		})
	}
	store, closeStore, err := openStore(ctx, os.Getenv(envStore))
	defer closeStore()
	if err != nil {
		return err
	}
	api := os.Getenv(envAPI)
	id, secret, _ := strings.Cut(os.Getenv(envClient), ":")
	client, err := billing.NewClient(billing.WithBaseURL(api), billing.WithTokenURL(api+"/oauth2/token"),
		billing.WithClientCredentials(id, secret))
	if err != nil {
		return err
	}
	instance := os.Getenv(envInstance)
	offset, _ := time.ParseDuration(os.Getenv(envOffset))
	run, _ := strconv.Atoi(os.Getenv(envRun))
	m, err := meter.New(taggedAPI{client, instance + "/" + strconv.Itoa(run)}, store, meter.WithSandbox(true), meter.WithLease(crashLease),
		meter.WithClock(aheadClock(offset)))
	if err != nil {
		return err
	}
	defer m.Close()
	subs := strings.Split(os.Getenv(envSubs), ",")

	if os.Getenv(envFinal) == "1" {
		return drain(ctx, m, aheadClock(offset))
	}
	var keys []string
	for n := range crashAddsRun {
		keys = append(keys, fmt.Sprintf("i%s-r%d-%d", instance, run, n))
	}
	for n := range crashReAdds { // the previous run's facts, recorded again
		keys = append(keys, fmt.Sprintf("i%s-r%d-%d", instance, run-1, n))
	}
	for n := range crashReAdds { // facts every instance records
		keys = append(keys, fmt.Sprintf("shared-r%d-%d", run, n))
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, crashAdders)
	for a := range crashAdders {
		wg.Go(func() {
			for i := a; i < len(keys); i += crashAdders {
				k := keys[i]
				u := meter.Usage{Key: k, SubscriptionID: subs[i%len(subs)], ItemID: billingtest.APICallsAddonID, Quantity: quantityOf(k)}
				if err := m.Add(ctx, u); err != nil {
					errs <- err
					return
				}
				out.Lock()
				fmt.Printf("ack %s %s %g\n", k, u.SubscriptionID, u.Quantity)
				out.Unlock()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errs:
			return err
		case <-done:
			// The last adder to fail sends its error before done closes: both
			// cases are then ready and select picks one at random, so look at
			// errs again, or a failed Add would pass unnoticed half the time.
			select {
			case err := <-errs:
				return err
			default:
			}
			_, err := m.Flush(ctx)
			return err
		case <-tick.C:
			if _, err := m.Flush(ctx); err != nil {
				return err
			}
		}
	}
}

// aheadClock is the system clock, moved ahead.
type aheadClock time.Duration

func (c aheadClock) Now() time.Time                         { return time.Now().Add(time.Duration(c)) }
func (c aheadClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// drain flushes until no usage is unsealed and no batch pending or sending
// (waiting for the leases of dead instances to end).
func drain(ctx context.Context, m *meter.Meter, clock meter.Clock) error {
	for range 100 {
		if _, err := m.Flush(ctx); err != nil {
			return err
		}
		pending, err := m.Batches(ctx, meter.Pending)
		if err != nil {
			return err
		}
		sending, err := m.Batches(ctx, meter.Sending)
		if err != nil {
			return err
		}
		if len(pending) == 0 && len(sending) == 0 {
			return nil
		}
		var until time.Time
		for _, b := range sending {
			if b.LeaseUntil.After(until) {
				until = b.LeaseUntil
			}
		}
		time.Sleep(until.Sub(clock.Now()) + 10*time.Millisecond) // a lease is time: wait for it to end
	}
	return errors.New("drain: batches still pending or sending")
}

// crashFront is the parent's proxy in front of billingtest: it sees every
// usage call, counts the batches Billing applied, and kills a child in the
// middle of a send when its plan says so.
type crashFront struct {
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	// applied counts the applications of each batch; quantity is its quantity.
	applied  map[int64]int
	quantity map[int64]float64
	// plans: per instance, the usage call to kill at and how.
	plans map[string]*frontPlan
	// inFlight counts, per run, the usage calls being forwarded: a call whose
	// child died goes on, and the periods close only once it is over. A call
	// of a run that ended (over, the parent said) arrives too late: it is lost
	// on the way, as in a network, and never reaches Billing. One count per
	// run: instances end their runs at once, and a count is waited for only
	// once nothing adds to it.
	inFlight map[string]*sync.WaitGroup
	over     map[string]bool
}

// end says that the run (instance/run) is over: none of its calls reaches
// Billing any more, and those on their way have arrived.
func (f *crashFront) end(run string) {
	f.mu.Lock()
	f.over[run] = true
	calls := f.inFlight[run]
	delete(f.inFlight, run)
	f.mu.Unlock()
	if calls != nil {
		calls.Wait()
	}
}

func instanceOf(run string) string {
	i, _, _ := strings.Cut(run, "/")
	return i
}

type frontPlan struct {
	at, seen   int
	afterApply bool
	kill       func()
}

func (f *crashFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/usage") {
		f.proxy.ServeHTTP(w, r)
		return
	}
	run := r.Header.Get(headerInstance)
	f.mu.Lock()
	if f.over[run] {
		f.mu.Unlock()
		panic(http.ErrAbortHandler) // too late: lost on the way
	}
	calls := f.inFlight[run]
	if calls == nil {
		calls = new(sync.WaitGroup)
		f.inFlight[run] = calls
	}
	calls.Add(1)
	f.mu.Unlock()
	defer calls.Done()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in gen.UsageInput
	_ = json.Unmarshal(body, &in)
	id, _ := strconv.ParseInt(r.Header.Get(headerBatch), 10, 64)
	f.mu.Lock()
	var kill func()
	after := false
	if p := f.plans[instanceOf(run)]; p != nil {
		if p.seen++; p.seen == p.at {
			kill, after = p.kill, p.afterApply
		}
	}
	f.mu.Unlock()
	if kill != nil && !after {
		kill() // the child dies with its request sent, not applied
		http.Error(w, "killed", http.StatusBadGateway)
		return
	}
	// The call goes on to Billing even if the child dies meanwhile: the front
	// must learn whether it was applied.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	rec := &statusRecorder{ResponseWriter: w}
	f.proxy.ServeHTTP(rec, r)
	if rec.status/100 == 2 {
		f.mu.Lock()
		f.applied[id]++
		f.quantity[id] = in.UsageQuantity
		f.mu.Unlock()
	}
	if kill != nil {
		kill() // applied; the child dies before it reads the answer
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// crashSeed returns DefaultSeed with n subscriptions of the metered item,
// none with a renewal date: the fake dates each invoice when the period closes.
func crashSeedData(n int) (billingtest.Seed, []string) {
	seed := billingtest.DefaultSeed()
	base := seed.Subscriptions[0]
	base.NextRenewalAt = 0
	seed.Subscriptions = nil
	var ids []string
	for i := range n {
		s := base
		s.ID = fmt.Sprintf("%s%d", billingtest.SubscriptionID, i)
		s.SubscriptionItems = slices.Clone(base.SubscriptionItems)
		seed.Subscriptions = append(seed.Subscriptions, s)
		ids = append(ids, s.ID)
	}
	seed.Invoices = nil
	return seed, ids
}

// TestCrash records usage and flushes in child processes killed at random
// points, restarted on the same journal, then checks that every unit is
// accounted for: recorded = applied on the server + parked and not applied,
// none applied twice, and each parked batch resolved to the truth ends it all
// on the server. It prints the closing line.
func TestCrash(t *testing.T) {
	if *crashKills <= 0 {
		t.Skip("-crash.kills=0")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	t.Logf("seed %d (-crash.seed=%d reruns it)", seed, seed)
	instances := *crashInstances

	var storeSpec string
	switch *crashStore {
	case "sqlite":
		if instances > 1 {
			// SQLite serialises writers on one file: several processes work,
			// but the many-instance proof is PostgreSQL's.
			t.Logf("%d instances on one SQLite file", instances)
		}
		storeSpec = "sqlite:" + dbtest.SQLitePath(t)
	case "postgres":
		storeSpec = "postgres:" + dbtest.PostgresURL(t)
	default:
		t.Fatalf("-crash.store=%q: want sqlite or postgres", *crashStore)
	}

	seedData, subs := crashSeedData(6)
	// Time moves an hour ahead between the periods the test closes (every
	// few waves, all children stopped), on the fake and in the children: each
	// period's sends are far from its ends, as in life, so that the parked
	// batches' proposals can be checked.
	var offset atomic.Int64
	epoch := func(e int) { offset.Store(int64(time.Duration(e) * time.Hour)) }
	var srv *billingtest.Server
	var front *crashFront
	closePeriods := func(e int) {
		offset.Store(int64(time.Duration(e)*time.Hour + 30*time.Minute))
		for _, s := range subs {
			if _, err := srv.CloseBillingPeriod(s, true); err != nil {
				t.Error(err)
			}
		}
		epoch(e + 1)
	}
	srv = billingtest.NewServer(billingtest.WithSeed(seedData),
		billingtest.WithClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	front = &crashFront{
		proxy:    httputil.NewSingleHostReverseProxy(target),
		applied:  map[int64]int{},
		quantity: map[int64]float64{},
		plans:    map[string]*frontPlan{},
		inFlight: map[string]*sync.WaitGroup{},
		over:     map[string]bool{},
	}
	front.proxy.ErrorLog = log.New(io.Discard, "", 0)
	frontSrv := httptest.NewServer(front)
	defer frontSrv.Close()
	fs := frontSrv.URL

	acked := map[string]float64{}
	var ackMu sync.Mutex
	env := func(instance, run int) []string {
		return append(os.Environ(), envChild+"=1", envStore+"="+storeSpec, envAPI+"="+fs,
			envClient+"="+srv.ClientID+":"+srv.ClientSecret, envRun+"="+strconv.Itoa(run),
			envInstance+"="+strconv.Itoa(instance), envSubs+"="+strings.Join(subs, ","),
			envOffset+"="+time.Duration(offset.Load()).String())
	}
	start := func(instance, run int, extra ...string) (*exec.Cmd, func() error, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(env(instance, run), extra...)
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		var lines sync.WaitGroup
		lines.Go(func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 4 && f[0] == "ack" {
					q, _ := strconv.ParseFloat(f[3], 64)
					ackMu.Lock()
					acked[f[1]] = q
					ackMu.Unlock()
				} else if f := sc.Text(); strings.HasPrefix(f, "error") || strings.HasPrefix(f, "panic") {
					t.Logf("instance %d: %s", instance, f)
				}
			}
		})
		wait := func() error {
			lines.Wait()
			return cmd.Wait()
		}
		return cmd, wait, nil
	}

	// Waves: in each, every instance runs one child, killed at a point drawn
	// at random; every few waves, all children stopped, the billing periods
	// close. Until the kills are done.
	var (
		mu       sync.Mutex
		kills    int
		runs     int
		byPoint  = map[string]int{}
		failures []error
	)
	runOne := func(instance, run int) {
		mu.Lock()
		runs++
		kind := rng.IntN(len(childPoints) + 3)
		var extra []string
		var label string
		var jitter time.Duration
		var plan *frontPlan
		switch {
		case kind < len(childPoints):
			p := childPoints[kind]
			label = p.name
			extra = append(extra, envPoint+"="+p.name+":"+strconv.Itoa(1+rng.IntN(p.hits)))
		case kind < len(childPoints)+2:
			plan = &frontPlan{at: 1 + rng.IntN(10), afterApply: kind == len(childPoints)+1}
			label = "send, before applying"
			if plan.afterApply {
				label = "send, after applying"
			}
		default:
			jitter = time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
			label = "random time"
		}
		mu.Unlock()
		cmd, wait, err := start(instance, run, extra...)
		if err != nil {
			mu.Lock()
			failures = append(failures, err)
			mu.Unlock()
			return
		}
		key := strconv.Itoa(instance)
		if plan != nil {
			plan.kill = func() { _ = cmd.Process.Kill() }
			front.mu.Lock()
			front.plans[key] = plan
			front.mu.Unlock()
		}
		var timer *time.Timer
		if jitter > 0 {
			timer = time.AfterFunc(jitter, func() { _ = cmd.Process.Kill() })
		}
		err = wait()
		if timer != nil {
			timer.Stop()
		}
		front.end(key + "/" + strconv.Itoa(run))
		front.mu.Lock()
		delete(front.plans, key)
		front.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
			kills++
			byPoint[label]++
		default:
			failures = append(failures, fmt.Errorf("instance %d run %d: %w", instance, run, err))
		}
	}
	const closeEvery = 3
	wave := 1
	for ; kills < *crashKills && runs <= 4*(*crashKills)+10 && len(failures) == 0; wave++ {
		var wg sync.WaitGroup
		for instance := range instances {
			wg.Go(func() { runOne(instance, wave) })
		}
		wg.Wait()
		if wave%closeEvery == 0 {
			closePeriods(wave / closeEvery)
		}
	}
	if len(failures) > 0 {
		t.Fatal(errors.Join(failures...))
	}
	if kills < *crashKills {
		t.Fatalf("%d kills in %d runs, want %d", kills, runs, *crashKills)
	}
	// The last word: one child, alone, flushes what is left.
	last := wave/closeEvery + 1
	closePeriods(last)
	_, wait, err := start(0, 0, envFinal+"=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	front.end("0/0")
	closePeriods(last + 1)
	t.Logf("kills by point: %v", byPoint)

	// The accounts.
	ctx := t.Context()
	store, closeStore, err := openStore(ctx, storeSpec)
	defer closeStore()
	if err != nil {
		t.Fatal(err)
	}
	m := newMeter(t, taggedAPI{srv.Client(billing.WithBaseURL(fs)), "parent"}, store, meter.WithSandbox(true), meter.WithLease(crashLease),
		meter.WithClock(aheadClock(offset.Load())))
	all, err := store.Batches(ctx, meter.Sandbox, "")
	if err != nil {
		t.Fatal(err)
	}
	if n, q, err := store.Unsealed(ctx, meter.Sandbox); err != nil || n != 0 {
		t.Fatalf("after the final run: %d usages (%g) unsealed, %v", n, q, err)
	}
	inJournal := map[string]float64{}
	var recorded, applied, parked, doubled, lost float64
	var parkedBatches, parkedApplied int
	front.mu.Lock()
	appliedOf := maps.Clone(front.applied)
	front.mu.Unlock()
	for _, b := range all {
		us, err := store.BatchUsages(ctx, meter.Sandbox, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, u := range us {
			if _, dup := inJournal[u.Key]; dup {
				t.Errorf("key %s in two batches", u.Key)
			}
			inJournal[u.Key] = u.Quantity
			sum += u.Quantity
		}
		if !same(sum, b.Quantity) {
			t.Errorf("batch %d: quantity %g, its usages sum to %g", b.ID, b.Quantity, sum)
		}
		recorded += b.Quantity
		n := appliedOf[b.ID]
		if n > 1 {
			doubled += float64(n-1) * b.Quantity
		}
		switch b.State {
		case meter.Sent:
			if n == 0 {
				lost += b.Quantity
				t.Errorf("batch %d is sent in the journal, never applied", b.ID)
			}
		case meter.Unknown:
			parkedBatches++
			if n == 0 {
				parked += b.Quantity
			} else {
				parkedApplied++
			}
		default:
			t.Errorf("batch %d ends %s", b.ID, b.State)
		}
	}
	for k, q := range acked {
		if _, ok := inJournal[k]; !ok {
			lost += q
			t.Errorf("Add(%s) returned nil, the journal does not have it", k)
		}
	}
	bySub := map[string]float64{}
	for _, b := range all {
		if appliedOf[b.ID] > 0 {
			bySub[b.SubscriptionID] += float64(appliedOf[b.ID]) * b.Quantity
		}
	}
	for _, s := range subs {
		got := srv.UsageReceived(s, billingtest.APICallsAddonID, true).Quantity
		applied += got
		if !same(got, bySub[s]) {
			t.Errorf("subscription %s: the server applied %g, the front saw batches of %g applied", s, got, bySub[s])
		}
	}
	if l := recorded - applied - parked; !same(l, 0) {
		lost += l
		t.Errorf("recorded %g, applied %g, parked and not applied %g: %g unaccounted for", recorded, applied, parked, l)
	}

	// Every parked batch is resolvable to the truth; the proposals, where
	// made, are the truth.
	ps, err := m.Parked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proposed, wrong := 0, 0
	reasons := map[string]int{}
	for _, p := range ps {
		if p.Proposal.Resolution == meter.NoResolution {
			why := "other"
			for _, k := range []string{"several sets", "no set", "too many", "within a lease", "no invoice"} {
				if strings.Contains(p.Proposal.Reason, k) {
					why = k
					break
				}
			}
			reasons[why]++
		}
		truth := meter.NotApplied
		if appliedOf[p.Batch.ID] > 0 {
			truth = meter.Applied
		}
		if r := p.Proposal.Resolution; r != meter.NoResolution {
			proposed++
			if r != truth {
				wrong++
				t.Errorf("batch %d: proposed %s, the truth is %s (%s)", p.Batch.ID, r, truth, p.Proposal.Reason)
			}
		}
		if err := m.Resolve(ctx, p.Batch.ID, truth, "crash test: the truth"); err != nil {
			t.Fatal(err)
		}
	}
	if len(reasons) > 0 {
		t.Logf("why no proposal: %v", reasons)
	}
	// The batches resolved as not applied are sent again by a Meter with a long
	// lease: the parent is never killed, and with the children's lease a send
	// slowed down by a loaded machine would be cut after it was written, parked
	// again, and missing below. (m keeps the children's lease: its proposals
	// weigh their sends.)
	resend := newMeter(t, taggedAPI{srv.Client(billing.WithBaseURL(fs)), "parent"}, store, meter.WithSandbox(true),
		meter.WithLease(time.Minute), meter.WithClock(aheadClock(offset.Load())))
	if err := drain(ctx, resend, aheadClock(offset.Load())); err != nil {
		t.Fatal(err)
	}
	after := 0.0
	for _, s := range subs {
		after += srv.UsageReceived(s, billingtest.APICallsAddonID, true).Quantity
	}
	if !same(after, recorded) {
		t.Errorf("after resolving the parked batches: %g applied, %g recorded", after, recorded)
	}
	front.mu.Lock()
	for id, n := range front.applied {
		if n > 1 {
			t.Errorf("batch %d applied %d times", id, n)
		}
	}
	front.mu.Unlock()
	fmt.Printf("crash: %d instances, %s, %d runs, %d batches, %d parked (%d of them applied before the crash), %d proposals, %d wrong\n",
		instances, *crashStore, runs, len(all), parkedBatches, parkedApplied, proposed, wrong)
	fmt.Printf("crash: %d kills, %g units recorded, %g applied, %g parked, %g lost, %g doubled\n",
		kills, recorded, applied, parked, lost, doubled)
}

func same(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
