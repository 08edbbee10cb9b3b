package webhook_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// fixture returns the body of testdata/events/<t>.json.
func fixture(t testing.TB, typ webhook.Type) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", string(typ)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ignoreRaws leaves the Raw fields out of a comparison; tests check them apart.
var ignoreRaws = cmp.Options{
	cmpopts.IgnoreFields(webhook.Customer{}, "Raw"),
	cmpopts.IgnoreFields(webhook.Subscription{}, "Raw"),
	cmpopts.IgnoreFields(webhook.Transaction{}, "Raw"),
	cmpopts.IgnoreFields(webhook.Event{}, "Data"),
}

// The customer, subscription and transaction of the documentation's examples.
var (
	docAddress = webhook.BillingAddress{
		FirstName: "John", LastName: "Doe", Company: "company", Line1: "1 rue de Rivoli", City: "Paris",
		Country: "FR", Zip: "85000", ValidationStatus: "not_validated", Object: "billing_address",
	}
	docCustomer = webhook.Customer{
		ID: "b2581e4b-0030-4fc8-9bf2-7f01c550a946", Email: "john.doe@prestashop.com", AutoCollection: "on",
		IsLocationValid: true, CreatedAt: 1639489665, UpdatedAt: 1641367315, CreatedFromIP: "37.59.216.43",
		Taxability: "taxable", Channel: "web", ResourceVersion: 1641367315861, Object: "customer",
		BillingAddress: &docAddress, CardStatus: "valid", PreferredCurrencyCode: "EUR",
		PrimaryPaymentSourceID: "pm_6oZmhSsKtNhO4puJ",
		PaymentMethod: &webhook.PaymentMethod{
			Object: "payment_method", Type: "card", ReferenceID: "cus_Km9gpGiTwLYPzA/card_1K9WdDGp5Dc2lo8uY9G6Or4r",
			Gateway: "stripe", GatewayAccountID: "gw_Azqe1TSLVjdNhdI", Status: "valid",
		},
		ShopID:   "b2581e4b-0030-4fc8-9bf2-7f01c550a946",
		MetaData: webhook.CustomerMetaData{ShopURL: "https://my-shop.prestashop.com"},
	}
	docSubscription = webhook.Subscription{
		ID: "AzZltzSnnXURXasn", PlanID: "default-free", PlanQuantity: 1, PlanUnitPrice: 100, PlanAmount: 100,
		BillingPeriod: 1, BillingPeriodUnit: "month", CustomerID: "AzZluuSkIEXas24Mv", Status: webhook.StatusActive,
		TrialStart: 1635980400, TrialEnd: 1635980400, CurrentTermStart: 1636412400, CurrentTermEnd: 1639004399,
		NextBillingAt: 1639004400, CreatedAt: 1636029127, StartedAt: 1635980400, ActivatedAt: 1636066800,
		UpdatedAt: 1636467088, Channel: "web", ResourceVersion: 1636467088785, Object: "subscription",
		CurrencyCode: "EUR", DueInvoicesCount: 1, DueSince: 1636412400, TotalDues: 120, MRR: 100, ExchangeRate: 1,
		BaseCurrencyCode: "EUR", TrialEndAction: "site_default",
		SubscriptionItems: []webhook.SubscriptionItem{
			{ItemPriceID: "default-free", ItemType: webhook.ItemPlan, Quantity: 1, UnitPrice: 100, Amount: 100},
		},
		MetaData: webhook.SubscriptionMeta{Module: "rbm-example"},
	}
	docTransaction = webhook.Transaction{
		ID: "txn_Azz5uVSoHB7gi16HQ", CustomerID: "AzZluuSkIEXas24Mv", SubscriptionID: "AzZltzSnnXURXasn",
		GatewayAccountID: "gw_Azqe1TSLVjdNhdI", PaymentSourceID: "pm_AzZlyjSoHAvW5Jdw", PaymentMethod: "card",
		Gateway: "stripe", Type: "payment", Date: 1636467087, ExchangeRate: 1, Amount: 120,
		IDAtGateway: "ch_3Jtv2pGp5Dc2lo8u16q8AjHP", Status: webhook.TransactionFailure,
		ErrorCode: "authentication_required", ErrorText: "Your card was declined. This transaction requires authentication.",
		FraudReason: "The bank returned the decline code `authentication_required`.", UpdatedAt: 1636467088,
		ResourceVersion: 1636467088743, Object: "transaction", MaskedCardNumber: "************3184",
		CurrencyCode: "EUR", BaseCurrencyCode: "EUR",
		LinkedInvoices: []webhook.LinkedInvoice{{
			InvoiceID: "1531", AppliedAmount: 120, AppliedAt: 1636467088, InvoiceDate: 1636412400,
			InvoiceTotal: 120, InvoiceStatus: "payment_due",
		}},
	}
)

func TestDecodeFixtures(t *testing.T) {
	const shop = "d673f3d0-86b1-4193-a714-dc9c487ec767"
	renewed := docSubscription
	renewed.CurrentTermStart, renewed.CurrentTermEnd, renewed.NextBillingAt = 1639004400, 1641682799, 1641682800
	renewed.UpdatedAt, renewed.ResourceVersion = 1639004460, 1639004460123
	renewed.DueInvoicesCount, renewed.DueSince, renewed.TotalDues = 0, 0, 0
	cancelled := renewed
	cancelled.Status, cancelled.CancelledAt, cancelled.NextBillingAt = webhook.StatusCancelled, 1641682800, 0
	cancelled.UpdatedAt, cancelled.ResourceVersion = 1641682801, 1641682801456
	paid := docTransaction
	paid.ID, paid.Status, paid.Date, paid.UpdatedAt, paid.ResourceVersion = "txn_Azz5uVSoHB7gi16HR", webhook.TransactionSuccess, 1636553487, 1636553488, 1636553488021
	paid.ErrorCode, paid.ErrorText, paid.FraudReason = "", "", ""
	paid.LinkedInvoices = []webhook.LinkedInvoice{{InvoiceID: "1531", AppliedAmount: 120, AppliedAt: 1636553488,
		InvoiceDate: 1636412400, InvoiceTotal: 120, InvoiceStatus: "paid"}}
	customerData := &webhook.CustomerData{Customer: docCustomer, ChargebeeCustomerID: docCustomer.ID,
		ShopID: docCustomer.ID, CreatedFromIP: "10.0.1.13"}

	tests := []struct {
		want   webhook.Event
		entity webhook.Entity
	}{
		{webhook.Event{Type: webhook.SubscriptionCreated, SubscriptionData: &webhook.SubscriptionData{
			ShopID: shop, ChargebeeCustomerID: shop, Customer: docCustomer, Subscription: docSubscription}},
			webhook.Entity{Kind: webhook.KindSubscription, ID: "AzZltzSnnXURXasn", Version: 1636467088785}},
		{webhook.Event{Type: webhook.SubscriptionUpdated, SubscriptionData: &webhook.SubscriptionData{
			ShopID: shop, ChargebeeCustomerID: shop, Customer: docCustomer, Subscription: renewed}},
			webhook.Entity{Kind: webhook.KindSubscription, ID: "AzZltzSnnXURXasn", Version: 1639004460123}},
		{webhook.Event{Type: webhook.SubscriptionStatusUpdated, SubscriptionData: &webhook.SubscriptionData{
			ShopID: shop, ChargebeeCustomerID: shop, Customer: docCustomer, Subscription: cancelled}},
			webhook.Entity{Kind: webhook.KindSubscription, ID: "AzZltzSnnXURXasn", Version: 1641682801456}},
		{webhook.Event{Type: webhook.PaymentSucceeded, PaymentData: &webhook.PaymentData{
			ModuleID: "foobar", Customer: docCustomer, Subscription: docSubscription, Transaction: paid}},
			webhook.Entity{Kind: webhook.KindTransaction, ID: "txn_Azz5uVSoHB7gi16HR", Version: 1636553488021}},
		{webhook.Event{Type: webhook.PaymentFailed, PaymentData: &webhook.PaymentData{
			ModuleID: "foobar", Customer: docCustomer, Subscription: docSubscription, Transaction: docTransaction}},
			webhook.Entity{Kind: webhook.KindTransaction, ID: "txn_Azz5uVSoHB7gi16HQ", Version: 1636467088743}},
		{webhook.Event{Type: webhook.CustomerCreated, CustomerData: customerData},
			webhook.Entity{Kind: webhook.KindCustomer, ID: docCustomer.ID, Version: 1641367315861}},
		{webhook.Event{Type: webhook.CustomerUpdated, CustomerData: customerData},
			webhook.Entity{Kind: webhook.KindCustomer, ID: docCustomer.ID, Version: 1641367315861}},
		{webhook.Event{Type: webhook.CustomerBillingAddressUpdated, BillingAddressData: &webhook.BillingAddressData{
			Customer: docCustomer, BillingAddress: docAddress}},
			webhook.Entity{Kind: webhook.KindCustomer, ID: docCustomer.ID, Version: 1641367315861}},
	}
	if len(tests) != len(webhook.Types()) {
		t.Fatalf("%d fixtures for %d types", len(tests), len(webhook.Types()))
	}
	for i, tt := range tests {
		t.Run(string(tt.want.Type), func(t *testing.T) {
			if tt.want.Type != webhook.Types()[i] {
				t.Fatalf("fixture %d is %s, Types() says %s", i, tt.want.Type, webhook.Types()[i])
			}
			body := fixture(t, tt.want.Type)
			ev, err := webhook.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tt.want, ev, ignoreRaws); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if got, ok := ev.Entity(); !ok || got != tt.entity {
				t.Errorf("Entity() = %+v, %v; want %+v", got, ok, tt.entity)
			}

			// Data and each object's Raw are the bytes received, unknown fields included.
			var env struct{ Data json.RawMessage }
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if string(ev.Data) != string(env.Data) {
				t.Errorf("Data is not the data received")
			}
			c := ev.Customer()
			if c == nil || !strings.Contains(string(c.Raw), `"portal_edit_child_subscriptions": "yes"`) {
				t.Errorf("customer Raw lacks an unknown field: %.80s", c.Raw)
			}
			if s := ev.Subscription(); s != nil && !strings.Contains(string(s.Raw), `"override_relationship": false`) {
				t.Errorf("subscription Raw lacks an unknown field: %.80s", s.Raw)
			}
			if ev.PaymentData != nil && !strings.Contains(string(ev.PaymentData.Transaction.Raw), `"linked_refunds": []`) {
				t.Errorf("transaction Raw lacks an unknown field")
			}
		})
	}
}

// The ids the API's subscription calls need, read the way a partner does.
func TestSubscriptionIDs(t *testing.T) {
	ev, err := webhook.Decode(fixture(t, webhook.SubscriptionCreated))
	if err != nil {
		t.Fatal(err)
	}
	sub := ev.Subscription()
	if sub.ID != "AzZltzSnnXURXasn" || sub.SubscriptionItems[0].ItemPriceID != "default-free" {
		t.Errorf("ids %s %s", sub.ID, sub.SubscriptionItems[0].ItemPriceID)
	}
	if it, ok := sub.Item("default-free"); !ok || it.ItemType != webhook.ItemPlan {
		t.Errorf("Item: %+v %v", it, ok)
	}
	if _, ok := sub.Item("nope"); ok {
		t.Error("Item found an unknown id")
	}
	if got, want := sub.NextBillingAt.Time(), time.Date(2021, 12, 8, 23, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next billing at %s, want %s", got, want)
	}
	if sub.MetaData.Module != "rbm-example" {
		t.Errorf("module %q", sub.MetaData.Module)
	}
}

func TestDecodeNumbers(t *testing.T) {
	for _, tt := range []struct {
		name        string
		next, rv    string
		wantNext    time.Time
		wantVersion webhook.Version
	}{
		{"integers", "1764071100", "1764071100123", time.Unix(1764071100, 0), 1764071100123},
		{"fraction", "1764071100.5", "1764071100123.0", time.Unix(1764071100, 5e8), 1764071100123},
		{"exponent", "1.7640711e9", "1.764071100123e12", time.Unix(1764071100, 0), 1764071100123},
		{"version as a string", "1764071100", `"1764071100123"`, time.Unix(1764071100, 0), 1764071100123},
		{"nulls", "null", "null", time.Time{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"eventType":"subscription.updated","data":{"subscription":{"id":"s","next_billing_at":` + tt.next +
				`,"resource_version":` + tt.rv + `,"plan_amount":1999.0,"subscription_items":[{"item_price_id":"p","quantity":1.5e1}]}}}`
			ev, err := webhook.Decode([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			sub := ev.Subscription()
			if got := sub.NextBillingAt.Time(); !got.Equal(tt.wantNext) {
				t.Errorf("next_billing_at %s, want %s", got, tt.wantNext)
			}
			if sub.ResourceVersion != tt.wantVersion {
				t.Errorf("resource_version %d, want %d", sub.ResourceVersion, tt.wantVersion)
			}
			if sub.PlanAmount != 1999 || sub.SubscriptionItems[0].Quantity != 15 {
				t.Errorf("amount %g quantity %g", sub.PlanAmount, sub.SubscriptionItems[0].Quantity)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	for _, tt := range []struct {
		ts   webhook.Timestamp
		want time.Time
	}{
		{0, time.Time{}},
		{1764071100, time.Date(2025, 11, 25, 11, 45, 0, 0, time.UTC)},
		{1764071100.25, time.Date(2025, 11, 25, 11, 45, 0, 25e7, time.UTC)},
		{-1.5, time.Date(1969, 12, 31, 23, 59, 58, 5e8, time.UTC)},
		{1e300, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{-1e300, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := tt.ts.Time(); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Timestamp(%g).Time() = %s, want %s", float64(tt.ts), got, tt.want)
		}
	}
	if !webhook.Timestamp(0).IsZero() || webhook.Timestamp(1).IsZero() {
		t.Error("IsZero")
	}
	now := time.Date(2025, 11, 25, 11, 45, 0, 123456000, time.UTC)
	if got := webhook.TimestampOf(now).Time(); got.Sub(now).Abs() > time.Microsecond {
		t.Errorf("TimestampOf round trip: %s, want %s", got, now)
	}
	if webhook.TimestampOf(time.Time{}) != 0 {
		t.Error("TimestampOf(zero) is not zero")
	}
	b, _ := json.Marshal(struct{ T webhook.Timestamp }{1764071100})
	if string(b) != `{"T":1764071100}` {
		t.Errorf("marshal: %s", b)
	}
}

func TestVersion(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    webhook.Version
		wantErr bool
	}{
		{"1636467088785", 1636467088785, false},
		{"1.636467088785e12", 1636467088785, false},
		{`"42"`, 42, false},
		{"12.9", 12, false},
		{"-3", -3, false},
		{"9223372036854775807", math.MaxInt64, false},
		{"1e19", 0, true},
		{`"x"`, 0, true},
		{`true`, 0, true},
		{`""`, 0, true},
	} {
		var v webhook.Version
		err := json.Unmarshal([]byte(tt.in), &v)
		if (err != nil) != tt.wantErr || v != tt.want {
			t.Errorf("%s: %d, %v; want %d, error %v", tt.in, v, err, tt.want, tt.wantErr)
		}
	}
}

func TestDecodeUnknownType(t *testing.T) {
	for _, body := range []string{
		`{"eventType":"invoice.generated","data":{"invoice":{"id":"INV-1"}}}`,
		`{"eventType":"ping"}`,
		`{"eventType":"ping","data":null}`,
		`{"eventType":"list","data":[1,2]}`,
	} {
		ev, err := webhook.Decode([]byte(body))
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if ev.SubscriptionData != nil || ev.PaymentData != nil || ev.CustomerData != nil || ev.BillingAddressData != nil ||
			ev.Customer() != nil || ev.Subscription() != nil {
			t.Errorf("%s: typed data set for an unknown type", body)
		}
		if _, ok := ev.Entity(); ok {
			t.Errorf("%s: an entity for an unknown type", body)
		}
	}
	ev, _ := webhook.Decode([]byte(`{"eventType":"invoice.generated","data":{"invoice":{"id":"INV-1"}}}`))
	if ev.Type != "invoice.generated" || string(ev.Data) != `{"invoice":{"id":"INV-1"}}` {
		t.Errorf("type %q data %s", ev.Type, ev.Data)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tt := range []struct{ name, body string }{
		{"empty", ``},
		{"not JSON", `eventType=subscription.created`},
		{"truncated", `{"eventType":"subscription.created","data":{"subscription":`},
		{"null", `null`},
		{"array", `[{"eventType":"subscription.created"}]`},
		{"no eventType", `{"data":{}}`},
		{"empty eventType", `{"eventType":"","data":{}}`},
		{"eventType not a string", `{"eventType":1,"data":{}}`},
		{"known type without data", `{"eventType":"payment.failed"}`},
		{"known type with null data", `{"eventType":"payment.failed","data":null}`},
		{"data not an object", `{"eventType":"customer.updated","data":"x"}`},
		{"subscription not an object", `{"eventType":"subscription.created","data":{"subscription":"AzZltzSnnXURXasn"}}`},
		{"id not a string", `{"eventType":"subscription.created","data":{"subscription":{"id":42}}}`},
		{"timestamp not a number", `{"eventType":"subscription.updated","data":{"subscription":{"next_billing_at":"tomorrow"}}}`},
		{"version not a number", `{"eventType":"payment.succeeded","data":{"transaction":{"resource_version":"v2"}}}`},
		{"amount a string", "{\"eventType\":\"payment.succeeded\",\"data\":{\"transaction\":{\"amount\":\"12\\n0\"}}}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := webhook.Decode([]byte(tt.body))
			if !errors.Is(err, webhook.ErrInvalidPayload) {
				t.Fatalf("Decode = %+v, %v; want ErrInvalidPayload", ev, err)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || strings.Count(msg, "webhook:") != 1 {
				t.Errorf("error %q: want one line with one webhook: prefix", msg)
			}
		})
	}
}
