// Package scrub removes from a text, before it is logged, what a log record
// must never hold whoever wrote the text (Billing's answer, a partner's
// error): the credentials after an HTTP authentication scheme and e-mail
// addresses. The billing client's logger and the webhook Handler's use it.
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
