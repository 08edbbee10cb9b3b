package billingtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signingKey is the RSA key that signs access tokens, and its key id.
type signingKey struct {
	priv *rsa.PrivateKey
	kid  string
}

// processKey generates one key per process: RSA generation is slow, and a token
// of another Server is still refused by its issuer.
var processKey = sync.OnceValues(func() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &signingKey{priv: priv, kid: "billingtest-" + hex.EncodeToString(sum[:8])}, nil
})

// claims are the claims of an access token, as Ory Hydra issues them.
type claims struct {
	jwt.RegisteredClaims
	ClientID string         `json:"client_id"`
	Scopes   []string       `json:"scp"`
	Ext      map[string]any `json:"ext"`
	// Email is never issued by the token endpoint (client credentials have no
	// user); addCustomer checks it when a hand-made token carries one.
	Email string `json:"email,omitempty"`
}

// serveToken is the OAuth2 token endpoint: the client credentials grant as Ory
// Hydra serves it for a client registered with client_secret_basic.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	s.serveFaulted(w, r, TokenEndpoint, writeOAuthFault, func(rec *httptest.ResponseRecorder) {
		if status, code, desc := s.checkTokenRequest(r); status != 0 {
			writeOAuthError(rec, status, code, desc)
			return
		}
		scopes := strings.Fields(r.PostForm.Get("scope"))
		tok, err := s.issue(scopes, strings.Fields(r.PostForm.Get("audience")))
		if err != nil {
			writeOAuthError(rec, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		rec.Header().Set("Cache-Control", "no-store")
		rec.Header().Set("Pragma", "no-cache")
		writeJSON(rec, http.StatusOK, map[string]any{
			"access_token": tok, "expires_in": s.expiresIn(), "scope": strings.Join(scopes, " "), "token_type": "bearer",
		})
	}, func(rec *httptest.ResponseRecorder) { send(w, rec.Result()) })
}

// checkTokenRequest returns the OAuth2 error a token request gets, or status 0.
// It parses the form.
func (s *Server) checkTokenRequest(r *http.Request) (status int, code, desc string) {
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
		if a != Audience {
			return http.StatusBadRequest, "invalid_request", malformed + fmt.Sprintf("Requested audience '%s' has not been whitelisted by the OAuth 2.0 Client.", a)
		}
	}
	for _, sc := range strings.Fields(form.Get("scope")) {
		if !slices.Contains(s.cfg.scopes, sc) {
			return http.StatusBadRequest, "invalid_scope", fmt.Sprintf("The requested scope is invalid, unknown, or malformed. The OAuth 2.0 Client is not allowed to request scope '%s'.", sc)
		}
	}
	return 0, "", ""
}

// issue signs an access token for the server's client. Its exp is rounded up
// to a whole second, never earlier than expires_in tells.
func (s *Server) issue(scopes, audience []string) (string, error) {
	now := s.cfg.now()
	exp := now.Unix() + s.expiresIn()
	if now.Nanosecond() != 0 {
		exp++
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer(),
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
	t.Header["kid"] = s.key.kid
	return t.SignedString(s.key.priv)
}

// expiresIn is the tokens' lifetime in seconds, rounded up.
func (s *Server) expiresIn() int64 { return int64(math.Ceil(s.cfg.ttl.Seconds())) }

// issuer is the iss claim of the server's tokens, as Hydra writes it (s.ts.URL is safe
// to read from handlers; s.URL is set after the server starts).
func (s *Server) issuer() string { return s.ts.URL + "/" }

// writeOAuthError writes an OAuth2 error answer (RFC 6749 5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeOAuthFault writes the OAuth2 error of an injected status.
func writeOAuthFault(w http.ResponseWriter, status int) {
	code := "invalid_request"
	switch {
	case status == http.StatusUnauthorized:
		code = "invalid_client"
	case status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests:
		code = "temporarily_unavailable"
	case status >= 500:
		code = "server_error"
	}
	writeOAuthError(w, status, code, "Fault injected by billingtest.")
}
