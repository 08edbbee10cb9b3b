package billing

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// The doer sends the body the request builder made, as it is, and makes it again
// for each later attempt; a body a request editor replaced is read once and sent
// the same way.
func TestBodyOfEveryAttempt(t *testing.T) {
	var calls atomic.Int32
	api := newTestAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeError(w, http.StatusTooManyRequests, "TOO_MANY", "slow down") // nothing applied: retried
			return
		}
		ok(w, r)
	})
	replace := func(body string) RequestEditorFn {
		return func(_ context.Context, r *http.Request) error {
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = -1 // unknown, as a streaming editor would leave it
			return nil
		}
	}
	tests := []struct {
		name string
		do   func(*Client) error
		want string
	}{
		{"usage", func(c *Client) error {
			_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 250})
			return err
		}, `{"usageQuantity":250}`},
		{"quantity", func(c *Client) error {
			_, err := c.SetSubscriptionItemQuantity(context.Background(), "s", "i", gen.QuantityInput{Quantity: 12})
			return err
		}, `{"quantity":12}`},
		{"usage, body replaced", func(c *Client) error {
			_, err := c.SetSubscriptionItemUsage(context.Background(), "s", "i", gen.UsageInput{UsageQuantity: 250}, replace(`{"usageQuantity":7}`))
			return err
		}, `{"usageQuantity":7}`},
		{"quantity, body replaced", func(c *Client) error {
			_, err := c.SetSubscriptionItemQuantity(context.Background(), "s", "i", gen.QuantityInput{Quantity: 12}, replace(`{"quantity":3}`))
			return err
		}, `{"quantity":3}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls.Store(0)
			api.mu.Lock()
			api.bodies = nil
			api.mu.Unlock()
			c, _ := api.client(t)
			if err := tt.do(c); err != nil {
				t.Fatal(err)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			if diff := cmp.Diff([]string{tt.want, tt.want}, api.bodies); diff != "" {
				t.Errorf("bodies received (-want +got):\n%s", diff)
			}
		})
	}
}
