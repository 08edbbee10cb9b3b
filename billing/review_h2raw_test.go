package billing

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// rawH2 is a hand-written HTTP/2 (h2c, prior knowledge) server: it "applies" every
// complete request (END_STREAM received) and then misbehaves as act says, with
// frames net/http's server never sends (any RST_STREAM code, a lying GOAWAY).
type rawH2 struct {
	*rawListener
	applied atomic.Int32
	act     func(s *rawH2Conn, stream uint32)
}

type rawH2Conn struct {
	c  net.Conn
	mu sync.Mutex
	w  *bufio.Writer
}

func (c *rawH2Conn) frame(typ, flags byte, stream uint32, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var h [9]byte
	h[0], h[1], h[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	h[3], h[4] = typ, flags
	binary.BigEndian.PutUint32(h[5:], stream)
	_, _ = c.w.Write(h[:])
	_, _ = c.w.Write(payload)
	_ = c.w.Flush()
}

func (c *rawH2Conn) rst(stream, code uint32) {
	c.frame(3, 0, stream, binary.BigEndian.AppendUint32(nil, code))
}

func (c *rawH2Conn) goAway(last, code uint32) {
	p := binary.BigEndian.AppendUint32(nil, last)
	c.frame(7, 0, 0, binary.BigEndian.AppendUint32(p, code))
}

// headers sends a HEADERS frame of literal (never indexed, no Huffman) fields.
func (c *rawH2Conn) headers(stream uint32, endStream bool, kv ...string) {
	var p []byte
	for i := 0; i < len(kv); i += 2 {
		p = append(p, 0x00, byte(len(kv[i])))
		p = append(p, kv[i]...)
		p = append(p, byte(len(kv[i+1])))
		p = append(p, kv[i+1]...)
	}
	flags := byte(0x4) // END_HEADERS
	if endStream {
		flags |= 0x1
	}
	c.frame(1, flags, stream, p)
}

func (c *rawH2Conn) data(stream uint32, endStream bool, b string) {
	var flags byte
	if endStream {
		flags = 1
	}
	c.frame(0, flags, stream, []byte(b))
}

func newRawH2(t *testing.T, act func(c *rawH2Conn, stream uint32)) *rawH2 {
	s := &rawH2{act: act}
	s.rawListener = newRawListener(t, s.serve)
	return s
}

func (s *rawH2) serve(nc net.Conn) {
	r := bufio.NewReader(nc)
	c := &rawH2Conn{c: nc, w: bufio.NewWriter(nc)}
	preface := make([]byte, 24)
	if _, err := io.ReadFull(r, preface); err != nil {
		return
	}
	c.frame(4, 0, 0, nil) // SETTINGS
	for {
		var h [9]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return
		}
		n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		typ, flags := h[3], h[4]
		stream := binary.BigEndian.Uint32(h[5:]) & 0x7fffffff
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		switch typ {
		case 4: // SETTINGS
			if flags&1 == 0 {
				c.frame(4, 1, 0, nil)
			}
		case 6: // PING
			if flags&1 == 0 {
				c.frame(6, 1, 0, payload)
			}
		case 0, 1: // DATA, HEADERS
			if flags&1 != 0 { // END_STREAM: the whole request is here
				s.applied.Add(1)
				s.act(c, stream)
			}
		}
	}
}

// h2cClient speaks HTTP/2 with prior knowledge over plain TCP (loopback).
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// Every way an HTTP/2 server can fail a stream after it applied the request:
// the usage must be applied once and the error must wrap ErrOutcomeUnknown.
func TestReviewRawH2AfterApply(t *testing.T) {
	answer201 := func(c *rawH2Conn, id uint32) {
		c.headers(id, false, ":status", "201", "content-type", "application/json")
	}
	tests := map[string]func(c *rawH2Conn, id uint32){}
	for code := uint32(0); code <= 0xd; code++ {
		tests[fmt.Sprintf("RST_STREAM %#x", code)] = func(c *rawH2Conn, id uint32) { c.rst(id, code) }
		tests[fmt.Sprintf("201 headers then RST_STREAM %#x", code)] = func(c *rawH2Conn, id uint32) {
			answer201(c, id)
			c.data(id, false, `{"item":{"usage`)
			c.rst(id, code)
		}
	}
	tests["GOAWAY last=0 NO_ERROR (lies: stream was processed)"] = func(c *rawH2Conn, id uint32) { c.goAway(0, 0); c.c.Close() }
	tests["GOAWAY last=0 PROTOCOL_ERROR"] = func(c *rawH2Conn, id uint32) { c.goAway(0, 1); c.c.Close() }
	tests["GOAWAY last=id then close"] = func(c *rawH2Conn, id uint32) { c.goAway(id, 0); c.c.Close() }
	tests["GOAWAY last=0 kept open"] = func(c *rawH2Conn, id uint32) { c.goAway(0, 0) }
	tests["TCP close"] = func(c *rawH2Conn, id uint32) { c.c.Close() }
	tests["201 content-length 50, 10 bytes"] = func(c *rawH2Conn, id uint32) {
		c.headers(id, false, ":status", "201", "content-type", "application/json", "content-length", "50")
		c.data(id, true, `{"item":{}}`)
	}
	tests["201 END_STREAM on headers"] = func(c *rawH2Conn, id uint32) {
		c.headers(id, true, ":status", "201", "content-type", "application/json")
	}
	tests["101 on h2"] = func(c *rawH2Conn, id uint32) { c.headers(id, true, ":status", "101") }
	tests["1xx x10 then 201"] = func(c *rawH2Conn, id uint32) {
		for range 10 {
			c.headers(id, false, ":status", "103")
		}
		answer201(c, id)
		c.data(id, true, `{"item":{"usageQuantity":1}}`)
	}
	tests["201 then trailers with status"] = func(c *rawH2Conn, id uint32) {
		answer201(c, id)
		c.data(id, false, `{"item":{"usageQuantity":1}}`)
		c.headers(id, true, ":status", "500")
	}
	for name, act := range tests {
		t.Run(name, func(t *testing.T) {
			s := newRawH2(t, act)
			api := newTestAPI(t, ok)
			c, _ := api.client(t, WithBaseURL("http://"+s.ln.Addr().String()), WithHTTPClient(h2cClient()),
				WithTokenSource(staticToken("tok")))
			ctx, cancel := context.WithTimeout(context.Background(), reviewTimeout)
			defer cancel()
			err := usage(ctx, c)
			t.Logf("applied %d, err = %v", s.applied.Load(), err)
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				t.Errorf("call hung until the test's deadline")
			}
			checkOutcome(t, err, s.applied.Load())
		})
	}
}
