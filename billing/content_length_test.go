package billing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// lyingLength answers with the body the server sent and the Content-Length it
// claims: a lie net/http would catch only after reading (a body cut short).
type lyingLength struct {
	next   http.RoundTripper
	length int64
}

func (rt lyingLength) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.next.RoundTrip(req)
	if err == nil && req.URL.Path != "/oauth2/token" {
		resp.ContentLength = rt.length
		resp.Header.Set("Content-Length", fmt.Sprint(rt.length))
	}
	return resp, err
}

// The memory the SDK takes for an answer follows the bytes it reads, not the
// Content-Length the answer claims, even with a bound raised very high.
func TestLyingContentLengthAllocatesWhatIsRead(t *testing.T) {
	for _, length := range []int64{1 << 30, 1 << 62, math.MaxInt64 - 1} {
		t.Run(fmt.Sprint(length), func(t *testing.T) {
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithMaxResponseBytes(math.MaxInt64),
				WithHTTPClient(&http.Client{Transport: lyingLength{api.Client().Transport, length}}))
			if _, err := c.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := calls[5].do(context.Background(), c)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
				t.Errorf("a call allocated %d bytes for a small answer", got)
			}
		})
	}
}

// A body an editor set with a huge, wrong ContentLength is read as it is.
func TestEditorBodyWithWrongContentLength(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, length := range []int64{1 << 30, 1 << 62, math.MaxInt64 - 1} {
		err := calls[5].do(context.Background(), c, func(_ context.Context, r *http.Request) error {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"usageQuantity": 2}`)), length
			return nil
		})
		if err != nil {
			t.Errorf("ContentLength %d: %v", length, err)
		}
	}
}

// A server whose Content-Length promises more than it sends: the answer is
// cut short, after the call was applied.
func TestShortBodyUnderLargeContentLength(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<62))
		w.WriteHeader(201)
		_, _ = w.Write([]byte(`{"item":{"usageQuantity":1}}`))
		conn, _, _ := http.NewResponseController(w).Hijack()
		if conn != nil {
			conn.Close()
		}
	})
	c, _ := api.client(t, WithMaxResponseBytes(math.MaxInt64))
	err := calls[5].do(context.Background(), c)
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrUnexpectedResponse) {
		t.Errorf("error = %v, want an unknown outcome, unexpected response", err)
	}
}
