package sqlstore

import (
	"database/sql"
	"testing"
	"time"
)

// otherSession opens a pool on the PostgreSQL database at url, as another
// instance would, and begins a transaction in it, rolled back when the test
// ends unless the test commits it.
func otherSession(t *testing.T, url string) (*sql.DB, *sql.Tx) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return db, tx
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

// postgresMeter opens the journal of the meter on the PostgreSQL database at url.
func postgresMeter(t *testing.T, url string) *MeterStore {
	t.Helper()
	st, err := openPostgres(t, url).Meter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
