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

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
	TokenType   string `json:"token_type"`
}

// serveToken is the OAuth2 token endpoint: the client credentials grant as Ory
// Hydra serves it for a client registered with client_secret_basic.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	f, faulted := s.popFault(TokenEndpoint)
	if faulted && !f.Apply {
		inject(w, r, f, nil, writeOAuthFault)
		return
	}
	rec := httptest.NewRecorder()
	s.answerToken(rec, r)
	if faulted {
		inject(w, r, f, rec.Result(), writeOAuthFault)
		return
	}
	send(w, rec.Result())
}

// answerToken writes the token endpoint's answer to a request.
func (s *Server) answerToken(w http.ResponseWriter, r *http.Request) {
	status, code, desc := s.checkTokenRequest(r)
	if status != 0 {
		writeOAuthError(w, status, code, desc)
		return
	}
	var scopes []string
	if sc := r.PostForm.Get("scope"); sc != "" {
		scopes = strings.Fields(sc)
	}
	var aud []string
	if a := r.PostForm.Get("audience"); a != "" {
		aud = strings.Fields(a)
	}
	tok, err := s.issue(scopes, aud)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok,
		ExpiresIn:   int64(wholeSeconds(s.cfg.ttl) / time.Second),
		Scope:       strings.Join(scopes, " "),
		TokenType:   "bearer",
	})
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

// issue signs an access token for the server's client.
func (s *Server) issue(scopes, audience []string) (string, error) {
	now := s.cfg.now()
	if scopes == nil {
		scopes = []string{}
	}
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer(),
			Subject:   s.ClientID,
			Audience:  audience,
			ExpiresAt: jwt.NewNumericDate(expiry(now, s.cfg.ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        rand.Text(),
		},
		ClientID: s.ClientID,
		Scopes:   scopes,
		Ext:      map[string]any{},
	}
	if c.Audience == nil {
		c.Audience = jwt.ClaimStrings{}
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = s.key.kid
	return t.SignedString(s.key.priv)
}

// wholeSeconds rounds d up to whole seconds: the precision of expires_in and of
// the JWT's exp.
func wholeSeconds(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// expiry is the exp of a token issued at now: now plus the lifetime in whole
// seconds, rounded up to a whole second, so that a token never expires before
// the expires_in the client was told.
func expiry(now time.Time, ttl time.Duration) time.Time {
	exp := now.Add(wholeSeconds(ttl))
	if t := exp.Truncate(time.Second); !t.Equal(exp) {
		exp = t.Add(time.Second)
	}
	return exp
}

// issuer is the iss claim of the server's tokens, as Hydra writes it.
func (s *Server) issuer() string { return s.base() + "/" }

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
