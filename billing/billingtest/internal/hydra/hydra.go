// Package hydra is billingtest's OAuth2 token server: the client credentials
// grant as Ory Hydra serves it for one client registered with
// client_secret_basic, its refusals, and the check of the RS256 JWTs it issues,
// with Hydra's claims.
package hydra

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A Server issues access tokens to its one client, and checks them.
type Server struct {
	ClientID, ClientSecret string
	Audience               string   // the only audience granted, and required
	Scopes                 []string // the scopes the client may request
	TTL                    time.Duration
	Now                    func() time.Time
	Issuer                 func() string // the iss claim
}

// Claims are the claims of an access token, as Hydra issues them.
type Claims struct {
	jwt.RegisteredClaims
	ClientID string         `json:"client_id"`
	Scopes   []string       `json:"scp"`
	Ext      map[string]any `json:"ext"`
	// Email is never issued (client credentials have no user); billingtest's
	// addCustomer checks it when a hand-made token carries one.
	Email string `json:"email,omitempty"`
}

// signingKey is the RSA key that signs access tokens, and its key id.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

// key is generated once per process: RSA generation is slow, and a token of
// another Server is still refused by its issuer.
var key = sync.OnceValue(func() *signingKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("billingtest: generating the signing key: " + err.Error())
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey) // an RSA key marshals
	sum := sha256.Sum256(der)
	return &signingKey{priv: priv, kid: "billingtest-" + hex.EncodeToString(sum[:8])}
})

// ServeHTTP answers a token request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, code, desc := s.check(r); status != 0 {
		writeError(w, status, code, desc)
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	tok, err := s.issue(scopes, strings.Fields(r.PostForm.Get("audience")))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "expires_in": s.expiresIn(), "scope": strings.Join(scopes, " "), "token_type": "bearer",
	})
}

// check returns the OAuth2 error a token request gets, or status 0.
// It parses the form.
func (s *Server) check(r *http.Request) (status int, code, desc string) {
	const malformed = "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed. "
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "invalid_request", malformed + "HTTP method is " + r.Method + ", expected POST."
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return http.StatusBadRequest, "invalid_request", malformed + "The request body must be application/x-www-form-urlencoded."
	}
	if err := r.ParseForm(); err != nil {
		return http.StatusBadRequest, "invalid_request", malformed + "Unable to parse the form: " + err.Error()
	}
	form := r.PostForm
	if form.Get("grant_type") == "" {
		return http.StatusBadRequest, "invalid_request", malformed + "The grant_type parameter is missing."
	}
	const badClient = "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."
	user, pass, ok := r.BasicAuth()
	if !ok {
		return http.StatusUnauthorized, "invalid_client", badClient + " The client must authenticate with HTTP Basic (client_secret_basic)."
	}
	// RFC 6749 2.3.1: the id and secret are form-encoded before Basic encoding.
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id != s.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		return http.StatusUnauthorized, "invalid_client", badClient + " The client credentials are invalid."
	}
	if cid := form.Get("client_id"); cid != "" && cid != id {
		return http.StatusBadRequest, "invalid_request", malformed + "The client_id in the form does not match the authenticated client."
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		return http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("The authorization grant type is not supported by the authorization server. The grant type %q is not supported.", gt)
	}
	for _, a := range strings.Fields(form.Get("audience")) {
		if a != s.Audience {
			return http.StatusBadRequest, "invalid_request", malformed + fmt.Sprintf("Requested audience '%s' has not been whitelisted by the OAuth 2.0 Client.", a)
		}
	}
	for _, sc := range strings.Fields(form.Get("scope")) {
		if !slices.Contains(s.Scopes, sc) {
			return http.StatusBadRequest, "invalid_scope", fmt.Sprintf("The requested scope is invalid, unknown, or malformed. The OAuth 2.0 Client is not allowed to request scope '%s'.", sc)
		}
	}
	return 0, "", ""
}

// issue signs an access token for the client. Its exp is rounded up to a whole
// second, never earlier than expires_in tells.
func (s *Server) issue(scopes, audience []string) (string, error) {
	now := s.Now()
	exp := now.Unix() + s.expiresIn()
	if now.Nanosecond() != 0 {
		exp++
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.Issuer(),
			Subject:   s.ClientID,
			Audience:  audience,
			ExpiresAt: jwt.NewNumericDate(time.Unix(exp, 0)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		ClientID: s.ClientID,
		Scopes:   scopes,
		Ext:      map[string]any{},
	})
	t.Header["kid"] = key().kid
	return t.SignedString(key().priv)
}

// expiresIn is the tokens' lifetime in seconds, rounded up.
func (s *Server) expiresIn() int64 { return int64(math.Ceil(s.TTL.Seconds())) }

// Verify checks an access token: signed by this process's key, issued by
// Issuer for Audience, not expired by Now.
func (s *Server) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != key().kid {
			return nil, errors.New("unknown key id")
		}
		return &key().priv.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(s.Now),
		jwt.WithIssuer(s.Issuer()),
		jwt.WithAudience(s.Audience),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// writeError writes an OAuth2 error answer (RFC 6749 5.2).
func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteFault writes the OAuth2 error of an injected status.
func WriteFault(w http.ResponseWriter, status int) {
	code := "invalid_request"
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_client"
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		code = "temporarily_unavailable"
	case status >= 500:
		code = "server_error"
	}
	writeError(w, status, code, "Fault injected by billingtest.")
}
