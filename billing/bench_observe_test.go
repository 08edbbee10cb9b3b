package billing_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingotel"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// BenchmarkObserved measures what logging and tracing cost on the two
// operations of the raw/gen/sdk benchmarks: the sdk client as they measure it
// (off), with a debug slog logger writing text to io.Discard (slog), with
// billingotel on an OpenTelemetry SDK that samples every span and aggregates
// every metric but exports nothing (otel), and with both. It prints the
// medians of the per-round ratios to off, measured side by side in blocks, each
// after a garbage collection (see sideBySide), and the sub-benchmarks' figures:
//
//	observed: slog/off = 1.04x ns/op, ... (getProductComponents)
func BenchmarkObserved(b *testing.B) {
	s := newBenchServer(b)
	ops := map[string]func(*billing.Client) func(context.Context) error{
		"getProductComponents":     sdkComponents,
		"setSubscriptionItemUsage": sdkUsage,
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	otel := billing.WithObserver(billingotel.New(tp, mp))
	kinds := []string{"off", "slog", "otel", "slog+otel"}
	options := map[string][]billing.Option{
		"off":       nil,
		"slog":      {billing.WithLogger(logger)},
		"otel":      {otel},
		"slog+otel": {billing.WithLogger(logger), otel},
	}
	for _, name := range []string{"getProductComponents", "setSubscriptionItemUsage"} {
		b.Run(name, func(b *testing.B) {
			runs, measured := benchRuns{}, benchOps{}
			for _, k := range kinds {
				b.Run(k, func(b *testing.B) {
					measure(b, s, runs, measured, k, ops[name](s.sdkClient(b, options[k]...)))
				})
			}
			compareObserved(b, name, kinds, runs, measured)
		})
	}
}

// compareObserved runs the kinds side by side, in blocks (see sideBySide), and
// prints the medians of their per-round ratios to the first kind.
func compareObserved(b *testing.B, name string, kinds []string, runs benchRuns, ops benchOps) {
	for _, k := range kinds {
		if len(runs[k]) == 0 {
			return // filtered out by -bench
		}
	}
	rounds := benchRounds * len(runs[kinds[0]])
	// One block of each kind per round: a logger and OpenTelemetry allocate
	// more, and each kind must pay for its own garbage.
	calls := sideBySideCalls(median(runs[kinds[0]]).nsPerOp)
	per, err := sideBySide(context.Background(), kinds, ops, rounds, calls, calls)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	for _, k := range kinds[1:] {
		x, base := median(runs[k]), median(runs[kinds[0]])
		fmt.Printf("observed: %s/%s = %.2fx ns/op, %.2fx allocs/op (%s; %.0f ns/op, %.0f B/op, %.0f allocs/op; medians of %d alternating rounds)\n",
			k, kinds[0], medianRatio(per, k, kinds[0]), x.allocsPerOp/base.allocsPerOp, name, x.nsPerOp, x.bytesPerOp, x.allocsPerOp, rounds)
	}
}

// sdkComponents is the sdk's call of getProductComponents in the benchmarks.
func sdkComponents(c *billing.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		comps, err := c.GetProductComponents(ctx, benchProductID, gen.GetProductComponentsParams{})
		if err != nil {
			return err
		}
		return checkSDKComponents(comps)
	}
}

// sdkUsage is the sdk's call of setSubscriptionItemUsage in the benchmarks.
func sdkUsage(c *billing.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		resp, err := c.SetSubscriptionItemUsage(ctx, benchSubscription, benchItem, gen.UsageInput{UsageQuantity: benchUsage})
		if err != nil {
			return err
		}
		if q := resp.Item.UsageQuantity; q != benchUsage {
			return fmt.Errorf("usageQuantity %v, want %v", q, benchUsage)
		}
		return nil
	}
}
