package billing

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestMain runs the package's tests with a debug logger on every client that has
// none (see testLogger), which scans each record for what no record may hold: the
// client's secret, a token, an Authorization value or an e-mail address. A record
// that holds one fails the run, whichever test made it. Benchmarks run without it.
func TestMain(m *testing.M) {
	flag.Parse()
	scan := &recordScan{}
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		testLogger = func(secret string) *slog.Logger { return slog.New(&scanHandler{scan: scan, secret: secret}) }
	}
	code := m.Run()
	if testLogger != nil && code == 0 && scan.count() == 0 {
		fmt.Fprintln(os.Stderr, "FAIL: the clients of the tests logged nothing: the scan of their records checked nothing")
		code = 1
	}
	if testing.Verbose() {
		fmt.Printf("scanned %d log records\n", scan.count())
	}
	testLogger = nil
	if leaks := scan.leaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d log records hold a secret, a token or an e-mail address:\n", len(leaks))
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "\t"+l)
		}
		code = 1
	}
	os.Exit(code)
}

// recordScan collects what scanHandlers found.
type recordScan struct {
	mu      sync.Mutex
	records int
	found   []string
}

func (s *recordScan) add(leak string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records++
	if leak != "" {
		s.found = append(s.found, leak)
	}
}

func (s *recordScan) leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.found...)
}

func (s *recordScan) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// scanHandler is a slog.Handler, enabled at every level, that checks each record:
// its message, and every attribute (in groups, LogValuers resolved, errors and
// other values as their texts).
type scanHandler struct {
	scan   *recordScan
	secret string // the client secret
	attrs  []slog.Attr
	next   slog.Handler // also gets the records, if not nil
}

func (h *scanHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *scanHandler) Handle(ctx context.Context, r slog.Record) error {
	var texts []string
	texts = append(texts, r.Message)
	add := func(a slog.Attr) bool {
		texts = appendAttrTexts(texts, a)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.scan.add(leakIn(strings.Join(texts, "\x00"), h.secret))
	if h.next != nil {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *scanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *scanHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), slog.String("group", name))
	return &c
}

// appendAttrTexts appends the key and the value of a, as texts, to texts.
func appendAttrTexts(texts []string, a slog.Attr) []string {
	texts = append(texts, a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		for _, g := range v.Group() {
			texts = appendAttrTexts(texts, g)
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
		} else {
			texts = append(texts, fmt.Sprintf("%+v", v.Any()))
		}
	default:
		texts = append(texts, v.String())
	}
	return texts
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)
	// Tokens of the package's test servers ("tok-1") and of billingtest (JWTs),
	// and Authorization values.
	tokenPattern = regexp.MustCompile(`\btok-[0-9]+\b|eyJ[A-Za-z0-9_-]{8,}|(?i)\b(bearer|basic) [A-Za-z0-9+/=._~-]{2,}`)
)

// leakIn returns what text holds that a record must not, or "".
func leakIn(text, secret string) string {
	if len(secret) >= 4 && strings.Contains(text, secret) {
		return fmt.Sprintf("the client secret %q in %q", secret, text)
	}
	if m := emailPattern.FindString(text); m != "" {
		return fmt.Sprintf("an e-mail address %q in %q", m, text)
	}
	if m := tokenPattern.FindString(text); m != "" && !strings.Contains(m, "[redacted]") {
		return fmt.Sprintf("a token %q in %q", m, text)
	}
	return ""
}
