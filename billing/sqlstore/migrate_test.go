package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// openers returns, for each engine, a function that opens the same fresh
// database each time it is called, as a new pool (as another instance of a
// service would). The PostgreSQL one skips the test without a server.
func openers(t *testing.T) map[Dialect]func(t *testing.T) *DB {
	t.Helper()
	path := dbtest.SQLitePath(t)
	var pgURL string
	return map[Dialect]func(t *testing.T) *DB{
		SQLite: func(t *testing.T) *DB {
			// Pools on one file take turns through SQLite's busy handler,
			// which is not fair: under the race detector on 2 cores a writer
			// waited 2.5 s of OpenSQLite's 10. A minute only guards against a
			// hang.
			db, err := sql.Open("sqlite", strings.Replace(SQLiteDSN(path), "busy_timeout(10000)", "busy_timeout(60000)", 1))
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1)
			t.Cleanup(func() { _ = db.Close() })
			s, err := New(db, SQLite)
			if err != nil {
				t.Fatal(err)
			}
			var timeout int
			if err := db.QueryRowContext(t.Context(), "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != 60000 {
				t.Fatalf("busy_timeout = %d, %v; want 60000", timeout, err)
			}
			return s
		},
		Postgres: func(t *testing.T) *DB {
			if pgURL == "" {
				pgURL = dbtest.PostgresURL(t)
			}
			db, err := sql.Open("pgx", pgURL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			s, err := New(db, Postgres)
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

var testSteps = []migration{
	{sqlite: "CREATE TABLE {p}t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)",
		postgres: "CREATE TABLE {p}t (id BIGSERIAL PRIMARY KEY, n BIGINT NOT NULL DEFAULT 0)"},
	{sqlite: "ALTER TABLE {p}t ADD COLUMN label TEXT;\nCREATE INDEX {p}t_label ON {p}t (label)",
		postgres: "ALTER TABLE {p}t ADD COLUMN label TEXT;\nCREATE INDEX {p}t_label ON {p}t (label)"},
}

func TestMigrateConcurrentInstancesApplyEachStepOnce(t *testing.T) {
	for dialect, open := range openers(t) {
		t.Run(string(dialect), func(t *testing.T) {
			const instances = 6
			stores := make([]*DB, instances)
			for i := range stores {
				stores[i] = open(t)
			}
			var wg sync.WaitGroup
			errs := make([]error, instances)
			for i, s := range stores {
				wg.Go(func() { errs[i] = s.migrate(context.Background(), "test", testSteps) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
			}
			s := stores[0]
			var v int
			if err := s.db.QueryRow("SELECT version FROM billing_schema_versions WHERE component = 'test'").Scan(&v); err != nil || v != 2 {
				t.Fatalf("version = %d, %v; want 2", v, err)
			}
			if _, err := s.db.Exec("INSERT INTO billing_t (n, label) VALUES (1, 'x')"); err != nil {
				t.Fatalf("the migrated table: %v", err)
			}
			// Running again is a no-op; a newer schema than the code's is refused.
			if err := s.migrate(context.Background(), "test", testSteps); err != nil {
				t.Fatalf("second migration: %v", err)
			}
			err := s.migrate(context.Background(), "test", testSteps[:1])
			if err == nil || !strings.Contains(err.Error(), "newer than this code's") {
				t.Fatalf("older code on a newer schema: %v", err)
			}
		})
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	db, err := sql.Open("sqlite", SQLiteDSN(dbtest.SQLitePath(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		name    string
		db      *sql.DB
		dialect Dialect
		opts    []Option
		want    string
	}{
		{"nil db", nil, SQLite, nil, "nil *sql.DB"},
		{"dialect", db, "mysql", nil, `unknown dialect "mysql"`},
		{"prefix with a quote", db, SQLite, []Option{WithTablePrefix(`x"; DROP TABLE y; --`)}, "table prefix"},
		{"prefix upper case", db, SQLite, []Option{WithTablePrefix("Billing_")}, "table prefix"},
		{"prefix too long", db, SQLite, []Option{WithTablePrefix(strings.Repeat("a", 33))}, "table prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.db, tt.dialect, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "sqlstore: ") {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	for _, p := range []string{"", "acme_", "a1"} {
		if _, err := New(db, SQLite, WithTablePrefix(p)); err != nil {
			t.Errorf("prefix %q: %v", p, err)
		}
	}
}
