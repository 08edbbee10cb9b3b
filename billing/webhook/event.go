package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Type is the eventType of a webhook. It is an open string: a type Billing adds
// later is delivered as it is, never refused.
type Type string

// The event types Billing sends.
const (
	// SubscriptionCreated: a subscription was created (data: SubscriptionData).
	SubscriptionCreated Type = "subscription.created"
	// SubscriptionUpdated: a subscription changed: a renewal (read the next
	// invoice date in next_billing_at) or a plan change (data: SubscriptionData).
	// Its status may not have changed yet: follow statuses with
	// SubscriptionStatusUpdated.
	SubscriptionUpdated Type = "subscription.updated"
	// SubscriptionStatusUpdated: a subscription's status changed (data:
	// SubscriptionData).
	SubscriptionStatusUpdated Type = "subscription.status-updated"
	// PaymentSucceeded: a payment went through (data: PaymentData).
	PaymentSucceeded Type = "payment.succeeded"
	// PaymentFailed: a payment failed (data: PaymentData).
	PaymentFailed Type = "payment.failed"
	// CustomerCreated: a customer was created, once per shop; a module cannot
	// count on receiving it (data: CustomerData).
	CustomerCreated Type = "customer.created"
	// CustomerUpdated: a customer changed (data: CustomerData).
	CustomerUpdated Type = "customer.updated"
	// CustomerBillingAddressUpdated: a customer's billing address changed (data:
	// BillingAddressData).
	CustomerBillingAddressUpdated Type = "customer-billing-address.updated"
)

// creates reports whether t announces the creation of its entity
// (subscription.created, customer.created): such an event is never skipped as
// stale, since a partner sets things up on it, and it may arrive after a newer
// event of the entity when its first delivery failed.
func (t Type) creates() bool { return strings.HasSuffix(string(t), ".created") }

// Types returns the eight event types Billing sends, in the order of its
// documentation.
func Types() []Type {
	return []Type{
		SubscriptionCreated, SubscriptionUpdated, SubscriptionStatusUpdated,
		PaymentSucceeded, PaymentFailed,
		CustomerCreated, CustomerUpdated, CustomerBillingAddressUpdated,
	}
}

// An Event is a webhook message: the envelope {"eventType", "data"} and, when
// it was signed, the message id and the time of the attempt. For the known
// types exactly one of SubscriptionData, PaymentData, CustomerData and
// BillingAddressData is set; for an unknown type none is, and Data holds what
// was sent.
type Event struct {
	// ID is the message id (svix-id header), the same on every delivery of the
	// message: a second delivery with the same ID is a duplicate. Empty for
	// the legacy system, which sends none.
	ID string
	// Timestamp is when Billing signed this delivery attempt (svix-timestamp);
	// zero for the legacy system.
	Timestamp time.Time
	// Type is the eventType.
	Type Type
	// Data is the data object as received.
	Data json.RawMessage

	SubscriptionData   *SubscriptionData   // subscription.created, .updated, .status-updated
	PaymentData        *PaymentData        // payment.succeeded, payment.failed
	CustomerData       *CustomerData       // customer.created, customer.updated
	BillingAddressData *BillingAddressData // customer-billing-address.updated
}

// SubscriptionData is the data of the subscription events.
type SubscriptionData struct {
	ShopID              string       `json:"shopId,omitempty"`
	ChargebeeCustomerID string       `json:"chargebeeCustomerId,omitempty"`
	Customer            Customer     `json:"customer"`
	Subscription        Subscription `json:"subscription"`
}

// PaymentData is the data of the payment events.
type PaymentData struct {
	// ModuleID is the module (product) the payment is for.
	ModuleID     string       `json:"module_id,omitempty"`
	Customer     Customer     `json:"customer"`
	Subscription Subscription `json:"subscription"`
	Transaction  Transaction  `json:"transaction"`
}

// CustomerData is the data of customer.created and customer.updated.
type CustomerData struct {
	Customer            Customer `json:"customer"`
	ChargebeeCustomerID string   `json:"chargebeeCustomerId,omitempty"`
	ShopID              string   `json:"shopId,omitempty"`
	CreatedFromIP       string   `json:"createdFromIp,omitempty"`
}

// BillingAddressData is the data of customer-billing-address.updated.
type BillingAddressData struct {
	Customer       Customer       `json:"customer"`
	BillingAddress BillingAddress `json:"billingAddress"`
	VATNumber      string         `json:"vatNumber,omitempty"`
}

// envelope is the body of every webhook.
type envelope struct {
	EventType *string         `json:"eventType"`
	Data      json.RawMessage `json:"data"`
}

// Decode parses a webhook body, which it does not authenticate: use a
// Verifier on what comes from the network. An unknown event type is no error.
// Errors wrap ErrInvalidPayload: the body is not a JSON object, eventType is
// missing or not a string, data is not an object, or the data of a known type
// does not decode into its type. An empty object may be written [] (as PHP
// encodes an empty map) for the data and for every object in it.
func Decode(body []byte) (*Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidPayload, jsonError(err))
	}
	if env.EventType == nil || *env.EventType == "" {
		return nil, fmt.Errorf("%w: no eventType", ErrInvalidPayload)
	}
	ev := &Event{Type: Type(*env.EventType), Data: env.Data}
	if string(env.Data) == "null" {
		ev.Data = nil
	}
	if !known(ev.Type) {
		return ev, nil // delivered as it is, whatever its data
	}
	if len(ev.Data) == 0 || (ev.Data[0] != '{' && ev.Data[0] != '[') { // [ for an empty object written by PHP
		return nil, fmt.Errorf("%w: the data of %s is not an object", ErrInvalidPayload, ev.Type)
	}
	var err error
	switch ev.Type {
	case SubscriptionCreated, SubscriptionUpdated, SubscriptionStatusUpdated:
		ev.SubscriptionData = new(SubscriptionData)
		err = unmarshal(env.Data, ev.SubscriptionData)
	case PaymentSucceeded, PaymentFailed:
		ev.PaymentData = new(PaymentData)
		err = unmarshal(env.Data, ev.PaymentData)
	case CustomerCreated, CustomerUpdated:
		ev.CustomerData = new(CustomerData)
		err = unmarshal(env.Data, ev.CustomerData)
	case CustomerBillingAddressUpdated:
		ev.BillingAddressData = new(BillingAddressData)
		err = unmarshal(env.Data, ev.BillingAddressData)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s data: %s", ErrInvalidPayload, ev.Type, jsonError(err))
	}
	return ev, nil
}

// known tells whether t is one of the eight types.
func known(t Type) bool {
	return slices.Contains(Types(), t)
}

// jsonError is err's text on one short line.
func jsonError(err error) string {
	s := []rune(strings.Join(strings.Fields(err.Error()), " "))
	if len(s) > 200 {
		s = append(s[:200], '…')
	}
	return string(s)
}

// Customer returns the event's customer: every known type carries one. It is
// nil for an unknown type.
func (e *Event) Customer() *Customer {
	switch {
	case e.SubscriptionData != nil:
		return &e.SubscriptionData.Customer
	case e.PaymentData != nil:
		return &e.PaymentData.Customer
	case e.CustomerData != nil:
		return &e.CustomerData.Customer
	case e.BillingAddressData != nil:
		return &e.BillingAddressData.Customer
	}
	return nil
}

// Subscription returns the event's subscription: subscription and payment
// events carry one. It is nil for the other types.
func (e *Event) Subscription() *Subscription {
	switch {
	case e.SubscriptionData != nil:
		return &e.SubscriptionData.Subscription
	case e.PaymentData != nil:
		return &e.PaymentData.Subscription
	}
	return nil
}

// Kinds of Entity.
const (
	KindSubscription = "subscription"
	KindTransaction  = "transaction"
	KindCustomer     = "customer"
)

// An Entity names the object an event is about, and its version in the event.
type Entity struct {
	Kind    string // KindSubscription, KindTransaction or KindCustomer
	ID      string
	Version Version
}

// Entity returns the object the event is about: the subscription of
// subscription events, the transaction of payment events, the customer of
// customer events. ok is false for an unknown type or an object without id.
// Two events of one entity are in order when their versions are; an event
// carries other objects too (a payment event's subscription), but only its
// own entity orders it: a late payment event is still news.
func (e *Event) Entity() (ent Entity, ok bool) {
	switch {
	case e.SubscriptionData != nil:
		s := &e.SubscriptionData.Subscription
		ent = Entity{KindSubscription, s.ID, s.ResourceVersion}
	case e.PaymentData != nil:
		t := &e.PaymentData.Transaction
		ent = Entity{KindTransaction, t.ID, t.ResourceVersion}
	case e.CustomerData != nil, e.BillingAddressData != nil:
		c := e.Customer()
		ent = Entity{KindCustomer, c.ID, c.ResourceVersion}
	}
	return ent, ent.ID != ""
}
