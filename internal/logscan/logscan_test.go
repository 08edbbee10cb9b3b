package logscan

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// TestHandlerFindsSecretsWhereverTheyAre logs a secret in each place a record
// holds text and checks that the scan finds each.
func TestHandlerFindsSecretsWhereverTheyAre(t *testing.T) {
	for name, log := range map[string]func(*slog.Logger){
		"message":     func(l *slog.Logger) { l.Info("token Bearer abc.def") },
		"attribute":   func(l *slog.Logger) { l.Info("x", "k", "merchant@example.com") },
		"e-mail, end": func(l *slog.Logger) { l.Info("x", "k", "to a.b+c@mail.example.co.uk") },
		"group":       func(l *slog.Logger) { l.Info("x", slog.Group("g", slog.String("k", "hunter22"))) },
		"error":       func(l *slog.Logger) { l.Info("x", "err", errors.New("tok-7 refused")) },
		"with attrs":  func(l *slog.Logger) { l.With("k", "eyJhbGciOiJSUzI1NiJ9").Info("x") },
		"webhook key": func(l *slog.Logger) { l.Info("x", "k", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") },
		"signature":   func(l *slog.Logger) { l.Info("x", "k", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=") },
	} {
		var s Scan
		log(slog.New(s.Handler(nil, "hunter22")))
		if s.Records() != 1 || len(s.Leaks()) != 1 {
			t.Errorf("%s: %d records, leaks %q; want 1 record, 1 leak", name, s.Records(), s.Leaks())
		}
	}
	var s Scan
	slog.New(s.Handler(nil, "hunter22")).Log(context.Background(), slog.LevelDebug, "clean", "status", 503, "error", "[redacted]",
		"stack", "/root/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64/src/runtime/panic.go:859")
	if len(s.Leaks()) != 0 {
		t.Errorf("a clean record was found to leak: %q", s.Leaks())
	}
}
