package billingtest_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/fakeclock"
	"github.com/prestashopcorp/billing-sdk-go/internal/rawclient"
)

// tamper re-encodes the claims of tok with extra scopes, keeping its signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(payload), `"scp":[`, `"scp":["subscription.write.usage",`, 1)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
}

// algNone replaces the header of tok with alg none and drops the signature.
func algNone(tok string) string {
	parts := strings.Split(tok, ".")
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
}

func TestAuth(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	srv := newServer(t, billingtest.WithClock(clk.Now), billingtest.WithTokenTTL(time.Minute))
	other := newServer(t)

	expiring := fetchToken(t, srv, "subscription.write.usage")
	clk.Advance(time.Minute) // expiring is now expired
	valid := fetchToken(t, srv, "invoices.read")
	noAudience := jsonField(t, postToken(t, srv, srv.ClientID, srv.ClientSecret, url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {"subscription.write.usage"},
	}).body, "access_token")

	tests := []struct {
		name        string
		auth        string // Authorization header; "" sends none
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{"missing", "", 401, "UNAUTHORIZED", "missing bearer"},
		{"basic scheme", "Basic Zm9vOmJhcg==", 401, "UNAUTHORIZED", "not a bearer"},
		{"malformed", "Bearer not.a.jwt", 401, "UNAUTHORIZED", "invalid access token"},
		{"expired", "Bearer " + expiring, 401, "UNAUTHORIZED", "expired"},
		{"tampered claims", "Bearer " + tamper(t, valid), 401, "UNAUTHORIZED", "signature"},
		{"alg none", "Bearer " + algNone(valid), 401, "UNAUTHORIZED", "invalid access token"},
		{"other server", "Bearer " + fetchToken(t, other, "subscription.write.usage"), 401, "UNAUTHORIZED", "issuer"},
		{"no audience", "Bearer " + noAudience, 401, "UNAUTHORIZED", "aud"},
		{"missing scope", "Bearer " + valid, 403, "INSUFFICIENT_SCOPE", "missing scope subscription.write.usage"},
		{"lowercase scheme, valid", "bearer " + fetchToken(t, srv, "subscription.write.usage"), 201, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := rawclient.NewClientWithResponses(srv.URL, rawclient.WithHTTPClient(srv.HTTPClient()))
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.SetSubscriptionItemUsageWithResponse(t.Context(), billingtest.SubscriptionID, billingtest.APICallsAddonID,
				gen.UsageInput{UsageQuantity: 1},
				func(_ context.Context, req *http.Request) error {
					if tt.auth != "" {
						req.Header.Set("Authorization", tt.auth)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode() != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", res.StatusCode(), tt.wantStatus, res.Body)
			}
			if tt.wantStatus < 300 {
				return
			}
			e := decodeError(t, res.HTTPResponse.Header.Get("Content-Type"), res.Body)
			if e.StatusCode != tt.wantStatus || e.ErrorCode != tt.wantCode || !strings.Contains(e.Message, tt.wantMessage) {
				t.Errorf("error = %+v, want %d %s with %q", e, tt.wantStatus, tt.wantCode, tt.wantMessage)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(res.HTTPResponse.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", res.HTTPResponse.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if got, want := srv.Requests("setSubscriptionItemUsage"), len(tests); got != want {
		t.Errorf("Requests = %d, want %d (refused calls count)", got, want)
	}
	if got := srv.Applied("setSubscriptionItemUsage"); got != 1 {
		t.Errorf("Applied = %d, want 1", got)
	}
}

// TestAuthNoScopeOperation checks that an operation the spec lists no scope for
// takes any valid token, and still refuses a call without one, although the spec
// declares no 401 for it.
func TestAuthNoScopeOperation(t *testing.T) {
	srv := newServer(t)
	res, err := apiClient(t, srv, fetchToken(t, srv)).GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.JSON200 == nil {
		t.Errorf("token without scopes: status %d: %s", res.StatusCode(), res.Body)
	}
	res, err = apiClient(t, srv, "").GetProductComponentsWithResponse(t.Context(), billingtest.ProductID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", res.StatusCode())
	}
	decodeError(t, res.HTTPResponse.Header.Get("Content-Type"), res.Body)
}
