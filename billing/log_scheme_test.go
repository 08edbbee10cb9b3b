package billing

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// An error whose text ends with an authentication scheme ("... Bearer ") is
// logged like any other: redacting it does not panic, which lost the record
// (and, before observers ran guarded, failed the call).
func TestLoggerRecordsErrorEndingWithScheme(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 403, "FORBIDDEN", "expected Authorization: Bearer ")
	})
	var mu sync.Mutex
	var errs []string
	h := handlerFunc(func(r slog.Record) {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				mu.Lock()
				errs = append(errs, a.Value.String())
				mu.Unlock()
			}
			return true
		})
	})
	c, _ := api.client(t, WithLogger(slog.New(h)))
	if err := usage(context.Background(), c); err == nil {
		t.Fatal("no error")
	}
	if len(errs) != 1 || !strings.HasSuffix(errs[0], "expected Authorization: Bearer ") {
		t.Errorf("records' errors %q, want the 403's", errs)
	}
}
