package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
)

// TestMeterStoreRunsAtReadCommittedOnADatabaseThatDefaultsHigher: the
// journal's transactions decide on the latest committed row (READ COMMITTED),
// as its documentation says, even when the database's default isolation is
// higher. At REPEATABLE READ, the completion of a sent batch that waited for
// a row lock failed with SQLSTATE 40001, and the sent batch was parked.
func TestMeterStoreRunsAtReadCommittedOnADatabaseThatDefaultsHigher(t *testing.T) {
	ctx := t.Context()
	base := dbtest.PostgresURL(t)
	st := postgresMeter(t, base+"?default_transaction_isolation=repeatable%20read")
	t0 := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.Record(ctx, meter.Live, []meter.Usage{{Key: "k", SubscriptionID: "S", ItemID: "I", Quantity: 1, At: t0}}))
	if _, err := st.Seal(ctx, meter.Live, t0); err != nil {
		t.Fatal(err)
	}
	bs, err := st.Claim(ctx, meter.Live, "A", t0, t0.Add(time.Minute), 1)
	if err != nil || len(bs) != 1 {
		t.Fatalf("claim: %v, %v", bs, err)
	}

	// Another session holds the batch's row while the completion comes.
	other, tx := otherSession(t, base)
	_, err = tx.ExecContext(ctx, "UPDATE "+st.batches+" SET note = 'held' WHERE id = $1", bs[0].ID)
	must(err)
	done := make(chan error, 1)
	go func() {
		done <- st.Complete(context.WithoutCancel(ctx), meter.Live, bs[0].ID, "A", meter.Sent, "", t0.Add(time.Second))
	}()
	// Until the completion waits for the row's lock.
	waitForLockWait(t, other, "UPDATE "+st.batches+" SET state")
	must(tx.Commit())
	if err := <-done; err != nil {
		t.Fatalf("completing a batch whose row another session held: %v", err)
	}
	b, err := st.Batch(ctx, meter.Live, bs[0].ID)
	if err != nil || b.State != meter.Sent {
		t.Errorf("batch = %+v, %v; want it sent", b, err)
	}
}
