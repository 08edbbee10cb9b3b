package billingtest

import (
	"slices"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/internal/ops"
)

// Default client credentials of a Server, unless WithClientCredentials changes them.
const (
	DefaultClientID     = "billingtest-client"
	DefaultClientSecret = "billingtest-secret-0123456789abcdef"
)

// Audience is the only audience the token endpoint grants, and the one the API
// requires in the access token's aud claim.
const Audience = "distribution.prestashop.net"

// Scopes returns the six scopes of the Billing API (those its operations
// require, sorted), the ones a client of a Server may request by default.
func Scopes() []string {
	var all []string
	for _, op := range ops.Operations {
		all = append(all, op.Scopes...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// An Option configures a Server.
type Option func(*config)

type config struct {
	clientID     string
	clientSecret string
	scopes       []string
	ttl          time.Duration
	now          func() time.Time
	seed         Seed
	t            testing.TB
	tls          bool
	webhookURL   string          // WithWebhook
	signer       *webhook.Signer // WithWebhook
	retries      []time.Duration // WithWebhookRetries; nil: not set
}

func newConfig(opts []Option) config {
	c := config{
		clientID:     DefaultClientID,
		clientSecret: DefaultClientSecret,
		scopes:       Scopes(),
		ttl:          time.Hour,
		now:          time.Now,
		seed:         DefaultSeed(),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithTokenTTL sets the lifetime of the access tokens the server issues (default
// one hour); NewServer panics if d is not positive. The lifetime is rounded up to
// whole seconds (the precision of expires_in and of the JWT's exp), so that even
// a very short one never reads as "no expiry"; the exp claim is never earlier
// than expires_in tells.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) { c.ttl = d }
}

// WithClientCredentials sets the only client the token endpoint accepts
// (default DefaultClientID and DefaultClientSecret).
func WithClientCredentials(id, secret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = id, secret }
}

// WithAllowedScopes sets the scopes the client may request (default Scopes()).
// A token request for any other scope answers 400 invalid_scope.
func WithAllowedScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = slices.Clone(scopes) }
}

// WithSeed sets the data both stores (live and sandbox) start with, instead of
// DefaultSeed().
func WithSeed(s Seed) Option {
	return func(c *config) { c.seed = s }
}

// WithClock sets the server's clock (default time.Now). It dates tokens, checks
// their expiry, and dates download links and resource versions; now must be safe
// for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// WithT reports every answer of the fake that breaks the spec as a test error
// (t.Errorf) instead of answering 500, and closes the server in t.Cleanup. The
// clients of Server.Client then check their requests and answers against the
// spec too (see Client).
func WithT(t testing.TB) Option {
	return func(c *config) { c.t = t }
}

// WithTLS makes the server listen with TLS and HTTP/2, as the real API does: URL
// starts with https://, and the server offers h2 (then HTTP/1.1) by ALPN. Its
// certificate is httptest's, valid for 127.0.0.1 and ::1; HTTPClient and Client
// trust it, and Certificate returns it for your own clients.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}
