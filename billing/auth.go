package billing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenFetchTimeout bounds one token request made on behalf of all waiting callers.
const tokenFetchTimeout = 30 * time.Second

// expiryMargin is how long before its expiry a cached token is renewed. Tokens that
// live less than 4 margins are renewed after 3/4 of their life.
const expiryMargin = 30 * time.Second

// clientCredentials returns a fetch function doing the client-credentials grant as the
// Billing docs describe it: HTTP Basic authentication AND client_id in the form, the
// audience, and the scopes separated by spaces. Each call fetches a new token; the
// tokenCache decides when to call.
func clientCredentials(cfg *config) func(context.Context) (*oauth2.Token, error) {
	cc := &clientcredentials.Config{
		ClientID:     cfg.clientID,
		ClientSecret: cfg.clientSecret,
		TokenURL:     cfg.tokenURL,
		Scopes:       cfg.scopes,
		EndpointParams: url.Values{
			"audience":  {cfg.audience},
			"client_id": {cfg.clientID},
		},
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	hc := cfg.httpClient
	return func(ctx context.Context) (*oauth2.Token, error) {
		return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	}
}

// tokenCache hands out one cached token to all callers and fetches a new one when it
// is about to expire or was refused. Concurrent callers that find no valid token
// share a single fetch; each of them stops waiting when its own context ends.
type tokenCache struct {
	fetch func(context.Context) (*oauth2.Token, error)
	now   func() time.Time

	mu       sync.Mutex
	tok      *oauth2.Token
	renewAt  time.Time
	inflight *tokenCall
}

type tokenCall struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newTokenCache(fetch func(context.Context) (*oauth2.Token, error)) *tokenCache {
	return &tokenCache{fetch: fetch, now: time.Now}
}

// token returns a valid token, fetching one if needed.
func (c *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	if c.tok != nil && (c.renewAt.IsZero() || c.now().Before(c.renewAt)) {
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	call := c.inflight
	if call == nil {
		call = &tokenCall{done: make(chan struct{})}
		c.inflight = call
		// The fetch outlives a caller that gives up: others may be waiting on it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		go func() {
			defer cancel()
			c.run(fctx, call)
		}()
	}
	c.mu.Unlock()
	select {
	case <-call.done:
		return call.tok, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *tokenCache) run(ctx context.Context, call *tokenCall) {
	start := c.now()
	tok, err := c.fetch(ctx)
	switch {
	case err != nil:
		err = &tokenError{err}
	case tok == nil || tok.AccessToken == "":
		err = fmt.Errorf("billing: getting an access token: the token endpoint returned no access_token")
	}
	c.mu.Lock()
	if err == nil {
		c.tok = tok
		c.renewAt = renewTime(start, tok.Expiry)
	}
	c.inflight = nil
	c.mu.Unlock()
	call.tok, call.err = tok, err
	close(call.done)
}

// renewTime is when a token fetched at start and expiring at expiry is renewed.
func renewTime(start, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{} // never expires
	}
	life := expiry.Sub(start)
	if life < 4*expiryMargin {
		return start.Add(life * 3 / 4)
	}
	return expiry.Add(-expiryMargin)
}

// invalidate drops tok if it is still the cached token (a 401 refused it), so that the
// next call fetches a new one. A token another caller already replaced is left alone.
func (c *tokenCache) invalidate(tok *oauth2.Token) {
	c.mu.Lock()
	if c.tok == tok {
		c.tok = nil
	}
	c.mu.Unlock()
}

// tokenError is a failed token request, told on one line. It wraps the cause, an
// *oauth2.RetrieveError when the token endpoint answered.
type tokenError struct{ err error }

func (e *tokenError) Unwrap() error { return e.err }

func (e *tokenError) Error() string {
	var re *oauth2.RetrieveError
	if !errors.As(e.err, &re) || re.Response == nil || re.Response.Request == nil {
		return "billing: getting an access token: " + e.err.Error()
	}
	msg := fmt.Sprintf("billing: getting an access token: %s answered %s", re.Response.Request.URL.Redacted(), re.Response.Status)
	switch {
	case re.ErrorCode != "" && re.ErrorDescription != "":
		msg += ": " + oneLine(re.ErrorCode) + ": " + oneLine(re.ErrorDescription)
	case re.ErrorCode != "":
		msg += ": " + oneLine(re.ErrorCode)
	case len(re.Body) > 0:
		msg += fmt.Sprintf(": body %q", excerpt(re.Body, 200))
	}
	return msg
}
