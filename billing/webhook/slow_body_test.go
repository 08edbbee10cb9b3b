package webhook_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// signalReads tells read of each read of the request body that returned
// bytes, until stop is closed, so that a test's client can send the next
// bytes only once the server has the previous ones.
func signalReads(h http.Handler, read chan<- struct{}, stop <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = signalingBody{r.Body, read, stop}
		h.ServeHTTP(w, r)
	})
}

type signalingBody struct {
	io.ReadCloser
	read chan<- struct{}
	stop <-chan struct{}
}

func (b signalingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		select {
		case b.read <- struct{}{}:
		case <-b.stop:
		}
	}
	return n, err
}

// A body that never ends arriving, or stops arriving, is answered 408 once the
// Handler's read timeout has passed, whatever the server's timeouts: the
// deadline bounds the whole body, not each read.
func TestHandlerBoundsSlowBody(t *testing.T) {
	const short = 20 * time.Millisecond
	// The server's ReadTimeout bounds the request's headers too: at 20 ms, a
	// client whose header write a loaded machine delays would find the
	// connection closed without an answer. The body stops after its first
	// byte, so it is still slower than this bound.
	const serverShort = 500 * time.Millisecond
	tests := []struct {
		name   string
		http2  bool
		opts   []webhook.HandlerOption
		server func(*http.Server)
		// trickle sends one byte after each byte the server read; otherwise the
		// client sends the body's first byte and then nothing.
		trickle bool
	}{
		{name: "stalls", opts: []webhook.HandlerOption{webhook.WithReadTimeout(short)}},
		{name: "stalls, HTTP/2", http2: true, opts: []webhook.HandlerOption{webhook.WithReadTimeout(short)}},
		{name: "trickles", trickle: true, opts: []webhook.HandlerOption{webhook.WithReadTimeout(short), webhook.WithMaxBodySize(1 << 40)}},
		{name: "the server's shorter ReadTimeout is kept", opts: []webhook.HandlerOption{webhook.WithReadTimeout(time.Hour)},
			server: func(s *http.Server) { s.ReadTimeout = serverShort }},
		{name: "no timeout of its own: the server's", opts: []webhook.HandlerOption{webhook.WithReadTimeout(0)},
			server: func(s *http.Server) { s.ReadTimeout = serverShort }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read, stop := make(chan struct{}), make(chan struct{})
			srv := httptest.NewUnstartedServer(signalReads(webhook.NewHandler(newBilling(t).verifier(), tt.opts...), read, stop))
			if tt.server != nil {
				tt.server(srv.Config)
			}
			if tt.http2 {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			defer close(stop)

			pr, pw := io.Pipe()
			defer pr.Close()
			go func() {
				if _, err := pw.Write([]byte("{")); err != nil {
					return
				}
				for {
					select {
					case <-read:
					case <-stop:
						return
					}
					if tt.trickle {
						if _, err := pw.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			// A guard against a Handler that waits for ever, not synchronisation;
			// it ends the body too, which the transport waits for.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, pr)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatalf("no answer (%v): the Handler waited for the body", err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d, want 408", res.StatusCode)
			}
			if tt.http2 && res.ProtoMajor != 2 {
				t.Errorf("served over %s, want HTTP/2", res.Proto)
			}
			_ = pw.CloseWithError(io.ErrClosedPipe)
		})
	}
}
