package faultlab

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
)

// An Origin is a second origin in front of a server: a listener on 127.0.0.1
// (its own port, and with secure its own scheme) that records the requests it
// receives and forwards them to the server. It is the target of scripted
// redirects: a client that follows a redirect, or sends its bearer token or
// client credentials to another origin, shows in Received. Its URL names the
// host 127.0.0.1; name it localhost to make it another host for the client
// (Loopback covers both).
type Origin struct {
	// URL is the origin's base URL: http://127.0.0.1:port or https://127.0.0.1:port.
	URL string

	ts *httptest.Server

	mu       sync.Mutex
	received []Received
}

// Received is a request an Origin received.
type Received struct {
	Method string
	Path   string      // the URL path, without the query
	Header http.Header // all request headers, Authorization included
}

// NewOrigin starts an Origin forwarding to backend (a base URL) through rt,
// serving HTTPS (with HTTP/2 and the Loopback certificate) when secure is
// true, else plain HTTP. Close it when done.
func NewOrigin(backend string, rt http.RoundTripper, secure bool) *Origin {
	target, err := url.Parse(backend)
	if err != nil {
		panic("faultlab: NewOrigin: " + err.Error())
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = rt
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	o := &Origin{}
	o.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.received = append(o.received, Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
		o.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	o.ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if secure {
		cert, err := Loopback()
		if err != nil {
			panic("faultlab: " + err.Error())
		}
		o.ts.EnableHTTP2 = true
		o.ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		o.ts.StartTLS()
	} else {
		o.ts.Start()
	}
	o.URL = o.ts.URL
	return o
}

// Received returns the requests the origin received, oldest first.
func (o *Origin) Received() []Received {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.received)
}

// Close shuts the origin down and waits for the requests in flight.
func (o *Origin) Close() { o.ts.Close() }
