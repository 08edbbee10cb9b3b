package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// TestMeterStoreRecordsOverlappingKeysInAnyOrderWithoutDeadlock: instances
// that record the same keys at once, each in its own order, all succeed. On
// PostgreSQL an INSERT waits for a key that another open transaction inserted;
// Record inserts in key order, so two of them never wait on each other. Here
// another session, in key order too, holds "k1" while Record is given "k2"
// then "k1", and inserts "k2" once Record waits. Had Record inserted "k2"
// first, PostgreSQL would have ended one of the two with SQLSTATE 40P01
// (deadlock detected), which failed a Meter's Add in the crash test.
func TestMeterStoreRecordsOverlappingKeysInAnyOrderWithoutDeadlock(t *testing.T) {
	ctx := t.Context()
	base := dbtest.PostgresURL(t)
	st := postgresMeter(t, base)
	other, tx := otherSession(t, base)
	insert := "INSERT INTO " + st.usages + " (mode, ukey, subscription_id, item_id, quantity, recorded_at)" +
		" VALUES ('live', $1, 'S', 'I', 1, 1) ON CONFLICT (mode, ukey) DO NOTHING"
	if _, err := tx.ExecContext(ctx, insert, "k1"); err != nil {
		t.Fatal(err)
	}

	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	done := make(chan error, 1)
	go func() {
		done <- st.Record(context.WithoutCancel(ctx), meter.Live, []meter.Usage{
			{Key: "k2", SubscriptionID: "S", ItemID: "I", Quantity: 2, At: t0},
			{Key: "k1", SubscriptionID: "S", ItemID: "I", Quantity: 2, At: t0},
		})
	}()
	waitForLockWait(t, other, "INSERT INTO "+st.usages)
	if _, err := tx.ExecContext(ctx, insert, "k2"); err != nil {
		t.Fatalf("the other session's insert of k2 while Record waits: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Record of keys another session held: %v", err)
	}
	var n int
	var sum float64
	if err := other.QueryRowContext(ctx, "SELECT count(*), SUM(quantity) FROM "+st.usages).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 2 || sum != 2 {
		t.Errorf("%d usages of %v units recorded, want 2 of 2 (each key once, the first recording kept)", n, sum)
	}
}

// TestMeterStoreExpireSkipsBatchesAnotherTransactionHolds: on PostgreSQL,
// Expire takes the expired batches in id order and passes over those another
// transaction holds (FOR UPDATE SKIP LOCKED), so instances expiring the same
// batches at once never wait on each other (one multi-row UPDATE could lock
// them in two orders, by two plans, and deadlock). The held batch is parked
// by the next Expire, once it is free.
func TestMeterStoreExpireSkipsBatchesAnotherTransactionHolds(t *testing.T) {
	ctx := t.Context()
	base := dbtest.PostgresURL(t)
	st := postgresMeter(t, base)
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	if err := st.Record(ctx, meter.Live, []meter.Usage{
		{Key: "a", SubscriptionID: "S", ItemID: "I", Quantity: 1, At: t0},
		{Key: "b", SubscriptionID: "T", ItemID: "I", Quantity: 1, At: t0},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Seal(ctx, meter.Live, t0); err != nil {
		t.Fatal(err)
	}
	bs, err := st.Claim(ctx, meter.Live, "A", t0, t0.Add(time.Second), 2)
	if err != nil || len(bs) != 2 {
		t.Fatalf("claim: %v, %v", bs, err)
	}

	_, tx := otherSession(t, base)
	var id int64
	if err := tx.QueryRowContext(ctx, "SELECT id FROM "+st.batches+" WHERE id = $1 FOR UPDATE", bs[1].ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	// The deadline only guards against a hang: an Expire that waited for the
	// held batch would wait until the test ends.
	expireCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := st.Expire(expireCtx, meter.Live, t0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Expire while another transaction holds batch %d = %d, %v; want 1 (the other batch), nil", bs[1].ID, n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := st.Expire(ctx, meter.Live, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("Expire once the batch is free = %d, %v; want 1, nil", n, err)
	}
	for _, b := range bs {
		got, err := st.Batch(ctx, meter.Live, b.ID)
		if err != nil || got.State != meter.Unknown {
			t.Errorf("batch %d = %+v, %v; want it parked (unknown)", b.ID, got.State, err)
		}
	}
}
