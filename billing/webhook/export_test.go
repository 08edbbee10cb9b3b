package webhook

import "log/slog"

// SetTestLogger gives every Handler made after it without a logger l (see
// testLogger); nil stops it.
func SetTestLogger(l *slog.Logger) { testLogger = l }
