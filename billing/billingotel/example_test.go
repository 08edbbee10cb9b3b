package billingotel_test

import (
	"context"
	"fmt"
	"log"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingotel"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// A client reporting its calls as OpenTelemetry spans. A program passes its own
// tracer and meter providers (or nil for the global ones); here the spans go to
// an in-memory exporter, and the call is retried once after a 503.
func Example() {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	srv := billingtest.NewServer()
	defer srv.Close()
	srv.Fault("getProductComponents", billingtest.Fault{Status: 503})
	client := srv.Client(billing.WithObserver(billingotel.New(tp, nil)))

	if _, err := client.GetProductComponents(context.Background(), billingtest.ProductID, gen.GetProductComponentsParams{}); err != nil {
		log.Fatal(err)
	}
	for _, span := range exporter.GetSpans() { // in the order they ended
		fmt.Printf("%-55s parent %t, %d events\n", span.Name, span.Parent.IsValid(), len(span.Events))
	}
	// Output:
	// GET /v1/products/{productId}/components                 parent true, 0 events
	// GET /v1/products/{productId}/components                 parent true, 0 events
	// getProductComponents                                    parent false, 1 events
}
