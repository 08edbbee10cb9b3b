package billing

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An idempotent call that may have been applied, retried, then refused: the
// refusal is only the retry's, and the error says so.
func TestRefusalAfterRetryTellsEarlierAttemptMayHaveApplied(t *testing.T) {
	drop := func(w http.ResponseWriter) {
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}
	tests := []struct {
		name     string
		first    func(w http.ResponseWriter)
		wantMay  bool
		wantText string
	}{
		{"502, then 409", func(w http.ResponseWriter) { writeError(w, 502, "BAD_GATEWAY", "upstream") }, true,
			"(attempt 2: an earlier attempt may have been applied)"},
		{"connection dropped, then 409", drop, true, "(attempt 2: an earlier attempt may have been applied)"},
		{"429, then 409", func(w http.ResponseWriter) { writeError(w, 429, "TOO_MANY_REQUESTS", "slow down") }, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					tt.first(w)
					return
				}
				writeError(w, 409, "COUPON_ALREADY_USED", "the coupon was used")
			})
			c, _ := api.client(t)
			err := calls[6].do(context.Background(), c) // updateSubscription, idempotent
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 409 {
				t.Fatalf("error = %v, want a 409 *APIError", err)
			}
			got := struct {
				Attempts int
				May      bool
			}{apiErr.Attempts, apiErr.MayHaveApplied()}
			if diff := cmp.Diff(struct {
				Attempts int
				May      bool
			}{2, tt.wantMay}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tt.wantText != "" && !strings.HasSuffix(err.Error(), tt.wantText) {
				t.Errorf("error %q does not end with %q", err, tt.wantText)
			}
			if !tt.wantMay && strings.Contains(err.Error(), "may have been applied") {
				t.Errorf("error %q says an earlier attempt may have been applied", err)
			}
		})
	}
}

func TestMayHaveApplied(t *testing.T) {
	for _, tt := range []struct {
		e    APIError
		want bool
	}{
		{APIError{StatusCode: 400, Attempts: 1}, false},
		{APIError{StatusCode: 404, Attempts: 3}, false},
		{APIError{StatusCode: 404, Attempts: 2, EarlierAttemptMayHaveApplied: true}, true},
		{APIError{StatusCode: 503, Attempts: 1}, true},
		{APIError{StatusCode: 303, Attempts: 1}, true},
		{APIError{StatusCode: 429, Attempts: 3}, false},
	} {
		if got := tt.e.MayHaveApplied(); got != tt.want {
			t.Errorf("%+v: MayHaveApplied = %v, want %v", tt.e, got, tt.want)
		}
	}
}

// resendingTransport re-sends a request on its own after a 5xx, as retrying
// round trippers (go-retryablehttp) do: it buffers the body first, whatever
// GetBody says.
type resendingTransport struct{ next http.RoundTripper }

func (rt resendingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	for try := 1; ; try++ {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := rt.next.RoundTrip(r)
		if try == 2 || err == nil && resp.StatusCode < 500 {
			return resp, err
		}
		if err == nil {
			resp.Body.Close()
		}
	}
}

func TestTransportThatResendsIsReported(t *testing.T) {
	for _, call := range calls {
		t.Run(call.op, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					writeError(w, 502, "BAD_GATEWAY", "upstream")
					return
				}
				ok(w, r)
			})
			c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: resendingTransport{api.Client().Transport}}),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			err := call.do(context.Background(), c)
			if call.idempotent {
				if err != nil {
					t.Errorf("idempotent: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrOutcomeUnknown) || !strings.Contains(err.Error(), "billing.resendingTransport") {
				t.Errorf("error = %v, want ErrOutcomeUnknown naming the transport", err)
			}
		})
	}
}

// A 401 on a non-idempotent call is replayed only when it says the token was
// refused; the token is dropped either way.
func TestUnauthorizedReplayOfNonIdempotentCallNeedsInvalidToken(t *testing.T) {
	for _, tt := range []struct {
		name      string
		challenge string
		wantErr   bool
	}{
		{"Bearer invalid_token", `Bearer realm="billing", error="invalid_token"`, false},
		{"no challenge", "", true},
		{"insufficient_scope", `Bearer error="insufficient_scope"`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "Bearer tok-1" {
					if tt.challenge != "" {
						w.Header().Set("WWW-Authenticate", tt.challenge)
					}
					writeError(w, 401, "UNAUTHORIZED", "refused")
					return
				}
				ok(w, r)
			})
			c, _ := api.client(t)
			err := calls[5].do(context.Background(), c)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if got := api.apiRequests.Load(); got != 1 {
					t.Errorf("API requests = %d, want 1 (not replayed)", got)
				}
				// The next call has a fresh token.
				if err := calls[5].do(context.Background(), c); err != nil {
					t.Errorf("next call: %v", err)
				}
			}
		})
	}
}

// bodyLogger reads the body before passing the request on once, as a logging
// or checking transport does: not a re-send.
type bodyLogger struct{ next http.RoundTripper }

func (rt bodyLogger) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return rt.next.RoundTrip(req)
	}
	body, _ := io.ReadAll(req.Body)
	req.Body.Close()
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	return rt.next.RoundTrip(r)
}

func TestTransportThatReadsTheBodyFirstIsNotAReSend(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t, WithHTTPClient(&http.Client{Transport: bodyLogger{api.Client().Transport}}))
	for _, call := range calls {
		if err := call.do(context.Background(), c); err != nil {
			t.Errorf("%s: %v", call.op, err)
		}
	}
}
