package billing

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
)

// TestMain runs the package's tests with a debug logger on every client that has
// none (see testLogger), which scans each record for what no record may hold: the
// client's secret, a token, an Authorization value or an e-mail address. A record
// that holds one fails the run, whichever test made it. Benchmarks run without it.
func TestMain(m *testing.M) {
	flag.Parse()
	var scan logscan.Scan
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		testLogger = func(secret string) *slog.Logger { return slog.New(scan.Handler(nil, secret)) }
	}
	code := m.Run()
	if testLogger != nil && code == 0 && scan.Records() == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the clients of the tests logged nothing: the scan of their records checked nothing")
		code = 1
	}
	if testing.Verbose() {
		fmt.Printf("scanned %d log records\n", scan.Records())
	}
	testLogger = nil
	if leaks := scan.Leaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d log records hold a secret, a token or an e-mail address:\n", len(leaks))
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "\t"+l)
		}
		code = 1
	}
	os.Exit(code)
}
