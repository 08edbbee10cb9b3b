package billingtest

import (
	"context"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// GetProductComponents lists a product's components, filtered.
func (h handlers) GetProductComponents(ctx context.Context, req fakeapi.GetProductComponentsRequestObject) (fakeapi.GetProductComponentsResponseObject, error) {
	comps, ok := callOf(ctx).st.products[req.ProductID]
	if !ok {
		return notFound("product", req.ProductID), nil
	}
	p := req.Params
	items := []gen.Component{}
	for _, comp := range comps {
		switch {
		case p.FilterStatus != "" && comp.Status != p.FilterStatus,
			p.FilterComponentType != "" && comp.Kind != p.FilterComponentType,
			p.FilterPeriodUnit != "" && (comp.plan == nil || comp.Period != p.FilterPeriodUnit):
			continue
		}
		var item gen.Component
		var err error
		if comp.plan != nil {
			plan := clone(*comp.plan)
			if p.LangIsoCode == "" {
				plan.Details = nil
			}
			err = item.FromPlan(plan)
		} else {
			err = item.FromAddon(clone(*comp.addon))
		}
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return fakeapi.GetProductComponents200JSONResponse{Items: items, Total: float64(len(items))}, nil
}
