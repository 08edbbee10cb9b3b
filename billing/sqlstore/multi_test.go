package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// The scale of TestWebhooksManyInstances (make multi raises it).
var (
	multiEntities = flag.Int("multi.entities", 12, "TestWebhooksManyInstances: entities (subscriptions)")
	multiEvents   = flag.Int("multi.events", 6, "TestWebhooksManyInstances: events per entity (one creation, then updates)")
	multiKills    = flag.Int("multi.kills", 4, "TestWebhooksManyInstances: instances SIGKILLed (and restarted) during the run")
	multiSelfKill = flag.Int("multi.selfkill", 8, "TestWebhooksManyInstances: per mille of the function's runs where the instance SIGKILLs itself, before committing and again after")
	multiSeed     = flag.Uint64("multi.seed", 0, "TestWebhooksManyInstances: random seed (0: from the clock)")
)

const (
	// instanceEnv holds, in an instance's environment, the database URL.
	instanceEnv = "BILLING_WEBHOOK_INSTANCE_DB"
	// selfKillEnv holds, in an instance's environment, the per mille of its
	// function's runs where it kills itself, at each of two points.
	selfKillEnv = "BILLING_WEBHOOK_INSTANCE_SELFKILL"
	// multiSecret signs the deliveries of TestWebhooksManyInstances.
	multiSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	// multiLease is the instances' lease: short, so that the claims and locks
	// of a killed instance free up quickly.
	multiLease = 2 * time.Second
)

// effectsTable is the partner's own table: one row per run of its function
// that committed.
const effectsTable = `CREATE TABLE IF NOT EXISTS effects (
	seq BIGSERIAL PRIMARY KEY,
	message TEXT NOT NULL,
	entity TEXT NOT NULL,
	version BIGINT NOT NULL,
	type TEXT NOT NULL
)`

// TestWebhookInstance is one instance of a partner's service for
// TestWebhooksManyInstances, which runs it in a process of its own: a Handler
// with a Tracker on the shared PostgreSQL database, whose function fails now
// and then and otherwise records the event in the same transaction as the
// Tracker's Hold; now and then it SIGKILLs its own process just before or just
// after committing. It prints its address, then serves until killed or until its
// standard input closes.
func TestWebhookInstance(t *testing.T) {
	url := os.Getenv(instanceEnv)
	if url == "" {
		t.Skip("an instance of TestWebhooksManyInstances, which runs it")
	}
	ctx := context.Background()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(8)
	sdb, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.NewWebhookStore(ctx, sdb)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := webhook.NewSignatureVerifier([]string{multiSecret})
	if err != nil {
		t.Fatal(err)
	}
	selfKill, _ := strconv.Atoi(os.Getenv(selfKillEnv))
	maybeDie := func() {
		if rand.IntN(1000) < selfKill {
			p, _ := os.FindProcess(os.Getpid())
			_ = p.Kill() // SIGKILL: no deferred function runs
		}
	}
	apply := func(ctx context.Context, ev *webhook.Event) error {
		if rand.IntN(10) == 0 {
			return errors.New("the partner's function failed before writing")
		}
		ent, _ := ev.Entity()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if _, err := tx.ExecContext(ctx, "INSERT INTO effects (message, entity, version, type) VALUES ($1, $2, $3, $4)",
			ev.ID, ent.ID, int64(ent.Version), string(ev.Type)); err != nil {
			return err
		}
		if err := store.Record(ctx, tx); err != nil {
			return err
		}
		if rand.IntN(20) == 0 {
			return errors.New("the partner's function failed after writing (rolled back)")
		}
		maybeDie() // recorded, not committed
		if err := tx.Commit(); err != nil {
			return err
		}
		maybeDie() // committed, the Tracker not told
		return nil
	}
	h := webhook.NewHandler(verifier, webhook.OnOther(apply),
		webhook.WithTracker(webhook.NewTracker(store, webhook.WithLease(multiLease), webhook.WithEntityWait(time.Second))))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0) // the test that started this instance ended
	}()
	fmt.Printf("listening %s\n", ln.Addr())
	_ = http.Serve(ln, h)
}

// instance is a running TestWebhookInstance process.
type instance struct {
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

func startInstance(dbURL string, selfKill int) (*instance, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebhookInstance$")
	cmd.Env = append(os.Environ(), instanceEnv+"="+dbURL, selfKillEnv+"="+strconv.Itoa(selfKill))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return &instance{cmd: cmd, stdin: stdin, url: "http://" + addr}, nil
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, fmt.Errorf("an instance exited before listening (%v)", sc.Err())
}

// stop makes the instance exit (its watcher waits for it).
func (in *instance) stop() { _ = in.stdin.Close() }

// message is one webhook message of the stream.
type message struct {
	id, entity string
	version    int
	typ        webhook.Type
	body       []byte
}

// stream returns the messages of entities entities, events each (a creation,
// then updates of increasing versions), in a sending order where each entity's
// events come mostly in order, some neighbours swapped, the entities interleaved.
func stream(r *rand.Rand, entities, events int) []message {
	perEntity := make([][]message, entities)
	for e := range perEntity {
		sub := fmt.Sprintf("sub_%03d", e)
		for v := 1; v <= events; v++ {
			typ := webhook.SubscriptionUpdated
			if v == 1 {
				typ = webhook.SubscriptionCreated
			}
			perEntity[e] = append(perEntity[e], message{
				id: fmt.Sprintf("msg_%s_v%d", sub, v), entity: sub, version: v, typ: typ,
				body: fmt.Appendf(nil, `{"eventType":%q,"data":{"subscription":{"id":%q,"status":"active","resource_version":%d}}}`, typ, sub, v),
			})
		}
		for i := 1; i < len(perEntity[e]); i++ {
			if r.IntN(3) == 0 {
				perEntity[e][i-1], perEntity[e][i] = perEntity[e][i], perEntity[e][i-1]
			}
		}
	}
	var out []message
	for len(perEntity) > 0 {
		e := r.IntN(len(perEntity))
		out = append(out, perEntity[e][0])
		if perEntity[e] = perEntity[e][1:]; len(perEntity[e]) == 0 {
			perEntity = append(perEntity[:e], perEntity[e+1:]...)
		}
	}
	return out
}

// TestWebhooksManyInstances sends a stream of signed deliveries to 4 instances
// (processes) sharing a PostgreSQL database: each message to one to three
// instances at once, again after any answer but 2xx (409 while another runs
// it, 500 when the function failed, or no answer from a killed instance),
// while instances are SIGKILLed at random points (by the test, and by
// themselves around their function's commit) and restarted. Then every
// message's function committed exactly once, or the message was skipped as
// older than an event of its entity that committed; an entity's updates
// committed in the order of their versions (creation events are never skipped,
// so they may commit late by design); and every message is recorded as done.
func TestWebhooksManyInstances(t *testing.T) {
	if os.Getenv(instanceEnv) != "" {
		t.Skip("in an instance")
	}
	dbURL := dbtest.PostgresURL(t)
	ctx := t.Context()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sdb, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlstore.NewWebhookStore(ctx, sdb); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, effectsTable); err != nil {
		t.Fatal(err)
	}

	seed := *multiSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (-args -multi.seed=%d to run it again)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 1))
	messages := stream(r, *multiEntities, *multiEvents)

	const instances = 4
	// Each slot runs an instance; when it dies (killed by the test, or by
	// itself inside its function), its watcher counts the kill and starts
	// another in its place.
	var mu sync.Mutex // guards running and stopping
	running := make([]*instance, instances)
	stopping := false
	var kills atomic.Int64
	var watchers sync.WaitGroup
	var watch func(i int, in *instance)
	watch = func(i int, in *instance) {
		watchers.Go(func() {
			_ = in.cmd.Wait()
			mu.Lock()
			stop := stopping
			mu.Unlock()
			if stop {
				return
			}
			kills.Add(1)
			next, err := startInstance(dbURL, *multiSelfKill)
			if err != nil {
				t.Error(err) // the slot's URL answers nothing: the senders go elsewhere
				return
			}
			mu.Lock()
			if stopping {
				mu.Unlock()
				next.stop()
				_ = next.cmd.Wait()
				return
			}
			running[i] = next
			mu.Unlock()
			watch(i, next)
		})
	}
	for i := range running {
		if running[i], err = startInstance(dbURL, *multiSelfKill); err != nil {
			t.Fatal(err)
		}
		watch(i, running[i])
	}
	defer func() {
		mu.Lock()
		stopping = true
		for _, in := range running {
			in.stop()
		}
		mu.Unlock()
		watchers.Wait()
	}()

	// The test kills an instance when the count of deliveries reaches one of
	// thresholds drawn at random over the first deliveries (there are at least
	// as many deliveries as messages).
	thresholds := map[int64]bool{}
	for len(thresholds) < min(*multiKills, len(messages)) {
		thresholds[1+r.Int64N(int64(len(messages)))] = true
	}
	killAt := make(chan struct{}, len(thresholds))
	var testKills atomic.Int64
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		kr := rand.New(rand.NewPCG(seed, 2))
		for range killAt {
			// An instance being restarted is dead already: kill another.
			for range instances {
				mu.Lock()
				victim := running[kr.IntN(instances)]
				mu.Unlock()
				if victim.cmd.Process.Signal(os.Kill) == nil {
					testKills.Add(1)
					break
				}
			}
		}
	}()

	signer, err := webhook.NewSigner(multiSecret)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var deliveries atomic.Int64
	var statusMu sync.Mutex
	statuses := map[string]int{}
	deliver := func(m message, url string) bool {
		n := deliveries.Add(1)
		if thresholds[n] {
			killAt <- struct{}{}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.body))
		if err != nil {
			t.Error(err)
			return false
		}
		req.Header = signer.Headers(m.id, time.Now(), m.body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		status := "no answer"
		if err == nil {
			_ = resp.Body.Close()
			status = fmt.Sprint(resp.StatusCode)
		}
		statusMu.Lock()
		statuses[status]++
		statusMu.Unlock()
		return err == nil && resp.StatusCode/100 == 2
	}
	queue := make(chan message)
	var senders sync.WaitGroup
	for s := range 8 {
		sr := rand.New(rand.NewPCG(seed, uint64(10+s)))
		senders.Go(func() {
			for m := range queue {
				for attempt := 0; ; attempt++ {
					// To one to three instances at once.
					mu.Lock()
					picked := sr.Perm(instances)[:1+sr.IntN(3)]
					urls := make([]string, len(picked))
					for i, p := range picked {
						urls[i] = running[p].url
					}
					mu.Unlock()
					var acked atomic.Bool
					var wg sync.WaitGroup
					for _, u := range urls {
						wg.Go(func() {
							if deliver(m, u) {
								acked.Store(true)
							}
						})
					}
					wg.Wait()
					if acked.Load() || ctx.Err() != nil {
						break
					}
					// Billing's retries, compressed: a few milliseconds apart.
					time.Sleep(time.Duration(1+min(attempt, 5)) * 5 * time.Millisecond)
				}
			}
		})
	}
	for _, m := range messages {
		queue <- m
	}
	close(queue)
	senders.Wait()
	close(killAt)
	<-killerDone

	twice, lost, disorder, stale := checkWebhookRun(t, db, messages)
	t.Logf("answers: %v; %d messages, %d skipped as stale; %d instances killed by the test, %d by themselves",
		statuses, len(messages), stale, testKills.Load(), kills.Load()-testKills.Load())
	fmt.Printf("webhooks: %d deliveries, %d instances, %d kills, %d processed twice, %d lost, %d out of order\n",
		deliveries.Load(), instances, kills.Load(), twice, lost, disorder)
	if twice != 0 || lost != 0 || disorder != 0 {
		t.Errorf("%d processed twice, %d lost, %d out of order", twice, lost, disorder)
	}
}

// checkWebhookRun compares what the instances committed with the stream.
func checkWebhookRun(t *testing.T, db *sql.DB, messages []message) (twice, lost, disorder, stale int) {
	t.Helper()
	rows, err := db.Query("SELECT message, entity, version, type FROM effects ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	runs := map[string]int{}
	applied := map[string][]int{} // entity -> versions of its updates, in commit order
	newest := map[string]int{}    // entity -> newest version committed
	for rows.Next() {
		var id, entity, typ string
		var v int
		if err := rows.Scan(&id, &entity, &v, &typ); err != nil {
			t.Fatal(err)
		}
		if runs[id]++; runs[id] == 2 {
			twice++
			t.Errorf("%s committed twice", id)
		}
		newest[entity] = max(newest[entity], v)
		if webhook.Type(typ) != webhook.SubscriptionCreated {
			if vs := applied[entity]; len(vs) > 0 && v < vs[len(vs)-1] {
				disorder++
				t.Errorf("%s: version %d committed after %v", entity, v, vs)
			}
			applied[entity] = append(applied[entity], v)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	drows, err := db.Query("SELECT id FROM billing_webhook_messages WHERE state = 'done'")
	if err != nil {
		t.Fatal(err)
	}
	defer drows.Close()
	for drows.Next() {
		var id string
		if err := drows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		done[id] = true
	}
	if err := drows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, m := range messages {
		switch {
		case !done[m.id]:
			lost++
			t.Errorf("%s is not recorded as done", m.id)
		case runs[m.id] > 0:
		case m.typ != webhook.SubscriptionCreated && newest[m.entity] > m.version:
			stale++ // skipped: a newer event of its entity committed
		default:
			lost++
			t.Errorf("%s (version %d of %s, newest committed %d) never committed", m.id, m.version, m.entity, newest[m.entity])
		}
	}
	return twice, lost, disorder, stale
}
