package meter_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// countingAPI is a stub billing.API that counts the usage calls per item.
type countingAPI struct {
	billing.API // nil: only the usage call is used
	mu          sync.Mutex
	calls       map[string]int
	total       atomic.Int64
}

func (a *countingAPI) SetSubscriptionItemUsage(_ context.Context, subscriptionID, itemID string, body gen.UsageInput, _ ...billing.RequestEditorFn) (*gen.UsageResponse, error) {
	a.mu.Lock()
	a.calls[subscriptionID+"/"+itemID]++
	a.mu.Unlock()
	a.total.Add(1)
	return &gen.UsageResponse{Item: gen.Usage(body)}, nil
}

func openSQLiteStore(b *testing.B) (*sqlstore.DB, *sqlstore.MeterStore) {
	b.Helper()
	db, err := sqlstore.OpenSQLite(dbtest.SQLitePath(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	st, err := db.Meter(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return db, st
}

// BenchmarkAddDurable measures Add with 64 concurrent callers on a SQLite
// journal (synchronous=FULL: each commit is on disk), and on PostgreSQL when
// BILLING_POSTGRES_URL is set; and, on the same database, the floor: a bare
// loop of multi-row INSERTs, 64 rows per transaction (half of its rows before
// Add's, half after). It reports both rates and their ratio.
func BenchmarkAddDurable(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, st := openSQLiteStore(b)
		benchmarkAdd(b, db, st)
	})
	b.Run("postgres", func(b *testing.B) {
		sdb := dbtest.Postgres(b)
		db, err := sqlstore.New(sdb, sqlstore.Postgres)
		if err != nil {
			b.Fatal(err)
		}
		st, err := db.Meter(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		benchmarkAdd(b, db, st)
	})
}

func benchmarkAdd(b *testing.B, db *sqlstore.DB, st *sqlstore.MeterStore) {
	const callers = 64
	m, err := meter.New(&countingAPI{calls: map[string]int{}}, st)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()

	// The floor: rows like Add's, inserted by a bare loop, 64 per transaction.
	sdb := db.SQL()
	var q strings.Builder
	q.WriteString("INSERT INTO " + db.Table("meter_usages") + " (mode, ukey, subscription_id, item_id, quantity, recorded_at) VALUES ")
	for i := range callers {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d,$%d)", 6*i+1, 6*i+2, 6*i+3, 6*i+4, 6*i+5, 6*i+6)
	}
	q.WriteString(" ON CONFLICT (mode, ukey) DO NOTHING")
	args := make([]any, 0, 6*callers)
	bareRows := 0
	var bareTime time.Duration
	bare := func(n int) {
		start := time.Now()
		for done := 0; done < n; done += callers {
			args = args[:0]
			for i := range callers {
				args = append(args, "live", fmt.Sprint("bare-", bareRows+i), fmt.Sprint("S", i%100), "I", 1.0, time.Now().UnixMicro())
			}
			conn, err := sdb.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			begin := "BEGIN IMMEDIATE"
			if db.Dialect() == sqlstore.Postgres {
				begin = "BEGIN"
			}
			for _, stmt := range []string{begin, q.String(), "COMMIT"} {
				a := args
				if stmt != q.String() {
					a = nil
				}
				if _, err := conn.ExecContext(ctx, stmt, a...); err != nil {
					b.Fatal(err)
				}
			}
			_ = conn.Close()
			bareRows += callers
		}
		bareTime += time.Since(start)
	}

	// Half the floor's rows before Add's, half after: the file grows alike.
	b.StopTimer()
	bare(b.N / 2)
	b.StartTimer()
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				err := m.Add(ctx, meter.Usage{Key: fmt.Sprint("add-", n), SubscriptionID: fmt.Sprint("S", n%100), ItemID: "I", Quantity: 1})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	meterRate := float64(b.N) / time.Since(start).Seconds()
	b.StopTimer()
	bare(b.N - b.N/2)
	bareRate := float64(bareRows) / bareTime.Seconds()
	b.ReportMetric(meterRate, "adds/s")
	b.ReportMetric(bareRate, "bare-rows/s")
	b.ReportMetric(meterRate/bareRate, "ratio")
}

// BenchmarkFlush100kOver1000Items flushes 100,000 pending usages of 1,000
// subscription items (a SQLite journal, a stub API) and checks that the flush
// made exactly 1,000 calls, one per item.
func BenchmarkFlush100kOver1000Items(b *testing.B) {
	const usages, items = 100_000, 1_000
	ctx := context.Background()
	for i := range b.N {
		b.StopTimer()
		_, st := openSQLiteStore(b)
		api := &countingAPI{calls: map[string]int{}}
		m, err := meter.New(api, st, meter.WithConcurrency(16))
		if err != nil {
			b.Fatal(err)
		}
		batch := make([]meter.Usage, 0, 5000)
		at := time.Now()
		for n := range usages {
			batch = append(batch, meter.Usage{Key: fmt.Sprint(i, "-", n), SubscriptionID: fmt.Sprint("S", n%items), ItemID: "I", Quantity: 1, At: at})
			if len(batch) == cap(batch) {
				if err := st.Record(ctx, meter.Live, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		b.StartTimer()
		r, err := m.Flush(ctx)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if got := api.total.Load(); got != items || len(api.calls) != items || r.Units != usages {
			b.Fatalf("one flush made %d calls over %d items carrying %g units, want %d calls, one per item, carrying %d",
				got, len(api.calls), r.Units, items, usages)
		}
		b.ReportMetric(float64(api.total.Load()), "calls/flush")
		_ = m.Close()
		b.StartTimer()
	}
}
