package meter_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/internal/dbtest"
	"github.com/prestashopcorp/billing-sdk-go/internal/faultlab"
)

// truthFront stands between the Meter and the fake Billing and counts, per
// batch (the header taggedAPI sets), the calls the fake applied. It lets one
// usage call through at a time and holds it until the fake's handler has
// returned, even when the client gave up first: the fake's count of applied
// calls, read before and after, is then this call's, whatever the client's
// deadline. Read from the client when its call returns, the count would miss
// an application still under way when a slow call met its deadline.
type truthFront struct {
	srv  *billingtest.Server
	addr string // the fake's host:port

	mu      sync.Mutex // held through each call, until the fake is done with it
	run     string     // the only run (taggedAPI's instance) still forwarded
	applied map[int64]int
}

// settle waits for the call the front holds, then forwards only the calls of
// run: a call of an earlier run that arrives later is lost on the way, as in a
// network, and never reaches Billing. It returns the applications per batch.
func (f *truthFront) settle(run string) map[int64]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.run = run
	return maps.Clone(f.applied)
}

func (f *truthFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get(headerInstance) != f.run {
		panic(http.ErrAbortHandler) // too late: lost on the way
	}
	id, _ := strconv.ParseInt(r.Header.Get(headerBatch), 10, 64)
	before := f.srv.Applied(op)
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer func() {
		// The fake closes the connection (the request says Connection: close)
		// once its handler has returned: only then is its count final.
		_, _ = io.Copy(io.Discard, conn)
		_ = conn.Close()
		f.applied[id] += f.srv.Applied(op) - before
	}()
	// A client that gives up ends the call at the fake too, as if it closed
	// the connection itself (a stall ends then); the front closes only its
	// writing side, to hear the fake's end.
	stop := context.AfterFunc(r.Context(), func() { _ = conn.(*net.TCPConn).CloseWrite() })
	defer stop()
	out := r.Clone(context.Background())
	out.Host, out.Close = f.addr, true
	out.Header.Del("Connection")
	if err := out.Write(conn); err != nil {
		panic(http.ErrAbortHandler)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), out)
	if err != nil {
		panic(http.ErrAbortHandler) // no answer (a drop, a stall): none for the client either
	}
	defer res.Body.Close()
	maps.Copy(w.Header(), res.Header)
	w.Header().Del("Connection")
	w.WriteHeader(res.StatusCode)
	if _, err := io.Copy(w, res.Body); err != nil {
		// Cut short: what arrived goes to the client, then the connection closes.
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
}

// TestFaultFamiliesKeepTheAccounts records usage and flushes it while Billing
// and its token endpoint misbehave as the fault matrix's families do, then
// checks the crash test's invariants: every unit recorded is applied or parked
// (not applied), none is applied twice, and resolving the parked batches to
// the truth ends with Billing's count equal to what was recorded.
func TestFaultFamiliesKeepTheAccounts(t *testing.T) {
	families := []struct {
		name   string
		faults []func(srv *billingtest.Server)
	}{
		{"5xx", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 500}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 503, Apply: true}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 502, Times: 2}) },
		}},
		{"drop", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Drop: true, Apply: true}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Drop: true}) },
			// Applied, then answered cut short (Truncate needs the answer).
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Truncate, Apply: true}) },
		}},
		{"429", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 429, RetryAfter: "0"}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Status: 429, RetryAfter: "0", Times: 5}) },
		}},
		{"token", []func(*billingtest.Server){
			func(s *billingtest.Server) {
				s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 503, Times: 3})
			},
			func(s *billingtest.Server) {
				s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Drop: true, Times: 3})
			},
			func(s *billingtest.Server) { s.Fault(billingtest.TokenEndpoint, billingtest.Fault{Status: 401}) },
		}},
		{"deadline", []func(*billingtest.Server){
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Stall}) },
			func(s *billingtest.Server) { s.Fault(op, billingtest.Fault{Respond: faultlab.Stall, Apply: true}) },
		}},
	}
	subs := []string{"S0", "S1", "S2"}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			seed, _ := crashSeedData(0)
			for _, s := range subs {
				sub := billingtest.DefaultSeed().Subscriptions[0]
				sub.ID = s
				seed.Subscriptions = append(seed.Subscriptions, sub)
			}
			srv := billingtest.NewServer(billingtest.WithT(t), billingtest.WithSeed(seed))
			db, err := sqlstore.OpenSQLite(dbtest.SQLitePath(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			store, err := db.Meter(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			front := &truthFront{srv: srv, addr: strings.TrimPrefix(srv.URL, "http://"), run: "faults", applied: map[int64]int{}}
			frontSrv := httptest.NewServer(front)
			t.Cleanup(frontSrv.Close)
			client := srv.Client(billing.WithBaseURL(frontSrv.URL), billing.WithRetryPolicy(billing.RetryPolicy{MaxAttempts: 2}))
			// A short lease: a stalled call meets its deadline quickly (and so
			// may a slow one: the front's count tells whether it was applied).
			m := newMeter(t, taggedAPI{client, "faults"}, store, meter.WithConcurrency(1), meter.WithLease(400*time.Millisecond))
			ctx := t.Context()
			recorded := 0.0
			for n := range 60 {
				k := fmt.Sprintf("fact-%d", n)
				if err := m.Add(ctx, meter.Usage{Key: k, SubscriptionID: subs[n%len(subs)], ItemID: item, Quantity: quantityOf(k)}); err != nil {
					t.Fatal(err)
				}
				recorded += quantityOf(k)
				if n%6 == 5 {
					fam.faults[(n/6)%len(fam.faults)](srv)
					if _, err := m.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := drain(ctx, m, aheadClock(0)); err != nil {
				t.Fatal(err)
			}
			// The Meter is done, but a call it gave up on may still be applied:
			// count once the front has seen the fake through every call.
			truth := front.settle("resend")
			all, err := m.Batches(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			applied, parked := 0.0, 0.0
			for _, s := range subs {
				applied += srv.UsageReceived(s, item, false).Quantity
			}
			nParked := 0
			for _, b := range all {
				n := truth[b.ID]
				switch {
				case n > 1:
					t.Errorf("batch %d applied %d times", b.ID, n)
				case b.State == meter.Sent && n != 1:
					t.Errorf("batch %d sent in the journal, applied %d times", b.ID, n)
				case b.State == meter.Unknown:
					nParked++
					if n == 0 {
						parked += b.Quantity
					}
				case b.State != meter.Sent:
					t.Errorf("batch %d ends %s (%s)", b.ID, b.State, b.Error)
				}
			}
			if !same(recorded, applied+parked) {
				t.Errorf("recorded %g, applied %g + parked and not applied %g", recorded, applied, parked)
			}
			for _, b := range all {
				if b.State == meter.Unknown {
					r := meter.NotApplied
					if truth[b.ID] > 0 {
						r = meter.Applied
					}
					if err := m.Resolve(ctx, b.ID, r, "the truth"); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Sent again with a long lease: a send that a slow machine made meet
			// its deadline would park the batch again, and Billing's count
			// below would miss it.
			resend := newMeter(t, taggedAPI{client, "resend"}, store, meter.WithConcurrency(1), meter.WithLease(time.Minute))
			if err := drain(ctx, resend, aheadClock(0)); err != nil {
				t.Fatal(err)
			}
			after := 0.0
			for _, s := range subs {
				after += srv.UsageReceived(s, item, false).Quantity
			}
			if !same(after, recorded) {
				t.Errorf("after resolving: Billing counted %g, %g recorded", after, recorded)
			}
			t.Logf("%s: %g units recorded, %g applied through the faults, %d batches parked (%g units not applied), %d batches in all",
				fam.name, recorded, applied, nParked, parked, len(all))
		})
	}
}
