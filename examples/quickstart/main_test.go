package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFakeFlow(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(nil)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"1. Get an access token",
		"2. Plans and addons of builtfor_example",
		"builtfor_example-users-EUR-Monthly      plan   stairstep  month   1-5: 49.00 EUR",
		"3. Estimate", "239.88 EUR",
		"quantity is now 8",
		"+250 API calls",
		`15.00 EUR "Onboarding session (1 h)"`,
		"adhoc             Onboarding session (1 h)",
		"fetched 5 per page", "13 invoices",
		"6. Record usage through the meter",
		"flush: 1 call carrying 110 API calls; the fake counted +110 in 1 call",
		"builtfor_example-api-calls-EUR-Monthly × 480",
		"10. Download link",
		"1 token request(s) and 3 getInvoices pages",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestLiveMode(t *testing.T) {
	srv := billingtest.NewServer(billingtest.WithT(t))
	defer srv.Close()
	vars := map[string]string{
		"BILLING_CLIENT_ID":       srv.ClientID,
		"BILLING_CLIENT_SECRET":   srv.ClientSecret,
		"BILLING_PRODUCT_ID":      billingtest.ProductID,
		"BILLING_SUBSCRIPTION_ID": billingtest.SubscriptionID,
		"BILLING_BASE_URL":        srv.URL,
		"BILLING_TOKEN_URL":       srv.TokenURL(),
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, env(vars)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"read-only", "builtfor_example-standard-EUR-Monthly", "12 invoices"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, op := range []string{"setSubscriptionItemUsage", "addSubscriptionChargeAtTerm", "setSubscriptionItemQuantity", "updateSubscription"} {
		if n := srv.Requests(op); n != 0 {
			t.Errorf("read-only run called %s %d times", op, n)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	srv := billingtest.NewServer()
	defer srv.Close()
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"missing secret and product", map[string]string{"BILLING_CLIENT_ID": "x"},
			[]string{"BILLING_CLIENT_SECRET and BILLING_PRODUCT_ID not set"}},
		{"wrong secret", map[string]string{
			"BILLING_CLIENT_ID": srv.ClientID, "BILLING_CLIENT_SECRET": "wrong", "BILLING_PRODUCT_ID": "p",
			"BILLING_BASE_URL": srv.URL, "BILLING_TOKEN_URL": srv.TokenURL(),
		}, []string{"access token", "401", "invalid_client"}},
		{"unknown product", map[string]string{
			"BILLING_CLIENT_ID": srv.ClientID, "BILLING_CLIENT_SECRET": srv.ClientSecret, "BILLING_PRODUCT_ID": "builtfor_nothing",
			"BILLING_BASE_URL": srv.URL, "BILLING_TOKEN_URL": srv.TokenURL(),
		}, []string{"getProductComponents", "404"}},
		{"plain http base URL", map[string]string{
			"BILLING_CLIENT_ID": "x", "BILLING_CLIENT_SECRET": "y", "BILLING_PRODUCT_ID": "p",
			"BILLING_BASE_URL": "http://billing.example.com",
		}, []string{"plain http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), &out, env(tt.vars))
			if err == nil {
				t.Fatalf("run succeeded, want an error\n%s", out.String())
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, srv.ClientSecret) || strings.Contains(msg, "wrong") {
				t.Errorf("error leaks a secret: %q", msg)
			}
		})
	}
}
