package billingtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/delivery"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/hydra"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
	"github.com/prestashopcorp/billing-sdk-go/internal/inflight"
	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

// A Server is a fake Billing API and OAuth2 token server listening on a loopback
// address. Create it with NewServer and Close it when done.
type Server struct {
	// URL is the base URL of the API, of the form http://127.0.0.1:port (or
	// https:// with WithTLS), with no trailing slash. The API's paths (/v1/...) follow it.
	URL string

	// ClientID and ClientSecret are the credentials the token endpoint accepts.
	ClientID     string
	ClientSecret string

	cfg       config
	ts        *httptest.Server
	router    *spec.Router
	api       http.Handler // the generated strict handler
	tokens    *hydra.Server
	pdfSecret []byte
	end       context.CancelFunc // ends the context of every call
	closeOnce sync.Once
	calls     inflight.Calls  // the calls in flight (see serveHTTP)
	hooks     *delivery.Queue // nil without WithWebhook

	mu            sync.Mutex
	live, sandbox *store
	requests      map[string]int
	applied       map[string]int
	usage         map[usageKey]ItemUsage
	tokenRequests int
	faults        map[string][]Fault // by operationId, and TokenEndpoint
}

// NewServer starts and returns a new Server configured by opts. The caller
// should call Close when done. NewServer panics if it cannot start, or if the
// seed is inconsistent (duplicate ids).
func NewServer(opts ...Option) *Server {
	cfg := newConfig(opts)
	if cfg.ttl <= 0 {
		panic("billingtest: WithTokenTTL: the lifetime must be positive")
	}
	router, err := spec.Load()
	if err != nil {
		panic("billingtest: " + err.Error())
	}
	s := &Server{
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientSecret,
		cfg:          cfg,
		router:       router,
		pdfSecret:    []byte(rand.Text()),
		requests:     map[string]int{},
		applied:      map[string]int{},
		usage:        map[usageKey]ItemUsage{},
		faults:       map[string][]Fault{},
	}
	s.tokens = &hydra.Server{
		ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, Audience: Audience, Scopes: cfg.scopes,
		TTL: cfg.ttl, Now: cfg.now, Issuer: func() string { return s.ts.URL + "/" }, // s.URL is set after Start
	}
	s.live, s.sandbox = newStore(cfg.seed), newStore(cfg.seed)
	s.hooks = newHooks(cfg)
	strict := fakeapi.NewStrictHandlerWithOptions(handlers{s}, []fakeapi.StrictMiddlewareFunc{s.locked}, fakeapi.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  answerError(http.StatusBadRequest, "BAD_REQUEST"),
		ResponseErrorHandlerFunc: answerError(http.StatusInternalServerError, "INTERNAL_ERROR"),
	})
	s.api = fakeapi.HandlerWithOptions(strict, fakeapi.StdHTTPServerOptions{ErrorHandlerFunc: answerError(http.StatusBadRequest, "BAD_REQUEST")})
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.Config.ErrorLog = log.New(quietHandshakes{}, "", log.LstdFlags)
	life, end := context.WithCancel(context.Background())
	s.ts.Config.BaseContext, s.end = func(net.Listener) context.Context { return life }, end
	if cfg.tls {
		s.ts.EnableHTTP2 = true
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	s.URL = s.ts.URL
	if cfg.t != nil {
		cfg.t.Cleanup(s.Close)
	}
	return s
}

// TokenURL returns the URL of the OAuth2 token endpoint: URL + "/oauth2/token".
func (s *Server) TokenURL() string { return s.URL + "/oauth2/token" }

// Close ends the context of every call in flight, which releases the calls a
// Fault holds (a stall, a padded answer the client stopped reading), shuts the
// server down and waits for the calls in flight to end, then
// stops sending webhooks (see FlushWebhooks). It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.calls.Close()
		s.end()
		s.ts.Close()
		s.calls.Wait()  // an HTTP/2 connection ends without waiting for its handlers
		s.hooks.Close() // after the API: no more changes
	})
}

// serveHTTP serves a call. Its context ends when the Server is closed. HTTP/2
// may start the handler of a stream after Close: it then does nothing.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.calls.Enter() {
		return // no one to answer: the connection is closed
	}
	defer s.calls.Leave()
	switch {
	case r.URL.Path == "/oauth2/token":
		s.serveToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/invoices/"):
		s.servePDF(w, r)
	default:
		s.serveAPI(w, r)
	}
}

func (s *Server) store(sandbox bool) *store {
	if sandbox {
		return s.sandbox
	}
	return s.live
}

// Requests returns how many calls of the operation (an operationId of the spec,
// such as "setSubscriptionItemUsage") the server received, whatever their answer.
func (s *Server) Requests(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[operationID]
}

// Applied returns how many calls of the operation the server carried out with
// success, whatever the client then got: the calls answered with a 2xx status,
// and those a Fault answered after carrying them out (Fault.Apply). Rejected
// calls and calls answered by a Fault before applying are not counted.
func (s *Server) Applied(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[operationID]
}

// TokenRequests returns how many requests the token endpoint received, whatever
// their answer.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// serveToken is the OAuth2 token endpoint, counted and faulted.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	s.serveFaulted(w, r, TokenEndpoint, hydra.WriteFault, func(rec *httptest.ResponseRecorder) { s.tokens.ServeHTTP(rec, r) },
		func(rec *httptest.ResponseRecorder) { send(w, rec.Result()) })
}

// HTTPClient returns an HTTP client for the server (the httptest server's
// client), whose idle connections Close closes.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Client returns a billing client wired to the server: its base URL, token URL,
// client credentials and HTTP client, followed by opts (later options win). It
// panics if billing.NewClient fails.
//
// With WithT, the client also checks its own side of every call against the
// spec: each request it sends to an operation and each answer it gets (a 2xx, or
// a status the operation declares) that breaks the spec is a test error of t. A
// test that sends invalid requests on purpose gives its own HTTP client
// (billing.WithHTTPClient(srv.HTTPClient())).
func (s *Server) Client(opts ...billing.Option) *billing.Client {
	hc := s.HTTPClient()
	if s.cfg.t != nil {
		hc = contracttest.Client(s.cfg.t, hc)
	}
	c, err := billing.NewClient(append([]billing.Option{
		billing.WithBaseURL(s.URL),
		billing.WithTokenURL(s.TokenURL()),
		billing.WithClientCredentials(s.ClientID, s.ClientSecret),
		billing.WithHTTPClient(hc),
	}, opts...)...)
	if err != nil {
		panic("billingtest: " + err.Error())
	}
	return c
}

// Certificate returns the certificate of the server's TLS listener (WithTLS),
// or nil without TLS. Add it to the RootCAs of your own HTTP client's TLS
// configuration; HTTPClient trusts it already.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// quietHandshakes writes the server's log lines to the standard logger's
// output, except failed TLS handshakes: a client that gives up while
// connecting (a short deadline, an untrusted certificate) is not news.
type quietHandshakes struct{}

func (quietHandshakes) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("http: TLS handshake error")) {
		return len(p), nil
	}
	return log.Writer().Write(p)
}
