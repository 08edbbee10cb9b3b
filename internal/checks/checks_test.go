package checks

import (
	"net/http"
	"testing"
)

func BenchmarkCheckRequest(b *testing.B) {
	h := http.Header{"Content-Type": {"application/json"}, "Sandbox": {"true"}, "User-Agent": {"x"}, "Accept": {"application/json"}, "Authorization": {"Bearer t"}}
	b.ReportAllocs()
	for b.Loop() {
		if fe := SetSubscriptionItemUsage.CheckRequest(h, ""); fe != nil {
			b.Fatal(fe)
		}
	}
}
