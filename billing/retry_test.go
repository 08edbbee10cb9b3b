package billing

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// fault answers the first `times` API requests with a failure, then succeeds.
type fault struct {
	name   string
	times  int32
	answer func(w http.ResponseWriter) // nil: reset the connection after reading the request
}

func status(code int) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { writeError(w, code, "ERR", http.StatusText(code)) }
}

// reset closes the connection after the request was read: the server may have acted.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

func TestRetryTable(t *testing.T) {
	faults := []fault{
		{"500", 1, status(500)},
		{"502", 1, status(502)},
		{"503", 1, status(503)},
		{"504", 1, status(504)},
		{"429", 1, status(429)},
		{"reset after send", 1, nil},
	}
	for _, tc := range calls {
		for _, f := range faults {
			t.Run(tc.op+"/"+f.name, func(t *testing.T) {
				var n atomic.Int32
				api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
					if n.Add(1) <= f.times {
						if f.answer == nil {
							reset(w)
						} else {
							f.answer(w)
						}
						return
					}
					ok(w, r)
				})
				c, waits := api.client(t)
				err := tc.do(context.Background(), c)

				// Idempotent calls and 429s (nothing applied) are retried and succeed;
				// usage, charge at term and customer creation are never sent again after
				// a failure that the server may have acted on.
				retried := tc.idempotent || f.name == "429"
				wantRequests := int32(1)
				if retried {
					wantRequests = 2
				}
				if got := api.apiRequests.Load(); got != wantRequests {
					t.Errorf("requests = %d, want %d", got, wantRequests)
				}
				// net/http itself replays a GET whose reused connection was reset,
				// so a reset GET may need no backoff of ours.
				if len(*waits) != int(wantRequests-1) && (f.answer != nil || len(*waits) != 0) {
					t.Errorf("backoff waits = %v, want %d", *waits, wantRequests-1)
				}
				switch {
				case retried && err != nil:
					t.Errorf("error = %v, want success after a retry", err)
				case !retried && !errors.Is(err, ErrOutcomeUnknown):
					t.Errorf("error = %v, want ErrOutcomeUnknown", err)
				case !retried && f.answer != nil:
					var apiErr *APIError
					if !errors.As(err, &apiErr) || apiErr.Operation != tc.op {
						t.Errorf("error = %v, want it to wrap the APIError of %s", err, tc.op)
					}
				}
			})
		}
	}
}

func TestRetryConnectionRefused(t *testing.T) {
	// Nothing listens: the request cannot have been sent, so every operation,
	// usage and charge at term included, is retried until the attempts run out.
	api := newTestAPI(t, ok)
	for _, tc := range calls {
		c, waits := api.client(t, WithBaseURL(closedURL(t)))
		err := tc.do(context.Background(), c)
		var opErr *net.OpError
		if !errors.As(err, &opErr) || opErr.Op != "dial" {
			t.Errorf("%s: error = %v, want a dial error", tc.op, err)
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			t.Errorf("%s: a refused connection must not be outcome unknown: %v", tc.op, err)
		}
		if len(*waits) != DefaultMaxAttempts-1 {
			t.Errorf("%s: waits = %d, want %d", tc.op, len(*waits), DefaultMaxAttempts-1)
		}
	}
}

func TestRetryAttemptLimit(t *testing.T) {
	tests := []struct {
		attempts int
		status   int
	}{{1, 503}, {3, 503}, {5, 429}}
	for _, tt := range tests {
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) { status(tt.status)(w) })
		p := DefaultRetryPolicy()
		p.MaxAttempts = tt.attempts
		c, waits := api.client(t, WithRetryPolicy(p))
		err := calls[0].do(context.Background(), c)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
			t.Errorf("attempts %d: error = %v, want APIError %d", tt.attempts, err, tt.status)
		}
		if got := api.apiRequests.Load(); int(got) != tt.attempts {
			t.Errorf("attempts %d: requests = %d", tt.attempts, got)
		}
		if len(*waits) != tt.attempts-1 {
			t.Errorf("attempts %d: waits = %v", tt.attempts, *waits)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt, max := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		max *= time.Millisecond
		for range 50 {
			d := p.backoff(attempt + 1)
			if d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt+1, d, max/2, max)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		wantWaits  []time.Duration
		wantStatus int // 0: success
	}{
		{"seconds honoured", "2", []time.Duration{2 * time.Second}, 0},
		{"zero means now", "0", nil, 0},
		{"HTTP date honoured", "", nil, 0}, // filled below
		{"longer than MaxRetryAfter ends retries", "3600", nil, 429},
	}
	tests[2].header = time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.header)
					status(429)(w)
					return
				}
				ok(w, r)
			})
			p := DefaultRetryPolicy()
			p.MaxRetryAfter = 2 * time.Minute
			if tt.wantStatus == 429 {
				p.MaxRetryAfter = time.Minute
			}
			c, waits := api.client(t, WithRetryPolicy(p))
			err := calls[5].do(context.Background(), c) // usage: a 429 is safe to retry
			var apiErr *APIError
			switch {
			case tt.wantStatus == 0 && err != nil:
				t.Fatalf("error = %v", err)
			case tt.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.RetryAfter != time.Hour):
				t.Fatalf("error = %v, want an APIError with RetryAfter 1h", err)
			}
			switch tt.name {
			case "HTTP date honoured":
				if len(*waits) != 1 || (*waits)[0] < 80*time.Second || (*waits)[0] > 90*time.Second {
					t.Errorf("waits = %v, want about 90s", *waits)
				}
			case "zero means now":
				if len(*waits) != 1 || (*waits)[0] > DefaultBaseDelay {
					t.Errorf("waits = %v, want one backoff", *waits)
				}
			default:
				if len(*waits) != len(tt.wantWaits) || len(tt.wantWaits) > 0 && (*waits)[0] != tt.wantWaits[0] {
					t.Errorf("waits = %v, want %v", *waits, tt.wantWaits)
				}
			}
		})
	}
}

func TestContextEndsRetries(t *testing.T) {
	t.Run("cancel during backoff stops at once", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) { status(503)(w) })
		// The caller gives up right after the 503 arrives.
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if r.URL.Path != "/oauth2/token" {
				cancel()
			}
			return resp, err
		})}
		p := DefaultRetryPolicy()
		p.BaseDelay, p.MaxDelay = time.Hour, time.Hour // a real wait would hang the test
		c, _ := api.client(t, WithRetryPolicy(p), withSleep(sleepContext), WithHTTPClient(contracttest.Client(t, hc)))
		err := calls[0].do(ctx, c)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Errorf("error = %v, want it to carry the last 503", err)
		}
		if got := api.apiRequests.Load(); got != 1 {
			t.Errorf("requests = %d, want 1", got)
		}
	})
	t.Run("wait past the deadline is not started", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7200")
			status(429)(w)
		})
		p := DefaultRetryPolicy()
		p.MaxRetryAfter = 3 * time.Hour
		c, waits := api.client(t, WithRetryPolicy(p))
		err := calls[0].do(ctx, c)
		if err == nil || !strings.Contains(err.Error(), "after the context deadline") || len(*waits) != 0 {
			t.Fatalf("error = %v, waits = %v", err, *waits)
		}
	})
	t.Run("deadline while the server stalls", func(t *testing.T) {
		release := make(chan struct{})
		api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		defer close(release)
		for _, tc := range []call{calls[0], calls[5]} {
			// The deadline also covers the token fetch and the connection: it
			// must never end before the request is written (the outcome of the
			// usage call would then be known), even on a loaded machine. The
			// server holds the call until it ends, so it costs only time.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			c, _ := api.client(t)
			err := tc.do(ctx, c)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: error = %v, want DeadlineExceeded", tc.op, err)
			}
			if got := errors.Is(err, ErrOutcomeUnknown); got == tc.idempotent {
				t.Errorf("%s: outcome unknown = %v, want %v", tc.op, got, !tc.idempotent)
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryAfterLongerThanPolicyOn5xx(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		status(503)(w)
	})
	c, waits := api.client(t)
	err := calls[0].do(context.Background(), c)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.RetryAfter != time.Hour {
		t.Fatalf("error = %v, want the 503 with RetryAfter 1h", err)
	}
	if len(*waits) != 0 || api.apiRequests.Load() != 1 {
		t.Errorf("waits %v, requests %d: a Retry-After over MaxRetryAfter ends the retries", *waits, api.apiRequests.Load())
	}
}
