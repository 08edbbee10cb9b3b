package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// A webhook receiver whose every instance shares one database: the function
// writes the partner's state and records the Tracker's Hold in the same
// transaction, so that a message commits once even if the process dies
// between the two. Here on SQLite; on PostgreSQL, open the *sql.DB with the
// "pgx" driver and give it to sqlstore.New.
func ExampleWebhookStore_Record() {
	dir, err := os.MkdirTemp("", "billing-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.OpenSQLite(filepath.Join(dir, "billing.db")) // import _ "modernc.org/sqlite"
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	store, err := sqlstore.NewWebhookStore(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE subscriptions (id TEXT PRIMARY KEY, status TEXT NOT NULL)"); err != nil {
		log.Fatal(err)
	}

	onSubscription := func(ctx context.Context, ev *webhook.Event) error {
		s := ev.SubscriptionData.Subscription
		tx, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "INSERT INTO subscriptions (id, status) VALUES ($1, $2)"+
			" ON CONFLICT (id) DO UPDATE SET status = excluded.status", s.ID, string(s.Status)); err != nil {
			return err
		}
		if err := store.Record(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	secret := webhook.NewSecret()
	verifier, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(webhook.NewHandler(verifier,
		webhook.On(webhook.SubscriptionUpdated, onSubscription),
		webhook.WithTracker(webhook.NewTracker(store))))
	defer srv.Close()

	// Billing's side: one message, delivered twice.
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"eventType":"subscription.updated","data":{"subscription":{"id":"sub_1","status":"active","resource_version":7}}}`)
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = signer.Headers("msg_1", time.Now(), body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	var status string
	if err := db.SQL().QueryRowContext(ctx, "SELECT status FROM subscriptions WHERE id = 'sub_1'").Scan(&status); err != nil {
		log.Fatal(err)
	}
	v, _ := store.Version(ctx, webhook.KindSubscription, "sub_1")
	fmt.Println("sub_1:", status, "version", v)
	// Output:
	// 204 No Content
	// 200 OK
	// sub_1: active version 7
}
