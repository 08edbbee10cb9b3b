package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// audience, and the scopes separated by spaces. Each call fetches a new token, trying
// again with the client's retry policy after a network error, a 429 or a 5xx (never
// after another answer, such as 400 invalid_scope or 401 invalid_client); the
// tokenCache decides when to call. The HTTP client never follows redirects.
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
	hc, policy, sleep := cfg.httpClient, cfg.retry, cfg.sleep
	if sleep == nil {
		sleep = sleepContext
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, hc)
		for attempt := 1; ; attempt++ {
			tok, err := cc.Token(ctx)
			if err == nil || attempt >= policy.MaxAttempts || ctx.Err() != nil || !retryableTokenError(err) {
				if err != nil {
					// The endpoint may echo the credentials: never print them.
					err = newTokenError(err, credentialForms(cfg.clientID, cfg.clientSecret))
				}
				return tok, err
			}
			if err := sleep(ctx, policy.backoff(attempt)); err != nil {
				return nil, err
			}
		}
	}
}

// retryableTokenError reports whether a token request that failed with err may
// succeed if sent again: a network error, a 429 or a 5xx.
func retryableTokenError(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		var ue *url.Error
		return errors.As(err, &ue) // no answer: a network error
	}
	if re.Response == nil {
		return false
	}
	code := re.Response.StatusCode
	return code == 429 || code >= 500
}

// tokenCache hands out one cached token to all callers and fetches a new one when it
// is about to expire or was refused. Concurrent callers that find no valid token
// share a single fetch; each of them stops waiting when its own context ends. In
// the renewal window before expiry, callers keep getting the cached token while one
// fetch renews it in the background; if that fetch fails, the token is used until
// it really expires.
type tokenCache struct {
	fetch func(context.Context) (*oauth2.Token, error)
	now   func() time.Time

	mu       sync.Mutex
	tok      *oauth2.Token
	renewAt  time.Time
	inflight *tokenCall

	renewalFailed func(context.Context, error) // observe: nil unless observed
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
	now := c.now()
	if c.tok != nil && (c.renewAt.IsZero() || now.Before(c.renewAt)) {
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
	if c.tok != nil && (c.tok.Expiry.IsZero() || now.Before(c.tok.Expiry)) {
		// Renewal window: the cached token is still good while the fetch runs.
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
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
		var te *tokenError
		if !errors.As(err, &te) {
			err = newTokenError(err, nil)
		}
	case tok == nil || tok.AccessToken == "":
		err = errors.New("getting an access token: the token endpoint returned no access_token")
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
	c.observeRenewal(ctx, err) // observe
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

// tokenError is a failed token request, told on one line without the "billing:"
// prefix (the caller adds it with the operation). Its text and its cause hold no
// credential, whatever the token endpoint echoed: when the endpoint answered, the
// cause is a redacted copy of the *oauth2.RetrieveError (errors.As still finds
// its ErrorCode), never the original, which prints the body as it came.
type tokenError struct {
	msg string
	err error
}

func (e *tokenError) Error() string { return e.msg }
func (e *tokenError) Unwrap() error { return e.err }

// newTokenError returns err as a tokenError, with secrets redacted.
func newTokenError(err error, secrets []string) *tokenError {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		msg := "getting an access token: " + oneLine(redact(err.Error(), secrets))
		if redact(fmt.Sprintf("%+v", err), secrets) != fmt.Sprintf("%+v", err) {
			err = errors.New(msg) // the cause would print a secret
		}
		return &tokenError{msg: msg, err: err}
	}
	clean := func(s string) string { return redact(s, secrets) }
	c := &oauth2.RetrieveError{
		Response:         &http.Response{Status: oneLine(clean(re.Response.Status)), StatusCode: re.Response.StatusCode},
		Body:             []byte(clean(string(re.Body))),
		ErrorCode:        clean(re.ErrorCode),
		ErrorDescription: clean(re.ErrorDescription),
		ErrorURI:         clean(re.ErrorURI),
	}
	where := "the token endpoint"
	if re.Response.Request != nil {
		where = re.Response.Request.URL.Redacted()
	}
	msg := fmt.Sprintf("getting an access token: %s answered %s", where, c.Response.Status)
	switch {
	case c.ErrorCode != "" && c.ErrorDescription != "":
		msg += ": " + oneLine(c.ErrorCode) + ": " + oneLine(c.ErrorDescription)
	case c.ErrorCode != "":
		msg += ": " + oneLine(c.ErrorCode)
	case len(c.Body) > 0:
		msg += fmt.Sprintf(": body %q", excerpt(c.Body, 200))
	}
	return &tokenError{msg: msg, err: c}
}
