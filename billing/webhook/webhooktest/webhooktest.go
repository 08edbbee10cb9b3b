// Package webhooktest checks that an implementation of webhook.Store keeps the
// contract a webhook.Tracker relies on, when one process or several share it:
// claims and entity locks that only their holder completes, releases or unlocks,
// leases that a crashed holder's successor takes over, and versions advanced by
// compare-and-set. The stores of this SDK run it (MemoryStore, and
// billing/sqlstore on SQLite and PostgreSQL); run it on a Store of your own:
//
//	func TestMyStore(t *testing.T) {
//		webhooktest.TestStore(t, func(t *testing.T, now func() time.Time) webhook.Store {
//			return mystore.New(freshDatabase(t), mystore.WithClock(now))
//		})
//	}
package webhooktest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

// An Opener returns a new, empty Store that reads the time from now, and that
// is closed when t ends. The suite calls it once per test and shares the Store
// among the goroutines and Trackers that stand for several instances.
type Opener func(t *testing.T, now func() time.Time) webhook.Store

// lease is the lease of the suite's claims and locks.
const lease = time.Minute

// TestStore runs the conformance tests on the Stores open returns.
func TestStore(t *testing.T, open Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, s webhook.Store, c *fakeclock.Clock)
	}{
		{"ClaimCompleteRelease", testClaimCompleteRelease},
		{"CrashedHolderIsTakenOverAfterItsLease", testTakeover},
		{"ReleaseByALapsedClaimLeavesTheTakeover", testLapsedRelease},
		{"ConcurrentClaimsOneWins", testConcurrentClaims},
		{"ConcurrentTakeoversOneWins", testConcurrentTakeovers},
		{"ClaimRacingARelease", testClaimRacingRelease},
		{"EntityLock", testEntityLock},
		{"ConcurrentEntityLocksOneWins", testConcurrentEntityLocks},
		{"VersionsCompareAndSet", testVersions},
		{"TrackersRefuseAMessageInProgress", testTrackersInProgress},
		{"TrackersTakeOverFromACrashedInstance", testTrackersCrash},
		{"TrackerWhoseClaimLapsedCannotReleaseOrComplete", testTrackersLapsed},
		{"TrackersRunAnEntityOneAtATimeInOrder", testTrackersOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeclock.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			tt.run(t, open(t, c.Now), c)
		})
	}
}

func claim(t *testing.T, s webhook.Store, id string) webhook.Claim {
	t.Helper()
	c, err := s.ClaimMessage(context.Background(), id, lease)
	if err != nil {
		t.Fatalf("claim %s: %v", id, err)
	}
	if c.ID != id || c.Token == "" {
		t.Fatalf("claim %s: %+v, want its id and a token", id, c)
	}
	return c
}

// wantClaimErr checks that claiming id fails with target.
func wantClaimErr(t *testing.T, s webhook.Store, id string, target error, why string) {
	t.Helper()
	if c, err := s.ClaimMessage(context.Background(), id, lease); !errors.Is(err, target) {
		t.Errorf("%s: claim = %+v, %v; want %v", why, c, err, target)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testClaimCompleteRelease(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	ctx := context.Background()
	a := claim(t, s, "m1")
	if want := clk.Now().Add(lease); a.Expires.Before(want.Add(-time.Millisecond)) || a.Expires.After(want) {
		t.Errorf("claim expires at %v, want the clock plus the lease, %v", a.Expires, want)
	}
	wantClaimErr(t, s, "m1", webhook.ErrInProgress, "while claimed")
	must(t, s.ReleaseMessage(ctx, a))
	b := claim(t, s, "m1")
	if b.Token == a.Token {
		t.Errorf("a new claim has the released one's token %q", a.Token)
	}
	if err := s.CompleteMessage(ctx, a); !errors.Is(err, webhook.ErrClaimLost) {
		t.Errorf("completing a released claim: %v, want ErrClaimLost", err)
	}
	must(t, s.CompleteMessage(ctx, b))
	must(t, s.CompleteMessage(ctx, b)) // again: still done
	wantClaimErr(t, s, "m1", webhook.ErrDuplicate, "after completion")
	must(t, s.ReleaseMessage(ctx, b))
	wantClaimErr(t, s, "m1", webhook.ErrDuplicate, "a release does not undo a completion")
	clk.Advance(10 * lease)
	wantClaimErr(t, s, "m1", webhook.ErrDuplicate, "a completion has no lease")
	if err := s.CompleteMessage(ctx, webhook.Claim{ID: "m2", Token: "x"}); !errors.Is(err, webhook.ErrClaimLost) {
		t.Errorf("completing a message never claimed: %v, want ErrClaimLost", err)
	}
	must(t, s.ReleaseMessage(ctx, webhook.Claim{ID: "m2", Token: "x"}))
}

// A holder that crashed keeps its claim for its lease; then another takes it
// over, and the crashed one's claim completes nothing.
func testTakeover(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	ctx := context.Background()
	crashed := claim(t, s, "m1")
	clk.Advance(lease - time.Second)
	wantClaimErr(t, s, "m1", webhook.ErrInProgress, "within the lease")
	clk.Advance(time.Second)
	next := claim(t, s, "m1")
	if next.Token == crashed.Token {
		t.Fatal("the takeover kept the crashed claim's token")
	}
	wantClaimErr(t, s, "m1", webhook.ErrInProgress, "after the takeover")
	if err := s.CompleteMessage(ctx, crashed); !errors.Is(err, webhook.ErrClaimLost) {
		t.Errorf("the crashed claim completes: %v, want ErrClaimLost", err)
	}
	must(t, s.CompleteMessage(ctx, next))
	wantClaimErr(t, s, "m1", webhook.ErrDuplicate, "after the takeover completed")
}

// A's claim lapses, B takes it over, A's function fails and A releases: B's
// claim stays, so that a third delivery does not run the message while B does.
func testLapsedRelease(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	ctx := context.Background()
	a := claim(t, s, "m1")
	clk.Advance(lease + time.Second)
	b := claim(t, s, "m1")
	must(t, s.ReleaseMessage(ctx, a))
	wantClaimErr(t, s, "m1", webhook.ErrInProgress, "A released after B took over")
	must(t, s.ReleaseMessage(ctx, b))
	claim(t, s, "m1")
}

const racers = 16

// oneWins runs try on racers goroutines at once: one must succeed, and the
// others fail with ErrInProgress.
func oneWins(t *testing.T, what string, try func() error) {
	t.Helper()
	var mu sync.Mutex
	wins, other := 0, []error(nil)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			err := try()
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, webhook.ErrInProgress):
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || len(other) > 0 {
		t.Errorf("%s: %d succeeded (want 1), other errors: %v", what, wins, other)
	}
}

func testConcurrentClaims(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	oneWins(t, "concurrent claims", func() error {
		_, err := s.ClaimMessage(context.Background(), "m1", lease)
		return err
	})
}

func testConcurrentTakeovers(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	claim(t, s, "m1")
	clk.Advance(2 * lease)
	oneWins(t, "concurrent takeovers", func() error {
		_, err := s.ClaimMessage(context.Background(), "m1", lease)
		return err
	})
}

// A claim whose insert conflicts with a row that a release deletes before the
// claim reads it must still end in a claim or ErrInProgress, never an error or
// two holders.
func testClaimRacingRelease(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	ctx := context.Background()
	for i := range 60 {
		id := fmt.Sprintf("m%d", i)
		a := claim(t, s, id)
		var won webhook.Claim
		var err error
		var wg sync.WaitGroup
		wg.Go(func() { won, err = s.ClaimMessage(ctx, id, lease) })
		wg.Go(func() { must(t, s.ReleaseMessage(ctx, a)) })
		wg.Wait()
		switch {
		case err == nil:
			wantClaimErr(t, s, id, webhook.ErrInProgress, "after the racing claim won")
			must(t, s.CompleteMessage(ctx, won))
		case errors.Is(err, webhook.ErrInProgress):
			claim(t, s, id) // released: free
		default:
			t.Fatalf("claim racing a release: %v", err)
		}
	}
}

func testEntityLock(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	ctx := context.Background()
	lock := func(kind, id string) (webhook.EntityLock, error) { return s.LockEntity(ctx, kind, id, lease) }
	a, err := lock(webhook.KindSubscription, "s1")
	must(t, err)
	if a.Kind != webhook.KindSubscription || a.ID != "s1" || a.Token == "" {
		t.Fatalf("lock: %+v", a)
	}
	if _, err := lock(webhook.KindSubscription, "s1"); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("second lock: %v, want ErrInProgress", err)
	}
	for _, other := range [][2]string{{webhook.KindSubscription, "s2"}, {webhook.KindCustomer, "s1"}} {
		l, err := lock(other[0], other[1])
		if err != nil {
			t.Errorf("lock of another entity %v: %v", other, err)
		}
		must(t, s.UnlockEntity(ctx, l))
	}
	must(t, s.UnlockEntity(ctx, webhook.EntityLock{Kind: webhook.KindSubscription, ID: "s1", Token: "not-the-holder"}))
	if _, err := lock(webhook.KindSubscription, "s1"); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("after an unlock with another token: %v, want ErrInProgress", err)
	}
	clk.Advance(lease)
	b, err := lock(webhook.KindSubscription, "s1")
	if err != nil {
		t.Fatalf("lock of a crashed holder's entity after its lease: %v", err)
	}
	must(t, s.UnlockEntity(ctx, a))
	if _, err := lock(webhook.KindSubscription, "s1"); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("the lapsed holder unlocked the takeover: %v, want ErrInProgress", err)
	}
	must(t, s.UnlockEntity(ctx, b))
	c, err := lock(webhook.KindSubscription, "s1")
	if err != nil {
		t.Errorf("lock after unlock: %v", err)
	}
	must(t, s.UnlockEntity(ctx, c))
	if v, err := s.Version(ctx, webhook.KindSubscription, "s1"); v != 0 || err != nil {
		t.Errorf("locking set a version: %d, %v", v, err)
	}
}

func testConcurrentEntityLocks(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	oneWins(t, "concurrent entity locks", func() error {
		_, err := s.LockEntity(context.Background(), webhook.KindCustomer, "c1", lease)
		return err
	})
}

func testVersions(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	ctx := context.Background()
	for _, step := range []struct {
		v        webhook.Version
		advanced bool
		after    webhook.Version
	}{{5, true, 5}, {5, false, 5}, {3, false, 5}, {9, true, 9}} {
		ok, err := s.AdvanceVersion(ctx, webhook.KindSubscription, "s1", step.v)
		if err != nil || ok != step.advanced {
			t.Errorf("AdvanceVersion(%d) = %v, %v; want %v", step.v, ok, err, step.advanced)
		}
		if got, err := s.Version(ctx, webhook.KindSubscription, "s1"); got != step.after || err != nil {
			t.Errorf("after %d: version %d, %v; want %d", step.v, got, err, step.after)
		}
	}
	if got, _ := s.Version(ctx, webhook.KindCustomer, "s1"); got != 0 {
		t.Errorf("another kind shares the version: %d", got)
	}
	// Concurrent advances: the highest stays, and a version is reported
	// advanced only when it was above every one recorded before.
	var wg sync.WaitGroup
	var advanced atomic.Int32
	for v := range webhook.Version(racers) {
		wg.Go(func() {
			ok, err := s.AdvanceVersion(ctx, webhook.KindCustomer, "c1", v+1)
			if err != nil {
				t.Error(err)
			}
			if ok {
				advanced.Add(1)
			}
		})
	}
	wg.Wait()
	if got, _ := s.Version(ctx, webhook.KindCustomer, "c1"); got != racers || advanced.Load() < 1 {
		t.Errorf("after concurrent advances: version %d (want %d), %d advanced", got, racers, advanced.Load())
	}
}

// event returns a subscription event of message id at version v.
func event(t *testing.T, typ webhook.Type, id, sub string, v int) *webhook.Event {
	t.Helper()
	ev, err := webhook.Decode(fmt.Appendf(nil, `{"eventType":%q,"data":{"subscription":{"id":%q,"resource_version":%d}}}`, typ, sub, v))
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = id
	return ev
}

// Two instances: the one that gets a delivery while the other runs it answers
// ErrInProgress (409), then the message is a duplicate.
func testTrackersInProgress(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	a, b := webhook.NewTracker(s, webhook.WithLease(lease)), webhook.NewTracker(s, webhook.WithLease(lease))
	ev := event(t, webhook.SubscriptionUpdated, "m1", "s1", 1)
	started, finish := make(chan webhook.Hold), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := a.Process(context.Background(), ev, func(ctx context.Context) error {
			h, _ := webhook.HoldFrom(ctx)
			started <- h
			<-finish
			return nil
		})
		done <- err
	}()
	h := <-started
	if h.Message.ID != "m1" || h.Message.Token == "" || h.Entity.ID != "s1" || h.Entity.Token == "" || h.Version != 1 {
		t.Errorf("the function's Hold: %+v", h)
	}
	if _, err := b.Process(context.Background(), ev, func(context.Context) error {
		t.Error("ran on two instances at once")
		return nil
	}); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("delivery to B while A runs it: %v, want ErrInProgress", err)
	}
	close(finish)
	must(t, <-done)
	if out, err := b.Process(context.Background(), ev, func(context.Context) error { return nil }); out != webhook.Duplicate || err != nil {
		t.Errorf("delivery to B after A: %v, %v; want duplicate", out, err)
	}
}

// An instance crashed holding a message and its entity: deliveries are refused
// for the lease, then another instance processes them.
func testTrackersCrash(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	ctx := context.Background()
	claim(t, s, "m1")
	_, err := s.LockEntity(ctx, webhook.KindSubscription, "s1", lease)
	must(t, err)
	b := webhook.NewTracker(s, webhook.WithLease(lease), webhook.WithEntityWait(0))
	ran := 0
	fn := func(context.Context) error { ran++; return nil }
	if _, err := b.Process(ctx, event(t, webhook.SubscriptionUpdated, "m1", "s1", 2), fn); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("message of the crashed instance within its lease: %v, want ErrInProgress", err)
	}
	if _, err := b.Process(ctx, event(t, webhook.SubscriptionUpdated, "m2", "s1", 3), fn); !errors.Is(err, webhook.ErrInProgress) {
		t.Errorf("entity of the crashed instance within its lease: %v, want ErrInProgress", err)
	}
	// m2's failed attempt released its claim.
	clk.Advance(lease)
	for _, ev := range []*webhook.Event{event(t, webhook.SubscriptionUpdated, "m2", "s1", 3), event(t, webhook.SubscriptionUpdated, "m1", "s1", 2)} {
		out, err := b.Process(ctx, ev, fn)
		if err != nil {
			t.Fatalf("%s after the lease: %v", ev.ID, err)
		}
		if want := map[string]webhook.Outcome{"m1": webhook.Stale, "m2": webhook.Processed}[ev.ID]; out != want {
			t.Errorf("%s after the lease: %v, want %v", ev.ID, out, want)
		}
	}
	if ran != 1 {
		t.Errorf("ran %d times, want 1", ran)
	}
}

// A's function outlives its lease: B takes the message over. A's failure then
// releases nothing (a third delivery is refused while B runs it), and A's
// success records nothing.
func testTrackersLapsed(t *testing.T, s webhook.Store, clk *fakeclock.Clock) {
	for _, aFails := range []bool{true, false} {
		id := fmt.Sprintf("m-%v", aFails)
		ev := event(t, webhook.SubscriptionUpdated, id, "s-"+id, 1)
		tracker := func() *webhook.Tracker { return webhook.NewTracker(s, webhook.WithLease(lease)) }
		aIn, aOut := make(chan struct{}), make(chan struct{})
		aDone := make(chan error)
		go func() {
			_, err := tracker().Process(context.Background(), ev, func(context.Context) error {
				close(aIn)
				<-aOut
				if aFails {
					return errors.New("the function of A failed")
				}
				return nil
			})
			aDone <- err
		}()
		<-aIn
		clk.Advance(lease + time.Second)
		bIn, bOut := make(chan struct{}), make(chan struct{})
		bDone := make(chan error)
		go func() {
			_, err := tracker().Process(context.Background(), ev, func(context.Context) error {
				close(bIn)
				<-bOut
				return nil
			})
			bDone <- err
		}()
		<-bIn
		close(aOut)
		aErr := <-aDone
		if aFails {
			if aErr == nil {
				t.Error("A's failure was not returned")
			}
		} else if !errors.Is(aErr, webhook.ErrClaimLost) {
			t.Errorf("A succeeded after B took over: %v, want ErrClaimLost", aErr)
		}
		if _, err := tracker().Process(context.Background(), ev, func(context.Context) error {
			t.Errorf("C ran %s while B runs it (A's ending freed B's claim)", id)
			return nil
		}); !errors.Is(err, webhook.ErrInProgress) {
			t.Errorf("C while B runs %s: %v, want ErrInProgress", id, err)
		}
		close(bOut)
		must(t, <-bDone)
		if out, err := tracker().Process(context.Background(), ev, func(context.Context) error { return nil }); out != webhook.Duplicate || err != nil {
			t.Errorf("after B: %v, %v; want duplicate", out, err)
		}
	}
}

// Four instances get the events of a few entities, each event at several
// instances at once: each message runs once, an entity's events never run at
// once, and no event runs after a newer one of its entity.
func testTrackersOrder(t *testing.T, s webhook.Store, _ *fakeclock.Clock) {
	trackers := make([]*webhook.Tracker, 4)
	for i := range trackers {
		trackers[i] = webhook.NewTracker(s, webhook.WithLease(lease), webhook.WithEntityWait(time.Minute))
	}
	const entities, versions = 3, 6
	var mu sync.Mutex
	running := map[string]bool{}
	applied := map[string][]int{}
	runs := map[string]int{}
	outcomes := map[string][]webhook.Outcome{}
	var wg sync.WaitGroup
	for e := range entities {
		for v := 1; v <= versions; v++ {
			sub := fmt.Sprintf("s%d", e)
			id := fmt.Sprintf("%s-v%d", sub, v)
			for i := range 3 {
				tr := trackers[(e+v+i)%len(trackers)]
				wg.Go(func() {
					// ErrInProgress: a sender would retry; each message also
					// goes to other instances, and the check below sees any loss.
					out, err := tr.Process(context.Background(), event(t, webhook.SubscriptionUpdated, id, sub, v), func(context.Context) error {
						mu.Lock()
						if running[sub] {
							t.Errorf("two events of %s at once", sub)
						}
						running[sub] = true
						mu.Unlock()
						runtime.Gosched() // let another event of sub in, if the lock does not hold
						mu.Lock()
						defer mu.Unlock()
						applied[sub] = append(applied[sub], v)
						runs[id]++
						running[sub] = false
						return nil
					})
					switch {
					case err == nil:
						mu.Lock()
						outcomes[id] = append(outcomes[id], out)
						mu.Unlock()
					case !errors.Is(err, webhook.ErrInProgress):
						t.Error(err)
					}
				})
			}
		}
	}
	wg.Wait()
	for id, n := range runs {
		if n != 1 {
			t.Errorf("%s ran %d times", id, n)
		}
	}
	// Every message was processed or skipped as stale, by one delivery at least
	// (a delivery refused with ErrInProgress found another one running it).
	if len(outcomes) != entities*versions {
		t.Errorf("%d messages reached an outcome, want %d", len(outcomes), entities*versions)
	}
	for id, outs := range outcomes {
		processed, stale := slices.Contains(outs, webhook.Processed), slices.Contains(outs, webhook.Stale)
		if processed == stale || processed != (runs[id] == 1) {
			t.Errorf("%s: outcomes %v, ran %d times", id, outs, runs[id])
		}
	}
	for sub, vs := range applied {
		for i := 1; i < len(vs); i++ {
			if vs[i] < vs[i-1] {
				t.Errorf("%s: versions applied in the order %v", sub, vs)
				break
			}
		}
	}
}
