package contracttest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a testing.TB that records errors and cleanups instead of failing.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Logf(string, ...any)               {}
func (r *recorder) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }
func (r *recorder) finish() []string {
	for _, f := range r.cleanups {
		f()
	}
	return r.errors
}

// answer is a canned answer of the test server.
type answer struct {
	status      int
	contentType string
	body        string
}

func serve(t *testing.T, a answer) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if a.contentType != "" {
			w.Header().Set("Content-Type", a.contentType)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const usageOK = `{"item":{"usageQuantity":2}}`

func TestTransport(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		noToken    bool
		answer     answer
		exemptions []Exemption
		want       string // a substring of the one test error expected; "" for none
	}{
		{name: "valid", method: "POST", path: "/v1/subscriptions/s/items/i/usage", body: `{"usageQuantity":2}`,
			answer: answer{201, "application/json", usageOK}},
		{name: "invalid request body", method: "POST", path: "/v1/subscriptions/s/items/i/usage", body: `{"usageQuantity":0}`,
			answer: answer{201, "application/json", usageOK},
			want:   "setSubscriptionItemUsage (POST /v1/subscriptions/s/items/i/usage): request breaks the spec: usageQuantity: number must be more than 0"},
		{name: "missing query parameter", method: "GET", path: "/v1/invoices?id=s&type=subscription&offset=0",
			answer: answer{200, "application/json", `{"total":0}`},
			want:   "request breaks the spec: query parameter limit: value is required but missing"},
		{name: "fractional limit is valid", method: "GET", path: "/v1/invoices?id=s&type=subscription&offset=0.5&limit=2.5",
			answer: answer{200, "application/json", `{"total":1.5e9}`}},
		{name: "no token", method: "GET", path: "/v1/invoices/i/download", noToken: true,
			answer: answer{200, "application/json", `{"item":{"downloadUrl":"https://example.com/x.pdf","validTill":1.7e9}}`},
			want:   "request breaks the spec: no bearer token"},
		{name: "answer misses a required field", method: "GET", path: "/v1/invoices/i/download",
			answer: answer{200, "application/json", `{"item":{"downloadUrl":"https://example.com/x.pdf"}}`},
			want:   "getInvoiceDownload (GET /v1/invoices/i/download): 200 answer breaks the spec: response field item.validTill"},
		{name: "2xx the operation does not declare", method: "GET", path: "/v1/invoices/i/download",
			answer: answer{202, "application/json", `{}`},
			want:   "202 answer breaks the spec"},
		{name: "declared error status, not JSON", method: "GET", path: "/v1/invoices/i/download",
			answer: answer{404, "text/plain", "not found"},
			want:   "404 answer breaks the spec"},
		{name: "declared error status, spec body", method: "GET", path: "/v1/invoices/i/download",
			answer: answer{404, "application/json", `{"statusCode":404.0,"errorCode":"INVOICE_NOT_FOUND"}`}},
		{name: "undeclared 503 is not checked", method: "GET", path: "/v1/invoices/i/download",
			answer: answer{503, "text/html", "<h1>down</h1>"}},
		{name: "not an operation", method: "POST", path: "/oauth2/token", body: "grant_type=client_credentials", noToken: true,
			answer: answer{200, "text/plain", "anything"}},
		{name: "exempt answer", method: "GET", path: "/v1/invoices/i/download",
			answer:     answer{200, "text/plain", "oops"},
			exemptions: []Exemption{OffSpecAnswers("the server answers text on purpose")}},
		{name: "exempt request", method: "POST", path: "/v1/subscriptions/s/items/i/usage", body: `{"usageQuantity":-1}`,
			answer:     answer{201, "application/json", usageOK},
			exemptions: []Exemption{OffSpecRequests("sends a negative usage on purpose")}},
		{name: "exemption not needed", method: "POST", path: "/v1/subscriptions/s/items/i/usage", body: `{"usageQuantity":1}`,
			answer:     answer{201, "application/json", usageOK},
			exemptions: []Exemption{OffSpecRequests("stale")},
			want:       `OffSpecRequests("stale") was not needed`},
		{name: "request exemption does not cover answers", method: "POST", path: "/v1/subscriptions/s/items/i/usage", body: `{"usageQuantity":-1}`,
			answer:     answer{201, "application/json", `{"item":{}}`},
			exemptions: []Exemption{OffSpecRequests("sends a negative usage on purpose")},
			want:       "201 answer breaks the spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.answer)
			rec := &recorder{TB: t}
			hc := Client(rec, srv.Client(), tt.exemptions...)
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if !tt.noToken {
				req.Header.Set("Authorization", "Bearer tok")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if string(got) != tt.answer.body || resp.StatusCode != tt.answer.status {
				t.Errorf("caller got %d %q, want %d %q", resp.StatusCode, got, tt.answer.status, tt.answer.body)
			}
			errs := rec.finish()
			switch {
			case tt.want == "" && len(errs) > 0:
				t.Errorf("test errors:\n%s\nwant none", strings.Join(errs, "\n"))
			case tt.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tt.want)):
				t.Errorf("test errors:\n%s\nwant one containing %q", strings.Join(errs, "\n"), tt.want)
			}
		})
	}
}

// The server gets the request body as sent, whether or not the request can
// replay it (GetBody).
func TestRequestBodyReachesServer(t *testing.T) {
	for _, replayable := range []bool{true, false} {
		var got string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got = string(b)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, usageOK)
		}))
		rec := &recorder{TB: t}
		hc := Client(rec, srv.Client())
		const sent = `{"usageQuantity":3}`
		req, _ := http.NewRequest("POST", srv.URL+"/v1/subscriptions/s/items/i/usage", strings.NewReader(sent))
		if !replayable {
			req.GetBody = nil
			req.Body = io.NopCloser(strings.NewReader(sent))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		srv.Close()
		if got != sent {
			t.Errorf("replayable %v: server got %q, want %q", replayable, got, sent)
		}
		if errs := rec.finish(); len(errs) > 0 {
			t.Errorf("replayable %v: %v", replayable, errs)
		}
	}
}

// roundTripFunc is an http.RoundTripper of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The base transport sees whether the request can be replayed (GetBody) as the
// caller made it: the SDK leaves GetBody nil on non-idempotent calls so that
// net/http never re-sends them, and the check must not undo that.
func TestGetBodyUnchanged(t *testing.T) {
	srv := serve(t, answer{201, "application/json", usageOK})
	for _, replayable := range []bool{true, false} {
		var sawGetBody bool
		base := srv.Client().Transport
		rec := &recorder{TB: t}
		hc := Client(rec, &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sawGetBody = r.GetBody != nil
			return base.RoundTrip(r)
		})})
		req, _ := http.NewRequest("POST", srv.URL+"/v1/subscriptions/s/items/i/usage", strings.NewReader(`{"usageQuantity":3}`))
		if !replayable {
			req.GetBody = nil
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if sawGetBody != replayable {
			t.Errorf("caller's GetBody set %v: the base transport saw it set %v", replayable, sawGetBody)
		}
		if errs := rec.finish(); len(errs) > 0 {
			t.Errorf("%v", errs)
		}
	}
}

// An answer larger than MaxCheckedBody streams through whole and unchecked, even
// without a Content-Length.
func TestLargeAnswerStreamsThrough(t *testing.T) {
	big := `{"total":1,"pad":"` + strings.Repeat("x", MaxCheckedBody) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain") // breaks the spec: would be reported if checked
		w.WriteHeader(200)
		for i := 0; i < len(big); i += 1 << 16 {
			_, _ = io.WriteString(w, big[i:min(i+1<<16, len(big))])
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	hc := Client(rec, srv.Client())
	req, _ := http.NewRequest("GET", srv.URL+"/v1/invoices?id=s&type=subscription&limit=1&offset=0", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || string(got) != big {
		t.Errorf("read %d bytes (%v), want the %d sent", len(got), err, len(big))
	}
	if errs := rec.finish(); len(errs) > 0 {
		t.Errorf("reported: %v", errs)
	}
}

// An answer cut off mid-body reaches the caller with the same read error, and is
// not reported: it is a transport fault, not a spec matter.
func TestCutAnswerPassesThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"item":{"downloadUrl":`)
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	hc := Client(rec, srv.Client())
	req, _ := http.NewRequest("GET", srv.URL+"/v1/invoices/i/download", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err == nil || string(got) != `{"item":{"downloadUrl":` {
		t.Errorf("read %q, %v; want the partial body and an error", got, err)
	}
	if errs := rec.finish(); len(errs) > 0 {
		t.Errorf("reported: %v", errs)
	}
}

func TestCheckedAndViolations(t *testing.T) {
	srv := serve(t, answer{201, "application/json", `{"item":{"usageQuantity":-2}}`})
	var reported []string
	tr := NewFunc(srv.Client().Transport, func(v Violation) { reported = append(reported, v.Operation) })
	hc := &http.Client{Transport: tr}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/subscriptions/s/items/i/usage", strings.NewReader(`{"usageQuantity":2}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if r, a := tr.Checked(); r != 1 || a != 1 {
		t.Errorf("Checked() = %d, %d, want 1, 1", r, a)
	}
	if diff := cmp.Diff([]string{"setSubscriptionItemUsage"}, reported); diff != "" {
		t.Errorf("reported (-want +got):\n%s", diff)
	}
	if vs := tr.Violations(); len(vs) != 1 || vs[0].Status != 201 {
		t.Errorf("Violations() = %v", vs)
	}
}
