package header

import (
	"net/http"
	"strings"
	"testing"
)

// scanNameReference is the slow, obvious definition of scanName: a rune-by-rune
// token check, and net/http's canonical form.
func scanNameReference(name string) (valid, canonical bool) {
	tchar := func(r rune) bool {
		return '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)
	}
	valid = name != "" && strings.IndexFunc(name, func(r rune) bool { return !tchar(r) }) < 0
	return valid, valid && http.CanonicalHeaderKey(name) == name
}

func TestScanName(t *testing.T) {
	for _, name := range []string{
		"", "Sandbox", "sandbox", "SANDBOX", "Content-Type", "content-type", "Content-type",
		"X-Request-Id", "X-Request-ID", "-", "--a", "a--b", "X-", "1a", "A1b-2C",
		"Bad Name", "Bad:Name", "Ünïcode", "tab\tname", "nul\x00", "\xff", "x~y", "A!B",
	} {
		gv, gc := scanName(name)
		wv, wc := scanNameReference(name)
		if gv != wv || gc != wc {
			t.Errorf("scanName(%q) = %v, %v; want %v, %v", name, gv, gc, wv, wc)
		}
	}
}

func FuzzScanName(f *testing.F) {
	for _, s := range []string{"", "Sandbox", "x-request-id", "Content-Type", "Bad Name", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		gv, gc := scanName(name)
		wv, wc := scanNameReference(name)
		if gv != wv || gc != wc {
			t.Errorf("scanName(%q) = %v, %v; want %v, %v", name, gv, gc, wv, wc)
		}
	})
}

// Names that differ only in case are checked together, whatever the order the
// map gives them in: two Transfer-Encoding values are refused (net/http's
// HTTP/2 transport would refuse them after the request was handed over).
func TestCheckSeesTheValuesOfNamesMergedByCase(t *testing.T) {
	for range 200 {
		h := http.Header{"Transfer-Encoding": {"chunked"}, "transfer-encoding": {"chunked"}}
		if field, _ := Check(h); field != "header Transfer-Encoding" {
			t.Fatalf("Check(two Transfer-Encoding values) = %q, want the header refused", field)
		}
		if got := h["Transfer-Encoding"]; len(got) != 2 || len(h) != 1 {
			t.Fatalf("after Check: %q, want one canonical name with both values", h)
		}
	}
}

// Every header a request can carry is checked on every call: what Check costs.
func BenchmarkCheck(b *testing.B) {
	h := http.Header{
		"User-Agent":    {"prestashop-billing-go/1.0.0 (go1.27.3; linux/amd64)"},
		"Accept":        {"application/json"},
		"Sandbox":       {"true"},
		"Content-Type":  {"application/json"},
		"Authorization": {"Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if f, r := Check(h); f != "" {
			b.Fatal(f, r)
		}
	}
}
