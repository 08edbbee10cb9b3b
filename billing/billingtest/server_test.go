package billingtest_test

import (
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
)

func TestNewServer(t *testing.T) {
	srv := billingtest.NewServer()
	if srv.TokenURL() != srv.URL+"/oauth2/token" || srv.ClientID != billingtest.DefaultClientID || srv.ClientSecret != billingtest.DefaultClientSecret {
		t.Errorf("URL %s, TokenURL %s, client %s %s", srv.URL, srv.TokenURL(), srv.ClientID, srv.ClientSecret)
	}
	srv.Close()
	srv.Close() // a second Close is harmless
}

func TestNewServerPanics(t *testing.T) {
	dupSub := billingtest.DefaultSeed()
	dupSub.Subscriptions = append(dupSub.Subscriptions, dupSub.Subscriptions[0])
	dupPlan := billingtest.DefaultSeed()
	dupPlan.Plans = append(dupPlan.Plans, dupPlan.Plans[0])
	dupInvoice := billingtest.DefaultSeed()
	dupInvoice.Invoices = append(dupInvoice.Invoices, dupInvoice.Invoices[0])
	for name, opts := range map[string][]billingtest.Option{
		"duplicate subscription": {billingtest.WithSeed(dupSub)},
		"duplicate plan":         {billingtest.WithSeed(dupPlan)},
		"duplicate invoice":      {billingtest.WithSeed(dupInvoice)},
		"zero token lifetime":    {billingtest.WithTokenTTL(0)},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			billingtest.NewServer(opts...).Close()
		}()
	}
}
