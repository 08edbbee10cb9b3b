package billingtest

import (
	"context"
	"net/http"
	"slices"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest/internal/fakeapi"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// subscriptionItem finds an item of a subscription, or the 404 that answers for it.
func (st *store) subscriptionItem(subID, itemID string) (*subscription, int, *fakeapi.ErrorResponse) {
	e := notFound("subscription", subID)
	if sub, ok := st.subs[subID]; ok {
		if i := sub.item(itemID); i >= 0 {
			return sub, i, nil
		}
		e = notFound("subscription item", itemID)
	}
	return nil, -1, &e
}

// AddSubscriptionChargeAtTerm records a charge for the next invoice.
func (h handlers) AddSubscriptionChargeAtTerm(ctx context.Context, req fakeapi.AddSubscriptionChargeAtTermRequestObject) (fakeapi.AddSubscriptionChargeAtTermResponseObject, error) {
	sub, ok := callOf(ctx).st.subs[req.SubscriptionID]
	if !ok {
		return notFound("subscription", req.SubscriptionID), nil
	}
	if sub.Status != gen.SubscriptionStatusActive && sub.Status != gen.SubscriptionStatusNonRenewing {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "subscription %s is %s: a charge at term needs an active or non_renewing subscription", sub.ID, sub.Status), nil
	}
	ch := gen.ChargeAtTerm{Amount: req.Body.Amount, Description: req.Body.Description}
	sub.charges = append(sub.charges, ch)
	return fakeapi.AddSubscriptionChargeAtTerm201JSONResponse{Item: ch}, nil
}

// SetSubscriptionItemQuantity sets the quantity of a per_unit or stairstep item.
func (h handlers) SetSubscriptionItemQuantity(ctx context.Context, req fakeapi.SetSubscriptionItemQuantityRequestObject) (fakeapi.SetSubscriptionItemQuantityResponseObject, error) {
	st := callOf(ctx).st
	sub, i, e := st.subscriptionItem(req.SubscriptionID, req.SubscriptionItemID)
	if e != nil {
		return *e, nil
	}
	if st.metered(sub, i) {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "subscription item %s is metered: report its usage instead", req.SubscriptionItemID), nil
	}
	q := req.Body.Quantity
	it := &sub.SubscriptionItems[i]
	if comp, ok := st.component(sub.ProductID, it.ID); ok {
		if comp.Pricing == gen.FlatFee {
			return newError(http.StatusBadRequest, "BAD_REQUEST", "subscription item %s has a flat fee: it has no quantity", it.ID), nil
		}
		it.UnitPrice = comp.unitPrice(q)
		it.Amount = cents(comp.amount(q))
	}
	if it.Quantity != q {
		it.Quantity = q
		sub.bump(h.s.cfg.now())
		h.s.emit(st, webhook.SubscriptionUpdated, sub.ShopID, sub, nil)
	}
	return fakeapi.SetSubscriptionItemQuantity200JSONResponse{Item: gen.Quantity{Quantity: q}}, nil
}

// SetSubscriptionItemUsage adds usage to a metered item.
func (h handlers) SetSubscriptionItemUsage(ctx context.Context, req fakeapi.SetSubscriptionItemUsageRequestObject) (fakeapi.SetSubscriptionItemUsageResponseObject, error) {
	st := callOf(ctx).st
	sub, i, e := st.subscriptionItem(req.SubscriptionID, req.SubscriptionItemID)
	if e != nil {
		return *e, nil
	}
	if !st.metered(sub, i) {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "subscription item %s is not metered: set its quantity instead", req.SubscriptionItemID), nil
	}
	it := &sub.SubscriptionItems[i]
	it.Usage = it.Usage + req.Body.UsageQuantity
	k := usageKey{st, req.SubscriptionID, req.SubscriptionItemID}
	h.s.usage[k] = ItemUsage{Quantity: h.s.usage[k].Quantity + req.Body.UsageQuantity, Calls: h.s.usage[k].Calls + 1}
	return fakeapi.SetSubscriptionItemUsage201JSONResponse{Item: gen.Usage{UsageQuantity: req.Body.UsageQuantity}}, nil
}

// UpdateSubscription changes the subscription's plan item.
func (h handlers) UpdateSubscription(ctx context.Context, req fakeapi.UpdateSubscriptionRequestObject) (fakeapi.UpdateSubscriptionResponseObject, error) {
	in, st := req.Body, callOf(ctx).st
	sub, ok := st.subs[req.SubscriptionID]
	if !ok {
		return notFound("subscription", req.SubscriptionID), nil
	}
	if in.CouponCode != "" && in.CouponCode != couponCode {
		return notFound("coupon", in.CouponCode), nil
	}
	comp, ok := st.component(sub.ProductID, in.SubscriptionItemID)
	if !ok {
		return notFound("component", in.SubscriptionItemID), nil
	}
	if comp.Kind != gen.ComponentTypePlan {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "component %s is an %s, not a plan", comp.ID, comp.Kind), nil
	}
	if comp.Status != gen.ComponentStatusActive {
		return newError(http.StatusBadRequest, "BAD_REQUEST", "plan %s is %s", comp.ID, comp.Status), nil
	}
	if sub.item(comp.ID) < 0 {
		// The plan item replaced: the one of the same group, else the first plan.
		i := slices.IndexFunc(sub.SubscriptionItems, func(it gen.SubscriptionItem) bool { return it.ItemType == "plan" && it.GroupID == comp.Group })
		if i < 0 {
			i = slices.IndexFunc(sub.SubscriptionItems, func(it gen.SubscriptionItem) bool { return it.ItemType == "plan" })
		}
		if i < 0 {
			return newError(http.StatusBadRequest, "BAD_REQUEST", "subscription %s has no plan item", sub.ID), nil
		}
		old := sub.SubscriptionItems[i]
		if old.GroupID != comp.Group && string(comp.Period) != sub.BillingPeriodUnit {
			return newError(http.StatusBadRequest, "BAD_REQUEST", "a plan change and a billing period change at once are not supported"), nil
		}
		q := old.Quantity
		if comp.Pricing == gen.FlatFee || q == 0 {
			q = 1
		}
		sub.SubscriptionItems[i] = gen.SubscriptionItem{
			ID: comp.ID, GroupID: comp.Group, ItemType: string(comp.Kind),
			Quantity: q, UnitPrice: comp.unitPrice(q), Amount: cents(comp.amount(q)),
			FreeQuantity: old.FreeQuantity,
		}
		sub.BillingPeriodUnit = string(comp.Period)
		sub.bump(h.s.cfg.now())
		h.s.emit(st, webhook.SubscriptionUpdated, sub.ShopID, sub, nil)
	}
	return fakeapi.UpdateSubscription200JSONResponse{Item: clone(sub.Subscription)}, nil
}
