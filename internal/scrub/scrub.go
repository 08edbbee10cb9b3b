// Package scrub removes from what the SDK shows (an error, a log record, the
// headers it hands out) what it must never hold, whoever wrote it (Billing's
// answer, a partner's error): the client's credentials in every form they
// travel in, the access token, the credentials after an HTTP authentication
// scheme, e-mail addresses (Text, for logs) and cookies; and keeps a quoted
// text on one line and short. The billing client and the webhook Handler use it.
package scrub

import "strings"

// Text replaces, in s, the credentials after "Bearer " or "Basic " and the
// e-mail addresses with "[redacted]".
func Text(s string) string {
	for _, scheme := range []string{"Bearer ", "bearer ", "Basic ", "basic "} {
		for from := 0; ; {
			i := strings.Index(s[from:], scheme)
			if i < 0 {
				break
			}
			start := from + i + len(scheme)
			end := start
			for end < len(s) && !isSpaceOrQuote(s[end]) {
				end++
			}
			from = start // the scheme may end s
			if end > start {
				s = s[:start] + "[redacted]" + s[end:]
				from += len("[redacted]")
			}
		}
	}
	for from := 0; ; {
		i := strings.IndexByte(s[from:], '@')
		if i < 0 {
			return s
		}
		at := from + i
		start, end := at, at+1
		for start > 0 && isAddrChar(s[start-1]) {
			start--
		}
		for end < len(s) && isAddrChar(s[end]) {
			end++
		}
		if start < at && end > at+1 && strings.Contains(s[at+1:end], ".") {
			s = s[:start] + "[redacted]" + s[end:]
			from = start + len("[redacted]")
			continue
		}
		from = at + 1
	}
}

func isSpaceOrQuote(c byte) bool {
	return c == ' ' || c == '\t' || c == '"' || c == '\'' || c == ',' || c == ';' || c == '\n' || c == '\\'
}

// isAddrChar reports whether c may be part of an e-mail address as it shows in
// a text (its local part or domain).
func isAddrChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&*+-/=?^_`{|}~", c) >= 0 || c >= 0x80
}
