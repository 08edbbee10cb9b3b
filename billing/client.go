package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/endpoint"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
	"github.com/prestashopcorp/billing-sdk-go/internal/token"
)

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// Token endpoint defaults, as the PrestaShop documentation gives them.
const (
	DefaultTokenURL = "https://oauth.prestashop.com/oauth2/token"
	DefaultAudience = "distribution.prestashop.net"
)

// DefaultPageSize is the number of invoices Invoices asks for per page.
const DefaultPageSize = 50

// Client is a Billing API client: one method per operation of the API, plus
// Invoices to iterate over a subscription's invoices and Token to check
// credentials. It adds to the models generated from the spec (package gen, whose
// types the methods take and return): token sourcing, sandbox mode, retries, typed
// errors, request checks and pagination.
//
// Every method takes a context first and per-call request editors last (Sandbox,
// or any RequestEditorFn). A nil error means the 2xx answer was read; any other
// outcome is an error: *APIError for a non-2xx answer, *InvalidRequestError for a
// request refused before sending, and ErrOutcomeUnknown wrapped by any failure of a
// non-idempotent call after which the server may have applied it.
//
// A Client is safe for concurrent use; create one and reuse it. *Client satisfies
// API, the interface to mock in tests.
type Client struct {
	server   string // base URL, as the generated request builders want it
	doer     *doer
	editors  []RequestEditorFn
	pageSize int64
	sandbox  bool // WithSandbox
}

// RequestEditorFn changes a request before it is sent (the SDK's own editors first,
// then WithRequestEditors ones, then the per-call ones); an error it returns fails the
// call before anything is sent. Its host, method and path must stay the operation's.
type RequestEditorFn func(ctx context.Context, req *http.Request) error

// Token returns the access token the client currently uses, fetching one if needed:
// a way to check credentials before the first call. Never log its AccessToken.
func (c *Client) Token(ctx context.Context) (*oauth2.Token, error) {
	tok, err := c.doer.tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("billing: %w", err)
	}
	return tok, nil
}

// Option configures a Client.
type Option func(*config)

type config struct {
	scopes      []string
	tokenSource oauth2.TokenSource
	httpClient  *http.Client
	retry       RetryPolicy
	editors     []RequestEditorFn
	sleep       func(context.Context, time.Duration) error // tests only
	logger      *slog.Logger                               // WithLogger (observe.go)
	observers   []Observer                                 // WithObserver (observe.go)

	baseURL, tokenURL, clientID, clientSecret, audience string
	sandbox, validate                                   bool
	pageSize, maxBody                                   int64
}

// WithBaseURL sets the API's base URL (default gen.ServerURLProduction; the other
// environments are gen.ServerURLPreproduction and gen.NewServerURLIntegration's).
func WithBaseURL(u string) Option { return func(c *config) { c.baseURL = strings.TrimRight(u, "/") } }

// WithTokenURL sets the OAuth2 token endpoint (default DefaultTokenURL).
func WithTokenURL(u string) Option { return func(c *config) { c.tokenURL = u } }

// WithClientCredentials sets the OAuth2 client id and secret. The client gets its
// access tokens with the client-credentials grant: HTTP Basic authentication and
// client_id in the form, the audience and the scopes.
func WithClientCredentials(clientID, clientSecret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = clientID, clientSecret }
}

// WithAudience sets the audience asked for in token requests (default DefaultAudience).
func WithAudience(audience string) Option { return func(c *config) { c.audience = audience } }

// WithScopes sets the scopes asked for in token requests (default DefaultScopes).
func WithScopes(scopes ...string) Option {
	return func(c *config) { c.scopes = append([]string(nil), scopes...) }
}

// WithTokenSource makes the client use ts for its bearer tokens instead of the
// client-credentials grant (for example a shop's PS Accounts token). The client
// caches the tokens ts returns and asks again after a 401.
func WithTokenSource(ts oauth2.TokenSource) Option { return func(c *config) { c.tokenSource = ts } }

// WithHTTPClient sets the HTTP client used for API and token requests (default
// http.DefaultClient). Retries wrap it: its Transport must not re-send a request on
// its own unless the request has a GetBody (as net/http's does), since the SDK
// leaves GetBody nil on the requests that must never be sent twice; a call that
// such a transport sent twice fails with an error wrapping ErrOutcomeUnknown that
// names the transport (the request trace sees it). The client uses a copy of hc that never
// follows redirects (the Billing API and its token endpoint have none, and a
// redirect could re-send a usage report or carry credentials elsewhere); hc itself
// is not changed.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithSandbox makes every request of the client run in sandbox mode (the
// `sandbox: true` header). Sandbox switches it per request.
func WithSandbox(on bool) Option { return func(c *config) { c.sandbox = on } }

// WithRetryPolicy sets the retry policy (default DefaultRetryPolicy()).
func WithRetryPolicy(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithRequestValidation turns the check of requests against the spec on (the
// default) or off. The checks refuse what the spec refuses, naming the field (tests
// prove that they agree with openapi3filter), and cost a few comparisons per call.
// Off, invalid requests reach the server.
func WithRequestValidation(on bool) Option { return func(c *config) { c.validate = on } }

// DefaultMaxResponseBytes bounds the size of a 2xx answer read into memory. The
// largest answers are invoice pages, about 1.5 KiB per invoice with a few line
// items: 4 MiB leaves room for pages of well over a thousand invoices.
const DefaultMaxResponseBytes = 4 << 20

// WithMaxResponseBytes sets the largest 2xx answer the client reads (default
// DefaultMaxResponseBytes). A larger one is not read: the call fails with an error
// wrapping ErrUnexpectedResponse (and ErrOutcomeUnknown for a non-idempotent call).
func WithMaxResponseBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithPageSize sets how many invoices Invoices asks for per page (default DefaultPageSize).
func WithPageSize(n int) Option { return func(c *config) { c.pageSize = int64(n) } }

// WithRequestEditors adds request editors run on every request, after the SDK's own.
func WithRequestEditors(fns ...RequestEditorFn) Option {
	return func(c *config) { c.editors = append(c.editors, fns...) }
}

// Sandbox returns a request editor that turns sandbox mode on or off for one call,
// whatever the client's WithSandbox:
//
//	components, err := client.GetProductComponents(ctx, "builtfor_example", gen.GetProductComponentsParams{}, billing.Sandbox(true))
func Sandbox(on bool) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Del("Sandbox")
		if on {
			req.Header.Set("Sandbox", "true")
		}
		return nil
	}
}

// setHeaders sets the SDK's own headers (User-Agent, Accept, WithSandbox's) in one
// allocation: each value is a full slice, so that Header.Add copies it.
func setHeaders(h http.Header, sandbox bool) {
	v := []string{userAgent, "application/json", "true"}
	h["User-Agent"] = v[0:1:1]
	h["Accept"] = v[1:2:2]
	if sandbox {
		h["Sandbox"] = v[2:3:3]
	}
}

var userAgent = fmt.Sprintf("prestashop-billing-go/%s (%s; %s/%s)", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)

// NewClient returns a client of the Billing API. It needs credentials
// (WithClientCredentials) or a token source (WithTokenSource).
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		baseURL:  gen.ServerURLProduction,
		tokenURL: DefaultTokenURL,
		audience: DefaultAudience,
		scopes:   DefaultScopes,
		validate: true,
		retry:    DefaultRetryPolicy(),
		pageSize: DefaultPageSize,
		maxBody:  DefaultMaxResponseBytes,
		sleep:    sleepContext,
	}
	for _, o := range opts {
		o(&cfg)
	}
	// A copy of the caller's client that follows no redirect: a 3xx is answered as it is.
	hc := *cmp.Or(cfg.httpClient, http.DefaultClient)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.httpClient = &hc
	switch {
	case cfg.maxBody < 1:
		return nil, fmt.Errorf("billing: max response bytes %d: must be at least 1", cfg.maxBody)
	case cfg.pageSize < 1:
		return nil, fmt.Errorf("billing: page size %d: must be at least 1", cfg.pageSize)
	case cfg.retry.MaxAttempts < 1:
		return nil, fmt.Errorf("billing: retry policy: MaxAttempts %d: must be at least 1", cfg.retry.MaxAttempts)
	}
	cfg.retry = cfg.retry.withDefaults()
	creds := scrub.CredentialForms(cfg.clientID, cfg.clientSecret) // what no error may show
	origin, err := endpoint.Check("base URL", cfg.baseURL)
	if err != nil {
		return nil, fmt.Errorf("billing: %w", scrub.Error(err, creds)) // a refused URL is quoted
	}
	var fetch func(context.Context) (*oauth2.Token, error)
	switch {
	case cfg.tokenSource != nil:
		fetch = func(context.Context) (*oauth2.Token, error) { return cfg.tokenSource.Token() }
	case cfg.clientID != "" && cfg.clientSecret != "":
		if _, err := endpoint.Check("token URL", cfg.tokenURL); err != nil {
			return nil, fmt.Errorf("billing: %w", scrub.Error(err, creds))
		}
		fetch = token.Grant{ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, TokenURL: cfg.tokenURL,
			Audience: cfg.audience, Scopes: cfg.scopes, HTTPClient: cfg.httpClient,
			MaxAttempts: cfg.retry.MaxAttempts, Backoff: cfg.retry.backoff, Sleep: cfg.sleep}.Fetch()
	default:
		return nil, errors.New("billing: no credentials: use WithClientCredentials(id, secret) or WithTokenSource")
	}
	d := &doer{hc: cfg.httpClient, validate: cfg.validate, tokens: token.NewCache(fetch), policy: cfg.retry,
		maxBody: cfg.maxBody, sleep: cfg.sleep, origin: origin, creds: creds}
	observeClient(&cfg, d)
	return &Client{server: cfg.baseURL + "/", doer: d, pageSize: cfg.pageSize, sandbox: cfg.sandbox, editors: cfg.editors}, nil
}
