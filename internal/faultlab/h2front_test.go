package faultlab_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// backend counts the requests it carried out and echoes their bodies.
func backend(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Method", r.Method)
		_, _ = w.Write(append([]byte(r.URL.Path+" "), body...))
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func client(s *faultlab.H2Front) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
}

// post sends a POST whose body the transport may rewind (GetBody) or not.
func post(t *testing.T, c *http.Client, url string, rewind bool) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader([]byte("payload")))
	if err != nil {
		t.Fatal(err)
	}
	if !rewind {
		req.GetBody = nil
	}
	res, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if res.ProtoMajor != 2 {
		t.Errorf("answer over %s, want HTTP/2", res.Proto)
	}
	return res.Status + " " + string(b), err
}

func TestForward(t *testing.T) {
	ts, n := backend(t)
	s := faultlab.NewH2Front(ts.URL)
	defer s.Close()
	c := client(s)
	for i := range 3 {
		got, err := post(t, c, s.URL+"/v1/x?q=1", true)
		if err != nil || got != "200 OK /v1/x payload" {
			t.Fatalf("call %d: %q, %v", i, got, err)
		}
	}
	if n.Load() != 3 || s.Streams() != 3 || s.Conns() != 1 {
		t.Errorf("backend %d, streams %d, conns %d; want 3, 3, 1", n.Load(), s.Streams(), s.Conns())
	}
	c.CloseIdleConnections()
}

// What Go's HTTP/2 transport does after each fault, with and without a
// rewindable body: the backend's count says how often the request was carried
// out.
func TestFaults(t *testing.T) {
	for _, tt := range []struct {
		name      string
		fault     faultlab.FrameFault
		rewind    bool
		wantErr   string // "" for success
		wantCalls int32
	}{
		{"refused stream, replayed", faultlab.FrameFault{Action: faultlab.ResetBefore, Code: http2.ErrCodeRefusedStream}, true, "", 1},
		{"refused stream, no GetBody", faultlab.FrameFault{Action: faultlab.ResetBefore, Code: http2.ErrCodeRefusedStream}, false, "REFUSED_STREAM", 0},
		// Go 1.26's transport replays a PROTOCOL_ERROR reset (carried out twice);
		// Go 1.27's returns it. Either shows the reset arrived after the backend acted.
		{"protocol error after, GetBody", faultlab.FrameFault{Action: faultlab.ResetAfter, Code: http2.ErrCodeProtocol}, true, "replayed or PROTOCOL_ERROR", 2},
		{"protocol error after, no GetBody", faultlab.FrameFault{Action: faultlab.ResetAfter, Code: http2.ErrCodeProtocol}, false, "PROTOCOL_ERROR", 1},
		{"internal error after", faultlab.FrameFault{Action: faultlab.ResetAfter, Code: http2.ErrCodeInternal}, true, "INTERNAL_ERROR", 1},
		{"goaway before, replayed", faultlab.FrameFault{Action: faultlab.GoAwayBefore}, true, "", 1},
		{"goaway after", faultlab.FrameFault{Action: faultlab.GoAwayAfter}, true, "GOAWAY", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts, n := backend(t)
			s := faultlab.NewH2Front(ts.URL)
			defer s.Close()
			c := client(s)
			defer c.CloseIdleConnections()
			if _, err := post(t, c, s.URL+"/warm", true); err != nil { // a connection and a first stream
				t.Fatal(err)
			}
			n.Store(0)
			s.Fault("/v1/", tt.fault)
			got, err := post(t, c, s.URL+"/v1/x", tt.rewind)
			if tt.wantErr == "replayed or PROTOCOL_ERROR" {
				if err == nil && n.Load() == 2 || err != nil && strings.Contains(err.Error(), "PROTOCOL_ERROR") && n.Load() == 1 {
					return
				}
				t.Fatalf("got %q, %v, carried out %d times; want success after a replay (2) or PROTOCOL_ERROR (1)", got, err, n.Load())
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %q, %v; want an error naming %s", got, err, tt.wantErr)
			}
			if n.Load() != tt.wantCalls {
				t.Errorf("backend carried it out %d times, want %d", n.Load(), tt.wantCalls)
			}
		})
	}
}

func TestCloseEndsConnections(t *testing.T) {
	ts, _ := backend(t)
	s := faultlab.NewH2Front(ts.URL)
	c := client(s)
	if _, err := post(t, c, s.URL+"/a", true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s.Conns() != 0 {
		t.Errorf("conns after Close: %d", s.Conns())
	}
	c.CloseIdleConnections()
}
