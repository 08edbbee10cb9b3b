package faultlab

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// RawListener accepts loopback TCP connections and serves each one with serve on a
// goroutine of its own; the test's end closes the listener and every connection,
// and waits for the goroutines.
type RawListener struct {
	Ln    net.Listener // its address is the server's
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// NewRawListener starts a RawListener serving each connection with serve.
func NewRawListener(t testing.TB, serve func(net.Conn)) *RawListener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &RawListener{Ln: ln}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			l.mu.Lock()
			l.conns = append(l.conns, nc)
			l.mu.Unlock()
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer func() { _ = nc.Close() }()
				serve(nc)
			}()
		}
	}()
	t.Cleanup(func() {
		l.CloseAll()
		l.wg.Wait()
	})
	return l
}

// CloseAll closes the listener and every connection it accepted.
func (l *RawListener) CloseAll() {
	_ = l.Ln.Close()
	l.mu.Lock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
}

// RawH1 is a TCP server that reads HTTP/1.1 requests, "applies" every complete one
// and answers with raw bytes (whatever act writes), then keeps or closes the
// connection.
type RawH1 struct {
	*RawListener
	Applied atomic.Int32 // complete requests received
}

// NewRawH1 starts a RawH1 that answers each request with act; t's end closes it.
func NewRawH1(t testing.TB, act func(c net.Conn, req *http.Request)) *RawH1 {
	s := &RawH1{}
	s.RawListener = NewRawListener(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if _, err := io.ReadAll(req.Body); err != nil {
				return
			}
			s.Applied.Add(1)
			act(nc, req)
		}
	})
	return s
}

// RawH2 is a hand-written HTTP/2 (h2c, prior knowledge) server: it "applies" every
// complete request (END_STREAM received) and then misbehaves as act says, with
// frames net/http's server never sends (any RST_STREAM code, a lying GOAWAY).
type RawH2 struct {
	*RawListener
	Applied atomic.Int32 // complete requests received
	act     func(s *RawH2Conn, stream uint32)
}

// RawH2Conn is a connection of a RawH2, for its act function to write frames.
type RawH2Conn struct {
	C  net.Conn // the connection, to close it
	mu sync.Mutex
	w  *bufio.Writer
}

// Frame writes one frame.
func (c *RawH2Conn) Frame(typ, flags byte, stream uint32, payload []byte) {
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

// RST resets stream with code.
func (c *RawH2Conn) RST(stream, code uint32) {
	c.Frame(3, 0, stream, binary.BigEndian.AppendUint32(nil, code))
}

// GoAway sends GOAWAY naming last as the last stream processed.
func (c *RawH2Conn) GoAway(last, code uint32) {
	p := binary.BigEndian.AppendUint32(nil, last)
	c.Frame(7, 0, 0, binary.BigEndian.AppendUint32(p, code))
}

// Headers sends a HEADERS frame of literal (never indexed, no Huffman) fields.
func (c *RawH2Conn) Headers(stream uint32, endStream bool, kv ...string) {
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
	c.Frame(1, flags, stream, p)
}

// Data sends a DATA frame.
func (c *RawH2Conn) Data(stream uint32, endStream bool, b string) {
	var flags byte
	if endStream {
		flags = 1
	}
	c.Frame(0, flags, stream, []byte(b))
}

// NewRawH2 starts a RawH2 that answers each request with act; t's end closes it.
func NewRawH2(t testing.TB, act func(c *RawH2Conn, stream uint32)) *RawH2 {
	s := &RawH2{act: act}
	s.RawListener = NewRawListener(t, s.serve)
	return s
}

func (s *RawH2) serve(nc net.Conn) {
	r := bufio.NewReader(nc)
	c := &RawH2Conn{C: nc, w: bufio.NewWriter(nc)}
	preface := make([]byte, 24)
	if _, err := io.ReadFull(r, preface); err != nil {
		return
	}
	c.Frame(4, 0, 0, nil) // SETTINGS
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
				c.Frame(4, 1, 0, nil)
			}
		case 6: // PING
			if flags&1 == 0 {
				c.Frame(6, 1, 0, payload)
			}
		case 0, 1: // DATA, HEADERS
			if flags&1 != 0 { // END_STREAM: the whole request is here
				s.Applied.Add(1)
				s.act(c, stream)
			}
		}
	}
}

// H2CClient speaks HTTP/2 with prior knowledge over plain TCP (loopback).
func H2CClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}
