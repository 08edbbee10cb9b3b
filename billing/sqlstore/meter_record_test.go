package sqlstore

import (
	"context"
	"database/sql"
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
	st, err := openPostgres(t, base).Meter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
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

// waitForLockWait returns once a session of the test's database waits for a
// lock while running a statement that starts with prefix. It polls the
// server; the deadline only guards against a hang.
func waitForLockWait(t *testing.T, db *sql.DB, prefix string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"+
			" AND wait_event_type = 'Lock' AND starts_with(query, $1)", prefix).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session waited for a lock in %q", prefix)
		}
	}
}
