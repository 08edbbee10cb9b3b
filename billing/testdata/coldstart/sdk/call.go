//go:build call

package main

import (
	"context"
	"fmt"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

func call(c *billing.Client) error {
	comps, err := c.GetProductComponents(context.Background(), "builtfor_example", gen.GetProductComponentsParams{})
	if err != nil {
		return err
	}
	fmt.Println(len(comps.Plans), "plans")
	return nil
}
