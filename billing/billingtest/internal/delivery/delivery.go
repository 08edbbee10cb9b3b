// Package delivery sends billingtest's webhook messages to one endpoint, signed,
// one attempt at a time in the order they are due, and retries a failed
// delivery on a schedule while the next messages go on, as Billing's webhook
// system does. Faults script duplicates and reordering.
package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// Timeout bounds each delivery attempt.
const Timeout = 15 * time.Second

// A Fault scripts the delivery of one message.
type Fault int

// The faults, with the values and meaning of billingtest.WebhookFault's.
const (
	Duplicate Fault = iota + 1 // delivered again once delivered
	Swap                       // held until the next message, which goes first
)

// An Attempt is one attempt to deliver a message.
type Attempt struct {
	MessageID string
	Type      webhook.Type
	Attempt   int    // 1 for the first
	Status    int    // the answer's status; 0 without an answer
	Err       string // why there was no answer
}

// A Queue delivers the messages given to Send until Close.
type Queue struct {
	url     string
	signer  *webhook.Signer
	retries []time.Duration
	now     func() time.Time // signs the attempts
	client  *http.Client
	ctx     context.Context // ended by Close
	cancel  context.CancelFunc
	done    chan struct{} // closed when the sender returns

	mu       sync.Mutex
	seq      int        // messages queued
	queue    []*message // by due time, then insertion
	held     *message   // held by Swap
	inflight bool
	faults   []Fault
	log      []Attempt
	wake     chan struct{} // a message was queued
	changed  chan struct{} // closed when an attempt ends
}

type message struct {
	id       string
	typ      webhook.Type
	body     []byte
	due      time.Time
	attempts int
	dup      bool
}

// New starts a Queue that posts to url, signed by signer with the time now
// tells, and waits retries[i] before the (i+2)th attempt of a message.
func New(url string, signer *webhook.Signer, retries []time.Duration, now func() time.Time) *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		url: url, signer: signer, retries: retries, now: now,
		client: &http.Client{
			Timeout: Timeout,
			// Billing counts a redirect as a failure, like any non-2xx answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     &http.Transport{},
		},
		ctx: ctx, cancel: cancel, done: make(chan struct{}),
		wake: make(chan struct{}, 1), changed: make(chan struct{}),
	}
	go q.run()
	return q
}

// Close stops the sender, ending the attempt in flight, and waits for it. The
// messages left are dropped. A nil Queue (no webhooks) has nothing to stop.
func (q *Queue) Close() {
	if q == nil {
		return
	}
	q.cancel()
	<-q.done
	q.client.CloseIdleConnections()
}

// Fault queues f for the next message sent after the faults queued before it.
func (q *Queue) Fault(f Fault) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.faults = append(q.faults, f)
}

// Log returns the attempts made so far, in order (none for a nil Queue).
func (q *Queue) Log() []Attempt {
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.log)
}

// Send queues a message {"eventType": typ, "data": data}; its id is msg_NNNNNN.
func (q *Queue) Send(typ webhook.Type, data any) {
	body, err := json.Marshal(map[string]any{"eventType": typ, "data": data})
	if err != nil {
		panic("billingtest: encoding a webhook: " + err.Error())
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	m := &message{id: fmt.Sprintf("msg_%06d", q.seq), typ: typ, body: body, due: time.Now()}
	// Every message uses up the next fault, the partner of a swap included.
	var f Fault
	if len(q.faults) > 0 {
		f, q.faults = q.faults[0], q.faults[1:]
	}
	m.dup = f == Duplicate
	switch held := q.held; {
	case held != nil: // m is the partner of a swap: it goes first
		q.held = nil
		q.insert(m)
		held.due = m.due
		q.insert(held) // a Swap used up by m does nothing: m already moved
	case f == Swap:
		q.held = m
	default:
		q.insert(m)
	}
}

// Flush waits until every message sent so far, and its retries, are delivered
// or given up, releasing a message a Swap holds. It fails once the Queue is
// closed, or with ctx. A nil Queue has nothing to wait for.
func (q *Queue) Flush(ctx context.Context) error {
	if q == nil {
		return nil
	}
	closed := errors.New("billingtest: FlushWebhooks: the server is closed")
	for {
		q.mu.Lock()
		if q.held != nil {
			q.insert(q.held)
			q.held = nil
		}
		idle, changed := len(q.queue) == 0 && !q.inflight, q.changed
		q.mu.Unlock()
		switch {
		case q.ctx.Err() != nil:
			return closed
		case idle:
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-q.done:
			return closed
		}
	}
}

// insert queues m by due time. The caller holds the mutex.
func (q *Queue) insert(m *message) {
	q.queue = append(q.queue, m)
	slices.SortStableFunc(q.queue, func(a, b *message) int { return a.due.Compare(b.due) })
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// run delivers the queued messages, one at a time when due, until Close.
func (q *Queue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		var m *message
		wait := time.Hour // until a message is queued
		if len(q.queue) > 0 {
			if wait = time.Until(q.queue[0].due); wait <= 0 {
				m, q.queue, q.inflight = q.queue[0], q.queue[1:], true
			}
		}
		q.mu.Unlock()
		if m != nil {
			status, err := q.deliver(m)
			q.finish(m, status, err)
			continue
		}
		timer := time.NewTimer(wait)
		select {
		case <-q.wake:
		case <-timer.C:
		case <-q.ctx.Done():
			timer.Stop()
			return
		}
		timer.Stop()
	}
}

// deliver makes one attempt: a signed POST.
func (q *Queue) deliver(m *message) (int, error) {
	req, err := http.NewRequestWithContext(q.ctx, http.MethodPost, q.url, bytes.NewReader(m.body))
	if err != nil {
		return 0, err
	}
	for k, v := range q.signer.Headers(m.id, q.now(), m.body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "billingtest-webhooks")
	res, err := q.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// finish records an attempt and queues the next one, if any.
func (q *Queue) finish(m *message, status int, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.inflight = false
	m.attempts++
	a := Attempt{MessageID: m.id, Type: m.typ, Attempt: m.attempts, Status: status}
	if err != nil {
		a.Err = err.Error()
	}
	q.log = append(q.log, a)
	ok := err == nil && status >= 200 && status < 300
	switch {
	case q.ctx.Err() != nil: // closed: nothing more
	case ok && m.dup:
		m.dup, m.due = false, time.Now()
		q.insert(m)
	case !ok && m.attempts <= len(q.retries):
		m.due = time.Now().Add(q.retries[m.attempts-1])
		q.insert(m)
	}
	close(q.changed)
	q.changed = make(chan struct{})
}
