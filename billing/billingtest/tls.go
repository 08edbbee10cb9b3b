package billingtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"

	"github.com/prestashopcorp/billing-sdk-go/internal/testcert"
)

// WithTLS makes the server listen with TLS and HTTP/2, as the real API does: URL
// starts with https://, and the server offers h2 (then HTTP/1.1) by ALPN. Its
// certificate names 127.0.0.1, ::1 and localhost; HTTPClient and Client trust it,
// and Certificate returns it for your own clients.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// Certificate returns the self-signed certificate of the server's TLS listeners
// (WithTLS, NewOrigin), valid for 127.0.0.1, ::1 and localhost. Add it to the
// RootCAs of your own HTTP client's TLS configuration; HTTPClient trusts it
// already. It is the same for every Server of the process.
func (s *Server) Certificate() *x509.Certificate { return s.cert.Leaf }

// processCert is the certificate of every TLS listener of the process.
var processCert = testcert.Loopback

// start starts ts, with TLS and HTTP/2 when secure is true. Its error log leaves
// out failed TLS handshakes: a client that gives up while connecting (a short
// deadline, a test of an untrusted certificate) is not news.
func start(ts *httptest.Server, cert tls.Certificate, secure bool) {
	ts.Config.ErrorLog = log.New(quietHandshakes{}, "", log.LstdFlags)
	if !secure {
		ts.Start()
		return
	}
	ts.EnableHTTP2 = true
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
}

// An Origin is one more listener of a Server on 127.0.0.1, a second origin (its
// own port, and with NewOrigin(true) its own scheme): it serves the same fake
// (the same stores, counters and faults) and records the requests it receives.
// It is a target for scripted redirects (Fault.Location): a client that follows a
// redirect, or sends its bearer token or client credentials to another origin,
// shows in Received. Its URL names the host 127.0.0.1; name it localhost to make
// it another host for the client (the certificate covers both).
type Origin struct {
	// URL is the origin's base URL: http://127.0.0.1:port or https://127.0.0.1:port.
	URL string

	srv *Server
	ts  *httptest.Server

	mu       sync.Mutex
	received []Received
}

// Received is a request an Origin received.
type Received struct {
	Method string
	Path   string      // the URL path, without the query
	Header http.Header // all request headers, Authorization included
}

// NewOrigin starts an Origin of the server, serving HTTPS (with HTTP/2 and the
// server's certificate) when secure is true, else plain HTTP. Server.Close
// closes it.
func (s *Server) NewOrigin(secure bool) *Origin {
	o := &Origin{srv: s}
	o.ts = httptest.NewUnstartedServer(http.HandlerFunc(o.serveHTTP))
	start(o.ts, s.cert, secure)
	o.URL = o.ts.URL
	s.mu.Lock()
	s.origins = append(s.origins, o)
	s.mu.Unlock()
	return o
}

// Received returns the requests the origin received, oldest first.
func (o *Origin) Received() []Received {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.received)
}

func (o *Origin) serveHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.received = append(o.received, Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()})
	o.mu.Unlock()
	o.srv.serveHTTP(w, r)
}

// quietHandshakes writes log lines to the standard logger's output, except
// those of failed TLS handshakes.
type quietHandshakes struct{}

func (quietHandshakes) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return log.Writer().Write(p)
}
