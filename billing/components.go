package billing

import (
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"github.com/prestashopcorp/billing-sdk-go/internal/components"
)

// Components is a product's components as GetProductComponents returns them: its
// plans, and its addons (componentType addon or charge), each in the order of the
// answer, decoded in one pass with no type switch.
type Components struct {
	Plans  []gen.Plan
	Addons []gen.Addon
	Total  float64 // the answer's total, the number of components that matched
}

// componentList is a getProductComponents answer (see components.List).
type componentList struct{ components.List }

// answer sorts the items as the spec's discriminator does (plan: Plan; addon and
// charge: Addon), or names the required total the answer lacks.
func (l *componentList) answer() (*Components, string) {
	if l.Total == nil {
		return nil, "total"
	}
	c := &Components{Total: *l.Total}
	for _, p := range l.Items {
		if p.ComponentType == gen.PlanComponentTypePlan {
			c.Plans = append(c.Plans, p)
			continue
		}
		c.Addons = append(c.Addons, gen.Addon{ID: p.ID, ProductID: p.ProductID, ComponentGroupID: p.ComponentGroupID,
			ComponentType: gen.AddonComponentType(p.ComponentType), PricingModel: p.PricingModel, Status: p.Status,
			IsUsageBased: p.IsUsageBased, Price: p.Price, Tiers: p.Tiers})
	}
	return c, ""
}
