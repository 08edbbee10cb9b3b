package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Verifier authenticates a delivery from its headers and raw body, then
// decodes it. Errors wrap the package's sentinel errors (ErrNoValidSignature,
// ErrInvalidPayload...).
type Verifier interface {
	Verify(body []byte, header http.Header) (*Event, error)
}

// DefaultTolerance is how far the signed timestamp may be from the verifier's
// clock, either way, unless WithTolerance changes it: the value of Svix's own
// libraries.
const DefaultTolerance = 5 * time.Minute

// SecretPrefix starts the signing secrets Billing gives (whsec_ and base64).
const SecretPrefix = "whsec_"

// The header names of a signed delivery. Billing (Svix) sends the svix-* ones;
// the Standard Webhooks names, webhook-*, are accepted as well.
const (
	HeaderID        = "svix-id"
	HeaderTimestamp = "svix-timestamp"
	HeaderSignature = "svix-signature"
)

// headerFamilies are the two names of the three headers, tried in order.
var headerFamilies = [...][3]string{
	{HeaderID, HeaderTimestamp, HeaderSignature},
	{"webhook-id", "webhook-timestamp", "webhook-signature"},
}

// SignatureVerifier checks the signatures of Billing's webhook system (the Svix
// scheme, which is the Standard Webhooks one): the v1 signature is
// base64(HMAC-SHA256(key, id "." timestamp "." body)) over the raw body, where
// the key is the base64 part of a whsec_ secret. The signature header lists one
// or more space-separated "v1,<base64>" entries; the delivery is authentic if
// any matches any of the secrets (comparison in constant time), and then
// fresh if its timestamp is within the tolerance of the clock.
//
// A SignatureVerifier is safe for concurrent use.
type SignatureVerifier struct {
	keys      [][]byte
	tolerance time.Duration
	now       func() time.Time
}

// A VerifierOption configures a SignatureVerifier.
type VerifierOption func(*SignatureVerifier)

// WithTolerance sets how far the signed timestamp may be from the clock, in
// either direction (default DefaultTolerance). It must be positive.
func WithTolerance(d time.Duration) VerifierOption {
	return func(v *SignatureVerifier) { v.tolerance = d }
}

// WithClock sets the verifier's clock (default time.Now), for tests.
func WithClock(now func() time.Time) VerifierOption {
	return func(v *SignatureVerifier) { v.now = now }
}

// NewSignatureVerifier returns a verifier accepting deliveries signed with any
// of secrets: give the old and the new one while a secret is rotated. Each
// secret is "whsec_" followed by base64 (the prefix may be left out).
func NewSignatureVerifier(secrets []string, opts ...VerifierOption) (*SignatureVerifier, error) {
	v := &SignatureVerifier{tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if v.tolerance <= 0 {
		return nil, errors.New("webhook: the tolerance must be positive")
	}
	if v.now == nil {
		return nil, errors.New("webhook: nil clock")
	}
	if len(secrets) == 0 {
		return nil, errors.New("webhook: no secret")
	}
	for i, s := range secrets {
		key, err := parseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("webhook: secret %d of %d: %w", i+1, len(secrets), err)
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// Verify checks the delivery's signature against the raw body as received,
// then its timestamp, then decodes it. The Event's ID and Timestamp come from
// the headers.
func (v *SignatureVerifier) Verify(body []byte, header http.Header) (*Event, error) {
	id, ts, err := v.verify(body, header)
	if err != nil {
		return nil, err
	}
	ev, err := Decode(body)
	if err != nil {
		return nil, err
	}
	ev.ID, ev.Timestamp = id, ts
	return ev, nil
}

// Verify verifies a delivery signed with secret, with the default tolerance
// and clock, and decodes it: NewSignatureVerifier and Verify in one call.
func Verify(body []byte, header http.Header, secret string) (*Event, error) {
	v, err := NewSignatureVerifier([]string{secret})
	if err != nil {
		return nil, err
	}
	return v.Verify(body, header)
}

func (v *SignatureVerifier) verify(body []byte, header http.Header) (string, time.Time, error) {
	names := headerFamilies[0]
	for _, f := range headerFamilies {
		if header.Get(f[2]) != "" || header.Get(f[0]) != "" {
			names = f
			break
		}
	}
	id, tsText, sigText := header.Get(names[0]), header.Get(names[1]), header.Get(names[2])
	for i, val := range []string{id, tsText, sigText} {
		if val == "" {
			return "", time.Time{}, fmt.Errorf("%w: no %s header", ErrNotSigned, names[i])
		}
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: %s is not a number of seconds", ErrInvalidHeader, names[1])
	}
	sigs := parseSignatures(sigText)
	if len(sigs) == 0 {
		return "", time.Time{}, fmt.Errorf("%w: %s holds no v1 signature", ErrNotSigned, names[2])
	}
	ok := false
	for _, key := range v.keys {
		want := sign(key, id, sec, body)
		for _, s := range sigs {
			ok = hmac.Equal(s, want) || ok // all compared: the time does not tell which matched
		}
	}
	if !ok {
		return "", time.Time{}, fmt.Errorf("%w: none of %d signature(s) matches the %d secret(s)", ErrNoValidSignature, len(sigs), len(v.keys))
	}
	ts := time.Unix(sec, 0).UTC()
	now := v.now()
	switch {
	case now.Sub(ts) > v.tolerance:
		return "", time.Time{}, fmt.Errorf("%w: signed at %s, more than %s before now (%s)", ErrTooOld,
			ts.Format(time.RFC3339), v.tolerance, now.UTC().Format(time.RFC3339))
	case ts.Sub(now) > v.tolerance:
		return "", time.Time{}, fmt.Errorf("%w: signed at %s, more than %s after now (%s)", ErrTooNew,
			ts.Format(time.RFC3339), v.tolerance, now.UTC().Format(time.RFC3339))
	}
	return id, ts, nil
}

// parseSignatures returns the decoded v1 signatures of a signature header:
// space-separated "version,base64" entries. Entries of other versions, and
// v1 entries that are not base64 of a SHA-256 MAC, are skipped.
func parseSignatures(h string) [][]byte {
	var out [][]byte
	for _, entry := range strings.Fields(h) {
		ver, b64, ok := strings.Cut(entry, ",")
		if !ok || ver != "v1" || base64.StdEncoding.DecodedLen(len(b64)) > sha256.Size+2 {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) != sha256.Size {
			continue
		}
		out = append(out, sig)
	}
	return out
}

// parseSecret returns the HMAC key of a whsec_ secret. Its errors never quote
// the secret.
func parseSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	switch {
	case err != nil:
		return nil, errors.New("not whsec_ followed by base64")
	case len(key) == 0:
		return nil, errors.New("empty key")
	}
	return key, nil
}

// sign is the v1 signature of a message.
func sign(key []byte, id string, sec int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, sec, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// A Signer signs deliveries as Billing does, to build signed test payloads (a
// test's own "Billing") or to send webhooks from a fake. It is safe for
// concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for a whsec_ secret.
func NewSigner(secret string) (*Signer, error) {
	key, err := parseSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("webhook: signing secret: %w", err)
	}
	return &Signer{key: key}, nil
}

// Sign returns the signature header value of a message: "v1,<base64>". The
// timestamp counts in whole seconds.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(sign(s.key, id, ts.Unix(), body))
}

// Headers returns the svix-id, svix-timestamp and svix-signature headers of a
// delivery of body, with message id id, signed at ts.
func (s *Signer) Headers(id string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
	return h
}

// NewSecret returns a new random signing secret: whsec_ and the base64 of 24
// random bytes, the shape of Billing's.
func NewSecret() string {
	key := make([]byte, 24)
	_, _ = rand.Read(key) // never fails: it crashes the program instead
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// BasicVerifier checks the legacy webhook system's authentication: a static
// "Authorization: Basic <token>" header, the token agreed with Billing. It
// compares in constant time (digests of equal length, so the time does not
// tell the token's length either). The legacy system sends no message id and
// no timestamp: an Event it verifies has neither, so a Tracker skips only
// events older than the stored version, and a repeated delivery of the same
// event runs again: make the functions idempotent. Nor does anything bound a
// replay of a captured request. It is safe for concurrent use.
type BasicVerifier struct {
	digests [][sha256.Size]byte
}

// NewBasicVerifier returns a verifier accepting any of tokens (several while
// one is changed): the text that follows "Basic " in the Authorization header.
func NewBasicVerifier(tokens ...string) (*BasicVerifier, error) {
	if len(tokens) == 0 {
		return nil, errors.New("webhook: no token")
	}
	v := &BasicVerifier{}
	for i, t := range tokens {
		if t == "" {
			return nil, fmt.Errorf("webhook: token %d of %d is empty", i+1, len(tokens))
		}
		v.digests = append(v.digests, sha256.Sum256([]byte(t)))
	}
	return v, nil
}

// Verify checks the Authorization header, then decodes the body.
func (v *BasicVerifier) Verify(body []byte, header http.Header) (*Event, error) {
	h := header.Get("Authorization")
	if h == "" {
		return nil, fmt.Errorf("%w: no Authorization header", ErrNotSigned)
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return nil, fmt.Errorf("%w: the Authorization header is not Basic", ErrInvalidHeader)
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for _, d := range v.digests {
		match |= subtle.ConstantTimeCompare(got[:], d[:])
	}
	if match != 1 {
		return nil, fmt.Errorf("%w: wrong Basic token", ErrNoValidSignature)
	}
	return Decode(body)
}
