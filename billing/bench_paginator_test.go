package billing_test

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// benchInvoiceTotal is the number of invoices BenchmarkInvoicesPaginator reads.
const benchInvoiceTotal = 100_000

// appendInvoice appends invoice i of the paginator benchmark, as the API writes one
// (two line items, every field), about 800 bytes of JSON.
func appendInvoice(b []byte, i int) []byte {
	return fmt.Appendf(b, `{"invoiceId":"INV-%07d","customerId":"6f3e2a8c-1b7d-4c59-a0e4-7d2b9c1f5e30","subscriptionId":%q,`+
		`"productId":"builtfor_example","status":"paid","currencyCode":"EUR","amountTotal":3598,"amountDue":0,"amountPaid":3598,`+
		`"taxAmount":600,"taxIncluded":false,"invoiceDate":%d,"paymentDate":%d,"lineItems":[`+
		`{"invoiceLineItemId":"li_%07d_1","invoiceId":"INV-%07d","subscriptionId":%q,"entityType":"plan_item_price",`+
		`"componentId":"builtfor_example-standard-EUR-Monthly","description":"Standard (monthly)","amount":1999,"taxAmount":400,"taxRate":20},`+
		`{"invoiceLineItemId":"li_%07d_2","invoiceId":"INV-%07d","subscriptionId":%q,"entityType":"adhoc",`+
		`"description":"Onboarding session (1 h)","amount":999,"taxAmount":200,"taxRate":20}]}`,
		i, benchSubscription, 1764070800+i, 1764070860+i, i, i, benchSubscription, i, i, benchSubscription)
}

// liveHeap returns the heap occupied by the objects the last GC marked live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkInvoicesPaginator reads 100,000 invoices through Client.Invoices, page by
// page (the default page size), from a server that writes each page when asked. It
// reports the peak live heap of that pass (sampled at every page, as of the last
// GC) above the heap before it: bounded by a few pages, not by the number of
// invoices. Then ns/op is the time per invoice, as the loop reads on.
func BenchmarkInvoicesPaginator(b *testing.B) {
	s := newBenchServer(b)
	var peak atomic.Uint64
	var pageBytes atomic.Int64
	s.invoices = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err1 := strconv.Atoi(q.Get("limit"))
		offset, err2 := strconv.Atoi(q.Get("offset"))
		if err1 != nil || err2 != nil || q.Get("id") != benchSubscription || limit < 1 {
			http.Error(w, `{"statusCode":400,"errorCode":"BENCH","message":"bad query"}`, http.StatusBadRequest)
			return
		}
		if live := liveHeap(); live > peak.Load() {
			peak.Store(live) // one handler runs at a time: the client reads page by page
		}
		body := make([]byte, 0, 1024*limit)
		body = append(body, `{"total":`...)
		body = strconv.AppendInt(body, benchInvoiceTotal, 10)
		body = append(body, `,"items":[`...)
		for i := offset; i < min(offset+limit, benchInvoiceTotal); i++ {
			if i > offset {
				body = append(body, ',')
			}
			body = appendInvoice(body, i)
		}
		body = append(body, "]}"...)
		pageBytes.Store(int64(len(body)))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
	c := s.sdkClient(b)
	ctx := context.Background()
	// One pass over every invoice, for the heap.
	runtime.GC()
	base := liveHeap()
	peak.Store(base)
	n := 0
	for inv, err := range c.Invoices(ctx, benchSubscription) {
		if err != nil {
			b.Fatal(err)
		}
		if n%9973 == 0 && inv.InvoiceID != fmt.Sprintf("INV-%07d", n) {
			b.Fatalf("invoice %d is %s", n, inv.InvoiceID)
		}
		n++
	}
	if n != benchInvoiceTotal {
		b.Fatalf("%d invoices, want %d", n, benchInvoiceTotal)
	}
	above := float64(peak.Load()-base) / 1e6
	pages := (benchInvoiceTotal + billing.DefaultPageSize - 1) / billing.DefaultPageSize
	b.Logf("paginator: %d invoices in %d pages of %d: peak live heap %.2f MB above the heap before (%.1f MB in all; one page is %.0f kB of JSON, the %d invoices %.0f MB)",
		benchInvoiceTotal, pages, billing.DefaultPageSize, above, float64(peak.Load())/1e6,
		float64(pageBytes.Load())/1e3, benchInvoiceTotal, float64(pageBytes.Load())*float64(pages)/1e6)
	// A paginator that kept what it read would hold every invoice: far more.
	if above > 16 {
		b.Errorf("peak live heap %.1f MB above the heap before the pass: the paginator keeps more than a few pages", above)
	}

	// Then the time per invoice, passes after passes.
	next, stop := iter.Pull2(c.Invoices(ctx, benchSubscription))
	defer func() { stop() }()
	b.ReportAllocs()
	for b.Loop() {
		_, err, ok := next()
		if !ok {
			stop()
			next, stop = iter.Pull2(c.Invoices(ctx, benchSubscription))
			_, err, _ = next()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(above, "peak-live-MB")
}
