package billing

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

func TestRawHTTP1FailureAfterApplyIsUnknownOrSuccess(t *testing.T) {
	hold := func(c net.Conn) { _, _ = io.Copy(io.Discard, c) } // keep the connection open
	tests := map[string]func(c net.Conn, req *http.Request){
		"Connection: close, body shorter than Content-Length": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 100\r\n\r\n{\"item\":")
			c.Close()
		},
		"chunked body cut": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{\"item\":\r\n")
			c.Close()
		},
		"chunked body, bad chunk size": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
			hold(c)
		},
		"gzip garbage": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello")
			hold(c)
		},
		"garbage status line": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTQ/9 oops\r\n\r\n")
			c.Close()
		},
		"6 x 103 then 201": func(c net.Conn, _ *http.Request) {
			for range 6 {
				io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
			}
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 28\r\n\r\n{\"item\":{\"usageQuantity\":1}}")
			hold(c)
		},
		"101 Switching Protocols, connection kept open": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			hold(c)
		},
		"101 without Upgrade header": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\n\r\n")
			hold(c)
		},
		"201 then stall past the deadline": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"item\":")
			hold(c)
		},
		"close without answer": func(c net.Conn, _ *http.Request) { c.Close() },
		"huge header": func(c net.Conn, _ *http.Request) {
			io.WriteString(c, "HTTP/1.1 201 Created\r\nX-Pad: "+strings.Repeat("a", 2<<20)+"\r\n\r\n")
			hold(c)
		},
	}
	for name, act := range tests {
		t.Run(name, func(t *testing.T) {
			s := faultlab.NewRawH1(t, act)
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithBaseURL("http://"+s.Ln.Addr().String()), WithHTTPClient(&http.Client{}),
				WithTokenSource(staticToken("tok")))
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				err = usage(ctx, c)
			}()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Errorf("call still running 3s after a 500ms deadline: the context is ignored")
				s.CloseAll() // unblock the client
				<-done
			}
			t.Logf("applied %d, err = %.300v", s.Applied.Load(), err)
			checkOutcome(t, err, s.Applied.Load())
			if err != nil && errors.Is(err, context.DeadlineExceeded) {
				t.Logf("(ended by the deadline)")
			}
		})
	}
}
