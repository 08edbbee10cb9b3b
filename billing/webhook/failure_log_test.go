package webhook_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
)

// The record of a function that failed keeps its error's text, but not the
// customer's e-mail address the function may have quoted from the event.
func TestHandlerLogsFailureWithoutEmail(t *testing.T) {
	const email = "jane.roe@example.com"
	b := newBilling(t)
	var scan logscan.Scan
	var text strings.Builder
	h := webhook.NewHandler(b.verifier(),
		webhook.WithLogger(slog.New(scan.Handler(slog.NewTextHandler(&text, nil)))),
		webhook.On(webhook.SubscriptionUpdated, func(_ context.Context, ev *webhook.Event) error {
			return fmt.Errorf("no account for %s", ev.Customer().Email)
		}))
	if got := serve(h, b.request("msg_1", subscriptionEvent(1, email))); got != http.StatusInternalServerError {
		t.Fatalf("failed function: %d, want 500", got)
	}
	if leaks := scan.Leaks(); len(leaks) > 0 {
		t.Errorf("records hold secrets:\n%s", strings.Join(leaks, "\n"))
	}
	if !strings.Contains(text.String(), "no account for [redacted]") {
		t.Errorf("the record lost the error's text: %s", text.String())
	}
}
