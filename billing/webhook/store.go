package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClaimLost: the claim of a message or the lock of an entity that the caller
// presents is no longer its own: its lease ran out and another delivery took it
// over (or it was never held). What the caller did under it must not be
// recorded; the other holder records its own run.
var ErrClaimLost = errors.New("webhook: claim lost to another delivery")

// A Claim is one delivery's hold on a message, from Store.ClaimMessage: the
// message id, a token that no other claim of the message has, and the end of
// its lease. Until Expires another claim of the message fails with
// ErrInProgress; after it, one may take the claim over (the holder is presumed
// crashed), and the old Claim then completes and releases nothing.
type Claim struct {
	ID      string    // message id
	Token   string    // identifies this claim among all claims of the message
	Expires time.Time // end of the lease
}

// An EntityLock is one delivery's hold on an entity, from Store.LockEntity: while
// it is held and its lease runs, no other delivery, in any process, runs an
// event of the entity. After Expires another delivery may take it over (the
// holder is presumed crashed).
type EntityLock struct {
	Kind, ID string    // the entity (Entity.Kind, Entity.ID)
	Token    string    // identifies this lock among all locks of the entity
	Expires  time.Time // end of the lease
}

// A Store remembers, for a Tracker, which messages were processed and the
// newest version processed of each entity, and holds the claims and locks that
// let several processes share it. Its methods must be safe for concurrent use,
// by several processes when they share it.
//
// Claims and locks carry a token: CompleteMessage, ReleaseMessage and
// UnlockEntity act only when the token presented is the one the store holds, so
// that a delivery whose lease ran out (and was taken over) cannot complete,
// release or unlock the claim of the delivery that took it over.
//
// MemoryStore keeps them in memory, for tests and single-process services;
// package billing/sqlstore keeps them in PostgreSQL or SQLite, for several
// instances, and documents the SQL it runs. Package billing/webhook/webhooktest
// checks a Store against this contract.
type Store interface {
	// ClaimMessage records that a delivery starts processing message id, for
	// lease, and returns its claim. It returns an error wrapping ErrDuplicate
	// if the message was completed, and one wrapping ErrInProgress if another
	// claim holds it and its lease runs. A claim whose lease ran out is taken
	// over: the new claim gets a new token. Of concurrent claims of one id, at
	// most one succeeds.
	ClaimMessage(ctx context.Context, id string, lease time.Duration) (Claim, error)
	// CompleteMessage records that the message of c was processed, if c still
	// holds it (even past its lease, when nobody took it over): later claims
	// are duplicates. Completing a message c completed already succeeds. If
	// another claim holds the message, or nothing does, it returns an error
	// wrapping ErrClaimLost and changes nothing.
	CompleteMessage(ctx context.Context, c Claim) error
	// ReleaseMessage drops claim c, whose processing failed, so that a new
	// delivery processes the message again. It does nothing when c no longer
	// holds the message (completed, released or taken over).
	ReleaseMessage(ctx context.Context, c Claim) error
	// LockEntity locks the entity (kind, id) for lease and returns the lock. It
	// returns an error wrapping ErrInProgress if another lock holds it and its
	// lease runs; a lock whose lease ran out is taken over.
	LockEntity(ctx context.Context, kind, id string, lease time.Duration) (EntityLock, error)
	// UnlockEntity drops lock l. It does nothing when l no longer holds the
	// entity (taken over).
	UnlockEntity(ctx context.Context, l EntityLock) error
	// Version returns the newest version recorded for the entity, 0 if none.
	Version(ctx context.Context, kind, id string) (Version, error)
	// AdvanceVersion records v as the entity's version if it is higher than
	// the recorded one, atomically (compare-and-set), and tells whether it was.
	AdvanceVersion(ctx context.Context, kind, id string, v Version) (bool, error)
}

// A Hold is what a Tracker holds while an event's function runs: the claim of
// the message (zero for an event without id), the lock of the entity (zero for
// an event without entity) and the entity's version in the event. A Store that
// can record them in the function's own database transaction (as
// billing/sqlstore's Record does) makes the function's effects and their
// recording one atomic step: processed exactly once, even when the process is
// killed in between.
type Hold struct {
	Message Claim
	Entity  EntityLock
	Version Version
	// Newest is the newest version of the entity processed before this event
	// (0 if none). It is above Version only for a creation event that arrives
	// after newer events of its entity (the Tracker runs those): a function
	// must then not let its older data replace what the newer events set.
	Newest Version
}

// Late reports whether the event is older than one of its entity already
// processed: a creation event that came late (see Newest).
func (h Hold) Late() bool { return h.Version != 0 && h.Newest > h.Version }

type holdKey struct{}

// HoldFrom returns the Hold of the Tracker running the event whose function
// got ctx; ok is false outside of Tracker.Process.
func HoldFrom(ctx context.Context) (h Hold, ok bool) {
	h, ok = ctx.Value(holdKey{}).(Hold)
	return h, ok
}

// newToken returns a random token for a claim or lock.
func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DefaultRetention is how long a MemoryStore remembers a processed message
// unless NewMemoryStore is given another duration: longer than Billing's
// redeliveries (about 28 hours).
const DefaultRetention = 72 * time.Hour

// MemoryStore is a Store in memory: for tests and for services of one process
// that may, after a restart, process again the messages of the last days. It
// forgets completed messages after the retention; it keeps every entity's
// version. It is safe for concurrent use.
type MemoryStore struct {
	retention time.Duration
	now       func() time.Time

	mu       sync.Mutex
	messages map[string]*memMessage
	done     []doneMessage // completed messages, oldest first
	entities map[entityKey]*memEntity
}

type memMessage struct {
	done    bool
	token   string
	expires time.Time
}

type memEntity struct {
	version Version
	token   string // "" when unlocked
	expires time.Time
}

type doneMessage struct {
	id string
	at time.Time
}

type entityKey struct{ kind, id string }

// A MemoryStoreOption configures a MemoryStore.
type MemoryStoreOption func(*MemoryStore)

// WithStoreClock makes the MemoryStore read the time from now instead of time.Now:
// for tests of leases and retention.
func WithStoreClock(now func() time.Time) MemoryStoreOption {
	return func(m *MemoryStore) { m.now = now }
}

// NewMemoryStore returns an empty MemoryStore that remembers completed messages
// for retention (DefaultRetention if retention is not positive).
func NewMemoryStore(retention time.Duration, opts ...MemoryStoreOption) *MemoryStore {
	if retention <= 0 {
		retention = DefaultRetention
	}
	m := &MemoryStore{
		retention: retention,
		now:       time.Now,
		messages:  map[string]*memMessage{},
		entities:  map[entityKey]*memEntity{},
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

// ClaimMessage implements Store.
func (m *MemoryStore) ClaimMessage(_ context.Context, id string, lease time.Duration) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	msg := m.messages[id]
	switch {
	case msg == nil:
		msg = &memMessage{}
		m.messages[id] = msg
	case msg.done:
		return Claim{}, fmt.Errorf("%w: %s", ErrDuplicate, id)
	case now.Before(msg.expires):
		return Claim{}, fmt.Errorf("%w: %s", ErrInProgress, id)
	}
	msg.token, msg.expires = newToken(), now.Add(lease)
	return Claim{ID: id, Token: msg.token, Expires: msg.expires}, nil
}

// CompleteMessage implements Store.
func (m *MemoryStore) CompleteMessage(_ context.Context, c Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg := m.messages[c.ID]
	if msg == nil || msg.token != c.Token {
		return fmt.Errorf("%w: message %s", ErrClaimLost, c.ID)
	}
	if !msg.done {
		msg.done = true
		m.done = append(m.done, doneMessage{c.ID, m.now()})
	}
	return nil
}

// ReleaseMessage implements Store.
func (m *MemoryStore) ReleaseMessage(_ context.Context, c Claim) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if msg := m.messages[c.ID]; msg != nil && !msg.done && msg.token == c.Token {
		delete(m.messages, c.ID)
	}
	return nil
}

// LockEntity implements Store.
func (m *MemoryStore) LockEntity(_ context.Context, kind, id string, lease time.Duration) (EntityLock, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.entity(entityKey{kind, id})
	if e.token != "" && now.Before(e.expires) {
		return EntityLock{}, fmt.Errorf("%w: %s %s is locked", ErrInProgress, kind, id)
	}
	e.token, e.expires = newToken(), now.Add(lease)
	return EntityLock{Kind: kind, ID: id, Token: e.token, Expires: e.expires}, nil
}

// UnlockEntity implements Store.
func (m *MemoryStore) UnlockEntity(_ context.Context, l EntityLock) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entities[entityKey{l.Kind, l.ID}]; e != nil && e.token == l.Token {
		e.token = ""
	}
	return nil
}

// Version implements Store.
func (m *MemoryStore) Version(_ context.Context, kind, id string) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entities[entityKey{kind, id}]; e != nil {
		return e.version, nil
	}
	return 0, nil
}

// AdvanceVersion implements Store.
func (m *MemoryStore) AdvanceVersion(_ context.Context, kind, id string, v Version) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entity(entityKey{kind, id})
	if e.version >= v {
		return false, nil
	}
	e.version = v
	return true, nil
}

// entity returns the record of entity k, created if need be. The caller holds
// the mutex.
func (m *MemoryStore) entity(k entityKey) *memEntity {
	e := m.entities[k]
	if e == nil {
		e = &memEntity{}
		m.entities[k] = e
	}
	return e
}

// prune forgets the completed messages older than the retention. The caller
// holds the mutex.
func (m *MemoryStore) prune(now time.Time) {
	cut := now.Add(-m.retention)
	n := 0
	for n < len(m.done) && m.done[n].at.Before(cut) {
		delete(m.messages, m.done[n].id)
		n++
	}
	if n > 0 {
		m.done = append(m.done[:0:0], m.done[n:]...)
	}
}

// Outcome is what a Tracker did with an event. The zero Outcome goes with an
// error.
type Outcome int

const (
	// Processed: the function ran and succeeded; the event is recorded.
	Processed Outcome = iota + 1
	// Duplicate: the message was processed before; the function did not run.
	Duplicate
	// Stale: the event's entity has a newer version recorded (it was
	// delivered out of order); the function did not run and the message is
	// recorded as processed.
	Stale
)

func (o Outcome) String() string {
	switch o {
	case Processed:
		return "processed"
	case Duplicate:
		return "duplicate"
	case Stale:
		return "stale"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Defaults of a Tracker.
const (
	// DefaultLease is how long a claim or an entity lock lasts unless
	// WithLease sets another: after it, a delivery to another process takes
	// over from a process presumed crashed.
	DefaultLease = time.Minute
	// DefaultEntityWait is how long a delivery waits for the lock of its
	// entity held by another process, unless WithEntityWait sets another,
	// before it gives up with ErrInProgress.
	DefaultEntityWait = 10 * time.Second
)

// A Tracker processes each webhook message once and each entity's events in
// order, on a Store: it skips a message already processed (by its message id)
// and an event older than the version recorded for its entity (Event.Entity).
// An event of the same version as the recorded one is processed: two events
// may come from one change (subscription.updated and
// subscription.status-updated). A creation event (subscription.created,
// customer.created) is never skipped: when its first delivery failed, its retry
// may come after newer events of the entity, and it is still the one to set the
// entity up.
//
// The Tracker runs the events of one entity one at a time: within a process by
// itself, across processes sharing a Store by the Store's entity lock. A claim
// and a lock last for a lease (WithLease), after which another process takes
// them over: a function must finish well within the lease. To make a
// function's effects and their recording one atomic step, record the Hold
// (HoldFrom) in the function's own transaction when the Store allows it (see
// billing/sqlstore); otherwise make the function idempotent.
//
// A Tracker is safe for concurrent use.
type Tracker struct {
	store Store
	lease time.Duration
	wait  time.Duration

	mu    sync.Mutex
	locks map[entityKey]*entityLock
}

type entityLock struct {
	ch   chan struct{} // holds a value while locked
	refs int
}

// A TrackerOption configures a Tracker.
type TrackerOption func(*Tracker)

// WithLease sets how long the claim of a message and the lock of an entity
// last (default DefaultLease): longer than a function runs, and as short as a
// crashed process may keep its messages and entities waiting.
func WithLease(d time.Duration) TrackerOption {
	return func(t *Tracker) { t.lease = d }
}

// WithEntityWait sets how long a delivery waits for the lock of its entity held
// by another process (default DefaultEntityWait) before Process returns an
// error wrapping ErrInProgress (a Handler answers 409, and Billing delivers
// again later).
func WithEntityWait(d time.Duration) TrackerOption {
	return func(t *Tracker) { t.wait = d }
}

// NewTracker returns a Tracker recording in store. It panics if the lease is
// not positive.
func NewTracker(store Store, opts ...TrackerOption) *Tracker {
	t := &Tracker{store: store, lease: DefaultLease, wait: DefaultEntityWait, locks: map[entityKey]*entityLock{}}
	for _, o := range opts {
		o(t)
	}
	if t.lease <= 0 {
		panic("webhook: WithLease: the lease must be positive")
	}
	return t
}

// Process runs fn for ev unless ev is a duplicate or stale, and records it:
//
//   - it claims ev.ID (an event without ID, from the legacy system, is checked
//     by version only); a claim held by a concurrent delivery returns an error
//     wrapping ErrInProgress without running fn;
//   - it waits for the other events of ev's entity in this process, then for
//     the Store's lock of the entity (at most the entity wait: then an error
//     wrapping ErrInProgress), then compares ev's version with the recorded
//     one: older is Stale (but for a creation event);
//   - it runs fn with a context holding the Hold (HoldFrom); if fn fails, the
//     claim is released so that Billing's next delivery processes the message
//     again, and fn's error is returned;
//   - it advances the entity's version and completes the message, with a context
//     that ctx's end does not cancel (the sender may hang up while fn runs: fn's
//     success must still be recorded), then unlocks the entity.
//
// If recording fails after fn succeeded (the claim was taken over: an error
// wrapping ErrClaimLost), Process returns the error and the message may be
// processed again, unless fn recorded the Hold in its own transaction: fn must
// otherwise tolerate running twice for the same event (at least once).
func (t *Tracker) Process(ctx context.Context, ev *Event, fn func(context.Context) error) (Outcome, error) {
	var hold Hold
	if ev.ID != "" {
		c, err := t.store.ClaimMessage(ctx, ev.ID, t.lease)
		if err != nil {
			if errors.Is(err, ErrDuplicate) {
				return Duplicate, nil
			}
			return 0, err
		}
		hold.Message = c
	}
	completed := false
	defer func() {
		if !completed && ev.ID != "" {
			// Even when ctx is done: a claim left over would refuse every
			// redelivery until its lease ends.
			_ = t.store.ReleaseMessage(context.WithoutCancel(ctx), hold.Message)
		}
	}()
	ent, hasEntity := ev.Entity()
	if hasEntity {
		unlock, err := t.lock(ctx, entityKey{ent.Kind, ent.ID})
		if err != nil {
			return 0, err
		}
		defer unlock()
		l, err := t.lockStored(ctx, ent.Kind, ent.ID)
		if err != nil {
			return 0, err
		}
		defer func() { _ = t.store.UnlockEntity(context.WithoutCancel(ctx), l) }()
		hold.Entity, hold.Version = l, ent.Version
		cur, err := t.store.Version(ctx, ent.Kind, ent.ID)
		if err != nil {
			return 0, fmt.Errorf("webhook: reading the version of %s %s: %w", ent.Kind, ent.ID, err)
		}
		hold.Newest = cur
		if cur != 0 && ent.Version != 0 && ent.Version < cur && !ev.Type.creates() {
			// Recorded even if the sender hung up meanwhile.
			if err := t.complete(context.WithoutCancel(ctx), hold.Message); err != nil {
				return 0, err
			}
			completed = true
			return Stale, nil
		}
	}
	if err := fn(context.WithValue(ctx, holdKey{}, hold)); err != nil {
		return 0, err
	}
	// fn succeeded: record it even if the sender hung up meanwhile (its context is
	// then done), or every redelivery would run fn again.
	rctx := context.WithoutCancel(ctx)
	if hasEntity && ent.Version != 0 {
		if _, err := t.store.AdvanceVersion(rctx, ent.Kind, ent.ID, ent.Version); err != nil {
			return 0, fmt.Errorf("webhook: recording the version of %s %s: %w", ent.Kind, ent.ID, err)
		}
	}
	if err := t.complete(rctx, hold.Message); err != nil {
		return 0, err
	}
	completed = true
	return Processed, nil
}

func (t *Tracker) complete(ctx context.Context, c Claim) error {
	if c.ID == "" {
		return nil
	}
	if err := t.store.CompleteMessage(ctx, c); err != nil {
		return fmt.Errorf("webhook: recording message %s: %w", c.ID, err)
	}
	return nil
}

// lockStored takes the Store's lock of the entity, waiting while another
// process holds it, at most the entity wait.
func (t *Tracker) lockStored(ctx context.Context, kind, id string) (EntityLock, error) {
	deadline := time.Now().Add(t.wait)
	delay := 5 * time.Millisecond
	for {
		l, err := t.store.LockEntity(ctx, kind, id, t.lease)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, ErrInProgress) || time.Now().Add(delay).After(deadline) {
			return EntityLock{}, err
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return EntityLock{}, ctx.Err()
		case <-timer.C:
		}
		delay = min(2*delay, 250*time.Millisecond)
	}
}

// lock waits until no other event of the entity runs in this Tracker, or ctx
// is done.
func (t *Tracker) lock(ctx context.Context, k entityKey) (unlock func(), err error) {
	t.mu.Lock()
	l := t.locks[k]
	if l == nil {
		l = &entityLock{ch: make(chan struct{}, 1)}
		t.locks[k] = l
	}
	l.refs++
	t.mu.Unlock()
	release := func() {
		t.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(t.locks, k)
		}
		t.mu.Unlock()
	}
	unlock = func() { <-l.ch; release() }
	select {
	case l.ch <- struct{}{}: // free: taken even if ctx is done
		return unlock, nil
	default:
	}
	select {
	case l.ch <- struct{}{}:
		return unlock, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
