package billingtest

import (
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// HTTPClient returns an HTTP client for the server (the httptest server's
// client), whose idle connections Close closes.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Client returns a billing client wired to the server: its base URL, token URL,
// client credentials and HTTP client, followed by opts (later options win). It
// panics if billing.NewClient fails.
func (s *Server) Client(opts ...billing.Option) *billing.Client {
	all := append([]billing.Option{
		billing.WithBaseURL(s.URL),
		billing.WithTokenURL(s.TokenURL()),
		billing.WithClientCredentials(s.ClientID, s.ClientSecret),
		billing.WithHTTPClient(s.HTTPClient()),
	}, opts...)
	c, err := billing.NewClient(all...)
	if err != nil {
		panic("billingtest: " + err.Error())
	}
	return c
}
