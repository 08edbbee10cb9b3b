// Package sqlstore keeps, in a SQL database, what the opt-in packages of the SDK
// must remember across restarts and share across instances: the messages and
// entity versions of billing/webhook's Tracker, and the usage journal of
// billing/meter. One database serves every instance of a partner's service.
//
// Two engines are supported, through database/sql with the caller's driver:
// PostgreSQL (github.com/jackc/pgx/v5/stdlib, driver name "pgx") and SQLite
// (modernc.org/sqlite, pure Go, driver name "sqlite"). OpenSQLite opens a SQLite
// file with the settings a journal needs; New wraps a *sql.DB the caller opened.
//
// The package creates its tables on first use and migrates them: each store
// records its schema version in the table schema_versions, and a migration runs
// under a lock (pg_advisory_xact_lock on PostgreSQL, BEGIN IMMEDIATE on SQLite),
// so that two instances starting at once neither fail nor migrate twice. Every
// table name starts with the prefix WithTablePrefix sets ("billing_" by default).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"strings"
)

// Dialect is the SQL engine behind a *sql.DB.
type Dialect string

// The supported engines.
const (
	// Postgres is PostgreSQL 12 or later. The stores' transactions run at the
	// isolation level READ COMMITTED, whatever the database's default; each
	// store documents what it relies on.
	Postgres Dialect = "postgres"
	// SQLite is SQLite 3.35 or later (RETURNING). Writes run in BEGIN IMMEDIATE
	// transactions, so that writers queue on the database lock instead of failing.
	SQLite Dialect = "sqlite"
)

// DefaultTablePrefix starts the name of every table the package creates, unless
// WithTablePrefix sets another.
const DefaultTablePrefix = "billing_"

// DB is a database the stores of this package keep their state in. It is safe
// for concurrent use.
type DB struct {
	db      *sql.DB
	dialect Dialect
	prefix  string
	owned   bool // opened by OpenSQLite: Close closes it
}

// Option configures a DB.
type Option func(*DB)

// WithTablePrefix sets the prefix of every table name: lower-case letters, digits
// and underscores, starting with a letter, at most 32 characters; "" for none.
func WithTablePrefix(prefix string) Option {
	return func(s *DB) { s.prefix = prefix }
}

var validPrefix = regexp.MustCompile(`^([a-z][a-z0-9_]{0,31})?$`)

// New returns a DB over db, whose engine is dialect. The caller keeps db: Close
// does not close it.
func New(db *sql.DB, dialect Dialect, opts ...Option) (*DB, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil *sql.DB")
	}
	if dialect != Postgres && dialect != SQLite {
		return nil, fmt.Errorf("sqlstore: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
	s := &DB{db: db, dialect: dialect, prefix: DefaultTablePrefix}
	for _, o := range opts {
		o(s)
	}
	if !validPrefix.MatchString(s.prefix) {
		return nil, fmt.Errorf("sqlstore: table prefix %q: want lower-case letters, digits and underscores, starting with a letter, at most 32", s.prefix)
	}
	return s, nil
}

// SQLiteDSN returns the data source name OpenSQLite uses for the file at path,
// for modernc.org/sqlite: write-ahead log, synchronous=FULL (a committed write
// survives a crash of the process or the machine), a 10 s busy timeout, and
// BEGIN IMMEDIATE transactions.
func SQLiteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(ON)&_txlock=immediate"
}

// OpenSQLite opens (and creates, if need be) the SQLite database file at path with
// SQLiteDSN's settings. It needs a driver registered as "sqlite": import
// modernc.org/sqlite for its side effect. Close closes it.
func OpenSQLite(path string, opts ...Option) (*DB, error) {
	db, err := sql.Open("sqlite", SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening %s: %w (import modernc.org/sqlite)", path, err)
	}
	// One connection writes at a time anyway; more only queue on the file lock.
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	s, err := New(db, SQLite, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close closes the database if OpenSQLite opened it; a *sql.DB given to New is
// the caller's to close.
func (s *DB) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// SQL returns the underlying *sql.DB, for the caller's own statements (a partner
// function that records its effects in the same database, for example).
func (s *DB) SQL() *sql.DB { return s.db }

// Dialect returns the engine of the database.
func (s *DB) Dialect() Dialect { return s.dialect }

// Table returns the full name of one of the package's tables, prefix included.
func (s *DB) Table(name string) string { return s.prefix + name }

// querier is what a statement runs on: a *sql.Tx, a *sql.Conn or the *sql.DB.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, q querier, query string, args ...any) (int64, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// inTx runs fn in a write transaction and commits it if fn returns nil. On
// SQLite the transaction is BEGIN IMMEDIATE (it takes the write lock first, so a
// read followed by a write cannot fail with SQLITE_BUSY half way); on PostgreSQL it
// runs at READ COMMITTED, even when the database defaults to a higher level.
func (s *DB) inTx(ctx context.Context, fn func(q querier) error) error {
	if s.dialect == Postgres {
		// READ COMMITTED whatever the database's default: each statement
		// decides on the latest committed rows, as the stores' SQL assumes.
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(conn); err != nil {
		// The context may be over: roll back regardless (SQLite may have rolled
		// back already, after an error: then ROLLBACK fails, harmlessly).
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// A migration is one step of a store's schema, in each dialect's SQL. "{p}" in
// it stands for the table prefix. A step may hold several statements separated
// by ";\n".
type migration struct {
	sqlite, postgres string
}

// migrate brings the schema of component (a store: "webhook", "meter") to the
// last of steps, under a database-wide lock, recording the version reached in
// the schema_versions table. Steps already applied are never run again; a
// database whose version is newer than the code's is refused.
func (s *DB) migrate(ctx context.Context, component string, steps []migration) error {
	err := s.inTx(ctx, func(q querier) error {
		if s.dialect == Postgres {
			// Serialises concurrent migrations of this prefix (CREATE TABLE IF NOT
			// EXISTS alone races on PostgreSQL's catalog).
			h := fnv.New64a()
			h.Write([]byte("billing-sdk-go/sqlstore:" + s.prefix))
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
				return err
			}
		}
		versions := s.Table("schema_versions")
		if _, err := q.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+versions+
			" (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"); err != nil {
			return err
		}
		var have int
		err := q.QueryRowContext(ctx, "SELECT version FROM "+versions+" WHERE component = $1", component).Scan(&have)
		if errors.Is(err, sql.ErrNoRows) {
			have = 0
		} else if err != nil {
			return err
		}
		if have > len(steps) {
			return fmt.Errorf("schema version %d is newer than this code's %d: upgrade the SDK", have, len(steps))
		}
		for i := have; i < len(steps); i++ {
			text := steps[i].sqlite
			if s.dialect == Postgres {
				text = steps[i].postgres
			}
			for _, stmt := range strings.Split(strings.ReplaceAll(text, "{p}", s.prefix), ";\n") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := q.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("step %d: %w", i+1, err)
				}
			}
		}
		if have == len(steps) {
			return nil
		}
		_, err = q.ExecContext(ctx, "INSERT INTO "+versions+" (component, version) VALUES ($1, $2)"+
			" ON CONFLICT (component) DO UPDATE SET version = excluded.version", component, len(steps))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: migrating the %s schema: %w", component, err)
	}
	return nil
}
