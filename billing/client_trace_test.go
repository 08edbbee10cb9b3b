package billing

import (
	"context"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
)

// A caller's httptrace.ClientTrace in the call's context sees each event of
// the request once, observed (WithLogger, WithObserver) or not: the SDK's own
// trace of the sending is composed with it once.
func TestCallerClientTraceSeesEachEventOnce(t *testing.T) {
	api := newTestAPI(t, ok)
	for _, observed := range []bool{false, true} {
		var c *Client
		if observed {
			c, _ = api.client(t, WithObserver(&traceObserver{}))
		} else {
			// Not even by the package's test logger (no test runs in parallel).
			l := testLogger
			testLogger = nil
			c, _ = api.client(t)
			testLogger = l
		}
		if (c.doer.obs != nil) != observed {
			t.Fatalf("observed %t, yet the client's observer is %v", observed, c.doer.obs)
		}
		if _, err := c.Token(context.Background()); err != nil { // the token request is not counted
			t.Fatal(err)
		}
		var gotConn, wrote atomic.Int32
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn:      func(httptrace.GotConnInfo) { gotConn.Add(1) },
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Add(1) },
		})
		if err := usage(ctx, c); err != nil {
			t.Fatal(err)
		}
		if gotConn.Load() != 1 || wrote.Load() != 1 {
			t.Errorf("observed %t: the caller's trace saw GotConn %d times and WroteRequest %d times, want 1 and 1", observed, gotConn.Load(), wrote.Load())
		}
	}
}
