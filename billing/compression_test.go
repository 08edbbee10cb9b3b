package billing

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// gzipAnswers compresses every answer of h when the request accepts gzip.
func gzipAnswers(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(b.Bytes())
	}
}

// Compressed answers, which net/http asks for and decodes, are read as any
// other; their size bound counts the decoded bytes.
func TestCompressedAnswers(t *testing.T) {
	api := newTestAPI(t, gzipAnswers(ok))
	c, _ := api.client(t)
	for _, call := range calls {
		if err := call.do(context.Background(), c); err != nil {
			t.Errorf("%s: %v", call.op, err)
		}
	}

	// A small compressed answer that decodes to more than the bound.
	api = newTestAPI(t, gzipAnswers(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"item":{"usageQuantity":1}}` + strings.Repeat(" ", 1<<20)))
	}))
	c, _ = api.client(t, WithMaxResponseBytes(64<<10))
	err := calls[5].do(context.Background(), c)
	if !errors.Is(err, ErrUnexpectedResponse) || !errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "larger than 65536 bytes") {
		t.Errorf("error = %v, want an answer larger than the bound, outcome unknown", err)
	}
}
