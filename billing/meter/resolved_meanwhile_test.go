package meter_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
)

// resolvingStore parks and resolves as not applied the first batch before its
// outcome is journaled: another instance's flush found the lease ended (a
// flusher stalled after the answer) and the caller resolved the batch then.
type resolvingStore struct {
	meter.Store
	done atomic.Bool
}

func (s *resolvingStore) Complete(ctx context.Context, mode meter.Mode, id int64, owner string, to meter.State, errText string, now time.Time) error {
	if s.done.Swap(true) {
		return s.Store.Complete(ctx, mode, id, owner, to, errText, now)
	}
	if _, err := s.Expire(ctx, mode, now.Add(time.Hour)); err != nil {
		return err
	}
	if err := s.Resolve(ctx, mode, id, false, "not on the invoice yet", now); err != nil {
		return err
	}
	return s.Store.Complete(ctx, mode, id, owner, to, errText, now)
}

// TestSentBatchResolvedMeanwhileIsLoggedAsCounted: when Billing counted a batch
// whose outcome the journal no longer takes (it was parked and resolved
// meanwhile), the error and the log say that Billing counted it, so that the
// caller can undo a resolution as not applied before the usage is sent twice;
// that flush sends nothing more.
func TestSentBatchResolvedMeanwhileIsLoggedAsCounted(t *testing.T) {
	var logs bytes.Buffer
	srv := billingtest.NewServer(billingtest.WithT(t))
	m := newMeter(t, srv.Client(), &resolvingStore{Store: meter.NewMemoryStore()},
		meter.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	add(t, m, "a", 3)
	_, err := m.Flush(t.Context())
	if !errors.Is(err, meter.ErrNotOwner) || !strings.Contains(err.Error(), "Billing counted it") {
		t.Errorf("flush: %v, want ErrNotOwner saying Billing counted the batch", err)
	}
	if got := srv.UsageReceived(sub, item, false).Calls; got != 1 {
		t.Errorf("calls = %d, want 1: the flush that learnt it sends no more", got)
	}
	if got := logs.String(); !strings.Contains(got, "Billing counted") || strings.Contains(got, "will be parked") {
		t.Errorf("log:\n%s\nwant a record saying Billing counted the batch, not that it will be parked", got)
	}
}
