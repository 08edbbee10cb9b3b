// Package endpoint checks the URLs billing.Client sends credentials and tokens
// to (the API's base URL, the token endpoint): never in clear text over a
// network, and with no part the client would drop.
package endpoint

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Check refuses raw, the URL of what (e.g. "base URL"), if it would carry
// credentials or tokens in clear text (only https, or http to a loopback host,
// are accepted) or has parts the client would drop (user information, a query,
// a fragment). It returns the URL's scheme://host.
func Check(what, raw string) (origin string, _ error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%s %q: user information in a URL is not allowed; use WithClientCredentials", what, u.Redacted())
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("%s %q: a query is not allowed", what, raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("%s %q: a fragment is not allowed", what, raw)
	case u.Scheme == "https" && u.Host != "", u.Scheme == "http" && IsLoopback(u.Hostname()):
		return u.Scheme + "://" + u.Host, nil
	case u.Scheme == "http":
		return "", fmt.Errorf("%s %q: plain http is only allowed to a loopback host; use https", what, raw)
	}
	return "", fmt.Errorf("%s %q: want an absolute https URL", what, raw)
}

// IsLoopback reports whether host (a name or an IP address) is this machine's.
func IsLoopback(host string) bool {
	ip := net.ParseIP(host)
	return strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
}

// Within reports whether u is at origin (scheme://host, as Check returns it),
// without building a string: it runs on every request.
func Within(origin string, u *url.URL) bool {
	rest, ok := strings.CutPrefix(origin, u.Scheme)
	return ok && u.Scheme != "" && strings.TrimPrefix(rest, "://") == u.Host && strings.HasPrefix(rest, "://")
}
