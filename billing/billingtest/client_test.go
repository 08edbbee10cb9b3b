package billingtest_test

import (
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func TestClient(t *testing.T) {
	srv := newServer(t)
	sub, addon := billingtest.SubscriptionID, billingtest.APICallsAddonID
	live := srv.Client()
	sandbox := srv.Client(billing.WithSandbox(true))

	for _, c := range []struct {
		client  *billing.Client
		editors []billing.RequestEditorFn
		q       float64
	}{
		{live, nil, 1},
		{live, nil, 2},
		{sandbox, nil, 10},
		{live, []billing.RequestEditorFn{billing.Sandbox(true)}, 20},
	} {
		res, err := c.client.SetSubscriptionItemUsage(t.Context(), sub, addon, gen.UsageInput{UsageQuantity: c.q}, c.editors...)
		if err != nil {
			t.Fatal(err)
		}
		if res.Item.UsageQuantity != c.q {
			t.Fatalf("answer %+v, want the usage %v", res.Item, c.q)
		}
	}
	if l, s := srv.Usage(sub, addon, false), srv.Usage(sub, addon, true); l != 3 || s != 30 {
		t.Errorf("usage live %v, sandbox %v, want 3 and 30", l, s)
	}
	if n := srv.TokenRequests(); n != 2 {
		t.Errorf("TokenRequests = %d, want 2 (one per client, then cached)", n)
	}
}

func TestClientOptionsWin(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(billing.WithClientCredentials(srv.ClientID, "wrong secret"))
	if _, err := c.GetProductComponents(t.Context(), billingtest.ProductID, gen.GetProductComponentsParams{}); err == nil {
		t.Error("a wrong secret: no error")
	}
	if n := srv.Requests("getProductComponents"); n != 0 {
		t.Errorf("Requests = %d, want 0: the token was refused", n)
	}
}
