package meter

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store in memory, for tests and examples: the journal is lost
// with the process. It is safe for concurrent use, and Meters of one process may
// share it.
type MemoryStore struct {
	mu      sync.Mutex
	usages  map[memKey]*memUsage
	order   []*memUsage // in recording order
	batches map[int64]*Batch
	nextID  int64
	periods map[memSub][]time.Time
}

type memKey struct {
	mode Mode
	key  string
}

type memSub struct {
	mode Mode
	sub  string
}

type memUsage struct {
	mode   Mode
	u      Usage
	batch  int64 // 0: not sealed
	missed time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		usages:  map[memKey]*memUsage{},
		batches: map[int64]*Batch{},
		periods: map[memSub][]time.Time{},
	}
}

var _ Store = (*MemoryStore)(nil)

// Record implements Store.
func (s *MemoryStore) Record(ctx context.Context, mode Mode, usages []Usage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range usages {
		k := memKey{mode, u.Key}
		if _, ok := s.usages[k]; ok {
			continue
		}
		mu := &memUsage{mode: mode, u: u}
		s.usages[k] = mu
		s.order = append(s.order, mu)
	}
	return nil
}

// SetPeriodEnd implements Store.
func (s *MemoryStore) SetPeriodEnd(ctx context.Context, mode Mode, subscriptionID string, end, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := memSub{mode, subscriptionID}
	ends := s.periods[k]
	if end.After(now) {
		ends = slices.DeleteFunc(ends, func(e time.Time) bool { return e.After(now) })
	}
	if !slices.ContainsFunc(ends, end.Equal) {
		ends = append(ends, end)
	}
	s.periods[k] = ends
	return nil
}

// NextPeriodEnds implements Store.
func (s *MemoryStore) NextPeriodEnds(ctx context.Context, mode Mode, now time.Time) (map[string]time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	for k, ends := range s.periods {
		if k.mode != mode {
			continue
		}
		for _, e := range ends {
			if e.After(now) && (out[k.sub].IsZero() || e.Before(out[k.sub])) {
				out[k.sub] = e
			}
		}
	}
	return out, nil
}

// Seal implements Store.
func (s *MemoryStore) Seal(ctx context.Context, mode Mode, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type group struct {
		sub, item string
		late      bool
	}
	made := map[group]*Batch{}
	var order []*Batch
	for _, mu := range s.order {
		if mu.mode != mode || mu.batch != 0 {
			continue
		}
		var missed time.Time
		for _, e := range s.periods[memSub{mode, mu.u.SubscriptionID}] {
			if e.After(mu.u.At) && !e.After(now) && (missed.IsZero() || e.Before(missed)) {
				missed = e
			}
		}
		g := group{mu.u.SubscriptionID, mu.u.ItemID, !missed.IsZero()}
		b := made[g]
		if b == nil {
			s.nextID++
			b = &Batch{
				ID: s.nextID, Mode: mode, SubscriptionID: g.sub, ItemID: g.item, Late: g.late,
				FirstAt: mu.u.At, LastAt: mu.u.At, State: Pending, CreatedAt: now, UpdatedAt: now,
			}
			made[g] = b
			order = append(order, b)
		}
		b.Quantity += mu.u.Quantity
		b.Usages++
		if mu.u.At.Before(b.FirstAt) {
			b.FirstAt = mu.u.At
		}
		if mu.u.At.After(b.LastAt) {
			b.LastAt = mu.u.At
		}
		if !missed.IsZero() && (b.MissedPeriodEnd.IsZero() || missed.Before(b.MissedPeriodEnd)) {
			b.MissedPeriodEnd = missed
		}
		mu.batch = b.ID
		mu.missed = missed
	}
	for _, b := range order {
		s.batches[b.ID] = b
	}
	return len(order), nil
}

// Claim implements Store.
func (s *MemoryStore) Claim(ctx context.Context, mode Mode, owner string, now, leaseUntil time.Time, limit int) ([]Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Batch
	for _, b := range s.sorted(mode, Pending) {
		if len(out) >= limit {
			break
		}
		if b.Owner == owner {
			continue
		}
		b.State, b.Owner, b.LeaseUntil, b.ClaimedAt, b.UpdatedAt = Sending, owner, leaseUntil, now, now
		b.Attempts++
		if !b.Late {
			for _, e := range s.periods[memSub{mode, b.SubscriptionID}] {
				if e.After(b.FirstAt) && !e.After(now) && (b.MissedPeriodEnd.IsZero() || e.Before(b.MissedPeriodEnd)) {
					b.MissedPeriodEnd = e
				}
			}
			b.Late = !b.MissedPeriodEnd.IsZero()
		}
		out = append(out, *b)
	}
	return out, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(ctx context.Context, mode Mode, id int64, owner string, to State, errText string, now time.Time) error {
	if err := checkOutcome(to); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	switch {
	case !ok || b.Mode != mode:
		return ErrNotFound
	case b.Owner != owner || (b.State != Sending && b.State != Unknown):
		return ErrNotOwner
	}
	b.State, b.Error, b.LeaseUntil, b.UpdatedAt = to, errText, time.Time{}, now
	return nil
}

// checkOutcome refuses a target state that Complete does not take.
func checkOutcome(to State) error {
	switch to {
	case Sent, Refused, Unknown, Pending:
		return nil
	}
	return fmt.Errorf("complete to %q: %w", to, ErrState)
}

// Expire implements Store.
func (s *MemoryStore) Expire(ctx context.Context, mode Mode, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.batches {
		if b.Mode == mode && b.State == Sending && b.LeaseUntil.Before(now) {
			b.State, b.Error, b.UpdatedAt = Unknown, LeaseExpired, now
			n++
		}
	}
	return n, nil
}

// LeaseExpired is the Error of a batch that Expire parked.
const LeaseExpired = "lease expired while sending: the flusher stopped (a crash?) before recording the outcome"

// Resolve implements Store.
func (s *MemoryStore) Resolve(ctx context.Context, mode Mode, id int64, applied bool, note string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	if !ok || b.Mode != mode {
		return ErrNotFound
	}
	to, err := resolution(b.State, applied)
	if err != nil {
		return err
	}
	b.State, b.Note, b.Owner, b.LeaseUntil, b.UpdatedAt = to, note, "", time.Time{}, now
	return nil
}

// resolution returns the state a batch in state from goes to when the caller
// says whether it was applied.
func resolution(from State, applied bool) (State, error) {
	switch {
	case from == Unknown && applied:
		return Sent, nil
	case (from == Unknown || from == Refused) && !applied:
		return Pending, nil
	}
	return "", fmt.Errorf("resolve a %s batch as applied=%t: %w", from, applied, ErrState)
}

// Batches implements Store.
func (s *MemoryStore) Batches(ctx context.Context, mode Mode, state State) ([]Batch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Batch
	for _, b := range s.sorted(mode, state) {
		out = append(out, *b)
	}
	return out, nil
}

// sorted returns the batches of mode in state ("" for all), by id. The caller
// holds the mutex.
func (s *MemoryStore) sorted(mode Mode, state State) []*Batch {
	var out []*Batch
	for _, b := range s.batches {
		if b.Mode == mode && (state == "" || b.State == state) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b *Batch) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Batch implements Store.
func (s *MemoryStore) Batch(ctx context.Context, mode Mode, id int64) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[id]
	if !ok || b.Mode != mode {
		return Batch{}, ErrNotFound
	}
	return *b, nil
}

// BatchUsages implements Store.
func (s *MemoryStore) BatchUsages(ctx context.Context, mode Mode, id int64) ([]Usage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Usage
	for _, mu := range s.order {
		if mu.mode == mode && mu.batch == id {
			out = append(out, mu.u)
		}
	}
	slices.SortFunc(out, func(a, b Usage) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// Unsealed implements Store.
func (s *MemoryStore) Unsealed(ctx context.Context, mode Mode) (int, float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, q := 0, 0.0
	for _, mu := range s.order {
		if mu.mode == mode && mu.batch == 0 {
			n++
			q += mu.u.Quantity
		}
	}
	return n, q, nil
}
