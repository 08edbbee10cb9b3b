package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the meter's journal: SQLite, pure Go

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
)

// meterStep records usage through billing/meter, journaled in a SQLite file,
// and flushes it: one call carries it all, and the same fact recorded twice
// counts once. The next section's invoice bills it.
func meterStep(ctx context.Context, r *report, client billing.API, srv *billingtest.Server) error {
	r.section("Record usage through the meter (billing/meter), journaled in SQLite, and flush it")
	dir, err := os.MkdirTemp("", "quickstart-meter-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	db, err := sqlstore.OpenSQLite(filepath.Join(dir, "usage.db"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	store, err := db.Meter(ctx)
	if err != nil {
		return err
	}
	m, err := meter.New(client, store, meter.WithSandbox(true))
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()

	before := srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, true)
	recorded := 0.0
	// Each API call the partner's service served is a fact with its own id;
	// req-3 is recorded twice (a retry of the partner's own code): it counts once.
	for i, id := range []string{"req-1", "req-2", "req-3", "req-3", "req-4"} {
		q := float64(10 * (i + 1))
		if id == "req-3" {
			q = 30
		}
		if err := m.Add(ctx, meter.Usage{Key: "api-call/" + id, SubscriptionID: billingtest.SubscriptionID,
			ItemID: billingtest.APICallsAddonID, Quantity: q}); err != nil {
			return err
		}
		if i != 3 {
			recorded += q
		}
	}
	rep, err := m.Flush(ctx)
	if err != nil {
		return err
	}
	if len(rep.Parked)+len(rep.Refused) > 0 {
		return fmt.Errorf("meter: %d batches parked, %d refused", len(rep.Parked), len(rep.Refused))
	}
	after := srv.UsageReceived(billingtest.SubscriptionID, billingtest.APICallsAddonID, true)
	r.line("5 recordings of 4 facts (%g API calls), durable before Add returned", recorded)
	r.line("flush: %d call carrying %g API calls; the fake counted +%g in %d call",
		rep.Sent, rep.Units, after.Quantity-before.Quantity, after.Calls-before.Calls)
	if after.Quantity-before.Quantity != recorded {
		return fmt.Errorf("meter: recorded %g, Billing counted %g", recorded, after.Quantity-before.Quantity)
	}
	return nil
}
