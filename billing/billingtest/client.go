package billingtest

import (
	"net/http"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/internal/contracttest"
)

// HTTPClient returns an HTTP client for the server (the httptest server's
// client), whose idle connections Close closes.
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Client returns a billing client wired to the server: its base URL, token URL,
// client credentials and HTTP client, followed by opts (later options win). It
// panics if billing.NewClient fails.
//
// With WithT, the client also checks its own side of every call against the
// spec: each request it sends to an operation and each answer it gets (a 2xx, or
// a status the operation declares) that breaks the spec is a test error of t. A
// test that sends invalid requests on purpose gives its own HTTP client
// (billing.WithHTTPClient(srv.HTTPClient())).
func (s *Server) Client(opts ...billing.Option) *billing.Client {
	hc := s.HTTPClient()
	if s.cfg.t != nil {
		hc = contracttest.Client(s.cfg.t, hc)
	}
	all := append([]billing.Option{
		billing.WithBaseURL(s.URL),
		billing.WithTokenURL(s.TokenURL()),
		billing.WithClientCredentials(s.ClientID, s.ClientSecret),
		billing.WithHTTPClient(hc),
	}, opts...)
	c, err := billing.NewClient(all...)
	if err != nil {
		panic("billingtest: " + err.Error())
	}
	return c
}
