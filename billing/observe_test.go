package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/logscan"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
	"github.com/prestashopcorp/billing-sdk-go/internal/token"
)

// traceObserver writes down, as lines, what an Observer is told, and checks that
// the context each step returns reaches the next ones.
type traceObserver struct {
	mu    sync.Mutex
	lines []string
}

type obsKey struct{}

func (o *traceObserver) add(format string, args ...any) {
	o.mu.Lock()
	o.lines = append(o.lines, fmt.Sprintf(format, args...))
	o.mu.Unlock()
}

func (o *traceObserver) StartCall(ctx context.Context, c *Call) context.Context {
	o.add("call %s %s %s", c.Operation, c.Method, c.Route)
	return context.WithValue(ctx, obsKey{}, "call")
}

func (o *traceObserver) StartAttempt(ctx context.Context, c *Call, a *Attempt) context.Context {
	o.add("attempt %d (in %v)", a.Number, ctx.Value(obsKey{}))
	return context.WithValue(ctx, obsKey{}, fmt.Sprintf("attempt %d", a.Number))
}

func (o *traceObserver) EndAttempt(ctx context.Context, c *Call, a *Attempt) {
	o.add("end attempt %d (in %v): status %d, error %q, retried %t", a.Number, ctx.Value(obsKey{}), a.StatusCode, a.ErrorType, a.Retried)
}

func (o *traceObserver) Event(ctx context.Context, c *Call, e Event) {
	wait := e.Wait.String()
	if e.Kind == EventRetry && e.Wait > 0 {
		wait = "jittered" // the backoff's
	}
	o.add("event %s after attempt %d (in %v), wait %s, error %q", e.Kind, e.Attempt, ctx.Value(obsKey{}), wait, ErrorType(e.Err))
}

func (o *traceObserver) EndCall(ctx context.Context, c *Call) {
	o.add("end call (in %v): %d attempts, status %d, error %q, unknown %t", ctx.Value(obsKey{}), c.Attempts, c.StatusCode, c.ErrorType, c.OutcomeUnknown)
}

// attemptSeen is an http.RoundTripper that writes down the observer's context
// value each request carries.
type attemptSeen struct {
	next http.RoundTripper
	seen *[]any
}

func (t attemptSeen) RoundTrip(r *http.Request) (*http.Response, error) {
	*t.seen = append(*t.seen, r.Context().Value(obsKey{}))
	return t.next.RoundTrip(r)
}

const secretEcho = "s3cret"

// TestObserverAndLoggerSeeEachAttemptAndEvent runs calls that are retried,
// replayed after a 401, end with an unknown outcome or a Retry-After beyond the
// cap, or fail to get a token, with servers that echo what the request carried
// (the Authorization header, the customer's e-mail, the client secret). It checks
// what the Observer is told, which contexts the requests carry, which records the
// logger gets at info and warn, and that no record holds a secret.
func TestObserverAndLoggerSeeEachAttemptAndEvent(t *testing.T) {
	usage := func(ctx context.Context, c *Client) error {
		_, err := c.SetSubscriptionItemUsage(ctx, "s", "i", gen.UsageInput{UsageQuantity: 5})
		return err
	}
	quantity := func(ctx context.Context, c *Client) error {
		_, err := c.SetSubscriptionItemQuantity(ctx, "s", "i", gen.QuantityInput{Quantity: 3})
		return err
	}
	customer := func(ctx context.Context, c *Client) error {
		_, err := c.AddCustomer(ctx, gen.CustomerInput{ID: "u", Email: "merchant@example.com", Locale: gen.Fr, Type: gen.User})
		return err
	}
	tests := []struct {
		name       string
		answers    []func(w http.ResponseWriter, r *http.Request) // one per API request, the last one repeated
		token      func(w http.ResponseWriter, r *http.Request) bool
		call       func(context.Context, *Client) error
		want       []string
		wantSeen   []any
		wantLogged []string // records above debug
		wantDebug  int
	}{{
		name: "retried after a 503",
		answers: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-1")
				writeError(w, 503, "UNAVAILABLE", "down for "+r.Header.Get("Authorization"))
			},
			ok,
		},
		call: quantity,
		want: []string{
			"call setSubscriptionItemQuantity PUT /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/quantity",
			"attempt 1 (in call)",
			`end attempt 1 (in attempt 1): status 503, error "503", retried true`,
			`event retry after attempt 1 (in call), wait jittered, error "503"`,
			"attempt 2 (in call)",
			`end attempt 2 (in attempt 2): status 200, error "", retried false`,
			`end call (in call): 2 attempts, status 200, error "", unknown false`,
		},
		wantSeen:  []any{"call", "attempt 1", "attempt 2"},
		wantDebug: 2,
	}, {
		name: "401 replayed with a new token",
		answers: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`) // addCustomer is replayed only then
				writeError(w, 401, "UNAUTHORIZED", "token "+r.Header.Get("Authorization")+" expired")
			},
			ok,
		},
		call: customer,
		want: []string{
			"call addCustomer POST /v1/customers",
			"attempt 1 (in call)",
			`end attempt 1 (in attempt 1): status 401, error "401", retried true`,
			`event token_refused after attempt 1 (in call), wait 0s, error "401"`,
			"attempt 2 (in call)",
			`end attempt 2 (in attempt 2): status 201, error "", retried false`,
			`end call (in call): 2 attempts, status 201, error "", unknown false`,
		},
		wantSeen:   []any{"call", "attempt 1", "call", "attempt 2"}, // a new token before the replay
		wantLogged: []string{"INFO billing: token refused (401), sending again with a new token"},
		wantDebug:  2,
	}, {
		name: "unknown outcome after a 502 quoting the customer",
		answers: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				writeError(w, 502, "BAD_GATEWAY", "upstream failed for merchant@example.com")
			},
		},
		call: customer,
		want: []string{
			"call addCustomer POST /v1/customers",
			"attempt 1 (in call)",
			`end attempt 1 (in attempt 1): status 502, error "502", retried false`,
			`event outcome_unknown after attempt 1 (in call), wait 0s, error "502"`,
			`end call (in call): 1 attempts, status 502, error "502", unknown true`,
		},
		wantSeen:   []any{"call", "attempt 1"},
		wantLogged: []string{"WARN billing: outcome unknown; the call was not sent again, reconcile before sending it again"},
		wantDebug:  1,
	}, {
		name: "Retry-After beyond the cap",
		answers: []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				writeError(w, 429, "TOO_MANY", "slow down")
			},
		},
		call: usage,
		want: []string{
			"call setSubscriptionItemUsage POST /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/usage",
			"attempt 1 (in call)",
			`event retry_after_too_long after attempt 1 (in call), wait 1h0m0s, error "429"`,
			`end attempt 1 (in attempt 1): status 429, error "429", retried false`,
			`end call (in call): 1 attempts, status 429, error "429", unknown false`,
		},
		wantSeen:   []any{"call", "attempt 1"},
		wantLogged: []string{"WARN billing: Retry-After longer than the retry policy waits; not retried"},
		wantDebug:  1,
	}, {
		name: "token endpoint echoing the secret",
		token: func(w http.ResponseWriter, r *http.Request) bool {
			_, pass, _ := r.BasicAuth()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"secret %s is wrong"}`, pass)
			return true
		},
		call:     usage,
		wantSeen: []any{"call"},
		want: []string{
			"call setSubscriptionItemUsage POST /v1/subscriptions/{subscriptionId}/items/{subscriptionItemId}/usage",
			`end call (in call): 0 attempts, status 0, error "token", unknown false`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				tt.answers[min(i, len(tt.answers)-1)](w, r)
			})
			if tt.token != nil {
				inner := api.Config.Handler
				api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/oauth2/token" && tt.token(w, r) {
						return
					}
					inner.ServeHTTP(w, r)
				})
			}
			obs := &traceObserver{}
			scan, logged := &logscan.Scan{}, &logscan.Messages{}
			var seen []any
			c, _ := api.client(t, WithObserver(obs),
				WithLogger(slog.New(scan.Handler(logged, secretEcho))),
				WithHTTPClient(&http.Client{Transport: attemptSeen{http.DefaultTransport, &seen}}))
			_ = tt.call(context.Background(), c)
			if diff := cmp.Diff(tt.want, obs.lines); diff != "" {
				t.Errorf("observer (-want +got):\n%s", diff)
			}
			// The token requests run in the call's context, the attempts in theirs.
			if diff := cmp.Diff(tt.wantSeen, seen); diff != "" {
				t.Errorf("contexts of the requests sent (-want +got):\n%s", diff)
			}
			var above []string
			debug := 0
			for _, r := range logged.Lines() {
				if strings.HasPrefix(r, "DEBUG ") {
					debug++
				} else {
					above = append(above, r)
				}
			}
			if diff := cmp.Diff(tt.wantLogged, above); diff != "" {
				t.Errorf("records at info and above (-want +got):\n%s", diff)
			}
			if debug != tt.wantDebug {
				t.Errorf("%d debug records, want one per attempt: %d", debug, tt.wantDebug)
			}
			if leaks := scan.Leaks(); len(leaks) > 0 {
				t.Errorf("records hold secrets:\n%s", strings.Join(leaks, "\n"))
			}
		})
	}
}

// TestLoggerRedactsWhatErrorsQuote checks the records of errors that quote an
// Authorization value, the access token, the client secret or an e-mail address.
func TestLoggerRedactsWhatErrorsQuote(t *testing.T) {
	d := &doer{tokens: token.NewCache(nil), creds: scrub.CredentialForms("id", "hunter22")}
	d.tokens.Header(&oauth2.Token{AccessToken: "opaque-token-value"})
	l := &logObserver{doer: d}
	for _, text := range []string{
		"billing: x: 401: token Bearer tok-1 expired",
		`header "basic Y2xpZW50OnNlY3JldA=="`,
		"the token opaque-token-value is refused",
		"secret hunter22 is wrong",
		"customer merchant@example.com exists",
		"to a.b+c@mail.example.co.uk, then",
	} {
		got := l.redact(text)
		if leak := logscan.Leak(got, "hunter22"); leak != "" || strings.Contains(got, "opaque-token-value") {
			t.Errorf("redact(%q) = %q, which holds %s", text, got, leak)
		}
		if !strings.Contains(got, "[redacted]") {
			t.Errorf("redact(%q) = %q: nothing redacted", text, got)
		}
	}
	if got := scrub.Text("no secret @ here, user@localhost"); got != "no secret @ here, user@localhost" {
		t.Errorf("scrub.Text changed a text with no e-mail address: %q", got)
	}
}

// TestLoggerWarnsWhenRenewalFailsAndTheTokenIsKept renews a token in its renewal
// window while the token endpoint fails: the call goes on with the cached token,
// and the failure is logged at warn.
func TestLoggerWarnsWhenRenewalFailsAndTheTokenIsKept(t *testing.T) {
	api := newTestAPI(t, ok)
	failing := failTokenRequests(api, map[string]string{"error": "invalid_scope", "error_description": "client s3cret refused"})
	warned := make(chan slog.Record, 1)
	var scan logscan.Scan
	h := scan.Handler(handlerFunc(func(r slog.Record) {
		if r.Level == slog.LevelWarn {
			warned <- r
		}
	}), secretEcho)
	c, _ := api.client(t, WithLogger(slog.New(h)))
	if err := calls[4].do(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	enterRenewalWindow(c)
	failing.Store(true)
	if err := calls[4].do(context.Background(), c); err != nil {
		t.Fatalf("call in the renewal window: %v", err)
	}
	r := <-warned
	if want := "billing: renewing the access token failed; the current token is used until it expires"; r.Message != want {
		t.Errorf("warning %q, want %q", r.Message, want)
	}
	if leaks := scan.Leaks(); len(leaks) > 0 {
		t.Errorf("records hold secrets:\n%s", strings.Join(leaks, "\n"))
	}
}

// failTokenRequests makes api's token endpoint answer 400 with body once the
// returned flag is set.
func failTokenRequests(api *testAPI, body map[string]string) *atomic.Bool {
	inner := api.Config.Handler
	failing := &atomic.Bool{}
	api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" && failing.Load() {
			writeJSON(w, 400, body)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return failing
}

// enterRenewalWindow sets c's token clock one second before its cached token
// expires: in the renewal window, the next call renews it in the background.
func enterRenewalWindow(c *Client) {
	tok, _ := c.Token(context.Background())
	c.doer.tokens.SetClock(func() time.Time { return tok.Expiry.Add(-time.Second) })
}

type handlerFunc func(slog.Record)

func (f handlerFunc) Enabled(context.Context, slog.Level) bool { return true }
func (f handlerFunc) Handle(_ context.Context, r slog.Record) error {
	f(r)
	return nil
}
func (f handlerFunc) WithAttrs([]slog.Attr) slog.Handler { return f }
func (f handlerFunc) WithGroup(string) slog.Handler      { return f }

// TestRecordResponseKeepsWhatBillingAnswered checks the answer's status, headers
// and attempts recorded with RecordResponse, after a success and after a failure,
// and the headers an APIError keeps.
func TestRecordResponseKeepsWhatBillingAnswered(t *testing.T) {
	var n atomic.Int32
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", n.Add(1)))
		w.Header().Set("Set-Cookie", "session=abc")
		if r.URL.Path == "/v1/invoices/missing/download" {
			writeError(w, 404, "NOT_FOUND", "no invoice")
			return
		}
		if n.Load() == 1 {
			writeError(w, 503, "UNAVAILABLE", "retry")
			return
		}
		ok(w, r)
	})
	c, _ := api.client(t)

	var info ResponseInfo
	if _, err := c.GetInvoiceDownload(context.Background(), "inv-1", RecordResponse(&info)); err != nil {
		t.Fatal(err)
	}
	if info.StatusCode != 200 || info.Attempts != 2 || info.RequestID() != "req-2" || info.Duration <= 0 {
		t.Errorf("after a retried success: %+v, request id %q; want status 200, 2 attempts, req-2", info, info.RequestID())
	}

	info = ResponseInfo{}
	_, err := c.GetInvoiceDownload(context.Background(), "missing", RecordResponse(&info))
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v, want an *APIError", err)
	}
	if got := RequestID(apiErr.Header); got != "req-3" {
		t.Errorf("APIError request id %q, want req-3", got)
	}
	if _, ok := apiErr.Header["Set-Cookie"]; ok {
		t.Errorf("APIError.Header keeps Set-Cookie: %v", apiErr.Header)
	}
	if info.StatusCode != 404 || info.Attempts != 1 || info.RequestID() != "req-3" {
		t.Errorf("after a 404: %+v, want status 404, 1 attempt, req-3", info)
	}
}

// TestRequestIDHeaders checks the headers RequestID reads.
func TestRequestIDHeaders(t *testing.T) {
	for _, tt := range []struct {
		h    http.Header
		want string
	}{
		{nil, ""},
		{http.Header{"X-Request-Id": {"a"}, "Cf-Ray": {"b"}}, "a"},
		{http.Header{"X-Correlation-Id": {"c"}}, "c"},
		{http.Header{"X-Amzn-Requestid": {"d"}}, "d"},
	} {
		if got := RequestID(tt.h); got != tt.want {
			t.Errorf("RequestID(%v) = %q, want %q", tt.h, got, tt.want)
		}
	}
}
