package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a point in time that Billing sends as Unix seconds (UTC) in a JSON
// number. Any JSON number decodes (1764071100, 1764071100.5, 1.7640711e9): the
// source schema types every number as a float; so does a string holding one, as
// for Version. Zero means absent.
type Timestamp float64

// UnmarshalJSON decodes a JSON number, or a string holding one; null leaves t as is.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if !ok {
		return err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("timestamp %.40q is not a number of seconds", s)
	}
	*t = Timestamp(f)
	return nil
}

// TimestampOf returns t as a Timestamp, to the nanosecond as far as a float64
// holds it (about a microsecond today).
func TimestampOf(t time.Time) Timestamp {
	if t.IsZero() {
		return 0
	}
	return Timestamp(float64(t.Unix()) + float64(t.Nanosecond())/1e9)
}

// Time returns t as a UTC time.Time, or the zero time.Time when t is zero.
// Values beyond the years 1 and 9999 are clamped to them.
func (t Timestamp) Time() time.Time {
	if t == 0 {
		return time.Time{}
	}
	const lo, hi = -62135596800, 253402300799 // 0001-01-01, 9999-12-31T23:59:59
	f := math.Max(lo, math.Min(hi, float64(t)))
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)).UTC()
}

// IsZero tells whether t is absent (zero).
func (t Timestamp) IsZero() bool { return t == 0 }

// numberText returns the text of a JSON number, or of a JSON string (unquoted)
// holding one; ok is false for null (nothing to decode) and for a string that does
// not decode (err says why).
func numberText(b []byte) (s string, ok bool, err error) {
	s = string(b)
	if s == "null" {
		return "", false, nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
	}
	return s, true, nil
}

// Version is the resource_version of a Billing object (a customer, a subscription,
// a transaction): milliseconds, higher for every change of the object. Compare
// the versions of one object to tell a newer event from an older one delivered
// late. It decodes from any JSON number, or a string holding one; a fraction is
// dropped.
type Version int64

// UnmarshalJSON decodes a JSON number, or a string holding one; null leaves v as is.
func (v *Version) UnmarshalJSON(b []byte) error {
	s, ok, err := numberText(b)
	if !ok {
		return err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*v = Version(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	// The bounds are the float64 values nearest to the int64 ones, inside them.
	if err != nil || math.IsNaN(f) || f < -9.223372036854775e18 || f > 9.223372036854775e18 {
		return fmt.Errorf("resource_version %.40q is not a number of milliseconds", s)
	}
	*v = Version(f)
	return nil
}

// Status is a subscription's status. It is an open string: a status Billing adds
// later still decodes. Compare it with the constants.
type Status string

// Subscription statuses seen in the platform.
const (
	StatusActive      Status = "active"
	StatusInTrial     Status = "in_trial"
	StatusNonRenewing Status = "non_renewing"
	StatusPaused      Status = "paused"
	StatusCancelled   Status = "cancelled"
	StatusFuture      Status = "future"
)

// TransactionStatus is a transaction's status, an open string.
type TransactionStatus string

// Transaction statuses of payment events.
const (
	TransactionSuccess TransactionStatus = "success"
	TransactionFailure TransactionStatus = "failure"
)

// Customer is Billing's customer object (a Chargebee customer) as webhooks carry
// it. Fields not listed here are in Raw.
type Customer struct {
	ID                     string          `json:"id,omitempty"`
	Email                  string          `json:"email,omitempty"`
	AutoCollection         string          `json:"auto_collection,omitempty"` // "on" or "off"
	NetTermDays            float64         `json:"net_term_days,omitempty"`
	AllowDirectDebit       bool            `json:"allow_direct_debit,omitempty"`
	IsLocationValid        bool            `json:"is_location_valid,omitempty"`
	CreatedAt              Timestamp       `json:"created_at,omitempty"`
	UpdatedAt              Timestamp       `json:"updated_at,omitempty"`
	CreatedFromIP          string          `json:"created_from_ip,omitempty"`
	Taxability             string          `json:"taxability,omitempty"`
	Channel                string          `json:"channel,omitempty"`
	ResourceVersion        Version         `json:"resource_version,omitempty"`
	Deleted                bool            `json:"deleted,omitempty"`
	Object                 string          `json:"object,omitempty"` // "customer"
	BillingAddress         *BillingAddress `json:"billing_address,omitempty"`
	CardStatus             string          `json:"card_status,omitempty"`
	PreferredCurrencyCode  string          `json:"preferred_currency_code,omitempty"`
	PrimaryPaymentSourceID string          `json:"primary_payment_source_id,omitempty"`
	PaymentMethod          *PaymentMethod  `json:"payment_method,omitempty"`
	VATNumber              string          `json:"vat_number,omitempty"`
	// BusinessWithoutVATNumber is business_customer_without_vat_number.
	BusinessWithoutVATNumber bool `json:"business_customer_without_vat_number,omitempty"`
	// Balances, in cents.
	PromotionalCredits float64 `json:"promotional_credits,omitempty"`
	RefundableCredits  float64 `json:"refundable_credits,omitempty"`
	ExcessPayments     float64 `json:"excess_payments,omitempty"`
	UnbilledCharges    float64 `json:"unbilled_charges,omitempty"`
	// ShopID is the custom field cf_shop_id: the PrestaShop shop.
	ShopID   string           `json:"cf_shop_id,omitempty"`
	MetaData CustomerMetaData `json:"meta_data,omitzero"`

	// Raw is the customer object as received, with every field.
	Raw json.RawMessage `json:"-"`
}

// CustomerMetaData is the meta_data of a customer.
type CustomerMetaData struct {
	ShopURL string `json:"shop_url,omitempty"`
}

// UnmarshalJSON decodes the object, or an empty JSON array as an empty object (what
// PHP's json_encode writes for an empty map).
func (m *CustomerMetaData) UnmarshalJSON(b []byte) error {
	type plain CustomerMetaData
	return unmarshal(b, (*plain)(m))
}

// BillingAddress is a customer's billing address.
type BillingAddress struct {
	FirstName        string `json:"first_name,omitempty"`
	LastName         string `json:"last_name,omitempty"`
	Email            string `json:"email,omitempty"`
	Company          string `json:"company,omitempty"`
	Phone            string `json:"phone,omitempty"`
	Line1            string `json:"line1,omitempty"`
	Line2            string `json:"line2,omitempty"`
	Line3            string `json:"line3,omitempty"`
	City             string `json:"city,omitempty"`
	State            string `json:"state,omitempty"`
	StateCode        string `json:"state_code,omitempty"`
	Country          string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Zip              string `json:"zip,omitempty"`
	ValidationStatus string `json:"validation_status,omitempty"`
	Object           string `json:"object,omitempty"` // "billing_address"
}

// PaymentMethod is a customer's payment method.
type PaymentMethod struct {
	Object           string `json:"object,omitempty"` // "payment_method"
	Type             string `json:"type,omitempty"`   // "card", ...
	ReferenceID      string `json:"reference_id,omitempty"`
	Gateway          string `json:"gateway,omitempty"` // "stripe", ...
	GatewayAccountID string `json:"gateway_account_id,omitempty"`
	Status           string `json:"status,omitempty"`
}

// Subscription is Billing's subscription object (a Chargebee subscription) as
// webhooks carry it. Its ID is the subscriptionId of the API's subscription
// operations, and the ItemPriceID of its items their subscriptionItemId.
// Amounts and prices are in cents. Fields not listed here are in Raw.
type Subscription struct {
	ID                  string             `json:"id,omitempty"`
	PlanID              string             `json:"plan_id,omitempty"`
	PlanQuantity        float64            `json:"plan_quantity,omitempty"`
	PlanUnitPrice       float64            `json:"plan_unit_price,omitempty"`
	PlanAmount          float64            `json:"plan_amount,omitempty"`
	PlanFreeQuantity    float64            `json:"plan_free_quantity,omitempty"`
	BillingPeriod       float64            `json:"billing_period,omitempty"`
	BillingPeriodUnit   string             `json:"billing_period_unit,omitempty"` // "month", "year"
	CustomerID          string             `json:"customer_id,omitempty"`
	Status              Status             `json:"status,omitempty"`
	TrialStart          Timestamp          `json:"trial_start,omitempty"`
	TrialEnd            Timestamp          `json:"trial_end,omitempty"`
	CurrentTermStart    Timestamp          `json:"current_term_start,omitempty"`
	CurrentTermEnd      Timestamp          `json:"current_term_end,omitempty"`
	NextBillingAt       Timestamp          `json:"next_billing_at,omitempty"` // when the next invoice is made: send quantities and usage before it
	CreatedAt           Timestamp          `json:"created_at,omitempty"`
	StartedAt           Timestamp          `json:"started_at,omitempty"`
	ActivatedAt         Timestamp          `json:"activated_at,omitempty"`
	UpdatedAt           Timestamp          `json:"updated_at,omitempty"`
	CancelledAt         Timestamp          `json:"cancelled_at,omitempty"`
	HasScheduledChanges bool               `json:"has_scheduled_changes,omitempty"`
	Channel             string             `json:"channel,omitempty"`
	ResourceVersion     Version            `json:"resource_version,omitempty"`
	Deleted             bool               `json:"deleted,omitempty"`
	Object              string             `json:"object,omitempty"` // "subscription"
	CurrencyCode        string             `json:"currency_code,omitempty"`
	DueInvoicesCount    float64            `json:"due_invoices_count,omitempty"`
	DueSince            Timestamp          `json:"due_since,omitempty"`
	TotalDues           float64            `json:"total_dues,omitempty"`
	MRR                 float64            `json:"mrr,omitempty"`
	ExchangeRate        float64            `json:"exchange_rate,omitempty"`
	BaseCurrencyCode    string             `json:"base_currency_code,omitempty"`
	TrialEndAction      string             `json:"trial_end_action,omitempty"`
	SubscriptionItems   []SubscriptionItem `json:"subscription_items,omitempty"`
	MetaData            SubscriptionMeta   `json:"meta_data,omitzero"`

	// Raw is the subscription object as received, with every field.
	Raw json.RawMessage `json:"-"`
}

// SubscriptionMeta is the meta_data of a subscription.
type SubscriptionMeta struct {
	// Module is the technical name of the module (the product) subscribed to.
	Module string `json:"module,omitempty"`
}

// UnmarshalJSON decodes the object, or an empty JSON array as an empty object.
func (m *SubscriptionMeta) UnmarshalJSON(b []byte) error {
	type plain SubscriptionMeta
	return unmarshal(b, (*plain)(m))
}

// SubscriptionItem is one item (plan, addon or charge) of a subscription.
type SubscriptionItem struct {
	// ItemPriceID is the subscriptionItemId of the quantity and usage operations.
	ItemPriceID string  `json:"item_price_id,omitempty"`
	ItemType    string  `json:"item_type,omitempty"` // ItemPlan, ItemAddon or ItemCharge
	Quantity    float64 `json:"quantity,omitempty"`
	UnitPrice   float64 `json:"unit_price,omitempty"`
	Amount      float64 `json:"amount,omitempty"`
}

// Item types of a SubscriptionItem.
const (
	ItemPlan   = "plan"
	ItemAddon  = "addon"
	ItemCharge = "charge"
)

// Item returns the subscription's item whose ItemPriceID is id.
func (s *Subscription) Item(id string) (SubscriptionItem, bool) {
	for _, it := range s.SubscriptionItems {
		if it.ItemPriceID == id {
			return it, true
		}
	}
	return SubscriptionItem{}, false
}

// Transaction is a payment of payment events (a Chargebee transaction). Amounts
// are in cents. Fields not listed here are in Raw.
type Transaction struct {
	ID               string            `json:"id,omitempty"`
	CustomerID       string            `json:"customer_id,omitempty"`
	SubscriptionID   string            `json:"subscription_id,omitempty"`
	GatewayAccountID string            `json:"gateway_account_id,omitempty"`
	PaymentSourceID  string            `json:"payment_source_id,omitempty"`
	PaymentMethod    string            `json:"payment_method,omitempty"` // "card", ...
	Gateway          string            `json:"gateway,omitempty"`
	Type             string            `json:"type,omitempty"` // "payment", ...
	Date             Timestamp         `json:"date,omitempty"`
	ExchangeRate     float64           `json:"exchange_rate,omitempty"`
	Amount           float64           `json:"amount,omitempty"`
	IDAtGateway      string            `json:"id_at_gateway,omitempty"`
	Status           TransactionStatus `json:"status,omitempty"`
	ErrorCode        string            `json:"error_code,omitempty"`
	ErrorText        string            `json:"error_text,omitempty"`
	FraudReason      string            `json:"fraud_reason,omitempty"`
	UpdatedAt        Timestamp         `json:"updated_at,omitempty"`
	ResourceVersion  Version           `json:"resource_version,omitempty"`
	Deleted          bool              `json:"deleted,omitempty"`
	Object           string            `json:"object,omitempty"` // "transaction"
	MaskedCardNumber string            `json:"masked_card_number,omitempty"`
	CurrencyCode     string            `json:"currency_code,omitempty"`
	BaseCurrencyCode string            `json:"base_currency_code,omitempty"`
	AmountUnused     float64           `json:"amount_unused,omitempty"`
	LinkedInvoices   []LinkedInvoice   `json:"linked_invoices,omitempty"`

	// Raw is the transaction object as received, with every field.
	Raw json.RawMessage `json:"-"`
}

// LinkedInvoice is an invoice a transaction pays. Amounts are in cents.
type LinkedInvoice struct {
	InvoiceID     string    `json:"invoice_id,omitempty"`
	AppliedAmount float64   `json:"applied_amount,omitempty"`
	AppliedAt     Timestamp `json:"applied_at,omitempty"`
	InvoiceDate   Timestamp `json:"invoice_date,omitempty"`
	InvoiceTotal  float64   `json:"invoice_total,omitempty"`
	InvoiceStatus string    `json:"invoice_status,omitempty"` // "paid", "payment_due", ...
}

// UnmarshalJSON decodes the customer, taking an empty JSON array for an empty
// object wherever the customer holds an object, and keeps the object in Raw.
func (c *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	var p plain
	if err := unmarshal(b, &p); err != nil {
		return err
	}
	*c = Customer(p)
	c.Raw = keep(b)
	return nil
}

// UnmarshalJSON decodes the subscription, taking an empty JSON array for an empty
// object wherever the subscription holds an object, and keeps the object in Raw.
func (s *Subscription) UnmarshalJSON(b []byte) error {
	type plain Subscription
	var p plain
	if err := unmarshal(b, &p); err != nil {
		return err
	}
	*s = Subscription(p)
	s.Raw = keep(b)
	return nil
}

// UnmarshalJSON decodes the transaction, taking an empty JSON array for an empty
// object wherever the transaction holds an object, and keeps the object in Raw.
func (t *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	var p plain
	if err := unmarshal(b, &p); err != nil {
		return err
	}
	*t = Transaction(p)
	t.Raw = keep(b)
	return nil
}

// keep copies b (the decoder reuses its buffer), or nil for a JSON null.
func keep(b []byte) json.RawMessage {
	if string(b) == "null" {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

// unmarshal is json.Unmarshal that also takes an empty JSON array for an empty
// object wherever v's type holds one (a struct, or a pointer to one, as a field
// or an element of a slice): PHP's json_encode writes an empty map as [], so
// Billing may send [] for any object it builds from one. A type that decodes
// itself (json.Unmarshaler) is left to its UnmarshalJSON, which for the objects
// of this package calls unmarshal in turn.
//
// The payload is decoded as it is first; only when that fails are the empty
// arrays found and decoded again as {}, so a well-formed payload costs nothing
// more.
func unmarshal(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	if err == nil {
		return nil
	}
	at, ferr := emptyArraysForObjects(b, 0, reflect.TypeOf(v), nil)
	if ferr != nil || len(at) == 0 {
		return err
	}
	fixed := bytes.Clone(b)
	for i, off := range at {
		fixed[off] = "{}"[i%2] // the same length: offsets and the rest stay
	}
	reflect.ValueOf(v).Elem().SetZero() // the first attempt filled it in part
	return json.Unmarshal(fixed, v)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// emptyArraysForObjects appends to at the offsets (from base, where b starts in
// the whole text) of the brackets of each empty array in the JSON value b that
// stands where t has an object. It returns an error if b is not JSON.
func emptyArraysForObjects(b []byte, base int64, t reflect.Type, at []int64) ([]int64, error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(unmarshalerType) ||
		(t.Kind() != reflect.Struct && t.Kind() != reflect.Slice && t.Kind() != reflect.Array) {
		return at, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return at, err
	}
	// each decodes the next value of the array or object and looks into it as a
	// value of type et.
	each := func(et reflect.Type) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		at, err = emptyArraysForObjects(raw, base+dec.InputOffset()-int64(len(raw)), et, at)
		return err
	}
	switch {
	case tok == json.Delim('[') && t.Kind() == reflect.Struct:
		open := base + dec.InputOffset() - 1
		if dec.More() {
			return at, nil // not empty: json.Unmarshal's error stands
		}
		if _, err := dec.Token(); err != nil {
			return at, err
		}
		return append(at, open, base+dec.InputOffset()-1), nil
	case tok == json.Delim('[') && t.Kind() != reflect.Struct:
		for dec.More() {
			if err := each(t.Elem()); err != nil {
				return at, err
			}
		}
	case tok == json.Delim('{') && t.Kind() == reflect.Struct:
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return at, err
			}
			name, _ := key.(string)
			if err := each(fieldType(t, name)); err != nil {
				return at, err
			}
		}
	}
	return at, nil
}

// fieldType returns the type of the field of struct t that encoding/json
// decodes the object key name into (its exact name first, else one equal under
// case folding), or nil if none does.
func fieldType(t reflect.Type, name string) reflect.Type {
	var folded reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag == name {
			return f.Type
		}
		if folded == nil && strings.EqualFold(tag, name) {
			folded = f.Type
		}
	}
	return folded
}
