package billing_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

const (
	sub   = billingtest.SubscriptionID
	users = billingtest.UsersPlanID
	calls = billingtest.APICallsAddonID
)

// fastRetries keeps the real backoff waits of these tests short.
var fastRetries = billing.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, MaxRetryAfter: time.Second}

// Every operation goes through billing.Client to the fake, and changes its state.
func TestEveryOperationAgainstBillingtest(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	client := srv.Client(billing.WithSandbox(true), billing.WithPageSize(5))
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	comps, err := client.GetProductComponents(ctx, billingtest.ProductID, gen.GetProductComponentsParams{})
	must(err)
	var kinds []string
	for _, p := range comps.Plans {
		kinds = append(kinds, "plan "+string(p.PricingModel))
	}
	for _, a := range comps.Addons {
		kinds = append(kinds, string(a.ComponentType)+" "+string(a.PricingModel))
	}
	if diff := cmp.Diff([]string{"plan flat_fee", "plan flat_fee", "plan stairstep", "addon per_unit"}, kinds); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}

	// The customer id must be the token's subject: the client id.
	cust := gen.CustomerInput{ID: srv.ClientID, Email: "partner@example.com", Locale: gen.Fr, Type: gen.User}
	created, err := client.AddCustomer(ctx, cust)
	must(err)
	if created.Item.ID != srv.ClientID {
		t.Errorf("customer id = %q", created.Item.ID)
	}
	_, err = client.AddCustomer(ctx, cust)
	var apiErr *billing.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.ErrorCode != "CUSTOMER_ALREADY_EXISTS" {
		t.Errorf("second addCustomer: error = %v, want 403 CUSTOMER_ALREADY_EXISTS", err)
	}

	est, err := client.AddSubscriptionEstimateForCustomer(ctx, gen.EstimateInput{
		ComponentID: billingtest.StandardYearlyPlanID, CustomerID: billingtest.CustomerID,
		ProductID: billingtest.ProductID, SubscriptionID: sub,
	})
	must(err)
	if got := est.Item.InvoiceEstimate.Total; got != 23988 {
		t.Errorf("estimate total = %v, want 23988 (19990 + 20%% tax)", got)
	}

	for _, q := range []float64{8, 8, 12} { // not cumulative: the last value wins
		_, err = client.SetSubscriptionItemQuantity(ctx, sub, users, gen.QuantityInput{Quantity: q})
		must(err)
	}
	s, _ := srv.Subscription(sub, true)
	if got := itemOf(s, users).Quantity; got != 12 {
		t.Errorf("quantity = %v, want 12", got)
	}

	for _, u := range []float64{250, 120, 30} { // cumulative within the period
		_, err = client.SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: u})
		must(err)
	}
	if got := srv.Usage(sub, calls, true); got != 400 {
		t.Errorf("usage = %v, want 400", got)
	}

	_, err = client.AddSubscriptionChargeAtTerm(ctx, sub, gen.ChargeAtTermInput{Amount: 1500, Description: "Onboarding"})
	must(err)
	inv, err := srv.CloseBillingPeriod(sub, true)
	must(err)
	var lines []string
	for _, li := range inv.LineItems {
		if li.EntityType == "adhoc" || li.EntityType == "addon_item_price" {
			lines = append(lines, li.EntityType+" "+li.Description+" "+fmtCents(li.Amount))
		}
	}
	want := []string{"addon_item_price " + calls + " × 400 800", "adhoc Onboarding 1500"}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("next invoice lines (-want +got):\n%s", diff)
	}
	if got := srv.Usage(sub, calls, true); got != 0 {
		t.Errorf("usage after the period = %v, want 0", got)
	}

	var ids []string
	for inv, err := range client.Invoices(ctx, sub) {
		must(err)
		ids = append(ids, inv.InvoiceID)
	}
	if len(ids) != 13 || ids[0] != inv.InvoiceID {
		t.Errorf("invoices = %v, want 13, newest (%s) first", ids, inv.InvoiceID)
	}
	if got := srv.Requests("getInvoices"); got != 3 {
		t.Errorf("getInvoices pages = %d, want 3 (5 per page)", got)
	}

	upd, err := client.UpdateSubscription(ctx, sub, gen.SubscriptionUpdateInput{SubscriptionItemID: billingtest.StandardYearlyPlanID})
	must(err)
	if upd.Item.BillingPeriodUnit != string(gen.PeriodUnitYear) || itemOf(upd.Item, billingtest.StandardYearlyPlanID).ID == "" {
		t.Errorf("updated subscription = %+v, want the yearly plan", upd.Item)
	}

	dl, err := client.GetInvoiceDownload(ctx, inv.InvoiceID)
	must(err)
	if !strings.HasPrefix(dl.Item.DownloadURL, srv.URL+"/invoices/") {
		t.Errorf("download URL = %q", dl.Item.DownloadURL)
	}

	// All of it happened in sandbox: the live store is untouched.
	if got := srv.Usage(sub, calls, false); got != 0 {
		t.Errorf("live usage = %v, want 0", got)
	}
	if got := srv.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestAuthAgainstBillingtest(t *testing.T) {
	ctx := context.Background()
	usage := func(c *billing.Client) error {
		_, err := c.SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: 1})
		return err
	}
	t.Run("missing scope is a 403", func(t *testing.T) {
		srv := billingtest.NewServer(billingtest.WithT(t))
		err := usage(srv.Client(billing.WithScopes(billing.ScopeInvoicesRead)))
		var apiErr *billing.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.ErrorCode != "INSUFFICIENT_SCOPE" {
			t.Fatalf("error = %v, want 403 INSUFFICIENT_SCOPE", err)
		}
		if errors.Is(err, billing.ErrOutcomeUnknown) || srv.Applied("setSubscriptionItemUsage") != 0 {
			t.Errorf("a 403 applies nothing and is a definite failure: %v", err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		srv := billingtest.NewServer(billingtest.WithT(t))
		err := usage(srv.Client(billing.WithClientCredentials(srv.ClientID, "not-the-secret")))
		if err == nil || !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "not-the-secret") {
			t.Fatalf("error = %v, want invalid_client without the secret", err)
		}
		if srv.Requests("setSubscriptionItemUsage") != 0 {
			t.Error("the API was called without a token")
		}
	})
	t.Run("scope not allowed for the client", func(t *testing.T) {
		srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithAllowedScopes(billing.ScopeInvoicesRead))
		err := usage(srv.Client()) // asks for the six default scopes
		if err == nil || !strings.Contains(err.Error(), "invalid_scope") {
			t.Fatalf("error = %v, want invalid_scope", err)
		}
		if got := srv.TokenRequests(); got != 1 {
			t.Errorf("token requests = %d, want 1 (a refusal is not retried)", got)
		}
	})
	t.Run("expired token is refreshed and the call replayed once", func(t *testing.T) {
		now := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithClock(clock))
		srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Status: http.StatusUnauthorized})
		if err := usage(srv.Client()); err != nil {
			t.Fatal(err)
		}
		if got := []int{srv.TokenRequests(), srv.Requests("setSubscriptionItemUsage"), srv.Applied("setSubscriptionItemUsage")}; !cmp.Equal(got, []int{2, 2, 1}) {
			t.Errorf("token requests, usage requests, applied = %v, want [2 2 1]", got)
		}
	})
	t.Run("invalid request reaches the fake only with checks off", func(t *testing.T) {
		srv := billingtest.NewServer(billingtest.WithT(t))
		c := srv.Client(billing.WithRequestValidation(false), billing.WithHTTPClient(
			contracttest.Client(t, srv.HTTPClient(), contracttest.OffSpecRequests("client-side checks are off and the usage is 0"))))
		_, err := c.SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: 0})
		var apiErr *billing.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "usageQuantity") {
			t.Fatalf("error = %v, want the fake's 400 naming usageQuantity", err)
		}
		_, err = srv.Client().SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: 0})
		var invalid *billing.InvalidRequestError
		if !errors.As(err, &invalid) || invalid.Field != "usageQuantity" {
			t.Fatalf("error = %v, want InvalidRequestError on usageQuantity", err)
		}
		if got := srv.Requests("setSubscriptionItemUsage"); got != 1 {
			t.Errorf("requests = %d, want 1 (only the unchecked one)", got)
		}
	})
}

// The retry guarantees, proven against the fake's fault scripting: what the caller
// sees and what the server applied.
func TestFaultsAgainstBillingtest(t *testing.T) {
	type outcome int
	const (
		success outcome = iota
		unknown         // error wrapping ErrOutcomeUnknown
		failed          // definite error, nothing applied
	)
	usage := func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemUsage(ctx, sub, calls, gen.UsageInput{UsageQuantity: 10})
		return err
	}
	charge := func(ctx context.Context, c *billing.Client) error {
		_, err := c.AddSubscriptionChargeAtTerm(ctx, sub, gen.ChargeAtTermInput{Amount: 500, Description: "x"})
		return err
	}
	quantity := func(ctx context.Context, c *billing.Client) error {
		_, err := c.SetSubscriptionItemQuantity(ctx, sub, users, gen.QuantityInput{Quantity: 7})
		return err
	}
	tests := []struct {
		name         string
		op           string
		do           func(context.Context, *billing.Client) error
		fault        billingtest.Fault
		want         outcome
		wantRequests int
		wantApplied  int
	}{
		{"usage 503", "setSubscriptionItemUsage", usage, billingtest.Fault{Status: 503}, unknown, 1, 0},
		{"usage 500 twice", "setSubscriptionItemUsage", usage, billingtest.Fault{Status: 500, Times: 2}, unknown, 1, 0},
		{"usage dropped after apply", "setSubscriptionItemUsage", usage, billingtest.Fault{Drop: true, Apply: true}, unknown, 1, 1},
		{"usage dropped before apply", "setSubscriptionItemUsage", usage, billingtest.Fault{Drop: true}, unknown, 1, 0},
		{"usage 429 with Retry-After", "setSubscriptionItemUsage", usage, billingtest.Fault{Status: 429, RetryAfter: "0"}, success, 2, 1},
		{"usage 429 until the attempts run out", "setSubscriptionItemUsage", usage, billingtest.Fault{Status: 429, Times: 3}, failed, 3, 0},
		{"usage 404", "setSubscriptionItemUsage", usage, billingtest.Fault{Status: 404}, failed, 1, 0},
		{"charge 504", "addSubscriptionChargeAtTerm", charge, billingtest.Fault{Status: 504}, unknown, 1, 0},
		{"charge dropped after apply", "addSubscriptionChargeAtTerm", charge, billingtest.Fault{Drop: true, Apply: true}, unknown, 1, 1},
		{"quantity 503 then ok", "setSubscriptionItemQuantity", quantity, billingtest.Fault{Status: 503}, success, 2, 1},
		{"quantity dropped after apply, replayed", "setSubscriptionItemQuantity", quantity, billingtest.Fault{Drop: true, Apply: true}, success, 2, 2},
		{"quantity 502 until the attempts run out", "setSubscriptionItemQuantity", quantity, billingtest.Fault{Status: 502, Times: 5}, failed, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := billingtest.NewServer(billingtest.WithT(t))
			srv.Fault(tt.op, tt.fault)
			err := tt.do(context.Background(), srv.Client(billing.WithRetryPolicy(fastRetries)))
			got := success
			switch {
			case errors.Is(err, billing.ErrOutcomeUnknown):
				got = unknown
			case err != nil:
				got = failed
			}
			if got != tt.want {
				t.Errorf("outcome = %v (error %v), want %v", got, err, tt.want)
			}
			if n := srv.Requests(tt.op); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
			if n := srv.Applied(tt.op); n != tt.wantApplied {
				t.Errorf("applied = %d, want %d", n, tt.wantApplied)
			}
			// Whatever the SDK said, the server state matches what was applied.
			switch tt.op {
			case "setSubscriptionItemUsage":
				if u := srv.Usage(sub, calls, false); u != float64(10*tt.wantApplied) {
					t.Errorf("usage = %v, want %v", u, 10*tt.wantApplied)
				}
			case "addSubscriptionChargeAtTerm":
				if n := len(srv.PendingCharges(sub, false)); n != tt.wantApplied {
					t.Errorf("pending charges = %d, want %d", n, tt.wantApplied)
				}
			}
		})
	}

	t.Run("stall past the deadline", func(t *testing.T) {
		srv := billingtest.NewServer(billingtest.WithT(t))
		srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Respond: faultlab.Stall})
		c := srv.Client()
		if _, err := c.Token(context.Background()); err != nil { // the deadline is for the call only
			t.Fatal(err)
		}
		// The deadline also covers getting a connection and writing the
		// request: it must not end before the server has the call, even on a
		// loaded machine. The server holds the call until it ends, so it costs
		// only time.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := usage(ctx, c)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, billing.ErrOutcomeUnknown) {
			t.Fatalf("error = %v, want DeadlineExceeded and ErrOutcomeUnknown", err)
		}
		if srv.Applied("setSubscriptionItemUsage") != 0 || srv.Requests("setSubscriptionItemUsage") != 1 {
			t.Errorf("requests %d, applied %d; want 1, 0", srv.Requests("setSubscriptionItemUsage"), srv.Applied("setSubscriptionItemUsage"))
		}
	})
}

func TestWithTokenSource(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	real := srv.Client()
	var served int
	ts := tokenSourceFunc(func() (*oauth2.Token, error) {
		served++
		if served == 1 {
			return &oauth2.Token{AccessToken: "stale"}, nil // refused with 401: asked again
		}
		return real.Token(context.Background())
	})
	c := srv.Client(billing.WithTokenSource(ts))
	if _, err := c.GetInvoiceDownload(context.Background(), "INV-2025-00001"); err != nil {
		t.Fatal(err)
	}
	if served != 2 {
		t.Errorf("token source asked %d times, want 2", served)
	}
}

func itemOf(s gen.Subscription, id string) gen.SubscriptionItem {
	for _, it := range s.SubscriptionItems {
		if it.ID == id {
			return it
		}
	}
	return gen.SubscriptionItem{}
}

func fmtCents(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }
