package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// WebhookStore is a webhook.Store in the database, for the Trackers of every
// instance of a service: a message is processed once across instances, and the
// events of one entity run one at a time across them. It is safe for
// concurrent use.
//
// # Schema
//
// NewWebhookStore creates two tables ({p} is the table prefix), on PostgreSQL
// and SQLite alike; times are Unix microseconds from the instances' clocks,
// which must agree to well within the lease:
//
//	CREATE TABLE {p}webhook_messages (
//		id TEXT PRIMARY KEY,
//		state TEXT NOT NULL,
//		token TEXT NOT NULL,
//		expires_at BIGINT NOT NULL,
//		done_at BIGINT
//	);
//	CREATE INDEX {p}webhook_messages_done_at ON {p}webhook_messages (done_at);
//	CREATE TABLE {p}webhook_entities (
//		kind TEXT NOT NULL,
//		id TEXT NOT NULL,
//		version BIGINT NOT NULL DEFAULT 0,
//		lock_token TEXT,
//		lock_expires_at BIGINT NOT NULL DEFAULT 0,
//		PRIMARY KEY (kind, id)
//	)
//
// A message row is 'processing' under the claim whose token it holds until
// expires_at, then 'done' (done_at set); an entity row holds the newest version
// processed and the entity's lock (lock_token NULL when unlocked).
//
// # Statements
//
// Each statement runs in a transaction of its own (autocommit), at READ
// COMMITTED on PostgreSQL (its default) and under SQLite's database lock. The
// parameters are the message id or the entity (kind, id), a new random token,
// now plus the lease, and now.
//
// ClaimMessage inserts the claim, or takes over one whose lease ran out, in one
// statement (on PostgreSQL the conflicting row is locked, and the WHERE clause
// sees its latest committed version):
//
//	INSERT INTO {p}webhook_messages (id, state, token, expires_at) VALUES ($1, 'processing', $2, $3)
//	ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
//	WHERE {p}webhook_messages.state = 'processing' AND {p}webhook_messages.expires_at <= $4
//	RETURNING token
//
// No row returned: the message is done or claimed; it reads which:
//
//	SELECT state, expires_at FROM {p}webhook_messages WHERE id = $1
//
// 'done' is webhook.ErrDuplicate, 'processing' webhook.ErrInProgress. If the row
// is gone by then (its holder released it between the two statements), or its
// lease ran out meanwhile, the claim starts again with the INSERT (a few times,
// then webhook.ErrInProgress).
//
// CompleteMessage, only for the claim's own token (and again harmlessly):
//
//	UPDATE {p}webhook_messages SET state = 'done', done_at = COALESCE(done_at, $3) WHERE id = $1 AND token = $2
//
// No row updated: webhook.ErrClaimLost. ReleaseMessage, only its own claim:
//
//	DELETE FROM {p}webhook_messages WHERE id = $1 AND token = $2 AND state = 'processing'
//
// LockEntity, like a claim (no row returned: webhook.ErrInProgress; the row is
// never deleted):
//
//	INSERT INTO {p}webhook_entities (kind, id, version, lock_token, lock_expires_at) VALUES ($1, $2, 0, $3, $4)
//	ON CONFLICT (kind, id) DO UPDATE SET lock_token = excluded.lock_token, lock_expires_at = excluded.lock_expires_at
//	WHERE {p}webhook_entities.lock_token IS NULL OR {p}webhook_entities.lock_expires_at <= $5
//	RETURNING lock_token
//
// UnlockEntity, only its own lock:
//
//	UPDATE {p}webhook_entities SET lock_token = NULL WHERE kind = $1 AND id = $2 AND lock_token = $3
//
// Version (no row: 0):
//
//	SELECT version FROM {p}webhook_entities WHERE kind = $1 AND id = $2
//
// AdvanceVersion, a compare-and-set (advanced when a row was written):
//
//	INSERT INTO {p}webhook_entities (kind, id, version) VALUES ($1, $2, $3)
//	ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version
//	WHERE {p}webhook_entities.version < excluded.version
//
// Record, in the caller's transaction, checks that the entity lock is still the
// caller's and advances the version (locking the entity's row until the
// transaction ends, so that a takeover waits for it), then completes the
// message with the statement of CompleteMessage:
//
//	UPDATE {p}webhook_entities SET version = CASE WHEN version < $4 THEN $4 ELSE version END WHERE kind = $1 AND id = $2 AND lock_token = $3
//
// PurgeMessages deletes the messages done before a time, on SQLite:
//
//	DELETE FROM {p}webhook_messages WHERE state = 'done' AND done_at < $1
//
// and on PostgreSQL passing over the rows another transaction holds, so that
// instances purging at once never wait on each other (a later purge deletes
// what one passed over):
//
//	DELETE FROM {p}webhook_messages WHERE id IN (SELECT id FROM {p}webhook_messages WHERE state = 'done' AND done_at < $1 FOR UPDATE SKIP LOCKED)
//
// # Isolation
//
// The statements assume READ COMMITTED (or SQLite's serialised writes): each
// decides on the latest committed row. Under SERIALIZABLE (or REPEATABLE READ)
// as the database's default, contended claims and locks fail with SQLSTATE
// 40001 (serialization failure); the store retries such a statement a few
// times, then returns the error. Record runs in the caller's transaction at
// the caller's isolation level: under SERIALIZABLE, retry the whole
// transaction on 40001.
type WebhookStore struct {
	db  *DB
	now func() time.Time
	q   webhookQueries
}

// webhookQueries are the statements of a WebhookStore, the prefix filled in.
type webhookQueries struct {
	claim, claimState, complete, release, lock, unlock, version, advance, record, purge string
}

// The statements of a WebhookStore, "{p}" standing for the table prefix. The
// documentation of WebhookStore shows each of them (a test checks it).
const (
	webhookClaimSQL = `INSERT INTO {p}webhook_messages (id, state, token, expires_at) VALUES ($1, 'processing', $2, $3)
ON CONFLICT (id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE {p}webhook_messages.state = 'processing' AND {p}webhook_messages.expires_at <= $4
RETURNING token`
	webhookClaimStateSQL = `SELECT state, expires_at FROM {p}webhook_messages WHERE id = $1`
	webhookCompleteSQL   = `UPDATE {p}webhook_messages SET state = 'done', done_at = COALESCE(done_at, $3) WHERE id = $1 AND token = $2`
	webhookReleaseSQL    = `DELETE FROM {p}webhook_messages WHERE id = $1 AND token = $2 AND state = 'processing'`
	webhookLockSQL       = `INSERT INTO {p}webhook_entities (kind, id, version, lock_token, lock_expires_at) VALUES ($1, $2, 0, $3, $4)
ON CONFLICT (kind, id) DO UPDATE SET lock_token = excluded.lock_token, lock_expires_at = excluded.lock_expires_at
WHERE {p}webhook_entities.lock_token IS NULL OR {p}webhook_entities.lock_expires_at <= $5
RETURNING lock_token`
	webhookUnlockSQL  = `UPDATE {p}webhook_entities SET lock_token = NULL WHERE kind = $1 AND id = $2 AND lock_token = $3`
	webhookVersionSQL = `SELECT version FROM {p}webhook_entities WHERE kind = $1 AND id = $2`
	webhookAdvanceSQL = `INSERT INTO {p}webhook_entities (kind, id, version) VALUES ($1, $2, $3)
ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version
WHERE {p}webhook_entities.version < excluded.version`
	webhookRecordSQL = `UPDATE {p}webhook_entities SET version = CASE WHEN version < $4 THEN $4 ELSE version END WHERE kind = $1 AND id = $2 AND lock_token = $3`
	webhookPurgeSQL  = `DELETE FROM {p}webhook_messages WHERE state = 'done' AND done_at < $1`
	// Two plain DELETEs could lock the same rows in two orders (two plans, or
	// synchronised sequential scans starting at two places) and deadlock.
	webhookPurgePostgresSQL = `DELETE FROM {p}webhook_messages WHERE id IN (SELECT id FROM {p}webhook_messages WHERE state = 'done' AND done_at < $1 FOR UPDATE SKIP LOCKED)`
)

// webhookSchema is the webhook store's schema, one migration step per element,
// the same SQL on both engines.
var webhookSchema = []string{
	`CREATE TABLE {p}webhook_messages (
	id TEXT PRIMARY KEY,
	state TEXT NOT NULL,
	token TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	done_at BIGINT
);
CREATE INDEX {p}webhook_messages_done_at ON {p}webhook_messages (done_at);
CREATE TABLE {p}webhook_entities (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	version BIGINT NOT NULL DEFAULT 0,
	lock_token TEXT,
	lock_expires_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (kind, id)
)`,
}

// A WebhookOption configures a WebhookStore.
type WebhookOption func(*WebhookStore)

// WithWebhookClock makes the store read the time from now instead of
// time.Now, for tests of leases.
func WithWebhookClock(now func() time.Time) WebhookOption {
	return func(s *WebhookStore) { s.now = now }
}

// NewWebhookStore returns the WebhookStore of db, creating or migrating its
// tables first (see DB for the migrations' lock).
func NewWebhookStore(ctx context.Context, db *DB, opts ...WebhookOption) (*WebhookStore, error) {
	steps := make([]migration, len(webhookSchema))
	for i, s := range webhookSchema {
		steps[i] = migration{sqlite: s, postgres: s}
	}
	if err := db.migrate(ctx, "webhook", steps); err != nil {
		return nil, err
	}
	s := &WebhookStore{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	p := func(q string) string { return strings.ReplaceAll(q, "{p}", db.prefix) }
	s.q = webhookQueries{
		claim: p(webhookClaimSQL), claimState: p(webhookClaimStateSQL), complete: p(webhookCompleteSQL),
		release: p(webhookReleaseSQL), lock: p(webhookLockSQL), unlock: p(webhookUnlockSQL),
		version: p(webhookVersionSQL), advance: p(webhookAdvanceSQL), record: p(webhookRecordSQL),
		purge: p(webhookPurgeSQL),
	}
	if db.dialect == Postgres {
		s.q.purge = p(webhookPurgePostgresSQL)
	}
	return s, nil
}

var _ webhook.Store = (*WebhookStore)(nil)

// claimAttempts bounds the claims that restart because the row they conflicted
// with changed before they read it.
const claimAttempts = 5

// ClaimMessage implements webhook.Store.
func (s *WebhookStore) ClaimMessage(ctx context.Context, id string, lease time.Duration) (webhook.Claim, error) {
	for range claimAttempts {
		now := s.now()
		c := webhook.Claim{ID: id, Token: newToken(), Expires: now.Add(lease).Truncate(time.Microsecond)}
		var token string
		err := retrySerialization(ctx, func() error {
			return s.db.db.QueryRowContext(ctx, s.q.claim, id, c.Token, c.Expires.UnixMicro(), now.UnixMicro()).Scan(&token)
		})
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return webhook.Claim{}, fmt.Errorf("sqlstore: claiming message %s: %w", id, err)
		}
		var state string
		var expires int64
		err = retrySerialization(ctx, func() error {
			return s.db.db.QueryRowContext(ctx, s.q.claimState, id).Scan(&state, &expires)
		})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // released since the INSERT conflicted: claim again
		case err != nil:
			return webhook.Claim{}, fmt.Errorf("sqlstore: claiming message %s: %w", id, err)
		case state == "done":
			return webhook.Claim{}, fmt.Errorf("%w: %s", webhook.ErrDuplicate, id)
		case expires > s.now().UnixMicro():
			return webhook.Claim{}, fmt.Errorf("%w: %s", webhook.ErrInProgress, id)
		}
		// The lease ran out since the INSERT: take it over.
	}
	return webhook.Claim{}, fmt.Errorf("%w: %s (claimed and released %d times meanwhile)", webhook.ErrInProgress, id, claimAttempts)
}

// CompleteMessage implements webhook.Store.
func (s *WebhookStore) CompleteMessage(ctx context.Context, c webhook.Claim) error {
	return retrySerialization(ctx, func() error { return s.complete(ctx, s.db.db, c) })
}

func (s *WebhookStore) complete(ctx context.Context, q querier, c webhook.Claim) error {
	if n, err := execCount(ctx, q, s.q.complete, c.ID, c.Token, s.now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlstore: completing message %s: %w", c.ID, err)
	} else if n == 0 {
		return fmt.Errorf("%w: message %s", webhook.ErrClaimLost, c.ID)
	}
	return nil
}

// ReleaseMessage implements webhook.Store.
func (s *WebhookStore) ReleaseMessage(ctx context.Context, c webhook.Claim) error {
	err := retrySerialization(ctx, func() error {
		_, err := s.db.db.ExecContext(ctx, s.q.release, c.ID, c.Token)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: releasing message %s: %w", c.ID, err)
	}
	return nil
}

// LockEntity implements webhook.Store.
func (s *WebhookStore) LockEntity(ctx context.Context, kind, id string, lease time.Duration) (webhook.EntityLock, error) {
	now := s.now()
	l := webhook.EntityLock{Kind: kind, ID: id, Token: newToken(), Expires: now.Add(lease).Truncate(time.Microsecond)}
	var token string
	err := retrySerialization(ctx, func() error {
		return s.db.db.QueryRowContext(ctx, s.q.lock, kind, id, l.Token, l.Expires.UnixMicro(), now.UnixMicro()).Scan(&token)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return webhook.EntityLock{}, fmt.Errorf("%w: %s %s is locked", webhook.ErrInProgress, kind, id)
	case err != nil:
		return webhook.EntityLock{}, fmt.Errorf("sqlstore: locking %s %s: %w", kind, id, err)
	}
	return l, nil
}

// UnlockEntity implements webhook.Store.
func (s *WebhookStore) UnlockEntity(ctx context.Context, l webhook.EntityLock) error {
	err := retrySerialization(ctx, func() error {
		_, err := s.db.db.ExecContext(ctx, s.q.unlock, l.Kind, l.ID, l.Token)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: unlocking %s %s: %w", l.Kind, l.ID, err)
	}
	return nil
}

// Version implements webhook.Store.
func (s *WebhookStore) Version(ctx context.Context, kind, id string) (webhook.Version, error) {
	var v int64
	err := retrySerialization(ctx, func() error {
		return s.db.db.QueryRowContext(ctx, s.q.version, kind, id).Scan(&v)
	})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlstore: reading the version of %s %s: %w", kind, id, err)
	}
	return webhook.Version(v), nil
}

// AdvanceVersion implements webhook.Store.
func (s *WebhookStore) AdvanceVersion(ctx context.Context, kind, id string, v webhook.Version) (bool, error) {
	var n int64
	err := retrySerialization(ctx, func() (err error) {
		n, err = execCount(ctx, s.db.db, s.q.advance, kind, id, int64(v))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlstore: advancing the version of %s %s: %w", kind, id, err)
	}
	return n > 0, nil
}

// Record records, in tx, what the Tracker running the current event would
// record after its function: the entity's version and the message's
// completion. Call it from the function given to Tracker.Process (or a
// webhook.HandlerFunc under a Tracker), with the function's context, in the
// transaction of the function's own writes, before committing it: the writes
// and their recording then commit together, or neither does, so that the
// message is processed exactly once even if the process dies in between. If
// the claim or the entity lock lapsed and another delivery took it over, Record
// returns an error wrapping webhook.ErrClaimLost: roll back, and the other
// delivery does the work.
//
// The Tracker's own recording after the function then finds it done. tx must
// be on the database of the store.
func (s *WebhookStore) Record(ctx context.Context, tx *sql.Tx) error {
	h, ok := webhook.HoldFrom(ctx)
	if !ok {
		return errors.New("sqlstore: Record outside of a webhook Tracker's function")
	}
	if h.Entity.Token != "" {
		if n, err := execCount(ctx, tx, s.q.record, h.Entity.Kind, h.Entity.ID, h.Entity.Token, int64(h.Version)); err != nil {
			return fmt.Errorf("sqlstore: recording the version of %s %s: %w", h.Entity.Kind, h.Entity.ID, err)
		} else if n == 0 {
			return fmt.Errorf("%w: %s %s", webhook.ErrClaimLost, h.Entity.Kind, h.Entity.ID)
		}
	}
	if h.Message.Token != "" {
		return s.complete(ctx, tx, h.Message)
	}
	return nil
}

// PurgeMessages deletes the messages completed before t and returns how many it
// deleted. Run it now and then, with t a few days back: Billing redelivers a
// message for about 28 hours.
func (s *WebhookStore) PurgeMessages(ctx context.Context, t time.Time) (int64, error) {
	n, err := execCount(ctx, s.db.db, s.q.purge, t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purging webhook messages: %w", err)
	}
	return n, nil
}

// newToken returns a random token for a claim or lock.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serializationAttempts bounds the runs of a statement that fails with a
// serialization failure or a deadlock.
const serializationAttempts = 4

// retrySerialization runs fn again when it fails with SQLSTATE 40001
// (serialization_failure, under SERIALIZABLE or REPEATABLE READ) or 40P01
// (deadlock_detected), a few times.
func retrySerialization(ctx context.Context, fn func() error) error {
	var err error
	for range serializationAttempts {
		if err = fn(); !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// retryable tells whether err is a PostgreSQL serialization failure or
// deadlock, by its SQLSTATE (the drivers' errors have a SQLState method).
func retryable(err error) bool {
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) {
		return false
	}
	code := coded.SQLState()
	return code == "40001" || code == "40P01"
}
