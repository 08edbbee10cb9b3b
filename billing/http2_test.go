package billing

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// Every way an HTTP/2 server can fail a stream after it applied the request:
// the usage must be applied once and the error must wrap ErrOutcomeUnknown.
func TestRawHTTP2FailureAfterApplyIsUnknownOrSuccess(t *testing.T) {
	answer201 := func(c *faultlab.RawH2Conn, id uint32) {
		c.Headers(id, false, ":status", "201", "content-type", "application/json")
	}
	tests := map[string]func(c *faultlab.RawH2Conn, id uint32){}
	for code := uint32(0); code <= 0xd; code++ {
		tests[fmt.Sprintf("RST_STREAM %#x", code)] = func(c *faultlab.RawH2Conn, id uint32) { c.RST(id, code) }
		tests[fmt.Sprintf("201 headers then RST_STREAM %#x", code)] = func(c *faultlab.RawH2Conn, id uint32) {
			answer201(c, id)
			c.Data(id, false, `{"item":{"usage`)
			c.RST(id, code)
		}
	}
	tests["GOAWAY last=0 NO_ERROR (lies: stream was processed)"] = func(c *faultlab.RawH2Conn, id uint32) { c.GoAway(0, 0); c.C.Close() }
	tests["GOAWAY last=0 PROTOCOL_ERROR"] = func(c *faultlab.RawH2Conn, id uint32) { c.GoAway(0, 1); c.C.Close() }
	tests["GOAWAY last=id then close"] = func(c *faultlab.RawH2Conn, id uint32) { c.GoAway(id, 0); c.C.Close() }
	tests["GOAWAY last=0 kept open"] = func(c *faultlab.RawH2Conn, id uint32) { c.GoAway(0, 0) }
	tests["TCP close"] = func(c *faultlab.RawH2Conn, id uint32) { c.C.Close() }
	tests["201 content-length 50, 10 bytes"] = func(c *faultlab.RawH2Conn, id uint32) {
		c.Headers(id, false, ":status", "201", "content-type", "application/json", "content-length", "50")
		c.Data(id, true, `{"item":{}}`)
	}
	tests["201 END_STREAM on headers"] = func(c *faultlab.RawH2Conn, id uint32) {
		c.Headers(id, true, ":status", "201", "content-type", "application/json")
	}
	tests["101 on h2"] = func(c *faultlab.RawH2Conn, id uint32) { c.Headers(id, true, ":status", "101") }
	tests["1xx x10 then 201"] = func(c *faultlab.RawH2Conn, id uint32) {
		for range 10 {
			c.Headers(id, false, ":status", "103")
		}
		answer201(c, id)
		c.Data(id, true, `{"item":{"usageQuantity":1}}`)
	}
	tests["201 then trailers with status"] = func(c *faultlab.RawH2Conn, id uint32) {
		answer201(c, id)
		c.Data(id, false, `{"item":{"usageQuantity":1}}`)
		c.Headers(id, true, ":status", "500")
	}
	for name, act := range tests {
		t.Run(name, func(t *testing.T) {
			s := faultlab.NewRawH2(t, act)
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithBaseURL("http://"+s.Ln.Addr().String()), WithHTTPClient(faultlab.H2CClient()),
				WithTokenSource(staticToken("tok")))
			ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
			defer cancel()
			err := usage(ctx, c)
			t.Logf("applied %d, err = %v", s.Applied.Load(), err)
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				t.Errorf("call hung until the test's deadline")
			}
			checkOutcome(t, err, s.Applied.Load())
		})
	}
}
