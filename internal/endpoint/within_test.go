package endpoint

import (
	"net/url"
	"testing"
)

func TestWithin(t *testing.T) {
	tests := []struct {
		origin, url string
		want        bool
	}{
		{"https://api.example.com", "https://api.example.com/v1/invoices", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/x?sandbox=true", true},
		{"https://api.example.com", "http://api.example.com/v1", false},
		{"http://127.0.0.1:8080", "https://127.0.0.1:8080/v1", false},
		{"https://api.example.com", "https://api.example.com:8443/v1", false},
		{"https://api.example.com", "https://evil.example.com/v1", false},
		{"https://api.example.com", "https://api.example.com.evil.test/v1", false},
		{"https://api.example.com", "/v1/relative", false},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := Within(tt.origin, u); got != tt.want {
			t.Errorf("Within(%q, %q) = %v, want %v", tt.origin, tt.url, got, tt.want)
		}
	}
}
