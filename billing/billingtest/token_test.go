package billingtest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
)

// decodeJWT returns the header and claims of a JWT, unverified.
func decodeJWT(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: %d parts, want 3", tok, len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestTokenClaims(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := newServer(t, billingtest.WithClock(clk.Now))
	tok := fetchToken(t, srv, "subscription.write.usage", "invoices.read")

	header, claims := decodeJWT(t, tok)
	if header["alg"] != "RS256" || header["kid"] == nil || header["kid"] == "" {
		t.Errorf("header = %v, want alg RS256 and a kid", header)
	}
	if got, want := slices.Sorted(maps.Keys(claims)), []string{"aud", "client_id", "exp", "ext", "iat", "iss", "jti", "nbf", "scp", "sub"}; !cmp.Equal(got, want) {
		t.Errorf("claims %v, want exactly %v", got, want)
	}
	now := float64(clk.Now().Unix())
	want := map[string]any{
		"iss":       srv.URL + "/",
		"sub":       billingtest.DefaultClientID,
		"client_id": billingtest.DefaultClientID,
		"aud":       []any{billingtest.Audience},
		"scp":       []any{"subscription.write.usage", "invoices.read"},
		"ext":       map[string]any{},
		"iat":       now,
		"nbf":       now,
		"exp":       now + 3600,
	}
	delete(claims, "jti")
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if n := srv.TokenRequests(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1", n)
	}
}

func TestTokenAnswer(t *testing.T) {
	srv := newServer(t, billingtest.WithTokenTTL(1500*time.Millisecond))
	res := postToken(t, srv, srv.ClientID, srv.ClientSecret, url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {srv.ClientID},
		"audience":   {billingtest.Audience},
		"scope":      {"invoices.read subscription.write"},
	})
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	var got map[string]any
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	tok, ok := got["access_token"].(string)
	if !ok {
		t.Fatalf("no access_token in %s", res.body)
	}
	if _, claims := decodeJWT(t, tok); claims["exp"].(float64)-claims["iat"].(float64) < 2 {
		t.Errorf("exp %v - iat %v: the token expires before expires_in", claims["exp"], claims["iat"])
	}
	delete(got, "access_token")
	// A 1.5 s lifetime is announced as 2 s, never as 0 ("no expiry").
	want := map[string]any{"expires_in": 2.0, "scope": "invoices.read subscription.write", "token_type": "bearer"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

type tokenResult struct {
	status int
	body   []byte
}

// postToken sends a token request with Basic credentials (none if id is "").
func postToken(t *testing.T, srv *billingtest.Server, id, secret string, form url.Values) tokenResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	res, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return tokenResult{res.StatusCode, body}
}

func TestTokenRefusals(t *testing.T) {
	srv := newServer(t, billingtest.WithClientCredentials("my client", "s3cret&=x"),
		billingtest.WithAllowedScopes("invoices.read"))
	good := func(change func(url.Values)) url.Values {
		f := url.Values{
			"grant_type": {"client_credentials"},
			"client_id":  {"my client"},
			"audience":   {billingtest.Audience},
			"scope":      {"invoices.read"},
		}
		if change != nil {
			change(f)
		}
		return f
	}
	tests := []struct {
		name       string
		id, secret string
		form       url.Values
		wantStatus int
		wantError  string
		wantDesc   string
	}{
		{"ok (escaped credentials)", "my client", "s3cret&=x", good(nil), 200, "", ""},
		{"no audience", "my client", "s3cret&=x", good(func(f url.Values) { f.Del("audience") }), 200, "", ""},
		{"no Basic auth", "", "", good(nil), 401, "invalid_client", ""},
		{"wrong secret", "my client", "nope", good(nil), 401, "invalid_client", ""},
		{"unknown client", "other", "s3cret&=x", good(nil), 401, "invalid_client", ""},
		{"client_id mismatch", "my client", "s3cret&=x", good(func(f url.Values) { f.Set("client_id", "other") }), 400, "invalid_request", "client_id"},
		{"no grant type", "my client", "s3cret&=x", good(func(f url.Values) { f.Del("grant_type") }), 400, "invalid_request", "grant_type"},
		{"password grant", "my client", "s3cret&=x", good(func(f url.Values) { f.Set("grant_type", "password") }), 400, "unsupported_grant_type", ""},
		{"other audience", "my client", "s3cret&=x", good(func(f url.Values) { f.Set("audience", "api.example.com") }), 400, "invalid_request", "has not been whitelisted"},
		{"scope not allowed", "my client", "s3cret&=x", good(func(f url.Values) { f.Set("scope", "invoices.read subscription.write") }), 400, "invalid_scope", "subscription.write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := postToken(t, srv, tt.id, tt.secret, tt.form)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", res.status, tt.wantStatus, res.body)
			}
			if tt.wantError == "" {
				return
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.Unmarshal(res.body, &e); err != nil {
				t.Fatalf("body %s: %v", res.body, err)
			}
			if e.Error != tt.wantError || !strings.Contains(e.Description, tt.wantDesc) {
				t.Errorf("error = %q %q, want %q containing %q", e.Error, e.Description, tt.wantError, tt.wantDesc)
			}
		})
	}
	if got, want := srv.TokenRequests(), len(tests); got != want {
		t.Errorf("TokenRequests = %d, want %d", got, want)
	}
}

func TestTokenEndpointRefusesGetAndJSON(t *testing.T) {
	srv := newServer(t)
	res, err := srv.HTTPClient().Get(srv.TokenURL())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", res.StatusCode)
	}
	res, err = srv.HTTPClient().Post(srv.TokenURL(), "application/json", strings.NewReader(`{"grant_type":"client_credentials"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("JSON body: status %d, want 400", res.StatusCode)
	}
}
