package webhook_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// emptyObjectPaths is every object of the payloads, as a path in the body
// (".0": the first element of an array of objects). PHP's json_encode writes an
// empty map as [], so Billing may send [] for any of them.
var emptyObjectPaths = []string{
	"data",
	"data.customer",
	"data.customer.billing_address",
	"data.customer.payment_method",
	"data.customer.relationship",
	"data.customer.parent_account_access",
	"data.customer.child_account_access",
	"data.customer.meta_data",
	"data.subscription",
	"data.subscription.meta_data",
	"data.subscription.subscription_items.0",
	"data.transaction",
	"data.transaction.linked_invoices.0",
	"data.billingAddress",
}

// An empty object written as [] decodes as {} wherever the payloads hold an
// object, typed or not: the event is the one that {} gives.
func TestDecodeTakesEmptyArrayForEmptyObject(t *testing.T) {
	used := map[string]bool{}
	for _, typ := range webhook.Types() {
		doc := parseJSON(t, fixture(t, typ))
		for _, p := range objectPaths(doc, "") {
			if !slices.Contains(emptyObjectPaths, p) {
				t.Errorf("%s: the object at %s is not in emptyObjectPaths", typ, p)
			}
		}
		for _, p := range emptyObjectPaths {
			if _, ok := lookup(doc, p); !ok {
				continue
			}
			used[p] = true
			t.Run(string(typ)+"/"+p, func(t *testing.T) {
				want, err := webhook.Decode(encodeJSON(t, replace(doc, p, map[string]any{})))
				if err != nil {
					t.Fatalf("with {}: %v", err)
				}
				got, err := webhook.Decode(encodeJSON(t, replace(doc, p, []any{})))
				if err != nil {
					t.Fatalf("with []: %v", err)
				}
				if diff := cmp.Diff(want, got, ignoreRaws); diff != "" {
					t.Errorf("[] and {} decode differently (-{} +[]):\n%s", diff)
				}
			})
		}
	}
	for _, p := range emptyObjectPaths {
		if !used[p] {
			t.Errorf("no fixture holds %s", p)
		}
	}
}

// Every object-typed field of the typed data is in emptyObjectPaths: a field
// added later is covered by the table or the test fails.
func TestEmptyObjectPathsCoverTypedObjects(t *testing.T) {
	var walk func(reflect.Type, map[reflect.Type]bool)
	walk = func(tp reflect.Type, seen map[reflect.Type]bool) {
		if seen[tp] {
			return
		}
		seen[tp] = true
		for i := range tp.NumField() {
			f := tp.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			ft, suffix := f.Type, ""
			if ft.Kind() == reflect.Slice {
				ft, suffix = ft.Elem(), ".0"
			}
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !f.IsExported() || name == "-" || ft.Kind() != reflect.Struct {
				continue
			}
			if !slices.ContainsFunc(emptyObjectPaths, func(p string) bool { return strings.HasSuffix(p, "."+name+suffix) }) {
				t.Errorf("%s.%s (%q) is an object that no path of emptyObjectPaths ends with", tp.Name(), f.Name, name+suffix)
			}
			walk(ft, seen)
		}
	}
	seen := map[reflect.Type]bool{}
	for _, v := range []any{webhook.SubscriptionData{}, webhook.PaymentData{}, webhook.CustomerData{}, webhook.BillingAddressData{}} {
		walk(reflect.TypeOf(v), seen)
	}
}

// The objects' Raw keeps what was received, [] included; a direct
// json.Unmarshal into an object takes [] too; a non-empty array stays an error.
func TestEmptyArrayForObjectRawAndErrors(t *testing.T) {
	const customer = `{"id":"c1","billing_address":[ ],"payment_method":[],"meta_data":[]}`
	ev, err := webhook.Decode([]byte(`{"eventType":"customer.updated","data":{"customer":` + customer + `,"shopId":"s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	c := ev.CustomerData.Customer
	if string(c.Raw) != customer {
		t.Errorf("Raw %s, want %s", c.Raw, customer)
	}
	want := webhook.Customer{ID: "c1", BillingAddress: &webhook.BillingAddress{}, PaymentMethod: &webhook.PaymentMethod{}}
	if diff := cmp.Diff(want, c, ignoreRaws); diff != "" {
		t.Errorf("customer (-want +got):\n%s", diff)
	}
	var direct webhook.Customer
	if err := json.Unmarshal([]byte(customer), &direct); err != nil {
		t.Errorf("json.Unmarshal into a Customer: %v", err)
	}
	for _, body := range []string{
		`{"eventType":"customer.updated","data":{"customer":{"billing_address":[{}]}}}`,
		`{"eventType":"customer.updated","data":{"customer":{"billing_address":["x"]}}}`,
		`{"eventType":"customer.updated","data":[1]}`,
		`{"eventType":"customer.updated","data":{"customer":{"id":[]}}}`,
		`{"eventType":"subscription.updated","data":{"subscription":{"subscription_items":{}}}}`,
	} {
		if _, err := webhook.Decode([]byte(body)); err == nil {
			t.Errorf("%s: decoded, want an error", body)
		}
	}
}

func parseJSON(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encodeJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// objectPaths lists the paths of the objects under v (v's own path is at),
// the first element standing for every element of an array.
func objectPaths(v any, at string) []string {
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if at != "" {
			out = append(out, at)
		}
		for k, e := range v {
			out = append(out, objectPaths(e, join(k))...)
		}
	case []any:
		if len(v) > 0 {
			out = append(out, objectPaths(v[0], join("0"))...)
		}
	}
	return out
}

func lookup(v any, path string) (any, bool) {
	for k := range strings.SplitSeq(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[k]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// replace returns a deep copy of v with the value at path set to with.
func replace(v any, path string, with any) any {
	k, rest, more := strings.Cut(path, ".")
	switch c := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(c))
		for key, e := range c {
			out[key] = e
		}
		if more {
			out[k] = replace(c[k], rest, with)
		} else {
			out[k] = with
		}
		return out
	case []any:
		out := slices.Clone(c)
		i, _ := strconv.Atoi(k)
		if more {
			out[i] = replace(c[i], rest, with)
		} else {
			out[i] = with
		}
		return out
	}
	return v
}
