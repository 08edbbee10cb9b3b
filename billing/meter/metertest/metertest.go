// Package metertest checks that a meter.Store keeps the promises of its
// documentation, alone and under concurrency: for a partner who journals the
// meter in a database of its own. The SDK runs it on meter.MemoryStore and on
// billing/sqlstore's SQLite and PostgreSQL stores.
package metertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

// TestStore runs the conformance tests. For each test, newDB makes a fresh,
// empty database and returns a function that opens a handle on it; the tests
// open several to play several instances of a service sharing the database.
func TestStore(t *testing.T, newDB func(t *testing.T) (open func() meter.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func() meter.Store)
	}{
		{"RecordCountsAKeyOnce", testRecordCountsAKeyOnce},
		{"ModesAreApart", testModesAreApart},
		{"SealAggregatesPerItem", testSealAggregatesPerItem},
		{"SealSplitsLateUsage", testSealSplitsLateUsage},
		{"ClaimAfterThePeriodEndIsLate", testClaimAfterThePeriodEndIsLate},
		{"PeriodEnds", testPeriodEnds},
		{"ClaimCompleteByOwnerOnly", testClaimCompleteByOwnerOnly},
		{"NothingSentWaitsForTheNextFlush", testNothingSentWaitsForTheNextFlush},
		{"ExpiredLeaseParksNeverResends", testExpiredLeaseParksNeverResends},
		{"ResolveByTheCallersWord", testResolveByTheCallersWord},
		{"ConcurrentInstancesSealAndClaimOnce", testConcurrentInstancesSealAndClaimOnce},
		{"ConcurrentRecordsOfTheSameKeysInAnyOrder", testConcurrentRecordsOfTheSameKeysInAnyOrder},
		{"DurableAcrossHandles", testDurableAcrossHandles},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDB(t)) })
	}
}

var (
	ctx = context.Background()
	// t0 is a time every store keeps exactly (whole microseconds).
	t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
)

func at(d time.Duration) time.Time { return t0.Add(d) }

func usage(key, sub, item string, q float64, when time.Time) meter.Usage {
	return meter.Usage{Key: key, SubscriptionID: sub, ItemID: item, Quantity: q, At: when}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// summary is what the tests compare of a batch.
type summary struct {
	Sub, Item string
	Quantity  float64
	Usages    int
	Late      bool
	State     meter.State
}

func summarise(bs []meter.Batch) []summary {
	var out []summary
	for _, b := range bs {
		out = append(out, summary{b.SubscriptionID, b.ItemID, b.Quantity, b.Usages, b.Late, b.State})
	}
	return out
}

func batches(t *testing.T, s meter.Store, mode meter.Mode, state meter.State) []meter.Batch {
	t.Helper()
	bs, err := s.Batches(ctx, mode, state)
	must(t, err)
	return bs
}

func testRecordCountsAKeyOnce(t *testing.T, open func() meter.Store) {
	s := open()
	must(t, s.Record(ctx, meter.Live, []meter.Usage{
		usage("a", "S", "I", 2, at(0)), usage("b", "S", "I", 3, at(0)), usage("a", "S", "I", 7, at(0)),
	}))
	must(t, s.Record(ctx, meter.Live, []meter.Usage{usage("b", "S", "I", 100, at(time.Second)), usage("c", "S", "I", 1, at(time.Second))}))
	n, q, err := s.Unsealed(ctx, meter.Live)
	must(t, err)
	if n != 3 || q != 6 {
		t.Fatalf("unsealed = %d usages, %g; want 3, 6 (the first recording of a key wins)", n, q)
	}
	sealed, err := s.Seal(ctx, meter.Live, at(2*time.Second))
	must(t, err)
	if sealed != 1 {
		t.Fatalf("Seal made %d batches, want 1", sealed)
	}
	bs := batches(t, s, meter.Live, "")
	us, err := s.BatchUsages(ctx, meter.Live, bs[0].ID)
	must(t, err)
	want := []meter.Usage{usage("a", "S", "I", 2, at(0)), usage("b", "S", "I", 3, at(0)), usage("c", "S", "I", 1, at(time.Second))}
	if diff := cmp.Diff(want, us); diff != "" {
		t.Errorf("BatchUsages (-want +got):\n%s", diff)
	}
}

func testModesAreApart(t *testing.T, open func() meter.Store) {
	s := open()
	must(t, s.Record(ctx, meter.Live, []meter.Usage{usage("k", "S", "I", 1, at(0))}))
	must(t, s.Record(ctx, meter.Sandbox, []meter.Usage{usage("k", "S", "I", 5, at(0))}))
	if _, err := s.Seal(ctx, meter.Sandbox, at(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.Unsealed(ctx, meter.Live); n != 1 {
		t.Fatalf("sealing sandbox sealed live usage: %d live usages left unsealed, want 1", n)
	}
	got, err := s.Claim(ctx, meter.Live, "o", at(time.Second), at(2*time.Second), 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("a live claim took %d sandbox batches", len(got))
	}
	got, err = s.Claim(ctx, meter.Sandbox, "o", at(time.Second), at(2*time.Second), 10)
	must(t, err)
	if len(got) != 1 || got[0].Quantity != 5 || got[0].Mode != meter.Sandbox {
		t.Fatalf("sandbox claim = %+v, want the sandbox batch of 5", got)
	}
	if _, err := s.Batch(ctx, meter.Live, got[0].ID); !errors.Is(err, meter.ErrNotFound) {
		t.Fatalf("Batch of a sandbox id in live mode: %v, want ErrNotFound", err)
	}
}

func testSealAggregatesPerItem(t *testing.T, open func() meter.Store) {
	s := open()
	var us []meter.Usage
	for i := range 30 {
		us = append(us, usage(fmt.Sprint("k", i), fmt.Sprint("S", i%3), fmt.Sprint("I", i%2), float64(i%4+1), at(time.Duration(i)*time.Second)))
	}
	must(t, s.Record(ctx, meter.Live, us))
	n, err := s.Seal(ctx, meter.Live, at(time.Minute))
	must(t, err)
	if n != 6 {
		t.Fatalf("Seal made %d batches, want 6 (3 subscriptions x 2 items)", n)
	}
	if n, err := s.Seal(ctx, meter.Live, at(time.Minute)); err != nil || n != 0 {
		t.Fatalf("a second Seal made %d batches (%v), want 0", n, err)
	}
	total := map[[2]string]float64{}
	for _, u := range us {
		total[[2]string{u.SubscriptionID, u.ItemID}] += u.Quantity
	}
	for _, b := range batches(t, s, meter.Live, meter.Pending) {
		k := [2]string{b.SubscriptionID, b.ItemID}
		if b.Quantity != total[k] || b.Usages != 5 {
			t.Errorf("batch %v: %g over %d usages, want %g over 5", k, b.Quantity, b.Usages, total[k])
		}
		delete(total, k)
		us, err := s.BatchUsages(ctx, meter.Live, b.ID)
		must(t, err)
		if len(us) != 5 {
			t.Errorf("batch %v lists %d usages, want 5", k, len(us))
		}
		if b.FirstAt.After(b.LastAt) || b.State != meter.Pending || b.Late {
			t.Errorf("batch %+v", b)
		}
	}
	if len(total) != 0 {
		t.Errorf("no batch for %v", total)
	}
}

func testSealSplitsLateUsage(t *testing.T, open func() meter.Store) {
	s := open()
	end := at(time.Hour)
	must(t, s.SetPeriodEnd(ctx, meter.Live, "S", end, at(0)))
	must(t, s.Record(ctx, meter.Live, []meter.Usage{
		usage("before", "S", "I", 2, at(30*time.Minute)),
		usage("after", "S", "I", 3, at(90*time.Minute)),
		usage("other", "T", "I", 4, at(30*time.Minute)), // no known period end
	}))
	_, err := s.Seal(ctx, meter.Live, at(2*time.Hour))
	must(t, err)
	got := summarise(batches(t, s, meter.Live, ""))
	want := []summary{
		{"S", "I", 3, 1, false, meter.Pending},
		{"S", "I", 2, 1, true, meter.Pending},
		{"T", "I", 4, 1, false, meter.Pending},
	}
	if diff := cmp.Diff(want, got, sortSummaries); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	for _, b := range batches(t, s, meter.Live, "") {
		if b.Late && !b.MissedPeriodEnd.Equal(end) {
			t.Errorf("late batch's MissedPeriodEnd = %v, want %v", b.MissedPeriodEnd, end)
		}
		if !b.Late && !b.MissedPeriodEnd.IsZero() {
			t.Errorf("on-time batch has MissedPeriodEnd %v", b.MissedPeriodEnd)
		}
	}
}

func testClaimAfterThePeriodEndIsLate(t *testing.T, open func() meter.Store) {
	s := open()
	end := at(time.Hour)
	must(t, s.SetPeriodEnd(ctx, meter.Live, "S", end, at(0)))
	must(t, s.Record(ctx, meter.Live, []meter.Usage{usage("a", "S", "I", 2, at(10*time.Minute)), usage("b", "T", "I", 1, at(10*time.Minute))}))
	_, err := s.Seal(ctx, meter.Live, at(20*time.Minute))
	must(t, err)
	// The first send sends nothing; the next flush comes after the end.
	got, err := s.Claim(ctx, meter.Live, "A", at(30*time.Minute), at(31*time.Minute), 10)
	must(t, err)
	for _, b := range got {
		if b.Late {
			t.Fatalf("batch claimed before the end is late: %+v", b)
		}
		must(t, s.Complete(ctx, meter.Live, b.ID, "A", meter.Pending, "429", at(30*time.Minute)))
	}
	got, err = s.Claim(ctx, meter.Live, "B", at(2*time.Hour), at(2*time.Hour+time.Minute), 10)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("claimed %d, want 2", len(got))
	}
	for _, b := range got {
		wantLate := b.SubscriptionID == "S"
		if b.Late != wantLate || (wantLate && !b.MissedPeriodEnd.Equal(end)) {
			t.Errorf("batch of %s claimed after S's period end: Late %t, MissedPeriodEnd %v; want %t", b.SubscriptionID, b.Late, b.MissedPeriodEnd, wantLate)
		}
	}
	b, err := s.Batch(ctx, meter.Live, got[0].ID)
	must(t, err)
	if b.Late != got[0].Late {
		t.Errorf("the journal does not keep the batch's lateness: %+v", b)
	}
}

var sortSummaries = cmp.Transformer("sort", func(in []summary) []summary {
	out := append([]summary(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if fmt.Sprint(out[j]) < fmt.Sprint(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func testPeriodEnds(t *testing.T, open func() meter.Store) {
	s := open()
	must(t, s.SetPeriodEnd(ctx, meter.Live, "S", at(24*time.Hour), at(0)))
	must(t, s.SetPeriodEnd(ctx, meter.Live, "T", at(48*time.Hour), at(0)))
	must(t, s.SetPeriodEnd(ctx, meter.Sandbox, "S", at(time.Hour), at(0)))
	// A plan change moves S's end: the new one replaces the old.
	must(t, s.SetPeriodEnd(ctx, meter.Live, "S", at(72*time.Hour), at(time.Second)))
	// A late message of a closed period adds a past end, and replaces nothing.
	must(t, s.SetPeriodEnd(ctx, meter.Live, "T", at(-time.Hour), at(2*time.Second)))
	got, err := s.NextPeriodEnds(ctx, meter.Live, at(3*time.Second))
	must(t, err)
	want := map[string]time.Time{"S": at(72 * time.Hour), "T": at(48 * time.Hour)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NextPeriodEnds (-want +got):\n%s", diff)
	}
	got, err = s.NextPeriodEnds(ctx, meter.Live, at(50*time.Hour))
	must(t, err)
	if diff := cmp.Diff(map[string]time.Time{"S": at(72 * time.Hour)}, got); diff != "" {
		t.Errorf("NextPeriodEnds after T's end (-want +got):\n%s", diff)
	}
}

// sealed records one usage per (sub, item) given and seals them; it returns
// the batches.
func sealed(t *testing.T, s meter.Store, mode meter.Mode, n int) []meter.Batch {
	t.Helper()
	var us []meter.Usage
	for i := range n {
		us = append(us, usage(fmt.Sprint("seal-", i), fmt.Sprint("S", i), "I", float64(i+1), at(0)))
	}
	must(t, s.Record(ctx, mode, us))
	_, err := s.Seal(ctx, mode, at(time.Second))
	must(t, err)
	return batches(t, s, mode, meter.Pending)
}

func testClaimCompleteByOwnerOnly(t *testing.T, open func() meter.Store) {
	s := open()
	sealed(t, s, meter.Live, 3)
	now := at(time.Minute)
	got, err := s.Claim(ctx, meter.Live, "A", now, now.Add(time.Minute), 2)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("claimed %d, want 2 (the limit)", len(got))
	}
	for _, b := range got {
		if b.State != meter.Sending || b.Owner != "A" || !b.LeaseUntil.Equal(now.Add(time.Minute)) || !b.ClaimedAt.Equal(now) || b.Attempts != 1 {
			t.Fatalf("claimed batch %+v", b)
		}
	}
	rest, err := s.Claim(ctx, meter.Live, "B", now, now.Add(time.Minute), 10)
	must(t, err)
	if len(rest) != 1 || rest[0].ID == got[0].ID || rest[0].ID == got[1].ID {
		t.Fatalf("second claim = %+v, want the third batch only", rest)
	}
	if err := s.Complete(ctx, meter.Live, got[0].ID, "B", meter.Sent, "", now); !errors.Is(err, meter.ErrNotOwner) {
		t.Fatalf("Complete by another owner: %v, want ErrNotOwner", err)
	}
	if err := s.Complete(ctx, meter.Live, 1<<40, "A", meter.Sent, "", now); !errors.Is(err, meter.ErrNotFound) {
		t.Fatalf("Complete of a missing batch: %v, want ErrNotFound", err)
	}
	must(t, s.Complete(ctx, meter.Live, got[0].ID, "A", meter.Sent, "", now))
	must(t, s.Complete(ctx, meter.Live, got[1].ID, "A", meter.Refused, "400 BAD_REQUEST", now))
	if err := s.Complete(ctx, meter.Live, got[0].ID, "A", meter.Unknown, "", now); !errors.Is(err, meter.ErrNotOwner) {
		t.Fatalf("completing a Sent batch again: %v, want ErrNotOwner", err)
	}
	b, err := s.Batch(ctx, meter.Live, got[1].ID)
	must(t, err)
	if b.State != meter.Refused || b.Error != "400 BAD_REQUEST" {
		t.Fatalf("refused batch = %+v", b)
	}
}

func testNothingSentWaitsForTheNextFlush(t *testing.T, open func() meter.Store) {
	s := open()
	sealed(t, s, meter.Live, 1)
	flush1 := at(time.Minute)
	got, err := s.Claim(ctx, meter.Live, "A", flush1, flush1.Add(time.Minute), 10)
	must(t, err)
	must(t, s.Complete(ctx, meter.Live, got[0].ID, "A", meter.Pending, "429", flush1.Add(time.Second)))
	again, err := s.Claim(ctx, meter.Live, "A", flush1.Add(time.Second), flush1.Add(time.Minute), 10)
	must(t, err)
	if len(again) != 0 {
		t.Fatal("a batch that sent nothing was claimed again by the same flush")
	}
	flush2 := at(2 * time.Minute)
	again, err = s.Claim(ctx, meter.Live, "B", flush2, flush2.Add(time.Minute), 10)
	must(t, err)
	if len(again) != 1 || again[0].Attempts != 2 || again[0].Error != "429" {
		t.Fatalf("next flush's claim = %+v, want the batch, attempt 2, with its last error", again)
	}
}

func testExpiredLeaseParksNeverResends(t *testing.T, open func() meter.Store) {
	s := open()
	sealed(t, s, meter.Live, 2)
	now := at(time.Minute)
	got, err := s.Claim(ctx, meter.Live, "dead", now, now.Add(time.Minute), 10)
	must(t, err)
	must(t, s.Complete(ctx, meter.Live, got[1].ID, "dead", meter.Sent, "", now))
	if n, err := s.Expire(ctx, meter.Live, now.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("Expire at the lease's end parked %d (%v), want 0", n, err)
	}
	n, err := s.Expire(ctx, meter.Live, now.Add(time.Minute+time.Microsecond))
	must(t, err)
	if n != 1 {
		t.Fatalf("Expire parked %d, want 1", n)
	}
	b, err := s.Batch(ctx, meter.Live, got[0].ID)
	must(t, err)
	if b.State != meter.Unknown || b.Error != meter.LeaseExpired {
		t.Fatalf("expired batch = %+v", b)
	}
	later := now.Add(time.Hour)
	if again, err := s.Claim(ctx, meter.Live, "B", later, later.Add(time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("a parked batch was claimed again: %+v (%v)", again, err)
	}
	// The owner, alive after all, may still tell what happened.
	must(t, s.Complete(ctx, meter.Live, got[0].ID, "dead", meter.Sent, "", later))
}

func testResolveByTheCallersWord(t *testing.T, open func() meter.Store) {
	s := open()
	bs := sealed(t, s, meter.Live, 4)
	now := at(time.Minute)
	got, err := s.Claim(ctx, meter.Live, "A", now, now.Add(time.Minute), 10)
	must(t, err)
	must(t, s.Complete(ctx, meter.Live, got[0].ID, "A", meter.Unknown, "502", now))
	must(t, s.Complete(ctx, meter.Live, got[1].ID, "A", meter.Unknown, "502", now))
	must(t, s.Complete(ctx, meter.Live, got[2].ID, "A", meter.Refused, "404", now))
	must(t, s.Complete(ctx, meter.Live, got[3].ID, "A", meter.Sent, "", now))

	must(t, s.Resolve(ctx, meter.Live, bs[0].ID, true, "on invoice INV-1", now))
	must(t, s.Resolve(ctx, meter.Live, bs[1].ID, false, "not on invoice INV-1", now))
	if err := s.Resolve(ctx, meter.Live, bs[2].ID, true, "", now); !errors.Is(err, meter.ErrState) {
		t.Fatalf("resolving a refused batch as applied: %v, want ErrState", err)
	}
	must(t, s.Resolve(ctx, meter.Live, bs[2].ID, false, "item fixed", now))
	if err := s.Resolve(ctx, meter.Live, bs[3].ID, false, "", now); !errors.Is(err, meter.ErrState) {
		t.Fatalf("resolving a sent batch: %v, want ErrState", err)
	}
	if err := s.Resolve(ctx, meter.Live, 1<<40, false, "", now); !errors.Is(err, meter.ErrNotFound) {
		t.Fatalf("resolving a missing batch: %v, want ErrNotFound", err)
	}
	// The old owner's late word no longer counts.
	if err := s.Complete(ctx, meter.Live, bs[1].ID, "A", meter.Sent, "", now); !errors.Is(err, meter.ErrNotOwner) {
		t.Fatalf("Complete after Resolve: %v, want ErrNotOwner", err)
	}
	b0, _ := s.Batch(ctx, meter.Live, bs[0].ID)
	if b0.State != meter.Sent || b0.Note != "on invoice INV-1" {
		t.Fatalf("resolved applied: %+v", b0)
	}
	later := now.Add(time.Hour)
	again, err := s.Claim(ctx, meter.Live, "B", later, later.Add(time.Minute), 10)
	must(t, err)
	if len(again) != 2 || again[0].ID != bs[1].ID || again[1].ID != bs[2].ID {
		t.Fatalf("claim after resolving = %+v, want the two batches resolved as not applied", again)
	}
}

// testConcurrentRecordsOfTheSameKeysInAnyOrder: Meters group the Adds that
// come at once, so instances recording the same facts give a Store the same
// keys at once, each in its own order. Every Record succeeds (a database
// store that inserted in the given order would deadlock) and each key counts
// once.
func testConcurrentRecordsOfTheSameKeysInAnyOrder(t *testing.T, open func() meter.Store) {
	const instances, rounds, keys = 4, 20, 64
	var wg sync.WaitGroup
	errs := make(chan error, instances)
	for i := range instances {
		s := open()
		r := rand.New(rand.NewPCG(uint64(i), 1))
		wg.Go(func() {
			for round := range rounds {
				us := make([]meter.Usage, keys)
				for n := range us {
					us[n] = usage(fmt.Sprintf("r%d-k%d", round, n), "S", "I", 1, at(time.Duration(round)*time.Second))
				}
				r.Shuffle(len(us), func(a, b int) { us[a], us[b] = us[b], us[a] })
				if err := s.Record(ctx, meter.Live, us); err != nil {
					errs <- fmt.Errorf("instance %d, round %d: %w", i, round, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, q, err := open().Unsealed(ctx, meter.Live)
	must(t, err)
	if n != rounds*keys || q != rounds*keys {
		t.Errorf("unsealed = %d usages, %g; want %d of 1 each", n, q, rounds*keys)
	}
}

func testConcurrentInstancesSealAndClaimOnce(t *testing.T, open func() meter.Store) {
	const instances, perInstance, items = 4, 300, 7
	stores := make([]meter.Store, instances)
	for i := range stores {
		stores[i] = open()
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[int64]int{}
		sum     float64
		errs    []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for i, s := range stores {
		wg.Go(func() {
			for n := range perInstance {
				// Every instance records the same keys too: each counts once.
				u := usage(fmt.Sprint("k", n), "S", fmt.Sprint("I", n%items), 1, at(time.Duration(n)*time.Millisecond))
				mine := usage(fmt.Sprintf("i%d-%d", i, n), "S", fmt.Sprint("I", n%items), 2, u.At)
				if err := s.Record(ctx, meter.Live, []meter.Usage{u, mine}); err != nil {
					fail(err)
					return
				}
				if n%50 == 0 || n == perInstance-1 {
					now := at(time.Duration(i*perInstance+n) * time.Millisecond)
					if _, err := s.Seal(ctx, meter.Live, now); err != nil {
						fail(err)
						return
					}
					bs, err := s.Claim(ctx, meter.Live, fmt.Sprint("owner", i), now, now.Add(time.Hour), 1000)
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					for _, b := range bs {
						claimed[b.ID]++
						sum += b.Quantity
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	s := stores[0]
	_, err := s.Seal(ctx, meter.Live, at(time.Hour))
	must(t, err)
	bs, err := s.Claim(ctx, meter.Live, "last", at(time.Hour), at(2*time.Hour), 100000)
	must(t, err)
	for _, b := range bs {
		claimed[b.ID]++
		sum += b.Quantity
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("batch %d claimed %d times", id, n)
		}
	}
	if want := float64(perInstance + instances*perInstance*2); sum != want {
		t.Errorf("claimed batches carry %g, want %g (each usage once)", sum, want)
	}
}

func testDurableAcrossHandles(t *testing.T, open func() meter.Store) {
	a := open()
	sealed(t, a, meter.Sandbox, 2)
	b := open()
	got := batches(t, b, meter.Sandbox, meter.Pending)
	if len(got) != 2 {
		t.Fatalf("another handle sees %d batches, want 2", len(got))
	}
}
