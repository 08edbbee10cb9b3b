//go:build !call

package main

import "net/http"

func call(*http.Client) error { return nil }
