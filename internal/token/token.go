// Package token gets billing.Client's OAuth2 access tokens: the
// client-credentials grant as the Billing docs describe it, sent again after a
// network error, a 429 or a 5xx, whose errors hold no credential whatever the
// token endpoint echoes (Error); and a Cache that hands one token to concurrent
// callers and renews it shortly before it expires.
package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
)

// ExpiryMargin is how long before its expiry a cached token is renewed. Tokens
// that live less than 4 margins are renewed after 3/4 of their life.
const ExpiryMargin = 30 * time.Second

// fetchTimeout bounds one token request made on behalf of all waiting callers.
const fetchTimeout = 30 * time.Second

// Grant is a client-credentials grant and how to retry it.
type Grant struct {
	ClientID, ClientSecret, TokenURL, Audience string
	Scopes                                     []string
	HTTPClient                                 *http.Client // never follows redirects
	MaxAttempts                                int
	Backoff                                    func(attempt int) time.Duration
	Sleep                                      func(context.Context, time.Duration) error
}

// Fetch returns a function that fetches a new token with the grant as the
// Billing docs describe it: HTTP Basic authentication AND client_id in the
// form, the audience, and the scopes separated by spaces. It tries again after
// a network error, a 429 or a 5xx (never after another answer, such as 400
// invalid_scope or 401 invalid_client), up to MaxAttempts times.
func (g Grant) Fetch() func(context.Context) (*oauth2.Token, error) {
	cc := &clientcredentials.Config{
		ClientID:       g.ClientID,
		ClientSecret:   g.ClientSecret,
		TokenURL:       g.TokenURL,
		Scopes:         g.Scopes,
		EndpointParams: url.Values{"audience": {g.Audience}, "client_id": {g.ClientID}},
		AuthStyle:      oauth2.AuthStyleInHeader,
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, g.HTTPClient)
		for attempt := 1; ; attempt++ {
			tok, err := cc.Token(ctx)
			if err == nil || attempt >= g.MaxAttempts || ctx.Err() != nil || !retryable(err) {
				if err != nil {
					// The endpoint may echo the credentials: never print them.
					err = newError(err, scrub.CredentialForms(g.ClientID, g.ClientSecret))
				}
				return tok, err
			}
			if err := g.Sleep(ctx, g.Backoff(attempt)); err != nil {
				return nil, err
			}
		}
	}
}

// retryable reports whether a token request that failed with err may succeed if
// sent again: a network error, a 429 or a 5xx.
func retryable(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		return errors.As(err, &ue) // no answer: a network error
	}
	return re.Response != nil && (re.Response.StatusCode == 429 || re.Response.StatusCode >= 500)
}

// Cache hands out one cached token to all callers and fetches a new one when
// it is about to expire or was refused. Concurrent callers that find no valid
// token share a single fetch; each of them stops waiting when its own context
// ends. In the renewal window before expiry, callers keep getting the cached
// token while one fetch renews it in the background; if that fetch fails, the
// token is used until it really expires, and RenewalFailed (if set) is told.
type Cache struct {
	fetch func(context.Context) (*oauth2.Token, error)

	// RenewalFailed, if set before the first call, is called with the error of
	// a fetch that failed while the cached token is still valid.
	RenewalFailed func(context.Context, error)

	header atomic.Pointer[header] // of the last token sent

	mu       sync.Mutex
	now      func() time.Time
	tok      *oauth2.Token
	renewAt  time.Time
	inflight *call
}

type call struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

// NewCache returns a cache of the tokens fetch returns.
func NewCache(fetch func(context.Context) (*oauth2.Token, error)) *Cache {
	return &Cache{fetch: fetch, now: time.Now}
}

// Token returns a valid token, fetching one if needed.
func (c *Cache) Token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	now := c.now()
	if c.tok != nil && (c.renewAt.IsZero() || now.Before(c.renewAt)) {
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	cl := c.inflight
	if cl == nil {
		cl = &call{done: make(chan struct{})}
		c.inflight = cl
		// The fetch outlives a caller that gives up: others may be waiting on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		go func() {
			defer cancel()
			c.run(fctx, cl)
		}()
	}
	if c.valid(now) {
		// Renewal window: the cached token is still good while the fetch runs.
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.tok, cl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// valid reports whether the cached token has not expired at now; c.mu is held.
func (c *Cache) valid(now time.Time) bool {
	return c.tok != nil && (c.tok.Expiry.IsZero() || now.Before(c.tok.Expiry))
}

func (c *Cache) run(ctx context.Context, cl *call) {
	start := c.now()
	tok, err := c.fetch(ctx)
	switch {
	case err != nil:
		var te *Error
		if !errors.As(err, &te) {
			err = newError(err, nil)
		}
	case tok == nil || tok.AccessToken == "":
		err = errors.New("getting an access token: the token endpoint returned no access_token")
	}
	c.mu.Lock()
	if err == nil {
		c.tok, c.renewAt = tok, renewTime(start, tok.Expiry)
	}
	c.inflight = nil
	kept := err != nil && c.valid(c.now())
	c.mu.Unlock()
	cl.tok, cl.err = tok, err
	close(cl.done)
	if kept && c.RenewalFailed != nil {
		c.RenewalFailed(ctx, err)
	}
}

// renewTime is when a token fetched at start and expiring at expiry is renewed.
func renewTime(start, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{} // never expires
	}
	life := expiry.Sub(start)
	if life < 4*ExpiryMargin {
		return start.Add(life * 3 / 4)
	}
	return expiry.Add(-ExpiryMargin)
}

// Invalidate drops tok if it is still the cached token (a 401 refused it), so
// that the next call fetches a new one. A token another caller already
// replaced is left alone.
func (c *Cache) Invalidate(tok *oauth2.Token) {
	c.mu.Lock()
	if c.tok == tok {
		c.tok = nil
	}
	c.mu.Unlock()
}

// header is the Authorization header value of a token.
type header struct {
	tok   *oauth2.Token
	value string
}

// Header returns the Authorization header value of tok, as tok.SetAuthHeader
// writes it, computed once per token, and makes tok the last token sent.
func (c *Cache) Header(tok *oauth2.Token) string {
	if h := c.header.Load(); h != nil && h.tok == tok {
		return h.value
	}
	h := &header{tok: tok, value: tok.Type() + " " + tok.AccessToken}
	c.header.Store(h)
	return h.value
}

// LastSent returns the last token whose Header was asked for, or nil.
func (c *Cache) LastSent() *oauth2.Token {
	if h := c.header.Load(); h != nil {
		return h.tok
	}
	return nil
}

// Now returns the time by the cache's clock.
func (c *Cache) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

// SetClock makes the cache read the time from now (tests move it into the
// renewal window).
func (c *Cache) SetClock(now func() time.Time) {
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
}

// Idle reports whether no fetch is running.
func (c *Cache) Idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight == nil
}

// Error is a failed token request, told on one line without the "billing:"
// prefix (the caller adds it with the operation). Its text and its cause hold
// no credential, whatever the token endpoint echoed: when the endpoint
// answered, the cause is a redacted copy of the *oauth2.RetrieveError
// (errors.As still finds its ErrorCode), never the original, which prints the
// body as it came.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// newError returns err as an Error, with secrets redacted.
func newError(err error, secrets []string) *Error {
	clean := func(s string) string { return scrub.Secrets(s, secrets) }
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		err = scrub.Error(err, secrets) // the cause would print a secret
		return &Error{msg: "getting an access token: " + scrub.OneLine(err.Error()), err: err}
	}
	c := &oauth2.RetrieveError{
		Response:         &http.Response{Status: scrub.OneLine(clean(re.Response.Status)), StatusCode: re.Response.StatusCode},
		Body:             []byte(clean(string(re.Body))),
		ErrorCode:        clean(re.ErrorCode),
		ErrorDescription: clean(re.ErrorDescription),
		ErrorURI:         clean(re.ErrorURI),
	}
	where := "the token endpoint"
	if re.Response.Request != nil {
		where = clean(re.Response.Request.URL.Redacted())
	}
	msg := fmt.Sprintf("getting an access token: %s answered %s", where, c.Response.Status)
	switch {
	case c.ErrorCode != "" && c.ErrorDescription != "":
		msg += ": " + scrub.OneLine(c.ErrorCode) + ": " + scrub.OneLine(c.ErrorDescription)
	case c.ErrorCode != "":
		msg += ": " + scrub.OneLine(c.ErrorCode)
	case len(c.Body) > 0:
		msg += fmt.Sprintf(": body %q", scrub.Excerpt(c.Body, 200))
	}
	return &Error{msg: msg, err: c}
}
