package billing

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
	"github.com/prestashopcorp/billing-sdk-go/internal/scrub"
)

// A secret with characters that URL escaping changes, so that each of its
// forms differs from the others.
const (
	echoClientID = "client/1"
	echoSecret   = "s3cr+t/=&\"x"
)

// chainTexts returns what printing each error of err's chain shows: Error()
// and %+v, through Unwrap() error and Unwrap() []error.
func chainTexts(err error) []string {
	var texts []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		}
	}
	walk(err)
	return texts
}

// checkNoSecret fails if any error of err's chain shows one of secrets, or if
// its text is not one printable line.
func checkNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, text := range chainTexts(err) {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("an error of the chain shows %q: %q", s, text)
			}
		}
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n\x1b") {
		t.Errorf("error text is not one printable line: %q", msg)
	}
}

// echoForms are the forms of echoSecret a token endpoint can echo.
func echoForms() []string {
	return []string{
		echoSecret,
		url.QueryEscape(echoSecret),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(echoClientID) + ":" + url.QueryEscape(echoSecret))),
	}
}

// rawTokenEndpoint answers every token request with status line, headers and
// body as given, echo replacing "{auth}" with the request's Authorization
// header, "{secret}" with the secret and "{jsecret}" with the secret as a JSON
// string holds it.
func rawTokenEndpoint(t *testing.T, statusLine, contentType, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := strings.NewReplacer("{auth}", r.Header.Get("Authorization"), "{secret}", echoSecret,
			"{jsecret}", strings.ReplaceAll(echoSecret, `"`, `\"`)).Replace(body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "%s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", statusLine, contentType, len(b), b)
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth2/token"
}

func TestTokenErrorRedactsEchoedCredentials(t *testing.T) {
	long := strings.Repeat("x", 190) // the secret straddles the 200-byte excerpt
	tests := []struct {
		name, status, ctype, body string
		wantCode                  string // the OAuth error code errors.As finds, if any
	}{
		{"Basic credentials in error_description", "HTTP/1.1 401 Unauthorized", "application/json",
			`{"error":"invalid_client","error_description":"refused {auth}"}`, "invalid_client"},
		{"Basic credentials in a gateway's text body", "HTTP/1.1 403 Forbidden", "text/plain",
			`gateway refused Authorization: {auth}`, ""},
		{"secret straddling the excerpt's cut", "HTTP/1.1 400 Bad Request", "text/plain",
			long + `{secret}`, ""},
		{"raw secret in error_description", "HTTP/1.1 401 Unauthorized", "application/json",
			`{"error":"invalid_client","error_description":"secret {jsecret} is wrong"}`, "invalid_client"},
		{"escape sequences in the reason phrase", "HTTP/1.1 401 No\x1b[31m way\r", "application/json",
			`{"error":"invalid_client"}`, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(WithClientCredentials(echoClientID, echoSecret),
				WithTokenURL(rawTokenEndpoint(t, tt.status, tt.ctype, tt.body)),
				WithBaseURL("http://127.0.0.1:1"), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Token(context.Background())
			checkNoSecret(t, err, echoForms()...)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("errors.As(*oauth2.RetrieveError) = false: %v", err)
			}
			if re.ErrorCode != tt.wantCode {
				t.Errorf("ErrorCode = %q, want %q", re.ErrorCode, tt.wantCode)
			}
			if !strings.Contains(err.Error(), "[redacted]") && tt.wantCode == "" {
				t.Errorf("error does not say what it redacted: %v", err)
			}
		})
	}
}

func TestAPIErrorRedactsEchoedBearerToken(t *testing.T) {
	tests := []struct {
		name  string
		ctype string
		body  func(auth string) string
	}{
		{"in the spec's error message", "application/json", func(auth string) string {
			return fmt.Sprintf(`{"statusCode":403,"errorCode":"FORBIDDEN","message":"token %s lacks a scope"}`, auth)
		}},
		{"in a gateway's body", "text/plain", func(auth string) string { return "refused: " + auth }},
		{"straddling the 4 KiB kept of the body", "text/plain", func(auth string) string {
			return strings.Repeat("x", maxErrorBody-5) + auth
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, tt.body(r.Header.Get("Authorization")))
			})
			if tt.ctype != "application/json" {
				api.allowOffSpec(contracttest.OffSpecAnswers("a gateway's error body"))
			}
			c, _ := api.client(t)
			err := calls[4].do(context.Background(), c)
			checkNoSecret(t, err, "tok-1", "s3cret")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("not an *APIError: %v", err)
			}
			for _, field := range []string{string(apiErr.Body), apiErr.Message} {
				if strings.Contains(field, "tok-1") {
					t.Errorf("APIError field holds the token: %q", field)
				}
			}
		})
	}
}

// A 2xx answer the SDK cannot use is quoted in the error: the token it echoes
// is not.
func TestUnusableSuccessRedactsEchoedToken(t *testing.T) {
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		fmt.Fprint(w, "<p>Hello "+r.Header.Get("Authorization")+"</p>")
	}).allowOffSpec(contracttest.OffSpecAnswers("a 2xx answer that is not JSON"))
	c, _ := api.client(t)
	for _, call := range []call{calls[4], calls[5]} {
		checkNoSecret(t, call.do(context.Background(), c), "tok-1")
	}
}

// The reason phrase is read as the server sent it: check the raw server above
// really sends one with an escape sequence.
func TestRawTokenEndpointSendsEscapes(t *testing.T) {
	u := rawTokenEndpoint(t, "HTTP/1.1 401 No\x1b[31m way", "text/plain", "x")
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(u, "/oauth2/token"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Status, "\x1b") {
		t.Errorf("Status = %q, want the escape sequence", resp.Status)
	}
}

// An APIError built from any answer that holds the token or the secret, at any
// place (in JSON strings, escaped or not, across the cuts), shows neither.
func FuzzAPIErrorRedaction(f *testing.F) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQtMSJ9.c2lnbmF0dXJl"
	f.Add([]byte(`{"message":"token `), []byte(` refused"}`), uint16(0))
	f.Add([]byte(`{"errorCode":"`), []byte(`"}`), uint16(1))
	f.Add([]byte(strings.Repeat("x", maxErrorBody-10)), []byte("tail"), uint16(2))
	f.Add([]byte("<html>"), []byte("</html>"), uint16(3))
	secrets := append(scrub.CredentialForms(echoClientID, echoSecret), token)
	f.Fuzz(func(t *testing.T, before, after []byte, which uint16) {
		s := secrets[int(which)%len(secrets)]
		body := append(append(append([]byte{}, before...), s...), after...)
		resp := &http.Response{StatusCode: 403, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(body))}
		e := newAPIError("setSubscriptionItemUsage", resp, secrets)
		for _, text := range append(chainTexts(e), string(e.Body), e.Message, e.ErrorCode) {
			for _, x := range []string{echoSecret, token} {
				if strings.Contains(text, x) {
					t.Fatalf("shows %q: %q", x, text)
				}
			}
		}
	})
}

// net/http quotes the malformed lines of an answer in its error: a server that
// echoes the request's Authorization header there does not put the token in
// the call's error.
func TestTransportErrorRedactsEchoedToken(t *testing.T) {
	const tok = "tok-echoed-by-a-broken-server"
	tests := map[string]string{
		"status line":       tok + "\r\n\r\n",
		"header line":       "HTTP/1.1 201 Created\r\nEcho Bearer " + tok + "\r\n\r\n",
		"status code":       "HTTP/1.1 " + tok + "\r\n\r\n",
		"HTTP version":      "HTTP/" + tok + " 201 Created\r\n\r\n",
		"chunk size":        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + tok + "\r\n",
		"Content-Length":    "HTTP/1.1 201 Created\r\nContent-Length: " + tok + "\r\n\r\n",
		"Transfer-Encoding": "HTTP/1.1 201 Created\r\nTransfer-Encoding: " + tok + "\r\n\r\n",
	}
	for name, answer := range tests {
		t.Run(name, func(t *testing.T) {
			s := faultlab.NewRawH1(t, func(c net.Conn, _ *http.Request) {
				io.WriteString(c, answer)
				c.Close()
			})
			api := newTestAPI(t, ok)
			obs := &attemptErrors{}
			c, _ := api.client(t, WithBaseURL("http://"+s.Ln.Addr().String()), WithHTTPClient(&http.Client{}),
				WithTokenSource(staticToken(tok)), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithObserver(obs))
			for _, do := range []func() error{
				func() error { return usage(context.Background(), c) },
				func() error {
					_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
					return err
				},
			} {
				err := do()
				t.Logf("err = %v", err)
				checkNoSecret(t, err, tok)
			}
			for _, err := range obs.errs {
				checkNoSecret(t, err, tok)
			}
		})
	}
	t.Run("HTTP/2 GOAWAY debug data", func(t *testing.T) {
		s := faultlab.NewRawH2(t, func(c *faultlab.RawH2Conn, id uint32) {
			c.Frame(7, 0, 0, append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, id), 2), "echo: Bearer "+tok...))
			c.C.Close()
		})
		api := newTestAPI(t, ok)
		c, _ := api.client(t, WithBaseURL("http://"+s.Ln.Addr().String()), WithHTTPClient(faultlab.H2CClient()),
			WithTokenSource(staticToken(tok)), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := usage(ctx, c)
		t.Logf("err = %v", err)
		checkNoSecret(t, err, tok)
	})
}

// attemptErrors is an Observer that keeps the error of each attempt.
type attemptErrors struct {
	traceObserver
	errs []error
}

func (o *attemptErrors) EndAttempt(_ context.Context, _ *Call, a *Attempt) {
	o.errs = append(o.errs, a.Err)
}

// A 2xx answer that lacks a required field is quoted in the error: the token of
// its own request is redacted, even when another call has since sent a newer one.
func TestMissingFieldErrorRedactsItsOwnToken(t *testing.T) {
	var c *Client
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/products/other/components" && auth == "Bearer tok-1":
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "expired")
		case r.URL.Path == "/v1/products/other/components":
			fmt.Fprint(w, `{"items":[],"total":0}`)
		default: // another call renews the token before this one answers
			if _, err := c.GetProductComponents(r.Context(), "other", gen.GetProductComponentsParams{}); err != nil {
				t.Errorf("the other call: %v", err)
			}
			fmt.Fprintf(w, `{"items":[],"echo":%q}`, auth)
		}
	}).allowOffSpec(contracttest.OffSpecAnswers("a 2xx answer without its required total"))
	c, _ = api.client(t)
	_, err := c.GetProductComponents(context.Background(), "p", gen.GetProductComponentsParams{})
	if !errors.Is(err, ErrUnexpectedResponse) {
		t.Fatalf("err = %v, want ErrUnexpectedResponse", err)
	}
	checkNoSecret(t, err, "tok-1")
}

// A URL NewClient refuses is quoted in its error without the client secret it
// carries (in a query, user information or a malformed part).
func TestURLRefusalRedactsClientSecret(t *testing.T) {
	for _, u := range []string{
		"https://oauth.example.test/oauth2/token?client_secret=" + url.QueryEscape(echoSecret),
		"https://oauth.example.test/oauth2/token#" + echoSecret,
		"https://" + url.QueryEscape(echoClientID) + ":" + url.QueryEscape(echoSecret) + "@oauth.example.test/%zz",
		"http://oauth.example.test/" + url.PathEscape(echoSecret),
	} {
		for _, opt := range []Option{WithTokenURL(u), WithBaseURL(u)} {
			_, err := NewClient(opt, WithClientCredentials(echoClientID, echoSecret))
			checkNoSecret(t, err, echoForms()...)
		}
	}
}

// A token endpoint's refusal names the endpoint without the client secret its
// path carries.
func TestTokenRefusalRedactsSecretInEndpointPath(t *testing.T) {
	u := strings.TrimSuffix(rawTokenEndpoint(t, "HTTP/1.1 401 Unauthorized", "application/json", `{"error":"invalid_client"}`), "token") +
		url.QueryEscape(echoSecret)
	c, err := NewClient(WithClientCredentials(echoClientID, echoSecret), WithTokenURL(u),
		WithBaseURL("http://127.0.0.1:1"), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Token(context.Background())
	checkNoSecret(t, err, echoForms()...)
}
