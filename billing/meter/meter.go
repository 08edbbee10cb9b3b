package meter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// Defaults of the options.
const (
	// DefaultInterval is how often Run flushes. Chargebee, behind Billing, caps
	// the usage records of a subscription over its lifetime (5,000 unless its
	// support raises it) and keeps one per day and item: a flush a day, plus one
	// before each period end, stays far below.
	DefaultInterval = 24 * time.Hour
	// DefaultMargin is how long before a period end (next_billing_at) Run
	// flushes, whatever the interval.
	DefaultMargin = time.Hour
	// DefaultLease is how long a flusher holds a batch it sends. A send is cut
	// off before its lease ends; a batch whose lease ended while Sending is
	// parked (Unknown) by the next flush of any instance.
	DefaultLease = 2 * time.Minute
	// DefaultConcurrency is how many calls a flush sends at once.
	DefaultConcurrency = 4
	// DefaultMaxGroup is the most usages one journal transaction of Add holds.
	DefaultMaxGroup = 4096
)

// A Meter records metered usage durably and sends it to Billing, aggregated per
// subscription item, never twice. See the package documentation.
//
// A Meter is safe for concurrent use. Close it when done.
type Meter struct {
	api   billing.API
	store Store
	cfg   config

	queue   chan *addReq
	quit    chan struct{} // closed by Close
	done    chan struct{} // closed when the committer has stopped
	once    sync.Once
	kick    chan struct{} // wakes Run (a period end learnt)
	flushMu sync.Mutex    // one Flush at a time per Meter
}

type config struct {
	mode        Mode
	interval    time.Duration
	margin      time.Duration
	lease       time.Duration
	concurrency int
	maxGroup    int
	clock       Clock
	log         *slog.Logger
	onFlush     func(Report)
}

// An Option configures a Meter.
type Option func(*config)

// WithSandbox sets the Meter's mode: sandbox (true) or live (false, the
// default). The mode is part of every key of the journal; a flush sends only the
// usage of its Meter's mode, with billing.Sandbox(true) in sandbox mode and
// billing.Sandbox(false) in live mode, whatever the client's own WithSandbox.
// Two Meters of different modes may share a Store.
func WithSandbox(on bool) Option {
	return func(c *config) {
		c.mode = Live
		if on {
			c.mode = Sandbox
		}
	}
}

// WithInterval sets how often Run flushes (default DefaultInterval).
func WithInterval(d time.Duration) Option { return func(c *config) { c.interval = d } }

// WithMargin sets how long before a subscription's period end Run flushes
// (default DefaultMargin). Usage recorded before the period end minus the margin
// is on that period's invoice if Billing can be reached then.
func WithMargin(d time.Duration) Option { return func(c *config) { c.margin = d } }

// WithLease sets how long a flusher holds a batch it sends (default
// DefaultLease); each send is given a deadline before the lease ends. Instances
// sharing a Store compare leases with their own clocks: give them the same lease,
// and keep their clocks within a small part of it.
func WithLease(d time.Duration) Option { return func(c *config) { c.lease = d } }

// WithConcurrency sets how many calls a flush sends at once (default
// DefaultConcurrency).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithMaxGroup sets the most usages one journal transaction of Add holds
// (default DefaultMaxGroup).
func WithMaxGroup(n int) Option { return func(c *config) { c.maxGroup = n } }

// WithClock replaces the clock the Meter reads and waits on (tests).
func WithClock(c Clock) Option { return func(cfg *config) { cfg.clock = c } }

// WithLogger logs what flushes do: batches refused, parked, late, and errors
// of the journal. By default the Meter logs nothing.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithOnFlush calls fn with the Report of each flush Run makes.
func WithOnFlush(fn func(Report)) Option { return func(c *config) { c.onFlush = fn } }

// A Clock tells the time and waits. The Meter uses the system clock unless
// WithClock gives another.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// New returns a Meter that journals in store and sends through api (a
// *billing.Client, or a stub). It starts the goroutine that commits Adds; Close
// stops it.
func New(api billing.API, store Store, opts ...Option) (*Meter, error) {
	cfg := config{
		mode: Live, interval: DefaultInterval, margin: DefaultMargin, lease: DefaultLease,
		concurrency: DefaultConcurrency, maxGroup: DefaultMaxGroup, clock: systemClock{},
		log: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case api == nil || store == nil:
		return nil, errors.New("billing: meter: New needs an API and a Store")
	case cfg.interval <= 0, cfg.margin < 0, cfg.lease <= 0, cfg.concurrency <= 0, cfg.maxGroup <= 0:
		return nil, errors.New("billing: meter: the interval, lease, concurrency and group size must be positive, the margin not negative")
	case cfg.clock == nil || cfg.log == nil:
		return nil, errors.New("billing: meter: nil Clock or Logger")
	}
	m := &Meter{
		api: api, store: store, cfg: cfg,
		queue: make(chan *addReq, cfg.maxGroup),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		kick:  make(chan struct{}, 1),
	}
	go m.commit()
	return m, nil
}

// Mode returns the Meter's mode.
func (m *Meter) Mode() Mode { return m.cfg.mode }

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("billing: meter: closed")

type addReq struct {
	u    Usage
	done chan error
}

// Add records usage. When it returns nil the usage is in the journal, durably
// (with a SQL store, committed): a crash cannot lose it, and a flush will send
// it. Concurrent Adds share one journal transaction (group commit).
//
// The same u.Key recorded twice, by this or any Meter of the same mode on the
// Store, counts once: the first recording wins, later ones return nil without
// changing it. An error (the context ended, the journal failed) means the usage
// may or may not be recorded: Add it again with the same Key.
func (m *Meter) Add(ctx context.Context, u Usage) error {
	if err := checkUsage(u); err != nil {
		return err
	}
	// Usage is late when a period end falls between its At and its send: an
	// At after now would hide that, so the usage is recorded as of now.
	if now := m.cfg.clock.Now(); u.At.IsZero() || u.At.After(now) {
		u.At = now
	}
	u.At = micro(u.At)
	r := &addReq{u: u, done: make(chan error, 1)}
	select {
	case <-m.quit:
		return ErrClosed
	default:
	}
	testPoint("add")
	select {
	case m.queue <- r:
	case <-m.quit:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("billing: meter: add %q: %w", u.Key, ctx.Err())
	}
	var err error
	select {
	case err = <-r.done:
	case <-m.done:
		// Close overtook the hand-over: the committer either answered r
		// before it stopped, or never saw it.
		select {
		case err = <-r.done:
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return fmt.Errorf("billing: meter: add %q: may or may not be recorded: %w", u.Key, ctx.Err())
	}
	if err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	return fmt.Errorf("billing: meter: add %q: %w", u.Key, err)
}

func checkUsage(u Usage) error {
	switch {
	case u.Key == "" || len(u.Key) > MaxKeyLen:
		return fmt.Errorf("billing: meter: a usage key is 1 to %d bytes", MaxKeyLen)
	case u.SubscriptionID == "" || u.ItemID == "":
		return fmt.Errorf("billing: meter: usage %q: no subscription or item id", u.Key)
	case len(u.SubscriptionID) > MaxKeyLen || len(u.ItemID) > MaxKeyLen:
		// Longer ones do not fit PostgreSQL's indexes: see storable.
		return fmt.Errorf("billing: meter: usage %q: a subscription or item id is at most %d bytes", u.Key, MaxKeyLen)
	case !storable(u.Key) || !storable(u.SubscriptionID) || !storable(u.ItemID):
		// PostgreSQL refuses such text, and the Record that carried it would
		// fail every Add committed with it.
		return fmt.Errorf("billing: meter: usage %q: the key and ids must be valid UTF-8 without NUL bytes", u.Key)
	case !(u.Quantity > 0) || math.IsInf(u.Quantity, 0):
		return fmt.Errorf("billing: meter: usage %q: the quantity must be positive and finite", u.Key)
	}
	return nil
}

// storable tells whether a SQL journal can keep s as text.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// commit writes the queued Adds, as many as are waiting (up to maxGroup) in one
// Record, until Close; then it fails what is left.
func (m *Meter) commit() {
	defer close(m.done)
	group := make([]*addReq, 0, m.cfg.maxGroup)
	usages := make([]Usage, 0, m.cfg.maxGroup)
	for {
		group = group[:0]
		select {
		case r := <-m.queue:
			group = append(group, r)
		case <-m.quit:
			for {
				select {
				case r := <-m.queue:
					r.done <- ErrClosed
				default:
					return
				}
			}
		}
	drain:
		for len(group) < m.cfg.maxGroup {
			select {
			case r := <-m.queue:
				group = append(group, r)
			default:
				break drain
			}
		}
		usages = usages[:0]
		for _, r := range group {
			usages = append(usages, r.u)
		}
		testPoint("record")
		err := m.store.Record(context.Background(), m.cfg.mode, usages)
		testPoint("recorded")
		for _, r := range group {
			r.done <- err
		}
	}
}

// Close stops the Meter: Adds waiting for the journal fail with ErrClosed, later
// Adds too. It does not close the Store. Run returns on its own context.
func (m *Meter) Close() error {
	m.once.Do(func() { close(m.quit) })
	<-m.done
	return nil
}

// now returns the time of the Meter's clock as Stores keep it.
func (m *Meter) now() time.Time { return micro(m.cfg.clock.Now()) }

// micro returns t in UTC to the microsecond, without a monotonic reading.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// token returns a new random claim token.
func token() string { return rand.Text() }

// testPoint is called at the named points of Add and of a flush, so that a test
// can stop the process there (crash tests). nil outside tests.
var testHook func(point string)

func testPoint(name string) {
	if testHook != nil {
		testHook(name)
	}
}

// Batches returns the batches of the Meter's mode in state ("" for all),
// oldest first: Refused ones to fix, Pending ones waiting, Sent ones for the record.
func (m *Meter) Batches(ctx context.Context, state State) ([]Batch, error) {
	bs, err := m.store.Batches(ctx, m.cfg.mode, state)
	if err != nil {
		return nil, fmt.Errorf("billing: meter: listing batches: %w", err)
	}
	return bs, nil
}
