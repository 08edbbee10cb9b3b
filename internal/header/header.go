// Package header checks the headers of a request before billing.Client sends
// it, so that a header net/http would refuse to send is reported as an invalid
// request, not as a network error after the request was handed over; and reads
// the headers of the answers the client acts on (Retry-After, a refused bearer
// token, a JSON media type).
package header

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Check refuses a name of h that is not a token, and puts the others in
// canonical form (names that differ only in case become one, with all their
// values: the checks that follow, and net/http, see them together). It then
// refuses a value with a control character, a connection-specific header
// HTTP/2 forbids, and Accept-Encoding, which would turn net/http's
// decompression off (the client reads answers as JSON, and bounds their
// decoded size). It returns what is wrong ("" if nothing) and why.
func Check(h http.Header) (field, reason string) {
	for name, values := range h {
		valid, canonical := scanName(name)
		if !valid {
			return fmt.Sprintf("header %q", name), "not a valid header name"
		}
		if !canonical { // merged into the canonical name: the checks below see all its values
			ck := http.CanonicalHeaderKey(name)
			h[ck] = append(h[ck][:len(h[ck]):len(h[ck])], values...)
			delete(h, name)
			name, values = ck, h[ck]
		}
		for _, v := range values {
			if !ValidValue(v) {
				return "header " + name, "value holds a control character"
			}
		}
		switch {
		case name == "Accept-Encoding":
			return "header " + name, "not allowed: net/http negotiates compression and decodes the answer"
		case len(values) > 0 && http2Forbids(name, values):
			return "header " + name, fmt.Sprintf("%q: HTTP/2 forbids it", values)
		}
	}
	return "", ""
}

// scanName reports whether name is a header name (a non-empty token, RFC 9110)
// and, if it is, whether it is in the form http.CanonicalHeaderKey gives it: a
// letter upper case at the start and after each hyphen, lower case elsewhere.
// It reads name once, without allocating: every request's headers pass here.
func scanName(name string) (valid, canonical bool) {
	if name == "" {
		return false, false
	}
	canonical = true
	upper := true // the next letter is upper case in canonical form
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !tokenChar[c] {
			return false, false
		}
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
		}
		upper = c == '-'
	}
	return true, canonical
}

// http2Forbids reports whether net/http refuses to send the values vv (at least
// one) of header name over HTTP/2: a connection-specific header.
func http2Forbids(name string, vv []string) bool {
	switch v := vv[0]; name {
	case "Upgrade":
		return v != "" && v != "chunked"
	case "Transfer-Encoding":
		return len(vv) > 1 || v != "" && v != "chunked"
	case "Connection":
		return len(vv) > 1 || v != "" && !strings.EqualFold(v, "close") && !strings.EqualFold(v, "keep-alive")
	}
	return false
}

// ValidValue reports whether net/http sends v as a header value: no control
// character but the tab.
func ValidValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// tokenChar tells the bytes a header name may hold: RFC 9110's tchar.
var tokenChar = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// RetryAfter parses a Retry-After header (seconds or an HTTP date); 0 if absent
// or bad. More seconds than a Duration holds is still a wait, longer than any
// retry policy's: it ends the retries.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if t := strings.TrimSpace(v); t != "" && strings.TrimLeft(t, "0123456789") == "" {
		s, err := strconv.ParseInt(t, 10, 64)
		if err != nil || s > int64(math.MaxInt64/time.Second) {
			return math.MaxInt64
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// BearerRefused reports whether the headers of a 401 answer say that the token
// was refused (RFC 6750: a Bearer challenge with error="invalid_token").
func BearerRefused(h http.Header) bool {
	for _, v := range h.Values("Www-Authenticate") {
		v = strings.ToLower(v)
		if strings.HasPrefix(v, "bearer") && (strings.Contains(v, `error="invalid_token"`) || strings.Contains(v, "error=invalid_token")) {
			return true
		}
	}
	return false
}

// IsJSON reports whether a Content-Type is JSON (application/json or +json).
func IsJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}
