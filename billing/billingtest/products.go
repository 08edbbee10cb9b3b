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
			p.FilterPeriodUnit != "" && comp.Period != p.FilterPeriodUnit:
			continue
		}
		v := comp.src
		if plan, ok := v.(gen.Plan); ok && p.LangIsoCode == "" {
			plan.Details = nil
			v = plan
		}
		var item gen.Component // the plan's or addon's JSON, copied
		recode(v, &item)
		items = append(items, item)
	}
	return fakeapi.GetProductComponents200JSONResponse{Items: items, Total: float64(len(items))}, nil
}
