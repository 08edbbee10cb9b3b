package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
)

// The fake flow ends with the webhooks it caused, received and verified.
func TestFakeFlowWebhooks(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(nil)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`11\. Webhooks of this flow, received at http://127\.0\.0\.1:\d+, signatures verified`,
		`msg_000001 +subscription\.updated +subscription AzZltzSnnXURXasn +active, next invoice 2026-01-01, items: standard-EUR-Monthly ×1, users-EUR-Monthly ×8`,
		`msg_000002 +subscription\.updated +subscription AzZltzSnnXURXasn +active, next invoice 2026-02-01`,
		`msg_000003 +payment\.succeeded +transaction txn_INV-2026-00013 +160\.31 EUR success, invoice INV-2026-00013`,
		`3 event\(s\) handled, 3 deliveries, 3 answered 204`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
