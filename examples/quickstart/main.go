// Command quickstart walks a partner's Billing flow through the billing SDK and
// prints a short report.
//
// With no configuration it starts the embedded fake Billing API (billingtest) and
// runs the whole flow in sandbox mode: get a token, list the product's plans and
// addons, estimate a plan change, set a stairstep quantity, report usage (directly,
// and through billing/meter with a SQLite journal), add a
// charge at term, list invoices page by page and get a download link.
//
//	go run ./examples/quickstart
//
// With BILLING_CLIENT_ID, BILLING_CLIENT_SECRET and BILLING_PRODUCT_ID set, it runs
// the read-only part (token, components, and with BILLING_SUBSCRIPTION_ID the
// invoices) against the real Billing API, in sandbox mode. BILLING_BASE_URL and
// BILLING_TOKEN_URL override the production endpoints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		// One clear line, never a stack trace.
		fmt.Fprintln(os.Stderr, "quickstart:", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}

// liveVars are the variables that switch the quickstart to the real API.
var liveVars = []string{"BILLING_CLIENT_ID", "BILLING_CLIENT_SECRET", "BILLING_PRODUCT_ID"}

func run(ctx context.Context, w io.Writer, getenv func(string) string) error {
	var set, missing []string
	for _, v := range liveVars {
		if getenv(v) != "" {
			set = append(set, v)
		} else {
			missing = append(missing, v)
		}
	}
	switch {
	case len(set) == 0:
		return runFake(ctx, w)
	case len(missing) > 0:
		return fmt.Errorf("%s not set: set all of %s to use the real Billing API, or none to use the embedded fake",
			strings.Join(missing, " and "), strings.Join(liveVars, ", "))
	}
	opts := []billing.Option{
		billing.WithClientCredentials(getenv("BILLING_CLIENT_ID"), getenv("BILLING_CLIENT_SECRET")),
		billing.WithSandbox(true),
	}
	if u := getenv("BILLING_BASE_URL"); u != "" {
		opts = append(opts, billing.WithBaseURL(u))
	}
	if u := getenv("BILLING_TOKEN_URL"); u != "" {
		opts = append(opts, billing.WithTokenURL(u))
	}
	client, err := billing.NewClient(opts...)
	if err != nil {
		return err
	}
	r := &report{w: w}
	r.title("PrestaShop Billing quickstart: real Billing API, sandbox mode, read-only")
	if err := r.token(ctx, client); err != nil {
		return err
	}
	if err := r.components(ctx, client, getenv("BILLING_PRODUCT_ID")); err != nil {
		return err
	}
	if sub := getenv("BILLING_SUBSCRIPTION_ID"); sub != "" {
		if err := r.invoices(ctx, client, sub, 0); err != nil {
			return err
		}
	} else {
		r.line("(set BILLING_SUBSCRIPTION_ID to list a subscription's invoices too)")
	}
	return r.err
}

// runFake runs the whole flow against the embedded fake Billing API.
func runFake(ctx context.Context, w io.Writer) error {
	rx := startReceiver() // the partner's webhook endpoint (webhooks.go)
	defer rx.close()
	srv := billingtest.NewServer(rx.option())
	defer srv.Close()
	client := srv.Client(billing.WithSandbox(true), billing.WithPageSize(5))
	const (
		product      = billingtest.ProductID
		subscription = billingtest.SubscriptionID
	)
	r := &report{w: w}
	r.title("PrestaShop Billing quickstart: embedded fake Billing API at " + srv.URL + ", sandbox mode")

	if err := r.token(ctx, client); err != nil {
		return err
	}
	if err := r.components(ctx, client, product); err != nil {
		return err
	}

	r.section("Estimate: switch subscription %s to %s", subscription, billingtest.StandardYearlyPlanID)
	est, err := client.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{
		ComponentID:    billingtest.StandardYearlyPlanID,
		CustomerID:     billingtest.CustomerID,
		ProductID:      product,
		SubscriptionID: subscription,
	})
	if err != nil {
		return err
	}
	e := est.Item.InvoiceEstimate
	var tax float64
	for _, t := range e.Taxes {
		tax += t.Amount
	}
	r.table([]string{"SUBTOTAL", "TAX", "TOTAL", "DUE NOW"},
		[]string{euros(e.SubTotal), euros(tax), euros(e.Total), euros(e.AmountDue)})

	r.section("Set the quantity of %s (stairstep) for the next cycle", billingtest.UsersPlanID)
	qty, err := client.SetSubscriptionItemQuantity(ctx, subscription, billingtest.UsersPlanID,
		gen.QuantityInput{Quantity: 8})
	if err != nil {
		return err
	}
	r.line("quantity is now %g (step 6-10)", qty.Item.Quantity)

	r.section("Report usage of %s (metered)", billingtest.APICallsAddonID)
	for _, calls := range []float64{250, 120} {
		u, err := client.SetSubscriptionItemUsage(ctx, subscription, billingtest.APICallsAddonID,
			gen.UsageInput{UsageQuantity: calls})
		if err != nil {
			if errors.Is(err, billing.ErrOutcomeUnknown) {
				return fmt.Errorf("usage may or may not have been counted, not sent again: %w", err)
			}
			return err
		}
		r.line("+%g API calls", u.Item.UsageQuantity)
	}

	if err := meterStep(ctx, r, client, srv); err != nil { // meter.go
		return err
	}

	r.section("Add a charge at term to subscription %s", subscription)
	charge, err := client.AddSubscriptionChargeAtTerm(ctx, subscription, gen.ChargeAtTermInput{
		Amount: 1500, Description: "Onboarding session (1 h)",
	})
	if err != nil {
		return err
	}
	r.line("%s %q, on the next invoice", euros(charge.Item.Amount), charge.Item.Description)

	// Only the fake can end a billing period on demand: the real one ends on its date.
	inv, err := srv.CloseBillingPeriod(subscription, true)
	if err != nil {
		return err
	}
	r.section("The billing period ends (fake only): invoice %s is issued", inv.InvoiceID)
	var rows [][]string
	for _, li := range inv.LineItems {
		rows = append(rows, []string{li.EntityType, li.Description, price(li.Amount, nil, "")})
	}
	r.table([]string{"LINE", "DESCRIPTION", "AMOUNT"}, rows...)

	if err := r.invoices(ctx, client, subscription, 5); err != nil {
		return err
	}

	r.section("Download link of invoice %s", inv.InvoiceID)
	dl, err := client.GetInvoiceDownload(ctx, inv.InvoiceID)
	if err != nil {
		return err
	}
	r.line("%s", dl.Item.DownloadURL)
	r.line("valid until %s", billing.Time(dl.Item.ValidTill).Format(time.RFC3339))
	if err := rx.report(ctx, r, srv); err != nil {
		return err
	}
	r.printf("\nDone. The fake served %d token request(s) and %d getInvoices pages.\n",
		srv.TokenRequests(), srv.Requests("getInvoices"))
	return r.err
}

// report prints numbered sections and aligned tables. It keeps the first write
// error in err.
type report struct {
	w   io.Writer
	n   int
	err error
}

func (r *report) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

func (r *report) title(s string) { r.printf("%s\n", s) }

func (r *report) section(format string, args ...any) {
	r.n++
	r.printf("\n%d. %s\n", r.n, fmt.Sprintf(format, args...))
}

func (r *report) line(format string, args ...any) {
	r.printf("   %s\n", fmt.Sprintf(format, args...))
}

func (r *report) table(header []string, rows ...[]string) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		_, _ = fmt.Fprintf(tw, "   %s\n", strings.Join(row, "\t")) // a strings.Builder never fails
	}
	_ = tw.Flush()
	r.printf("%s", b.String())
}

func (r *report) token(ctx context.Context, c *billing.Client) error {
	r.section("Get an access token (client credentials)")
	tok, err := c.Token(ctx)
	if err != nil {
		return err
	}
	scope, _ := tok.Extra("scope").(string)
	r.line("%s token, expires in %s", tok.Type(), time.Until(tok.Expiry).Round(time.Second))
	r.line("scopes: %s", scope)
	return nil
}

func (r *report) components(ctx context.Context, c *billing.Client, product string) error {
	r.section("Plans and addons of %s", product)
	comps, err := c.GetProductComponents(ctx, product, gen.GetProductComponentsParams{LangIsoCode: gen.En})
	if err != nil {
		return err
	}
	var rows [][]string
	for _, plan := range comps.Plans {
		rows = append(rows, []string{plan.ID, "plan", string(plan.PricingModel), string(plan.BillingPeriodUnit),
			price(plan.Price, plan.Tiers, "")})
	}
	for _, addon := range comps.Addons {
		unit := ""
		if addon.IsUsageBased {
			unit = " per unit used"
		}
		rows = append(rows, []string{addon.ID, string(addon.ComponentType), string(addon.PricingModel), "-",
			price(addon.Price, addon.Tiers, unit)})
	}
	r.table([]string{"COMPONENT", "TYPE", "PRICING", "PERIOD", "PRICE"}, rows...)
	return nil
}

// invoices lists a subscription's invoices with the paginator, pageSize per call.
func (r *report) invoices(ctx context.Context, c *billing.Client, subscription string, pageSize int) error {
	if pageSize > 0 {
		r.section("Invoices of subscription %s, fetched %d per page", subscription, pageSize)
	} else {
		r.section("Invoices of subscription %s", subscription)
	}
	var rows [][]string
	for inv, err := range c.Invoices(ctx, subscription) {
		if err != nil {
			return err
		}
		date := "-"
		if inv.InvoiceDate != 0 {
			date = billing.Time(inv.InvoiceDate).Format(time.DateOnly)
		}
		rows = append(rows, []string{inv.InvoiceID, date, inv.Status, euros(inv.AmountTotal)})
	}
	r.table([]string{"INVOICE", "DATE", "STATUS", "TOTAL"}, rows...)
	r.line("%d invoices", len(rows))
	return nil
}

// euros formats an amount in cents ("EUR/2").
func euros(cents float64) string { return fmt.Sprintf("%.2f EUR", cents/100) }

func price(p float64, tiers []gen.Tier, unit string) string {
	if len(tiers) > 0 {
		var steps []string
		for _, t := range tiers {
			span := fmt.Sprintf("%g+", t.StartingUnit)
			if t.EndingUnit != 0 { // 0: the last tier, with no end
				span = fmt.Sprintf("%g-%g", t.StartingUnit, t.EndingUnit)
			}
			steps = append(steps, span+": "+euros(t.Price))
		}
		return strings.Join(steps, ", ")
	}
	return euros(p) + unit
}
