package billing

import (
	"cmp"
	"context"
	"math/rand/v2"
	"time"
)

// Retry defaults. Change them per client with WithRetryPolicy.
const (
	DefaultMaxAttempts   = 3                      // attempts in all, the first included
	DefaultBaseDelay     = 250 * time.Millisecond // backoff before the second attempt
	DefaultMaxDelay      = 10 * time.Second       // cap of the exponential backoff
	DefaultMaxRetryAfter = 60 * time.Second       // longest Retry-After honoured
)

// RetryPolicy says when and how often a failed call is sent again.
//
// Idempotent operations (GET, PUT, PATCH and POST /v1/estimates; the spec's
// x-idempotent) are retried after a network error, a 429, a 5xx, or a 2xx answer
// cut short. Non-idempotent ones (usage, charge at term, customer creation) are
// retried only when the server cannot have acted on the request: no connection
// could be made (DNS, dial, TLS), the request was not completely written, or a
// 429 answer. For them:
//   - a 5xx or 3xx answer, a connection lost after the request was written, the
//     context ending after it was written, and a 2xx answer that cannot be read
//     return an error wrapping ErrOutcomeUnknown;
//   - any other 4xx answer (400, 401, 403, 404, ...) is an *APIError that does not
//     wrap it: the server refused the call;
//   - failures before sending (invalid request, token request failed) do not wrap it.
//
// A 401 drops the token, and the call is replayed once with a fresh one: any
// idempotent call, and a non-idempotent one when the answer says the token was
// refused (WWW-Authenticate: Bearer error="invalid_token") or the token was about
// to expire. No redirect is ever followed: a 3xx is an *APIError (with its
// Location), never retried. An *APIError after a retry tells its Attempts, and
// MayHaveApplied reports whether an earlier attempt may have been carried out.
//
// The delay before attempt n+1 is BaseDelay*2^(n-1), capped at MaxDelay, with
// jitter (between half and all of it); a Retry-After header of at most MaxRetryAfter
// replaces it. A longer Retry-After ends the retries: the *APIError carries it. Waits
// stop at once when the context ends, and a wait that would outlast the context's
// deadline is not started. Token requests are retried with the same policy after a
// network error, a 429 or a 5xx.
//
// A zero MaxDelay or MaxRetryAfter takes the default (DefaultMaxDelay,
// DefaultMaxRetryAfter), so that a policy that sets only some fields still backs
// off; a zero BaseDelay means no wait.
type RetryPolicy struct {
	MaxAttempts   int           // attempts in all, at least 1; 1 disables retries
	BaseDelay     time.Duration // first backoff
	MaxDelay      time.Duration // backoff cap; 0: DefaultMaxDelay
	MaxRetryAfter time.Duration // longest Retry-After waited for; 0: DefaultMaxRetryAfter
}

// withDefaults returns p with its zero MaxDelay and MaxRetryAfter set to the defaults.
func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxDelay = cmp.Or(max(p.MaxDelay, 0), DefaultMaxDelay)
	p.MaxRetryAfter = cmp.Or(max(p.MaxRetryAfter, 0), DefaultMaxRetryAfter)
	return p
}

// DefaultRetryPolicy returns the policy clients use unless WithRetryPolicy is given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: DefaultMaxAttempts, BaseDelay: DefaultBaseDelay, MaxDelay: DefaultMaxDelay, MaxRetryAfter: DefaultMaxRetryAfter}
}

// backoff returns the jittered delay after the given failed attempt (1-based).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	if d = min(d, p.MaxDelay); d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleepContext waits for d or until ctx ends.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d > 0 {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}
