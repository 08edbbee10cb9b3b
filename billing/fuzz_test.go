package billing

// Fuzz targets for what the SDK parses from the network: error answers, the
// Retry-After header and the component union. Run one for a while with
//
//	go test -run '^$' -fuzz '^FuzzAPIError$' -fuzztime 20s ./billing/
//
// `go test` runs the seeds below and the committed corpus (testdata/fuzz/).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/header"
)

const fuzzOp = "setSubscriptionItemUsage"

func FuzzAPIError(f *testing.F) {
	for _, s := range []struct {
		status      int
		contentType string
		body        string
	}{
		{404, "application/json", `{"statusCode":404,"errorCode":"SUBSCRIPTION_NOT_FOUND","message":"Subscription AzZltzSnnXURXasn not found"}`},
		{400, "application/json", `{"statusCode":400,"errorCode":"BAD_REQUEST","message":"usageQuantity must be greater than 0"}`},
		{403, "application/json; charset=utf-8", `{"message":"missing scope subscription.write.usage"}`},
		{401, "application/json", `{"errorCode":""}`},
		{429, "application/json", `{"statusCode":"429","errorCode":42}`},
		{500, "application/json", `null`},
		{502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center></body>\r\n</html>\r\n"},
		{503, "text/plain", ""},
		{400, "", "\xff\xfe\x00b\x00a\x00d"},                                                   // UTF-16 with a BOM: not UTF-8
		{400, "text/plain", strings.Repeat("é", 150)},                                          // multi-byte runes around the 200-byte cut
		{400, "text/plain", strings.Repeat("\x80", 300)},                                       // continuation bytes only
		{413, "text/plain", strings.Repeat("x", 2*maxErrorBody+1)},                             // huge: bounded to maxErrorBody
		{404, "application/json", strings.Repeat(" ", 5000) + `{"message":"after the limit"}`}, // valid JSON cut by the limit
		{599, "application/problem+json", `{"type":"about:blank","title":"Oops","detail":"line 1\nline 2"}`},
		{400, "application/json", `{"message":"ok so far\u001b[31m red"}`},
		{400, "application/json", `{"message":"two\nlines"}`},
	} {
		f.Add(s.status, s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		status = 400 + int(uint(status)%200) // 400..599
		resp := &http.Response{
			StatusCode: status,
			Header:     http.Header{"Content-Type": {contentType}},
			Body:       io.NopCloser(bytes.NewReader(body)),
		}
		e := newAPIError(fuzzOp, resp, nil)

		if e.Operation != fuzzOp || e.StatusCode != status {
			t.Errorf("Operation, StatusCode = %q, %d; want %q, %d", e.Operation, e.StatusCode, fuzzOp, status)
		}
		if len(e.Body) > maxErrorBody {
			t.Errorf("len(Body) = %d > %d", len(e.Body), maxErrorBody)
		}
		if e.RetryAfter != 0 {
			t.Errorf("RetryAfter = %v without a Retry-After header", e.RetryAfter)
		}
		// Either the start of the body is kept, or it was the spec's error body (a
		// JSON object, or null) and Body is nil.
		read := body[:min(len(body), maxErrorBody)]
		switch {
		case e.Body == nil && !json.Valid(read):
			t.Errorf("no Body kept, but %q is no JSON error body", read)
		case e.Body != nil && !bytes.Equal(e.Body, read):
			t.Errorf("Body = %q, want the first %d bytes of the answer", e.Body, len(read))
		case e.Body != nil && (e.ErrorCode != "" || e.Message != ""):
			t.Errorf("both Body and ErrorCode %q, Message %q", e.ErrorCode, e.Message)
		}

		msg := e.Error()
		prefix := fmt.Sprintf("billing: %s: %d", fuzzOp, status)
		if rest, ok := strings.CutPrefix(msg, prefix); !ok || rest != "" && rest[0] != ' ' && rest[0] != ':' {
			t.Errorf("Error() = %q, want it to start with %q", msg, prefix)
		}
		if !utf8.ValidString(msg) {
			t.Errorf("Error() = %q is not valid UTF-8", msg)
		}
		if i := strings.IndexFunc(msg, isControl); i >= 0 {
			t.Errorf("Error() = %q has a control character at byte %d: errors must be one printable line", msg, i)
		}
	})
}

// isControl reports the characters an error line must not carry: newlines, other
// C0 and C1 controls, DEL, and the line and paragraph separators.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// fuzzNow is the fixed clock of FuzzRetryAfter.
var fuzzNow = time.Date(2015, time.October, 21, 7, 0, 0, 0, time.UTC)

// maxSeconds is the largest number of seconds a time.Duration holds.
const maxSeconds = math.MaxInt64 / int64(time.Second)

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{
		"", "0", "1", "120", " 120 ", "+5", "-1", "-0", "1.5", "1e3", "0x10", "१२", "120s",
		"3600", strconv.FormatInt(maxSeconds, 10), strconv.FormatInt(maxSeconds+1, 10),
		"18446744074", "99999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", // 28 minutes after fuzzNow
		"Wed, 21 Oct 2015 06:28:00 GMT", // in the past
		"Wednesday, 21-Oct-15 07:28:00 GMT",
		"Wed Oct 21 07:28:00 2015",
		"Fri, 31 Dec 9999 23:59:59 GMT",
		"Wed, 21 Oct 2015 07:28:00 +0200",
		"garbage", "\x00", "\xff\xfe", "120\r\nX-Injected: 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		got := header.RetryAfter(h, fuzzNow)

		trimmed := strings.TrimSpace(v)
		digits, plus := strings.CutPrefix(trimmed, "+") // strconv.Atoi takes a "+"
		overflow := isDigits(digits) && !fitsSeconds(digits)
		if got < 0 {
			t.Fatalf("RetryAfter(%q) = %v < 0", v, got)
		}
		switch {
		case isDigits(digits) && overflow:
			// More seconds than a Duration holds: at least the longest one, so that
			// the wait is longer than any MaxRetryAfter and ends the retries.
			if least := time.Duration(maxSeconds) * time.Second; got < least && (!plus || got != 0) {
				t.Errorf("RetryAfter(%q) = %v, want at least %v", v, got, least)
			}
		case isDigits(digits):
			// delay-seconds: exactly that long. "+N" is no delay-seconds: 0 (bad) will do.
			n, _ := strconv.ParseInt(digits, 10, 64)
			if want := time.Duration(n) * time.Second; got != want && (!plus || got != 0) {
				t.Errorf("RetryAfter(%q) = %v, want %v", v, got, want)
			}
		case strings.HasPrefix(trimmed, "-") && isDigits(trimmed[1:]):
			if got != 0 {
				t.Errorf("RetryAfter(%q) = %v, want 0 for a negative number", v, got)
			}
		default:
			if when, err := http.ParseTime(v); err == nil {
				if want := max(0, when.Sub(fuzzNow)); got != want {
					t.Errorf("RetryAfter(%q) = %v, want %v (from now to the date)", v, got, want)
				}
			} else if got != 0 {
				t.Errorf("RetryAfter(%q) = %v, want 0 for a value that is neither seconds nor a date", v, got)
			}
		}
	})
}

// fitsSeconds reports whether a string of digits is at most maxSeconds.
func fitsSeconds(digits string) bool {
	n, err := strconv.ParseInt(digits, 10, 64)
	return err == nil && n <= maxSeconds
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func FuzzComponentUnion(f *testing.F) {
	for _, s := range []string{
		`{"items":[
		 {"id":"builtfor_example-standard-EUR-Monthly","productId":"builtfor_example","componentGroupId":"builtfor_example-standard","componentType":"plan","pricingModel":"flat_fee","status":"active","isUsageBased":false,"billingPeriodUnit":"month","price":1999,"trialPeriodUnit":"day","trialPeriodValue":30,"details":{"title":"Standard","features":["Email support"]}},
		 {"id":"builtfor_example-pro-EUR-Monthly","productId":"builtfor_example","componentGroupId":"builtfor_example-pro","componentType":"plan","pricingModel":"stairstep","status":"active","isUsageBased":false,"billingPeriodUnit":"month","tiers":[{"startingUnit":1,"endingUnit":10,"price":4900},{"startingUnit":11,"price":9900}]},
		 {"id":"builtfor_example-api-calls-EUR-Monthly","productId":"builtfor_example","componentGroupId":"builtfor_example-api-calls","componentType":"addon","pricingModel":"per_unit","status":"active","isUsageBased":true,"price":2},
		 {"id":"builtfor_example-setup-EUR","productId":"builtfor_example","componentGroupId":"builtfor_example-setup","componentType":"charge","pricingModel":"flat_fee","status":"active","isUsageBased":false,"price":4900}
		],"total":4}`,
		`{"items":[],"total":0}`,
		`{"items":null}`,
		`{"items":[{"id":"x","componentType":"coupon"}],"total":1}`,                               // unknown componentType
		`{"items":[{"id":"x","pricingModel":"flat_fee"}],"total":1}`,                              // missing componentType
		`{"items":[{"componentType":null}]}`,                                                      // null componentType
		`{"items":[{"componentType":1}]}`,                                                         // not a string
		`{"items":[{"componentType":"PLAN"},{"ComponentType":"plan"},{"COMPONENTTYPE":"addon"}]}`, // key case
		`{"items":[{"componentType":"plan","componentType":"charge"}]}`,                           // duplicate key: the last wins
		`{"items":[{"componentType":"addon","componentType":null}]}`,                              // null does not reset it
		`{"items":[{"componentType":"plan","price":"1999"}]}`,                                     // right type, wrong field
		`{"items":[{"componentType":"plan","price":1e400}]}`,                                      // number out of range
		`{"items":[{"componentType":"pl\u0061n","id":"\ud800"}]}`,                                 // escapes, lone surrogate
		`{"items":[{"componentType":"plan\u0000"}]}`,
		`{"items":[null,1,"plan",[],true]}`,
		`{"items":[{"componentType":"charge","tiers":[{"startingUnit":"x"}]}]}`,
		"{\"items\":[{\"componentType\":\"addon\",\"id\":\"\xff\"}]}", // invalid UTF-8
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var list gen.ComponentList
		if err := json.Unmarshal(data, &list); err != nil {
			return
		}
		for i, item := range list.Items {
			raw, err := item.MarshalJSON()
			if err != nil || !json.Valid(raw) {
				t.Fatalf("item %d: MarshalJSON() = %q, %v: want the item's JSON", i, raw, err)
			}
			want, wantOK := componentTypeOf(raw)
			v, err := item.ValueByDiscriminator()
			if err != nil {
				// Only an item with a componentType that is not plan, addon or
				// charge, or one that does not decode into the type it names, fails.
				if wantOK && decodes(want, raw) {
					t.Errorf("item %d %s: ValueByDiscriminator() error %v for a well-formed %q component", i, raw, err, want)
				}
				if _, known := targetOf(want); !known && v != nil {
					t.Errorf("item %d %s: ValueByDiscriminator() = %T with error %v, want nil", i, raw, v, err)
				}
				continue
			}
			if !wantOK {
				t.Fatalf("item %d %s: ValueByDiscriminator() = %T, nil; but componentType is not a string", i, raw, v)
			}
			switch c := v.(type) {
			case gen.Plan:
				if want != "plan" || c.ComponentType != gen.PlanComponentTypePlan {
					t.Errorf("item %d %s: a gen.Plan with componentType %q, raw componentType %q", i, raw, c.ComponentType, want)
				}
			case gen.Addon:
				if (want != "addon" && want != "charge") || string(c.ComponentType) != want {
					t.Errorf("item %d %s: a gen.Addon with componentType %q, raw componentType %q", i, raw, c.ComponentType, want)
				}
			default:
				t.Errorf("item %d %s: ValueByDiscriminator() = %T", i, raw, v)
			}
		}
	})
}

// componentTypeOf reads the componentType of an item the way encoding/json fills a
// struct field, but by walking the tokens: in an object, the last member whose key
// equals "componentType" under Unicode case folding and whose value is not null. ok
// is false when the item is not an object or null, or that value is not a string.
func componentTypeOf(raw []byte) (componentType string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	if tok == nil {
		return "", true // null: no componentType
	}
	if tok != json.Delim('{') {
		return "", false
	}
	ok = true
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return "", false
		}
		if !strings.EqualFold(key.(string), "componentType") || string(val) == "null" {
			continue
		}
		var s string
		if json.Unmarshal(val, &s) != nil {
			ok = false // a later string does not make it decode: the error stays
			continue
		}
		componentType = s
	}
	return componentType, ok
}

// targetOf returns the type a componentType decodes into.
func targetOf(componentType string) (any, bool) {
	switch componentType {
	case "plan":
		return &gen.Plan{}, true
	case "addon", "charge":
		return &gen.Addon{}, true
	}
	return nil, false
}

// decodes reports whether raw decodes without error into the type componentType names.
func decodes(componentType string, raw []byte) bool {
	v, ok := targetOf(componentType)
	return ok && json.Unmarshal(raw, v) == nil
}

// Bugs the fuzz targets found, kept as plain tests: an error body's message with a
// newline made a multi-line error, and a huge Retry-After overflowed into a short
// or negative wait.
func TestFuzzFindings(t *testing.T) {
	resp := &http.Response{
		StatusCode: 400,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(`{"message":"two\nlines \u001b[31m"}`)),
	}
	if msg := newAPIError(fuzzOp, resp, nil).Error(); strings.IndexFunc(msg, isControl) >= 0 {
		t.Errorf("Error() = %q has a control character", msg)
	}
	for _, v := range []string{"9223372037", "18446744074", "99999999999999999999"} {
		if got := header.RetryAfter(http.Header{"Retry-After": {v}}, fuzzNow); got < 1000*time.Hour {
			t.Errorf("RetryAfter(%s) = %v, want a wait longer than any MaxRetryAfter", v, got)
		}
	}
}
