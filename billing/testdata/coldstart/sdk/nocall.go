//go:build !call

package main

import "github.com/prestashopcorp/billing-sdk-go/billing"

func call(*billing.Client) error { return nil }
