// Package components decodes a getProductComponents answer item by item, typed
// as the spec's discriminator types them, for the answers the client's
// one-pass decode refuses.
//
// The one-pass decode reads every item as a gen.Plan, whose fields are a
// superset of gen.Addon's. The spec lets an addon or a charge carry any other
// field, so one may carry a field of a plan with another type ("details": "",
// say): the spec accepts it, the one-pass decode does not.
package components

import (
	"encoding/json"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// List is a getProductComponents answer, every item decoded in one pass into a
// gen.Plan, whose fields are a superset of gen.Addon's. Total is nil when the
// answer has none (the spec requires it).
type List struct {
	Items []gen.Plan `json:"items"`
	Total *float64   `json:"total"`
}

// DecodeAgain decodes body into l item by item (see Decode): for an answer the
// one-pass decode refused.
func (l *List) DecodeAgain(body []byte) (err error) {
	l.Items, l.Total, err = Decode(body)
	return err
}

// DecodedAgain reports whether out, which json.Unmarshal refused to decode
// body into, has a way of its own to decode it (a *List, or a type that embeds
// one), and decoded it.
func DecodedAgain(out any, body []byte) bool {
	d, ok := out.(interface{ DecodeAgain([]byte) error })
	return ok && d.DecodeAgain(body) == nil
}

// Decode decodes the answer body, each item as a gen.Plan when its
// componentType is plan, else as a gen.Addon (addon, charge, or a kind the
// spec does not know yet), given back as the gen.Plan that holds its fields.
// total is nil when the answer has none.
func Decode(body []byte) (items []gen.Plan, total *float64, err error) {
	var list struct {
		Items []json.RawMessage `json:"items"`
		Total *float64          `json:"total"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, nil, err
	}
	for _, raw := range list.Items {
		var kind struct {
			ComponentType gen.PlanComponentType `json:"componentType"`
		}
		if err := json.Unmarshal(raw, &kind); err != nil {
			return nil, nil, err
		}
		var p gen.Plan
		if kind.ComponentType == gen.PlanComponentTypePlan {
			err = json.Unmarshal(raw, &p)
		} else {
			var a gen.Addon
			err = json.Unmarshal(raw, &a)
			p = gen.Plan{ID: a.ID, ProductID: a.ProductID, ComponentGroupID: a.ComponentGroupID,
				ComponentType: gen.PlanComponentType(a.ComponentType), PricingModel: a.PricingModel, Status: a.Status,
				IsUsageBased: a.IsUsageBased, Price: a.Price, Tiers: a.Tiers}
		}
		if err != nil {
			return nil, nil, err
		}
		items = append(items, p)
	}
	return items, list.Total, nil
}
