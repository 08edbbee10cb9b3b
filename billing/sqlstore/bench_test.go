package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// BenchmarkWebhookPostgres measures deliveries per second per instance, 4
// instances (each with its own pool and store) sharing one PostgreSQL database:
// "tracker" through Tracker.Process with a function that records its effect and
// the Hold in one transaction, "bareSQL" running the same statements directly
// (the floor the Tracker adds to).
func BenchmarkWebhookPostgres(b *testing.B) {
	url := dbtest.PostgresURL(b)
	const instances = 4
	stores := make([]*WebhookStore, instances)
	for i := range stores {
		var err error
		if stores[i], err = NewWebhookStore(b.Context(), openPostgres(b, url)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := stores[0].db.db.Exec("CREATE TABLE effects (message TEXT NOT NULL, version BIGINT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	run := func(b *testing.B, deliver func(s *WebhookStore, msg, entity string, v int64) error) {
		// Each run starts on empty tables, so that neither side inherits the
		// other's rows.
		if _, err := stores[0].db.db.Exec("TRUNCATE effects, billing_webhook_messages, billing_webhook_entities"); err != nil {
			b.Fatal(err)
		}
		var worker atomic.Int64
		b.SetParallelism(instances / 2) // 2 goroutines per instance on 2 cores
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			w := worker.Add(1)
			s := stores[w%instances]
			for n := int64(0); pb.Next(); n++ {
				// Each goroutine has its own entities: the figure is the cost of
				// the statements, not of waiting for a busy entity.
				if err := deliver(s, fmt.Sprintf("m%d", seq.Add(1)), fmt.Sprintf("s%d-%d", w, n%16), n+1); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/instances, "deliveries/s/instance")
	}
	effect := func(ctx context.Context, tx *sql.Tx, msg string, v int64) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO effects (message, version) VALUES ($1, $2)", msg, v)
		return err
	}
	b.Run("tracker", func(b *testing.B) {
		trackers := make(map[*WebhookStore]*webhook.Tracker, instances)
		for _, s := range stores {
			trackers[s] = webhook.NewTracker(s)
		}
		run(b, func(s *WebhookStore, msg, entity string, v int64) error {
			ev, err := webhook.Decode(fmt.Appendf(nil, `{"eventType":"subscription.updated","data":{"subscription":{"id":%q,"resource_version":%d}}}`, entity, v))
			if err != nil {
				return err
			}
			ev.ID = msg
			_, err = trackers[s].Process(context.Background(), ev, func(ctx context.Context) error {
				tx, err := s.db.db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer func() { _ = tx.Rollback() }()
				if err := effect(ctx, tx, msg, v); err != nil {
					return err
				}
				if err := s.Record(ctx, tx); err != nil {
					return err
				}
				return tx.Commit()
			})
			return err
		})
	})
	b.Run("bareSQL", func(b *testing.B) {
		run(b, func(s *WebhookStore, msg, entity string, v int64) error {
			ctx, db, q := context.Background(), s.db.db, s.q
			now := time.Now()
			exp, at := now.Add(time.Minute).UnixMicro(), now.UnixMicro()
			var tok, ltok string
			if err := db.QueryRowContext(ctx, q.claim, msg, "t"+msg, exp, at).Scan(&tok); err != nil {
				return err
			}
			if err := db.QueryRowContext(ctx, q.lock, "subscription", entity, "l"+msg, exp, at).Scan(&ltok); err != nil {
				return err
			}
			var cur int64
			if err := db.QueryRowContext(ctx, q.version, "subscription", entity).Scan(&cur); err != nil {
				return err
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			if err := effect(ctx, tx, msg, v); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q.record, "subscription", entity, ltok, v); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q.complete, msg, tok, at); err != nil {
				return err
			}
			if err := tx.Commit(); err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, q.advance, "subscription", entity, v); err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, q.complete, msg, tok, at); err != nil {
				return err
			}
			_, err = db.ExecContext(ctx, q.unlock, "subscription", entity, ltok)
			return err
		})
	})
}
