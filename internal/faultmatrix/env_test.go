package faultmatrix

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// proto is how the client reaches the fake.
type proto int

const (
	h2  proto = iota // billingtest over TLS: Go's own HTTP/2 server, what production uses
	h1               // billingtest over plain HTTP/1.1
	raw              // faultlab.H2Front in front of billingtest: scripted HTTP/2 frames
)

func (p proto) String() string { return [...]string{"HTTP/2", "HTTP/1.1", "raw HTTP/2"}[p] }

// refusedAddr is an address where nothing listens, so that a dial is refused:
// port 1 (tcpmux), never picked for a listener by the kernel. init checks it.
const refusedAddr = "127.0.0.1:1"

// maxBody is the client's WithMaxResponseBytes in the matrix: small, so that an
// oversized answer is cheap to send.
const maxBody = 64 << 10

// fastRetries keeps the backoff short: the matrix measures decisions, not waits.
var fastRetries = billing.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxRetryAfter: 2 * time.Second}

// noDNS is a resolver without a DNS server: names in /etc/hosts resolve
// (localhost), any other lookup fails at once with a *net.DNSError.
var noDNS = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no DNS server in the fault matrix")
}}

// dialer is the client transport's DialContext: it counts the connections the
// client opens and closes, and refuses or diverts dials on script.
type dialer struct {
	open   atomic.Int32
	mu     sync.Mutex
	refuse int    // refuse the next dials
	divert string // dial this address instead
}

func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	if d.refuse > 0 {
		d.refuse--
		addr = refusedAddr
	} else if d.divert != "" {
		addr = d.divert
	}
	d.mu.Unlock()
	c, err := (&net.Dialer{Resolver: noDNS, Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.open.Add(1)
	return &countedConn{Conn: c, d: d}, nil
}

type countedConn struct {
	net.Conn
	d    *dialer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.d.open.Add(-1) })
	return c.Conn.Close()
}

// run is the world of one run of a cell: the fake, maybe a front end and
// origins, and a client with its own transport.
type run struct {
	fam *family
	op  *operation
	rnd *rng

	srv          *billingtest.Server
	proxy        *faultlab.H2Front
	origins      []*faultlab.Origin
	impostor     *httptest.Server
	gateway      *gateway // a hostile front end (see hostileFamilies), if any
	impostorHits atomic.Int32
	dial         *dialer
	tr           *http.Transport
	client       *billing.Client

	base, tokenURL string
	clientOpts     []billing.Option
	callOpts       []billing.RequestEditorFn
	deadline       time.Duration // of the call's context; 0: callTimeout
	tokenStart     time.Time     // around the token fetch before the fault
	tokenEnd       time.Time
	tokenExpiry    time.Time // of the token fetched before the fault, as the client sees it
	inconclusive   bool      // the run could not set up what the cell needs
	// conclusiveUntil, if set, makes a run whose call ends after it
	// inconclusive: the cell's setup may no longer hold by then.
	conclusiveUntil time.Time
}

// callTimeout bounds a call that has no scripted deadline: long enough never to
// end a healthy call, short enough to end a hung one.
const callTimeout = 20 * time.Second

func newRun(fam *family, op *operation, rnd *rng) *run {
	r := &run{fam: fam, op: op, rnd: rnd, dial: &dialer{}}
	opts := append([]billingtest.Option{}, fam.server...)
	if fam.proto == h2 {
		opts = append(opts, billingtest.WithTLS())
	}
	r.srv = billingtest.NewServer(opts...)
	r.base, r.tokenURL = r.srv.URL, r.srv.TokenURL()
	pool := x509.NewCertPool()
	if c := r.srv.Certificate(); c != nil {
		pool.AddCert(c)
	}
	lab, err := faultlab.Loopback() // of the origins and the front end
	if err != nil {
		panic(err)
	}
	pool.AddCert(lab.Leaf)
	if fam.proto == raw {
		r.proxy = faultlab.NewH2Front(r.srv.URL)
		r.base, r.tokenURL = r.proxy.URL, r.proxy.URL+"/oauth2/token"
	}
	// Like http.DefaultTransport: HTTP/2 over TLS, keep-alives.
	r.tr = &http.Transport{
		DialContext:           r.dial.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return r
}

// origin starts an origin of the fake, and returns its base URL naming host.
func (r *run) origin(secure bool, host string) string {
	o := faultlab.NewOrigin(r.srv.URL, r.srv.HTTPClient().Transport, secure)
	r.origins = append(r.origins, o)
	return strings.Replace(o.URL, "127.0.0.1", host, 1)
}

// startImpostor starts a TLS server whose certificate the client does not
// trust, and diverts the client's next dials to it.
func (r *run) startImpostor() {
	r.impostor = httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { r.impostorHits.Add(1) }))
	r.impostor.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	// A certificate no client trusts.
	cert, err := faultlab.NewCert()
	if err != nil {
		panic(err)
	}
	r.impostor.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	r.impostor.StartTLS()
	r.dial.mu.Lock()
	r.dial.divert = r.impostor.Listener.Addr().String()
	r.dial.mu.Unlock()
}

func (r *run) newClient() {
	opts := append([]billing.Option{
		billing.WithHTTPClient(&http.Client{Transport: r.tr}),
		billing.WithRetryPolicy(fastRetries),
		billing.WithMaxResponseBytes(maxBody),
		billing.WithBaseURL(r.base),
		billing.WithTokenURL(r.tokenURL),
	}, r.clientOpts...)
	r.client = r.srv.Client(opts...)
}

// closeServers closes everything the run started but the client's transport.
func (r *run) closeServers() {
	if r.proxy != nil {
		r.proxy.Close()
	}
	if r.impostor != nil {
		r.impostor.Close()
	}
	if r.gateway != nil {
		r.gateway.Close()
	}
	for _, o := range r.origins {
		o.Close()
	}
	r.srv.Close()
}

// credentialLeaks lists the requests an origin received with credentials.
func (r *run) originRequests() (n int, leaks []string) {
	for _, o := range r.origins {
		for _, rec := range o.Received() {
			n++
			if a := rec.Header.Get("Authorization"); a != "" {
				scheme, _, _ := strings.Cut(a, " ")
				leaks = append(leaks, scheme+" credentials sent to "+o.URL+rec.Path)
			}
		}
	}
	return n, leaks
}
