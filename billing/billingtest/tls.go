package billingtest

import (
	"bytes"
	"crypto/x509"
	"log"
	"net/http/httptest"
)

// WithTLS makes the server listen with TLS and HTTP/2, as the real API does: URL
// starts with https://, and the server offers h2 (then HTTP/1.1) by ALPN. Its
// certificate is httptest's, valid for 127.0.0.1 and ::1; HTTPClient and Client
// trust it, and Certificate returns it for your own clients.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// Certificate returns the certificate of the server's TLS listener (WithTLS),
// or nil without TLS. Add it to the RootCAs of your own HTTP client's TLS
// configuration; HTTPClient trusts it already.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// start starts ts, with TLS and HTTP/2 when secure is true. Its error log leaves
// out failed TLS handshakes: a client that gives up while connecting (a short
// deadline, a test of an untrusted certificate) is not news.
func start(ts *httptest.Server, secure bool) {
	ts.Config.ErrorLog = log.New(quietHandshakes{}, "", log.LstdFlags)
	if !secure {
		ts.Start()
		return
	}
	ts.EnableHTTP2 = true
	ts.StartTLS()
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
