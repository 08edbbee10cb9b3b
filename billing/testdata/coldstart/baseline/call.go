//go:build call

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// component is the part of a component this program reads.
type component struct {
	ID            string `json:"id"`
	ComponentType string `json:"componentType"`
}

func call(hc *http.Client) error {
	resp, err := hc.Get("https://api.example.test/v1/products/builtfor_example/components")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var list struct {
		Items []component `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return err
	}
	fmt.Println(len(list.Items), "components")
	return nil
}
