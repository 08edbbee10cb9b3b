package billingtest

import (
	"context"
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// handlers implements the generated strict server on the Server's stores. Each
// method runs after the middleware (serveAPI) authenticated and validated the
// call; callOf(ctx) tells what it learnt.
type handlers struct{ s *Server }

var _ fakeapi.StrictServerInterface = handlers{}

// GetProductComponents lists a product's components, filtered.
func (h handlers) GetProductComponents(ctx context.Context, req fakeapi.GetProductComponentsRequestObject) (fakeapi.GetProductComponentsResponseObject, error) {
	c := callOf(ctx)
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	comps, ok := h.s.store(c.sandbox).products[req.ProductID]
	if !ok {
		return newError(http.StatusNotFound, "PRODUCT_NOT_FOUND", "product %s not found", req.ProductID), nil
	}
	p := req.Params
	items := []gen.Component{}
	for _, comp := range comps {
		switch {
		case p.FilterStatus != "" && comp.status != p.FilterStatus,
			p.FilterComponentType != "" && comp.kind != p.FilterComponentType,
			p.FilterPeriodUnit != "" && (comp.plan == nil || comp.period != p.FilterPeriodUnit):
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
