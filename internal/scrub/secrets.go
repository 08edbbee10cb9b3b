package scrub

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Secrets returns s with each of secrets (see CredentialForms) replaced by
// "[redacted]". Every text the client puts in an error from what a server sent
// goes through it, whole, before it is cut short or quoted.
func Secrets(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

// CredentialForms returns the forms in which a client's credentials travel, and
// a server may echo them: the secret raw, URL-escaped and JSON-escaped, and the
// HTTP Basic credentials base64(id:secret), of the raw and of the URL-escaped
// values (x/oauth2 escapes them). None without a secret.
func CredentialForms(id, secret string) []string {
	if secret == "" {
		return nil
	}
	b64 := base64.StdEncoding.EncodeToString
	return []string{secret, url.QueryEscape(secret), strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(secret),
		b64([]byte(id + ":" + secret)), b64([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))}
}

// Excerpt returns at most n bytes of b, cut on a rune boundary, marked "..." when cut.
func Excerpt(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "..."
}

// OneLine returns s as it is, or quoted if it holds a character that is not
// printable (a newline, an escape sequence): an error stays one line in the logs.
func OneLine(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// Header returns the headers of resp as the client hands them out: without the
// cookies it sets, and with the credential its request carried (the access
// token) redacted wherever the answer echoes it (a WWW-Authenticate quoting it,
// a gateway copying the request's headers). They are resp.Header itself when it
// holds neither, else a cleaned copy; nil when there are none.
func Header(resp *http.Response) http.Header {
	if resp == nil || len(resp.Header) == 0 {
		return nil
	}
	var cred string
	if resp.Request != nil {
		_, cred, _ = strings.Cut(resp.Request.Header.Get("Authorization"), " ")
		cred = strings.TrimSpace(cred)
	}
	holds := func(s string) bool { return cred != "" && strings.Contains(s, cred) }
	if !dirty(resp.Header, holds) {
		return resp.Header
	}
	c := resp.Header.Clone()
	delete(c, "Set-Cookie")
	delete(c, "Set-Cookie2")
	for k, vs := range c {
		for i, v := range vs {
			if holds(v) {
				vs[i] = strings.ReplaceAll(v, cred, "[redacted]")
			}
		}
		if holds(k) {
			delete(c, k)
		}
	}
	return c
}

// dirty reports whether h sets a cookie or holds, in a name or a value, what
// holds finds.
func dirty(h http.Header, holds func(string) bool) bool {
	for k, vs := range h {
		if k == "Set-Cookie" || k == "Set-Cookie2" || holds(k) {
			return true
		}
		for _, v := range vs {
			if holds(v) {
				return true
			}
		}
	}
	return false
}

// Error returns err when neither its text nor its %+v holds one of secrets
// (what a server sent may be quoted there: net/http quotes a malformed answer's
// lines), else an error of its redacted text that wraps nothing, since every
// error of the chain would print the secret.
func Error(err error, secrets []string) error {
	msg := err.Error()
	if all := fmt.Sprintf("%+v", err); Secrets(msg, secrets) == msg && Secrets(all, secrets) == all {
		return err
	}
	return errors.New(Secrets(msg, secrets))
}
