package webhook_test

import (
	"flag"
	"fmt"
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
	if code == 0 && scan.Records() == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the handlers of the tests logged nothing: the scan of their records checked nothing")
		code = 1
	}
	if testing.Verbose() {
		fmt.Printf("scanned %d log records\n", scan.Records())
	}
	if leaks := scan.Leaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d log records hold a secret, a signature or an e-mail address:\n", len(leaks))
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "\t"+l)
		}
		code = 1
	}
	os.Exit(code)
}
