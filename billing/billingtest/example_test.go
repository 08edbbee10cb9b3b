package billingtest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func Example() {
	srv := billingtest.NewServer()
	defer srv.Close()

	client := srv.Client()
	res, err := client.GetProductComponents(context.Background(), billingtest.ProductID,
		gen.GetProductComponentsParams{FilterComponentType: gen.ComponentTypePlan})
	if err != nil {
		log.Fatal(err)
	}
	for _, plan := range res.Plans {
		fmt.Println(plan.ID, plan.PricingModel, plan.BillingPeriodUnit)
	}
	fmt.Println("total:", res.Total, "token requests:", srv.TokenRequests())
	// Output:
	// builtfor_example-standard-EUR-Monthly flat_fee month
	// builtfor_example-standard-EUR-Yearly flat_fee year
	// builtfor_example-users-EUR-Monthly stairstep month
	// total: 3 token requests: 1
}

func ExampleServer_CloseBillingPeriod() {
	srv := billingtest.NewServer()
	defer srv.Close()
	client := srv.Client()

	ctx := context.Background()
	for _, calls := range []float64{120, 30} {
		_, err := client.SetSubscriptionItemUsage(ctx, billingtest.SubscriptionID, billingtest.APICallsAddonID,
			gen.UsageInput{UsageQuantity: calls})
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("usage:", srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false))

	inv, err := srv.CloseBillingPeriod(billingtest.SubscriptionID, false)
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range inv.LineItems {
		fmt.Println(line.EntityType, line.Amount)
	}
	fmt.Println("usage after:", srv.Usage(billingtest.SubscriptionID, billingtest.APICallsAddonID, false))
	// Output:
	// usage: 150
	// plan_item_price 1999
	// plan_item_price 4900
	// addon_item_price 300
	// usage after: 0
}

func ExampleServer_Fault() {
	srv := billingtest.NewServer()
	defer srv.Close()

	// The next usage call is carried out, but its answer is lost.
	srv.Fault("setSubscriptionItemUsage", billingtest.Fault{Drop: true, Apply: true})

	_, err := srv.Client().SetSubscriptionItemUsage(context.Background(), billingtest.SubscriptionID,
		billingtest.APICallsAddonID, gen.UsageInput{UsageQuantity: 5})
	fmt.Println("error:", err != nil)
	fmt.Println("requests:", srv.Requests("setSubscriptionItemUsage"), "applied:", srv.Applied("setSubscriptionItemUsage"))
	// Output:
	// error: true
	// requests: 1 applied: 1
}
