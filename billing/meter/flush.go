package meter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// Report is what one flush did.
type Report struct {
	Expired int     // batches whose lease had ended, parked as Unknown
	Sealed  int     // batches made of the usage recorded since the last flush
	Sent    int     // batches Billing counted (2xx)
	Units   float64 // the quantity they carried
	Retry   int     // batches whose send sent nothing (network, 429, token): Pending, for the next flush
	// Refused, Parked and Late list the batches this flush found refused,
	// parked (Unknown after the call, or whose lease ended) and late (sent
	// after the period end their usage was recorded before).
	Refused []Batch
	Parked  []Batch
	Late    []Batch
}

type batchKey struct{}

// BatchFromContext returns the batch whose usage call ctx belongs to: a
// billing.API wrapper given to New can log or trace it.
func BatchFromContext(ctx context.Context) (Batch, bool) {
	b, ok := ctx.Value(batchKey{}).(Batch)
	return b, ok
}

// Flush sends what is pending now: it parks the batches whose lease ended,
// seals the usage recorded since the last flush into batches (one per
// subscription item), then claims and sends the Pending batches, one call each,
// and journals each outcome. A batch whose send sent nothing waits for the next
// flush; after one such failure the flush stops sending (Billing or the network
// is down) and leaves the rest Pending.
//
// The error is about the journal or the context; what happened to each batch is
// in the Report.
func (m *Meter) Flush(ctx context.Context) (Report, error) {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	var r Report
	start := m.now()
	mode := m.cfg.mode
	n, err := m.store.Expire(ctx, mode, start)
	if err != nil {
		return r, fmt.Errorf("billing: meter: flush: %w", err)
	}
	r.Expired = n
	if n > 0 {
		parked, err := m.expiredSince(ctx, start)
		if err != nil {
			return r, err
		}
		r.Parked = append(r.Parked, parked...)
	}
	if r.Sealed, err = m.store.Seal(ctx, mode, start); err != nil {
		return r, fmt.Errorf("billing: meter: flush: sealing: %w", err)
	}
	testPoint("sealed")

	owner := token()
	var (
		mu      sync.Mutex
		stopped atomic.Bool
		errs    []error
	)
	for !stopped.Load() {
		now := m.now()
		// As many as are sent at once: each lease starts right before its send.
		batches, err := m.store.Claim(ctx, mode, owner, now, now.Add(m.cfg.lease), m.cfg.concurrency)
		if err != nil {
			errs = append(errs, fmt.Errorf("billing: meter: flush: claiming: %w", err))
			break
		}
		if len(batches) == 0 {
			break
		}
		testPoint("claimed")
		for i := range batches {
			batches[i].Quantity = roundQuantity(batches[i].Quantity)
		}
		var wg sync.WaitGroup
		for _, b := range batches {
			wg.Go(func() {
				to, errText := Pending, "not sent: an earlier send of this flush sent nothing"
				if !stopped.Load() {
					to, errText = m.send(ctx, b)
				}
				if to == Pending {
					stopped.Store(true)
				}
				b.State, b.Error = to, errText
				err := m.complete(context.WithoutCancel(ctx), b.ID, owner, to, errText)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil && to == Sent && errors.Is(err, ErrNotOwner):
					// Parked when its lease ended, and resolved since: the
					// caller must know that Billing counted it, and this
					// flush sends no more (not this batch again, if it was
					// resolved as not applied), to leave time to correct.
					stopped.Store(true)
					errs = append(errs, fmt.Errorf("billing: meter: flush: batch %d was parked and resolved while it was sent, and Billing counted it: %w", b.ID, err))
					m.cfg.log.Error("billing: meter: Billing counted a batch parked and resolved meanwhile; if it was resolved as not applied, resolve it as applied before it is sent again",
						"batch", b.ID, "subscription", b.SubscriptionID, "item", b.ItemID, "quantity", b.Quantity)
					return
				case err != nil:
					// The batch stays Sending: its lease ends, and it is parked.
					errs = append(errs, fmt.Errorf("billing: meter: flush: journaling batch %d as %s: %w", b.ID, to, err))
					m.cfg.log.Error("billing: meter: the outcome of a batch could not be journaled; it will be parked",
						"batch", b.ID, "state", to, "error", err)
					return
				}
				r.add(b)
				m.logBatch(b)
			})
		}
		wg.Wait()
	}
	if len(errs) > 0 {
		return r, errors.Join(errs...)
	}
	return r, ctx.Err()
}

// completeWaits are the pauses between the attempts to journal an outcome:
// a batch whose outcome cannot be journaled is parked when its lease ends.
var completeWaits = []time.Duration{0, 50 * time.Millisecond, 250 * time.Millisecond}

// complete journals the outcome of a send, trying again after a failure of the
// journal (not after a refusal: the claim is no longer this flush's).
func (m *Meter) complete(ctx context.Context, id int64, owner string, to State, errText string) error {
	var err error
	for _, wait := range completeWaits {
		if wait > 0 {
			time.Sleep(wait)
		}
		err = m.store.Complete(ctx, m.cfg.mode, id, owner, to, errText, m.now())
		if err == nil || errors.Is(err, ErrNotOwner) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrState) {
			return err
		}
	}
	return err
}

// add counts a batch whose outcome was journaled.
func (r *Report) add(b Batch) {
	switch b.State {
	case Sent:
		r.Sent++
		r.Units += b.Quantity
		if b.Late {
			r.Late = append(r.Late, b)
		}
	case Pending:
		r.Retry++
	case Refused:
		r.Refused = append(r.Refused, b)
	case Unknown:
		r.Parked = append(r.Parked, b)
	}
}

func (m *Meter) logBatch(b Batch) {
	attrs := []any{"batch", b.ID, "subscription", b.SubscriptionID, "item", b.ItemID, "quantity", b.Quantity}
	switch {
	case b.State == Refused:
		m.cfg.log.Error("billing: meter: Billing refused a batch; it is kept as refused", append(attrs, "error", b.Error)...)
	case b.State == Unknown:
		m.cfg.log.Warn("billing: meter: a batch's outcome is unknown; it is parked until resolved", append(attrs, "error", b.Error)...)
	case b.State == Pending:
		m.cfg.log.Info("billing: meter: a batch was not sent; the next flush sends it", append(attrs, "error", b.Error)...)
	case b.Late:
		m.cfg.log.Warn("billing: meter: late usage: recorded before a period end, sent after it",
			append(attrs, "missed_period_end", b.MissedPeriodEnd)...)
	}
}

// expiredSince returns the batches Expire parked at or after t.
func (m *Meter) expiredSince(ctx context.Context, t time.Time) ([]Batch, error) {
	all, err := m.store.Batches(ctx, m.cfg.mode, Unknown)
	if err != nil {
		return nil, fmt.Errorf("billing: meter: flush: %w", err)
	}
	var out []Batch
	for _, b := range all {
		if b.Error == LeaseExpired && !b.UpdatedAt.Before(t) {
			out = append(out, b)
			m.logBatch(b)
		}
	}
	return out, nil
}

// send sends one claimed batch and returns the state its outcome puts it in.
func (m *Meter) send(ctx context.Context, b Batch) (State, string) {
	// The send ends before the lease does, so that a batch still Sending after
	// its lease belongs to a flusher that stopped.
	deadline := b.LeaseUntil.Add(-m.cfg.lease / 10)
	sctx, cancel := context.WithDeadline(context.WithValue(ctx, batchKey{}, b), m.deadline(deadline))
	defer cancel()
	testPoint("send")
	_, err := m.api.SetSubscriptionItemUsage(sctx, b.SubscriptionID, b.ItemID,
		gen.UsageInput{UsageQuantity: b.Quantity}, billing.Sandbox(m.cfg.mode == Sandbox))
	testPoint("answered")
	return classify(err)
}

// deadline converts a time of the Meter's clock to the system clock's, for a
// context deadline.
func (m *Meter) deadline(t time.Time) time.Time {
	return time.Now().Add(t.Sub(m.cfg.clock.Now()))
}

// roundQuantity rounds the sum of a batch to QuantityDecimals decimal places,
// so that usages of decimal quantities are sent as their decimal sum: summed
// in binary floating point, 0.1 and 0.2 make 0.30000000000000004.
func roundQuantity(q float64) float64 {
	const scale = 1e9 // 10^QuantityDecimals
	return math.Round(q*scale) / scale
}

// classify maps the error of a usage call to the state of its batch.
func classify(err error) (State, string) {
	var apiErr *billing.APIError
	var invalid *billing.InvalidRequestError
	switch {
	case err == nil:
		return Sent, ""
	case errors.Is(err, billing.ErrOutcomeUnknown):
		return Unknown, err.Error()
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		return Pending, err.Error()
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return Refused, err.Error()
	case errors.As(err, &invalid):
		return Refused, err.Error()
	case errors.As(err, &apiErr):
		// A status the SDK does not count as unknown for this call (it does
		// for 3xx and 5xx): keep it for the caller rather than guess.
		return Unknown, err.Error()
	default:
		// The SDK wraps ErrOutcomeUnknown around every failure after which the
		// usage may have been counted: this one sent nothing (token, network
		// before sending, context ended before sending).
		return Pending, err.Error()
	}
}

// SetPeriodEnd tells the Meter that the current billing period of a
// subscription ends at nextBillingAt (the subscription's next_billing_at): Run
// flushes its usage the margin before. The webhook hook (Hook) calls it for
// every subscription event; call it yourself when you learn it otherwise.
//
// A new end replaces the subscription's ends still to come (a plan change
// moves it), but for an end due within PeriodEndSkew by the Meter's clock: a
// renewal, whose webhook may reach a clock a little behind Billing's before
// the end it renews, must not erase that end, or the usage recorded before it
// and sent after would not be reported late.
func (m *Meter) SetPeriodEnd(ctx context.Context, subscriptionID string, nextBillingAt time.Time) error {
	if subscriptionID == "" || nextBillingAt.IsZero() {
		return errors.New("billing: meter: SetPeriodEnd needs a subscription id and a time")
	}
	// An end due within PeriodEndSkew is kept as closing, not replaced.
	if err := m.store.SetPeriodEnd(ctx, m.cfg.mode, subscriptionID, nextBillingAt, m.now().Add(PeriodEndSkew)); err != nil {
		return fmt.Errorf("billing: meter: recording the period end of %s: %w", subscriptionID, err)
	}
	select {
	case m.kick <- struct{}{}:
	default:
	}
	return nil
}

// PeriodEndSkew is how far ahead of the Meter's clock a period end counts as
// closing: SetPeriodEnd does not replace it.
const PeriodEndSkew = 5 * time.Minute

// Run flushes on the interval and, whatever the interval, the margin before
// each known period end, until ctx ends; it then returns ctx's error. It flushes
// once when it starts. A failed flush is tried again at the next wake-up. Each
// Report goes to the WithOnFlush function.
//
// A flush sends the batches of every instance sharing the Store (in the
// Meter's mode), and Run reads the period ends from the Store at each wake-up:
// the instance that learnt a period end (SetPeriodEnd wakes its Run at once)
// flushes every instance's usage before it; the others learn it at their next
// wake-up.
func (m *Meter) Run(ctx context.Context) error {
	var last time.Time
	for {
		r, err := m.Flush(ctx)
		last = m.cfg.clock.Now()
		if err != nil && ctx.Err() == nil {
			m.cfg.log.Error("billing: meter: flush failed; trying again at the next wake-up", "error", err)
		}
		if m.cfg.onFlush != nil {
			m.cfg.onFlush(r)
		}
	wait:
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			wake := last.Add(m.cfg.interval)
			ends, err := m.store.NextPeriodEnds(ctx, m.cfg.mode, last)
			if err != nil {
				m.cfg.log.Error("billing: meter: reading the period ends", "error", err)
			}
			wake = nextWake(last, wake, ends, m.cfg.margin)
			d := wake.Sub(m.cfg.clock.Now())
			if d <= 0 {
				break wait
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-m.cfg.clock.After(d):
				break wait
			case <-m.kick:
				// A period end was learnt: compute the wake-up again.
			}
		}
	}
}

// nextWake returns when to flush next, given the last flush, the interval's
// wake-up and the subscriptions' next period ends: the earliest of the
// interval's wake-up and each end minus margin that is after the last flush.
func nextWake(last, wake time.Time, ends map[string]time.Time, margin time.Duration) time.Time {
	for _, e := range ends {
		if d := e.Add(-margin); d.After(last) && d.Before(wake) {
			wake = d
		}
	}
	return wake
}
