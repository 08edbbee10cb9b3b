package webhook_test

import (
	"flag"
	"log/slog"
	"os"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
)

// TestMain runs the package's tests with a debug logger on every Handler that
// has none, which scans each record for a webhook secret, a signature or an
// e-mail address (the fixtures' customers have some). A record that holds one
// fails the run, whichever test made it.
func TestMain(m *testing.M) {
	flag.Parse()
	var scan logscan.Scan
	webhook.SetTestLogger(slog.New(scan.Handler(nil)))
	code := m.Run()
	webhook.SetTestLogger(nil)
	os.Exit(scan.Report(code))
}
