package faultmatrix

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
)

// gateway is a hostile HTTP front end in front of the fake (over HTTP/1.1): it
// forwards each request, or answers it as its next scripted fault says (echo
// the credentials, refuse a retry of an applied call, compress the answer, lie
// about its length). It records every bearer token it sees, so that the
// matrix looks for each of them in the errors.
type gateway struct {
	srv    *httptest.Server
	target string
	fwd    *http.Transport

	mu     sync.Mutex
	faults []gatewayFault
	tokens []string
}

// gatewayFault answers the next request to the token endpoint (token) or to
// the API (else).
type gatewayFault struct {
	token  bool
	answer func(g *gateway, w http.ResponseWriter, r *http.Request, body []byte)
}

func newGateway(target string) *gateway {
	g := &gateway{target: target, fwd: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

func (g *gateway) Close() {
	g.srv.Close()
	g.fwd.CloseIdleConnections()
}

func (g *gateway) fault(fs ...gatewayFault) {
	g.mu.Lock()
	g.faults = append(g.faults, fs...)
	g.mu.Unlock()
}

func (g *gateway) seenTokens() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.tokens...)
}

func (g *gateway) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	isToken := r.URL.Path == "/oauth2/token"
	g.mu.Lock()
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		g.tokens = append(g.tokens, tok)
	}
	var f *gatewayFault
	if len(g.faults) > 0 && g.faults[0].token == isToken {
		f = &g.faults[0]
		g.faults = g.faults[1:]
	}
	g.mu.Unlock()
	if f != nil {
		f.answer(g, w, r, body)
		return
	}
	if resp, b, err := g.forward(r, body); err == nil { //nolint:bodyclose // forward read and closed it
		writeAnswer(w, resp, b)
	} else {
		w.WriteHeader(http.StatusBadGateway)
	}
}

// forward sends the request to the fake and returns its answer, read whole.
func (g *gateway) forward(r *http.Request, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, g.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Accept-Encoding")
	resp, err := g.fwd.RoundTrip(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func writeAnswer(w http.ResponseWriter, resp *http.Response, body []byte) {
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// writeRaw writes an answer byte for byte (a status line net/http would not
// write, a Content-Length that lies), then closes the connection.
func writeRaw(w http.ResponseWriter, statusLine, contentType string, contentLength int64, body []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(buf, "%s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", statusLine, contentType, contentLength)
	_, _ = buf.Write(body)
	_ = buf.Flush()
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// basicForms are the forms of the fake's client credentials a token endpoint
// may echo: no error may show any of them.
func basicForms() []string {
	id, secret := billingtest.DefaultClientID, billingtest.DefaultClientSecret
	return []string{
		secret, url.QueryEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(id + ":" + secret)),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret))),
	}
}

// Gateway answers.
var (
	// A token endpoint's refusal echoing the request's Basic credentials and the
	// secret, with escape sequences in its reason phrase.
	echoBasicInJSON = func(_ *gateway, w http.ResponseWriter, r *http.Request, body []byte) {
		b := jsonBody(map[string]string{"error": "invalid_client",
			"error_description": "refused " + r.Header.Get("Authorization") + " (secret " + billingtest.DefaultClientSecret + ") form " + string(body)})
		writeRaw(w, "HTTP/1.1 401 Refused \x1b[31mcredentials\x1b[0m\r", "application/json", int64(len(b)), b)
	}
	// A gateway's text refusal echoing them, the secret straddling the
	// 200-byte excerpt of an error text.
	echoBasicInText = func(_ *gateway, w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "%s%s %s", strings.Repeat("x", 190), billingtest.DefaultClientSecret, r.Header.Get("Authorization"))
	}
	// An API refusal echoing the bearer token in the spec's error body.
	echoBearer403 = func(_ *gateway, w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(jsonBody(map[string]any{"statusCode": 403, "errorCode": "FORBIDDEN", "message": "token " + r.Header.Get("Authorization") + " lacks a scope"}))
	}
	// A JWT gateway's 401 echoing the token in a text body.
	echoBearer401 = func(_ *gateway, w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "invalid token: %s", r.Header.Get("Authorization"))
	}
	// The call is carried out, its answer lost to a 502.
	appliedThen502 = func(g *gateway, w http.ResponseWriter, r *http.Request, body []byte) {
		_, _, _ = g.forward(r, body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write(jsonBody(map[string]any{"statusCode": 502, "errorCode": "BAD_GATEWAY", "message": "upstream went away"}))
	}
	// The retry refused: a single-use coupon already used, a quantity already set.
	refuse409 = func(_ *gateway, w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write(jsonBody(map[string]any{"statusCode": 409, "errorCode": "CONFLICT", "message": "already done"}))
	}
)

// gzipped forwards the call and sends its answer gzip-compressed (as the client
// asked), with pad spaces after it.
func gzipped(pad int) func(*gateway, http.ResponseWriter, *http.Request, []byte) {
	return func(g *gateway, w http.ResponseWriter, r *http.Request, body []byte) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			panic("the client did not ask for gzip")
		}
		resp, b, err := g.forward(r, body) //nolint:bodyclose // forward read and closed it
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(b)
		_, _ = zw.Write(bytes.Repeat([]byte{' '}, pad))
		_ = zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		writeAnswer(w, resp, z.Bytes())
	}
}

// lyingLength forwards the call and sends its answer under a Content-Length of
// n, then closes the connection.
func lyingLength(n int64) func(*gateway, http.ResponseWriter, *http.Request, []byte) {
	return func(g *gateway, w http.ResponseWriter, r *http.Request, body []byte) {
		resp, b, err := g.forward(r, body) //nolint:bodyclose // forward read and closed it
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		writeRaw(w, "HTTP/1.1 "+resp.Status, resp.Header.Get("Content-Type"), n, b)
	}
}

// behindGateway puts a gateway in front of the fake for the API and the token
// endpoint.
func behindGateway(r *run) {
	r.gateway = newGateway(r.srv.URL)
	r.base, r.tokenURL = r.gateway.srv.URL, r.gateway.srv.URL+"/oauth2/token"
}

func gatewayFaults(fs ...gatewayFault) func(r *run) {
	return func(r *run) { r.gateway.fault(fs...) }
}

func apiFault(answer func(*gateway, http.ResponseWriter, *http.Request, []byte)) gatewayFault {
	return gatewayFault{answer: answer}
}

// resendingTransport re-sends a request on its own after a 5xx or a
// connection error, as retrying round trippers do (go-retryablehttp buffers the
// body, whatever GetBody says): the caller's transport, under the SDK.
type resendingTransport struct{ next http.RoundTripper }

func (rt resendingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		_ = req.Body.Close()
	}
	for try := 1; ; try++ {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := rt.next.RoundTrip(r)
		if try == 2 || err == nil && resp.StatusCode < 500 || req.Context().Err() != nil {
			return resp, err
		}
		if err == nil {
			_ = resp.Body.Close()
		}
	}
}

func resendingCaller(r *run) {
	r.clientOpts = append(r.clientOpts, billing.WithHTTPClient(&http.Client{Transport: resendingTransport{r.tr}}))
}

// hostileFamilies are the families of a misbehaving front end or caller
// transport: echoed credentials, a refusal after a retry of an applied call,
// compressed answers, lying Content-Lengths, a transport that re-sends.
func hostileFamilies() []family {
	broken := func(op *operation) expect {
		return expect{fail: !op.idempotent, errIs: []error{billing.ErrUnexpectedResponse}}
	}
	refusedAfterRetry := func(op *operation) expect {
		if op.idempotent {
			return expect{fail: true, status: http.StatusConflict}
		}
		return expect{fail: true, errIs: []error{billing.ErrOutcomeUnknown}, status: http.StatusBadGateway}
	}
	resent := func(op *operation) expect {
		if op.idempotent {
			return expect{success: true}
		}
		return expect{fail: true, errIs: []error{billing.ErrOutcomeUnknown}}
	}
	return []family{
		{name: "token endpoint echoes the Basic credentials", proto: h1, prefetch: never, setup: behindGateway,
			arm: gatewayFaults(gatewayFault{token: true, answer: echoBasicInJSON}), expect: definiteFailure},
		{name: "token gateway echoes the credentials in text", proto: h1, prefetch: never, setup: behindGateway,
			arm: gatewayFaults(gatewayFault{token: true, answer: echoBasicInText}), expect: definiteFailure},
		{name: "403 echoes the bearer token", proto: h1, setup: behindGateway, arm: gatewayFaults(apiFault(echoBearer403)),
			expect: func(*operation) expect { return expect{fail: true, definite: true, status: http.StatusForbidden} }},
		{name: "401 echoes the bearer token, twice", proto: h1, setup: behindGateway,
			arm:    gatewayFaults(apiFault(echoBearer401), apiFault(echoBearer401)),
			expect: func(*operation) expect { return expect{fail: true, definite: true, status: http.StatusUnauthorized} }},
		{name: "applied, 502, retry refused with 409", proto: h1, setup: behindGateway,
			arm: gatewayFaults(apiFault(appliedThen502), apiFault(refuse409)), expect: refusedAfterRetry},
		{name: "gzip answer", proto: h1, setup: behindGateway, arm: gatewayFaults(apiFault(gzipped(0))), expect: promised},
		{name: "gzip answer larger than the bound once decoded", proto: h1, setup: behindGateway,
			arm: gatewayFaults(apiFault(gzipped(4 * maxBody))), expect: broken},
		{name: "editor sets Accept-Encoding: gzip", arm: func(r *run) {
			r.callOpts = append(r.callOpts, func(_ context.Context, req *http.Request) error {
				req.Header.Set("Accept-Encoding", "gzip")
				return nil
			})
		}, expect: definiteFailure},
		{name: "Content-Length 1 GiB, the answer is shorter", proto: h1, setup: behindGateway,
			arm: gatewayFaults(apiFault(lyingLength(1 << 30))), expect: broken},
		{name: "Content-Length 2^62, bound raised", proto: h1,
			setup: func(r *run) {
				behindGateway(r)
				r.clientOpts = append(r.clientOpts, billing.WithMaxResponseBytes(1<<62))
			},
			arm: gatewayFaults(apiFault(lyingLength(1 << 62))), expect: broken},
		{name: "caller transport re-sends after a 502", setup: resendingCaller,
			arm: fault(billingtest.Fault{Status: 502}), expect: resent},
		{name: "caller transport re-sends after a dropped connection", proto: h1, setup: resendingCaller,
			arm: fault(billingtest.Fault{Drop: true}), expect: resent},
	}
}
