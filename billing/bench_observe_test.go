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
// medians of the per-round ratios to off, measured side by side in
// alternating rounds (see compare):
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

// compareObserved runs the kinds side by side in alternating rounds, as compare
// does, and prints the medians of their per-round ratios to the first kind.
func compareObserved(b *testing.B, name string, kinds []string, runs benchRuns, ops benchOps) {
	for _, k := range kinds {
		if len(runs[k]) == 0 {
			return // filtered out by -bench
		}
	}
	rounds := benchRounds * len(runs[kinds[0]])
	d, n := benchTime()
	ctx := context.Background()
	per := map[string][]benchResult{}
	for r := range rounds {
		for j := range kinds {
			k := kinds[(r+j)%len(kinds)]
			iters := max(1, n/benchRounds)
			if n == 0 {
				iters = max(1, int(float64(d.Nanoseconds())/benchRounds/median(runs[k]).nsPerOp))
			}
			res, err := timeOp(ctx, ops[k], iters)
			if err != nil {
				b.Fatalf("%s %s: %v", name, k, err)
			}
			per[k] = append(per[k], res)
		}
	}
	for _, k := range kinds[1:] {
		ns, allocs := make([]float64, rounds), make([]float64, rounds)
		for i := range rounds {
			ns[i] = per[k][i].nsPerOp / per[kinds[0]][i].nsPerOp
			allocs[i] = per[k][i].allocsPerOp / per[kinds[0]][i].allocsPerOp
		}
		x := median(per[k])
		fmt.Printf("observed: %s/%s = %.2fx ns/op, %.2fx allocs/op (%s; %.0f ns/op, %.0f B/op, %.0f allocs/op; medians of %d alternating rounds)\n",
			k, kinds[0], medianOf(ns), medianOf(allocs), name, x.nsPerOp, x.bytesPerOp, x.allocsPerOp, rounds)
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
