package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook/webhooktest"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// webhookOpeners returns, for each engine and isolation, a function opening a
// WebhookStore on a fresh database.
func webhookOpeners() map[string]func(t *testing.T, opts ...WebhookOption) *WebhookStore {
	pg := func(params string) func(t *testing.T, opts ...WebhookOption) *WebhookStore {
		return func(t *testing.T, opts ...WebhookOption) *WebhookStore {
			return newWebhookStore(t, openPostgres(t, dbtest.PostgresURL(t)+params), opts...)
		}
	}
	return map[string]func(t *testing.T, opts ...WebhookOption) *WebhookStore{
		"SQLite": func(t *testing.T, opts ...WebhookOption) *WebhookStore {
			s, err := OpenSQLite(dbtest.SQLitePath(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return newWebhookStore(t, s, opts...)
		},
		"Postgres":             pg(""),
		"PostgresSerializable": pg("?default_transaction_isolation=serializable"),
	}
}

// openPostgres opens a pool on the PostgreSQL database at url, closed when
// tb ends.
func openPostgres(tb testing.TB, url string) *DB {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	s, err := New(db, Postgres)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newWebhookStore(t *testing.T, db *DB, opts ...WebhookOption) *WebhookStore {
	t.Helper()
	s, err := NewWebhookStore(t.Context(), db, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebhookStoreConforms(t *testing.T) {
	for name, open := range webhookOpeners() {
		t.Run(name, func(t *testing.T) {
			webhooktest.TestStore(t, func(t *testing.T, now func() time.Time) webhook.Store {
				return open(t, WithWebhookClock(now))
			})
		})
	}
}

// The documentation of WebhookStore shows the schema and every statement the
// store runs, as it runs them.
func TestWebhookStoreDocShowsTheSQLItRuns(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "webhook.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	p, err := doc.NewFromFiles(fset, []*ast.File{f}, "github.com/prestashopcorp/billing-sdk-go/billing/sqlstore")
	if err != nil {
		t.Fatal(err)
	}
	var text string
	for _, typ := range p.Types {
		if typ.Name == "WebhookStore" {
			text = strings.Join(strings.Fields(typ.Doc), " ")
		}
	}
	if text == "" {
		t.Fatal("no documentation of WebhookStore")
	}
	statements := append([]string{
		webhookClaimSQL, webhookClaimStateSQL, webhookCompleteSQL, webhookReleaseSQL, webhookLockSQL,
		webhookUnlockSQL, webhookVersionSQL, webhookAdvanceSQL, webhookRecordSQL, webhookPurgeSQL,
		webhookPurgePostgresSQL,
	}, webhookSchema...)
	for _, stmt := range statements {
		for _, part := range strings.Split(stmt, ";\n") {
			if !strings.Contains(text, strings.Join(strings.Fields(part), " ")) {
				t.Errorf("the documentation does not show:\n%s", part)
			}
		}
	}
}

// A function that records its writes and the Hold in one transaction: on
// success both are there; when the claim was taken over meanwhile, Record
// refuses, the transaction rolls back, and the taker's run is the only one.
func TestWebhookStoreRecordInTheFunctionsTransaction(t *testing.T) {
	for name, open := range webhookOpeners() {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			s := open(t, WithWebhookClock(func() time.Time { return now }))
			db := s.db.SQL()
			if _, err := db.Exec("CREATE TABLE effects (message TEXT NOT NULL, version BIGINT NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			apply := func(ctx context.Context, ev *webhook.Event, before func()) error {
				before() // before the transaction: SQLite has one connection
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback() }()
				ent, _ := ev.Entity()
				if _, err := tx.ExecContext(ctx, "INSERT INTO effects (message, version) VALUES ($1, $2)", ev.ID, int64(ent.Version)); err != nil {
					return err
				}
				if err := s.Record(ctx, tx); err != nil {
					return err
				}
				return tx.Commit()
			}
			tracker := webhook.NewTracker(s, webhook.WithLease(time.Minute))
			ev := subscriptionEvent(t, "m1", "s1", 3)
			if out, err := tracker.Process(t.Context(), ev, func(ctx context.Context) error { return apply(ctx, ev, func() {}) }); out != webhook.Processed || err != nil {
				t.Fatalf("process: %v, %v", out, err)
			}
			if v, _ := s.Version(t.Context(), webhook.KindSubscription, "s1"); v != 3 {
				t.Errorf("version %d, want 3", v)
			}
			// m2 outlives its lease; another instance takes it over and runs it.
			ev2 := subscriptionEvent(t, "m2", "s1", 4)
			_, err := tracker.Process(t.Context(), ev2, func(ctx context.Context) error {
				return apply(ctx, ev2, func() {
					now = now.Add(2 * time.Minute)
					other := webhook.NewTracker(s, webhook.WithLease(time.Minute))
					if out, err := other.Process(context.WithoutCancel(ctx), ev2, func(ctx context.Context) error {
						return apply(ctx, ev2, func() {})
					}); out != webhook.Processed || err != nil {
						t.Errorf("the takeover: %v, %v", out, err)
					}
				})
			})
			if !errors.Is(err, webhook.ErrClaimLost) {
				t.Errorf("the lapsed run: %v, want ErrClaimLost", err)
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM effects WHERE message = 'm2'").Scan(&n); err != nil || n != 1 {
				t.Errorf("m2's effects: %d, %v; want 1", n, err)
			}
			if err := s.Record(t.Context(), nil); err == nil {
				t.Error("Record outside of a Tracker's function succeeded")
			}
		})
	}
}

func TestWebhookStorePurgesOldMessages(t *testing.T) {
	for name, open := range webhookOpeners() {
		t.Run(name, func(t *testing.T) {
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			s := open(t, WithWebhookClock(func() time.Time { return now }))
			ctx := t.Context()
			for i := range 3 {
				c, err := s.ClaimMessage(ctx, fmt.Sprint(i), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if i < 2 {
					if err := s.CompleteMessage(ctx, c); err != nil {
						t.Fatal(err)
					}
				}
				now = now.Add(time.Hour)
			}
			// Done at 0 h and 1 h; 2 in progress.
			if n, err := s.PurgeMessages(ctx, now.Add(-150*time.Minute)); n != 1 || err != nil {
				t.Errorf("purged %d, %v; want 1", n, err)
			}
			if _, err := s.ClaimMessage(ctx, "1", time.Minute); !errors.Is(err, webhook.ErrDuplicate) {
				t.Errorf("message 1: %v, want kept", err)
			}
			if _, err := s.ClaimMessage(ctx, "0", time.Minute); err != nil {
				t.Errorf("message 0: %v, want purged", err)
			}
		})
	}
}

// TestWebhookStorePurgeSkipsMessagesAnotherTransactionHolds: on PostgreSQL a
// purge passes over the rows another transaction holds instead of waiting
// for them, so two instances purging at once never deadlock; the next purge
// deletes what it passed over.
func TestWebhookStorePurgeSkipsMessagesAnotherTransactionHolds(t *testing.T) {
	base := dbtest.PostgresURL(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newWebhookStore(t, openPostgres(t, base), WithWebhookClock(func() time.Time { return now }))
	ctx := t.Context()
	for i := range 3 {
		c, err := s.ClaimMessage(ctx, fmt.Sprint(i), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteMessage(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	_, tx := otherSession(t, base)
	var id string
	if err := tx.QueryRowContext(ctx, "SELECT id FROM billing_webhook_messages WHERE id = '1' FOR UPDATE").Scan(&id); err != nil {
		t.Fatal(err)
	}
	// The deadline only guards against a hang: a purge that waited for the
	// held row would wait until the test ends.
	purgeCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if n, err := s.PurgeMessages(purgeCtx, now.Add(time.Hour)); n != 2 || err != nil {
		t.Fatalf("purge while message 1 is held = %d, %v; want 2, nil", n, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeMessages(ctx, now.Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("purge once message 1 is free = %d, %v; want 1, nil", n, err)
	}
}

func TestWebhookStoreTablePrefix(t *testing.T) {
	db, err := OpenSQLite(dbtest.SQLitePath(t), WithTablePrefix("acme_"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := newWebhookStore(t, db)
	if _, err := s.ClaimMessage(t.Context(), "m1", time.Minute); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM acme_webhook_messages").Scan(&n); err != nil || n != 1 {
		t.Errorf("acme_webhook_messages: %d rows, %v", n, err)
	}
}

// subscriptionEvent returns a subscription.updated event of message id.
func subscriptionEvent(t testing.TB, id, sub string, v int) *webhook.Event {
	t.Helper()
	ev, err := webhook.Decode(fmt.Appendf(nil, `{"eventType":"subscription.updated","data":{"subscription":{"id":%q,"resource_version":%d}}}`, sub, v))
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = id
	return ev
}
