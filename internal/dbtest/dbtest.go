// Package dbtest gives tests a fresh database of each engine the SQL stores
// support: a SQLite file in the test's temporary directory, and a PostgreSQL
// database created for the test on the server that BILLING_POSTGRES_URL names
// (.ci/run starts one on loopback and sets it). Without that variable the
// PostgreSQL tests skip with a message, unless BILLING_POSTGRES=1, which CI
// sets: then they fail.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"
)

// PostgresURLEnv names the variable holding the URL of a PostgreSQL server whose
// user may create databases.
const PostgresURLEnv = "BILLING_POSTGRES_URL"

// PostgresURL returns the URL of a new, empty PostgreSQL database that is dropped
// when the test ends; it skips the test (or fails it, when BILLING_POSTGRES=1) if
// no server is configured.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		if os.Getenv("BILLING_POSTGRES") == "1" {
			t.Fatalf("BILLING_POSTGRES=1 but %s is not set", PostgresURLEnv)
		}
		t.Skipf("no PostgreSQL: set %s (postgres://user@127.0.0.1:port/db) to run this test", PostgresURLEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "billing_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating a test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer func() { _ = admin.Close() }()
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresURLEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a new, empty PostgreSQL database for the test (see PostgresURL)
// and closes it when the test ends.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// SQLitePath returns the path of a new SQLite database file in the test's
// temporary directory (not yet created).
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "billing.db")
}
