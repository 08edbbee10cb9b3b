package billingtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/rawclient"
)

// newServer starts a Server that fails t on any answer breaking the spec and
// closes with t.
func newServer(t *testing.T, opts ...billingtest.Option) *billingtest.Server {
	t.Helper()
	return billingtest.NewServer(append([]billingtest.Option{billingtest.WithT(t)}, opts...)...)
}

// tokenConfig is the token request a partner sends: Basic client
// authentication, plus audience and client_id in the form.
func tokenConfig(srv *billingtest.Server, scopes ...string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:     srv.ClientID,
		ClientSecret: srv.ClientSecret,
		TokenURL:     srv.TokenURL(),
		Scopes:       scopes,
		AuthStyle:    oauth2.AuthStyleInHeader,
		EndpointParams: url.Values{
			"audience":  {billingtest.Audience},
			"client_id": {srv.ClientID},
		},
	}
}

// fetchToken gets an access token with scopes from the server's token endpoint.
func fetchToken(t *testing.T, srv *billingtest.Server, scopes ...string) string {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.HTTPClient())
	tok, err := tokenConfig(srv, scopes...).Token(ctx)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

func bearer(tok string) rawclient.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+tok)
		return nil
	}
}

// dropEmptyQuery removes empty query parameters, which the generated request
// builders write for unset optional parameters (billing.Client does the same).
func dropEmptyQuery(_ context.Context, req *http.Request) error {
	q := req.URL.Query()
	for k, vs := range q {
		if len(vs) == 1 && vs[0] == "" {
			delete(q, k)
		}
	}
	req.URL.RawQuery = q.Encode()
	return nil
}

// sandboxQuery asks for sandbox mode with the query parameter (the client uses the
// header).
func sandboxQuery(_ context.Context, req *http.Request) error {
	q := req.URL.Query()
	q.Set("sandbox", "true")
	req.URL.RawQuery = q.Encode()
	return nil
}

func sandboxHeader(_ context.Context, req *http.Request) error {
	req.Header.Set("sandbox", "true")
	return nil
}

// apiClient returns a generated client that sends tok.
func apiClient(t *testing.T, srv *billingtest.Server, tok string) *rawclient.ClientWithResponses {
	t.Helper()
	c, err := rawclient.NewClientWithResponses(srv.URL, rawclient.WithHTTPClient(srv.HTTPClient()), rawclient.WithRequestEditorFn(bearer(tok)),
		rawclient.WithRequestEditorFn(dropEmptyQuery))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fullClient returns a generated client with a token of every scope.
func fullClient(t *testing.T, srv *billingtest.Server) *rawclient.ClientWithResponses {
	t.Helper()
	return apiClient(t, srv, fetchToken(t, srv, billingtest.Scopes()...))
}

// apiError is the spec's error body.
type apiError struct {
	StatusCode int    `json:"statusCode"`
	ErrorCode  string `json:"errorCode"`
	Message    string `json:"message"`
}

// decodeError decodes the spec's error body of an answer, checking that it is JSON.
func decodeError(t *testing.T, contentType string, body []byte) apiError {
	t.Helper()
	if contentType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json (body %s)", contentType, body)
	}
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e
}

// jsonField returns a string field of a JSON object.
func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	return s
}
