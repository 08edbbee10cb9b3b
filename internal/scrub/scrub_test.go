package scrub

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"billing: x: 401: token Bearer tok-1 expired", "billing: x: 401: token Bearer [redacted] expired"},
		{`header "basic Y2xpZW50OnNlY3JldA=="`, `header "basic [redacted]"`},
		{"no account for jane.roe@example.com", "no account for [redacted]"},
		{"to a.b+c@mail.example.co.uk, then", "to [redacted], then"},
		{"no secret @ here, user@localhost", "no secret @ here, user@localhost"},
		{"Bearer", "Bearer"},
		{"", ""},
	} {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzText(f *testing.F) {
	for _, s := range []string{"Bearer x", "a@b.co", "@@..", "basic basic ", "x@y.z@w.v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Text(s)
		if again := Text(got); again != got {
			t.Fatalf("Text(%q) = %q, and again %q", s, got, again)
		}
		if strings.Contains(s, "[redacted]") == false && !strings.Contains(s, "@") && !strings.Contains(strings.ToLower(s), "bearer ") && !strings.Contains(strings.ToLower(s), "basic ") && got != s {
			t.Fatalf("Text(%q) = %q changed a text with nothing to redact", s, got)
		}
	})
}
