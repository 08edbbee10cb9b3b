// Package logscan checks, in tests, that log records hold no secret: a
// slog.Handler that scans every record (message, attributes, groups, error
// texts) for a client secret, a token, an Authorization value, a webhook
// secret or signature, or an e-mail address.
package logscan

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Scan collects what its handlers found. Its zero value is ready to use.
type Scan struct {
	mu      sync.Mutex
	records int
	found   []string
}

// Handler returns a handler, enabled at every level, that scans each record for
// the secrets (those shorter than 4 bytes are not looked for) and the patterns
// Leak knows, then passes it to next if not nil.
func (s *Scan) Handler(next slog.Handler, secrets ...string) slog.Handler {
	return &handler{scan: s, secrets: secrets, next: next}
}

// Records returns how many records the handlers scanned.
func (s *Scan) Records() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

// Leaks returns what the handlers found, one text per record that holds a secret.
func (s *Scan) Leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.found...)
}

func (s *Scan) add(leak string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records++
	if leak != "" {
		s.found = append(s.found, leak)
	}
}

type handler struct {
	scan    *Scan
	secrets []string
	attrs   []slog.Attr
	next    slog.Handler
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	texts := []string{r.Message}
	for _, a := range h.attrs {
		texts = appendTexts(texts, a)
	}
	r.Attrs(func(a slog.Attr) bool {
		texts = appendTexts(texts, a)
		return true
	})
	h.scan.add(Leak(strings.Join(texts, "\x00"), h.secrets...))
	if h.next != nil && h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	if h.next != nil {
		c.next = h.next.WithAttrs(as)
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), slog.String("group", name))
	if h.next != nil {
		c.next = h.next.WithGroup(name)
	}
	return &c
}

// appendTexts appends the key and the value of a, as texts.
func appendTexts(texts []string, a slog.Attr) []string {
	texts = append(texts, a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		for _, g := range v.Group() {
			texts = appendTexts(texts, g)
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
	// An e-mail address: its last label is letters only (so a module path in a
	// stack trace, "toolchain@v0.0.1-go1.27.3.linux-amd64/", is not one).
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{1,63}([^A-Za-z0-9.-]|$)`)
	// Tokens of the SDK's test servers ("tok-1") and of billingtest (JWTs),
	// Authorization values, webhook secrets and signatures.
	tokenPattern = regexp.MustCompile(`\btok-[0-9]+\b|eyJ[A-Za-z0-9_-]{8,}|(?i)\b(bearer|basic) [A-Za-z0-9+/=._~-]{2,}|whsec_|\bv1[,=][A-Za-z0-9+/=]{16,}`)
)

// Leak returns what text holds that a record must not (one of the secrets, a
// token, an Authorization value, a webhook secret or signature, an e-mail
// address), or "".
func Leak(text string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(text, s) {
			return fmt.Sprintf("the secret %q in %q", s, text)
		}
	}
	if m := emailPattern.FindString(text); m != "" {
		return fmt.Sprintf("an e-mail address %q in %q", m, text)
	}
	if m := tokenPattern.FindString(text); m != "" && !strings.Contains(m, "[redacted]") {
		return fmt.Sprintf("a token %q in %q", m, text)
	}
	return ""
}

// Report ends a test binary's scan: it prints the leaks found to stderr (and,
// with -v, how many records were scanned), and returns the exit code of the
// run: code, or 1 if a record leaked.
func (s *Scan) Report(code int) int {
	if testing.Verbose() {
		fmt.Printf("scanned %d log records\n", s.Records())
	}
	if leaks := s.Leaks(); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d log records hold a secret, a token, a signature or an e-mail address:\n", len(leaks))
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "\t"+l)
		}
		code = 1
	}
	return code
}

// Messages is a slog.Handler, enabled at every level, that keeps the level and
// the message of each record ("WARN billing: ..."). Its zero value is ready to
// use.
type Messages struct {
	mu    sync.Mutex
	lines []string
}

// Lines returns the records handled so far, in order.
func (m *Messages) Lines() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines...)
}

// Enabled reports true.
func (m *Messages) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps the record's level and message.
func (m *Messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	m.lines = append(m.lines, r.Level.String()+" "+r.Message)
	m.mu.Unlock()
	return nil
}

// WithAttrs returns m: attributes are not kept.
func (m *Messages) WithAttrs([]slog.Attr) slog.Handler { return m }

// WithGroup returns m.
func (m *Messages) WithGroup(string) slog.Handler { return m }
