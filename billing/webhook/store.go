package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A Store remembers, for a Tracker, which messages were processed and the
// newest version processed of each entity. Its methods must be safe for
// concurrent use, by several processes when they share it.
//
// MemoryStore keeps them in memory, for tests and single-process services. On
// a database, the message methods use a table with a unique message id and a
// state, the version methods a table keyed by (kind, id), for example in SQL:
//
//	-- ClaimMessage: insert, or tell why not.
//	INSERT INTO webhook_messages (id, state, claimed_at) VALUES ($1, 'processing', now())
//	    ON CONFLICT (id) DO NOTHING;
//	-- no row inserted: SELECT state -> 'done' is ErrDuplicate, 'processing' is
//	-- ErrInProgress, unless claimed_at is older than a lease (a crashed
//	-- process): then take the claim over with an UPDATE ... WHERE claimed_at = <the old one>.
//	-- CompleteMessage:
//	UPDATE webhook_messages SET state = 'done' WHERE id = $1;
//	-- ReleaseMessage:
//	DELETE FROM webhook_messages WHERE id = $1 AND state = 'processing';
//	-- Version:
//	SELECT version FROM webhook_versions WHERE kind = $1 AND id = $2;  -- none: 0
//	-- AdvanceVersion: a compare-and-set; advanced when a row was written.
//	INSERT INTO webhook_versions (kind, id, version) VALUES ($1, $2, $3)
//	    ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version
//	    WHERE webhook_versions.version < excluded.version;
//
// Delete done messages after a few days: Billing redelivers a message for about
// 28 hours.
type Store interface {
	// ClaimMessage records that the processing of message id starts. It
	// returns an error wrapping ErrDuplicate if the message was completed, and
	// one wrapping ErrInProgress if it is claimed and neither completed nor
	// released. Of two concurrent claims of one id, at most one succeeds.
	ClaimMessage(ctx context.Context, id string) error
	// CompleteMessage records that the claimed message id was processed:
	// later claims of it are duplicates.
	CompleteMessage(ctx context.Context, id string) error
	// ReleaseMessage drops the claim of message id, whose processing failed,
	// so that a new delivery processes it again.
	ReleaseMessage(ctx context.Context, id string) error
	// Version returns the newest version recorded for the entity, 0 if none.
	Version(ctx context.Context, kind, id string) (Version, error)
	// AdvanceVersion records v as the entity's version if it is higher than
	// the recorded one, atomically (compare-and-set), and tells whether it was.
	AdvanceVersion(ctx context.Context, kind, id string, v Version) (bool, error)
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
	messages map[string]bool // message id -> completed (false: in progress)
	done     []doneMessage   // completed messages, oldest first
	versions map[entityKey]Version
}

type doneMessage struct {
	id string
	at time.Time
}

type entityKey struct{ kind, id string }

// NewMemoryStore returns an empty MemoryStore that remembers completed messages
// for retention (DefaultRetention if retention is not positive).
func NewMemoryStore(retention time.Duration) *MemoryStore {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &MemoryStore{
		retention: retention,
		now:       time.Now,
		messages:  map[string]bool{},
		versions:  map[entityKey]Version{},
	}
}

// ClaimMessage implements Store.
func (m *MemoryStore) ClaimMessage(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune()
	done, seen := m.messages[id]
	switch {
	case done:
		return fmt.Errorf("%w: %s", ErrDuplicate, id)
	case seen:
		return fmt.Errorf("%w: %s", ErrInProgress, id)
	}
	m.messages[id] = false
	return nil
}

// CompleteMessage implements Store.
func (m *MemoryStore) CompleteMessage(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if done, seen := m.messages[id]; done {
		return nil
	} else if !seen {
		return fmt.Errorf("webhook: complete message %s: not claimed", id)
	}
	m.messages[id] = true
	m.done = append(m.done, doneMessage{id, m.now()})
	return nil
}

// ReleaseMessage implements Store.
func (m *MemoryStore) ReleaseMessage(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if done, seen := m.messages[id]; seen && !done {
		delete(m.messages, id)
	}
	return nil
}

// Version implements Store.
func (m *MemoryStore) Version(_ context.Context, kind, id string) (Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.versions[entityKey{kind, id}], nil
}

// AdvanceVersion implements Store.
func (m *MemoryStore) AdvanceVersion(_ context.Context, kind, id string, v Version) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := entityKey{kind, id}
	if cur, ok := m.versions[k]; ok && cur >= v {
		return false, nil
	}
	m.versions[k] = v
	return true, nil
}

// prune forgets the completed messages older than the retention. The caller
// holds the mutex.
func (m *MemoryStore) prune() {
	cut := m.now().Add(-m.retention)
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
// Within a process the Tracker runs the events of one entity one at a time, so
// that a late event cannot overwrite a newer one while both run. Across
// processes sharing a database, also make the update of your own data
// conditional on the version, in its transaction (UPDATE ... WHERE version < $new).
//
// A Tracker is safe for concurrent use.
type Tracker struct {
	store Store

	mu    sync.Mutex
	locks map[entityKey]*entityLock
}

type entityLock struct {
	ch   chan struct{} // holds a value while locked
	refs int
}

// NewTracker returns a Tracker recording in store.
func NewTracker(store Store) *Tracker {
	return &Tracker{store: store, locks: map[entityKey]*entityLock{}}
}

// Process runs fn for ev unless ev is a duplicate or stale, and records it:
//
//   - it claims ev.ID (an event without ID, from the legacy system, is checked
//     by version only); a claim held by a concurrent delivery returns an error
//     wrapping ErrInProgress without running fn;
//   - it waits for the other events of ev's entity in this process, then
//     compares ev's version with the recorded one: older is Stale (but for a
//     creation event);
//   - it runs fn; if fn fails, the claim is released so that Billing's next
//     delivery processes the message again, and fn's error is returned;
//   - it advances the entity's version and completes the message, with a context
//     that ctx's end does not cancel (the sender may hang up while fn runs: fn's
//     success must still be recorded).
//
// If recording fails after fn succeeded, Process returns the error and the
// message may be processed again: fn must tolerate running twice for the same
// event (at least once), which the version check makes rare.
func (t *Tracker) Process(ctx context.Context, ev *Event, fn func(context.Context) error) (Outcome, error) {
	if ev.ID != "" {
		if err := t.store.ClaimMessage(ctx, ev.ID); err != nil {
			if errors.Is(err, ErrDuplicate) {
				return Duplicate, nil
			}
			return 0, err
		}
	}
	completed := false
	defer func() {
		if !completed && ev.ID != "" {
			// Even when ctx is done: a claim left over would refuse every redelivery.
			_ = t.store.ReleaseMessage(context.WithoutCancel(ctx), ev.ID)
		}
	}()
	ent, hasEntity := ev.Entity()
	if hasEntity {
		unlock, err := t.lock(ctx, entityKey{ent.Kind, ent.ID})
		if err != nil {
			return 0, err
		}
		defer unlock()
		cur, err := t.store.Version(ctx, ent.Kind, ent.ID)
		if err != nil {
			return 0, fmt.Errorf("webhook: reading the version of %s %s: %w", ent.Kind, ent.ID, err)
		}
		if cur != 0 && ent.Version != 0 && ent.Version < cur && !ev.Type.creates() {
			// Recorded even if the sender hung up meanwhile.
			if err := t.complete(context.WithoutCancel(ctx), ev); err != nil {
				return 0, err
			}
			completed = true
			return Stale, nil
		}
	}
	if err := fn(ctx); err != nil {
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
	if err := t.complete(rctx, ev); err != nil {
		return 0, err
	}
	completed = true
	return Processed, nil
}

func (t *Tracker) complete(ctx context.Context, ev *Event) error {
	if ev.ID == "" {
		return nil
	}
	if err := t.store.CompleteMessage(ctx, ev.ID); err != nil {
		return fmt.Errorf("webhook: recording message %s: %w", ev.ID, err)
	}
	return nil
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
