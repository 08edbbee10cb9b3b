package billingtest

import (
	"context"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// handlers implements the generated strict server on the Server's stores. Each
// method runs after the middleware (serveAPI) authenticated and validated the
// call; callOf(ctx) tells what it learnt.
type handlers struct{ s *Server }

var _ gen.StrictServerInterface = handlers{}

// GetProductComponents lists a product's components, filtered.
func (h handlers) GetProductComponents(ctx context.Context, req gen.GetProductComponentsRequestObject) (gen.GetProductComponentsResponseObject, error) {
	c := callOf(ctx)
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	comps, ok := h.s.store(c.sandbox).products[req.ProductId]
	if !ok {
		return newError(http.StatusNotFound, "PRODUCT_NOT_FOUND", "product %s not found", req.ProductId), nil
	}
	p := req.Params
	items := []gen.Component{}
	for _, comp := range comps {
		switch {
		case p.FilterStatus != nil && comp.status != *p.FilterStatus,
			p.FilterComponentType != nil && comp.kind != *p.FilterComponentType,
			p.FilterPeriodUnit != nil && (comp.plan == nil || comp.period != *p.FilterPeriodUnit):
			continue
		}
		var item gen.Component
		var err error
		if comp.plan != nil {
			plan := clone(*comp.plan)
			if p.LangIsoCode == nil {
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
	return gen.GetProductComponents200JSONResponse{Items: items, Total: float64(len(items))}, nil
}
