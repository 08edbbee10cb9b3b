package faultlab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Action tells what a FrameFault does to a stream.
type Action int

const (
	// ResetBefore resets the stream with FrameFault.Code without forwarding the
	// request: nothing is carried out.
	ResetBefore Action = iota + 1
	// ResetAfter forwards the request, waits for the backend's answer (the call
	// was carried out), then resets the stream with FrameFault.Code instead of
	// answering.
	ResetAfter
	// GoAwayBefore sends GOAWAY naming a last stream below this one (RFC 9113
	// 6.8: this stream was not processed and may be retried) and closes the
	// connection, without forwarding the request.
	GoAwayBefore
	// GoAwayAfter forwards the request, then sends GOAWAY naming this stream as
	// the last one processed and closes the connection without answering.
	GoAwayAfter
)

// A FrameFault is a scripted misbehaviour of an H2Front for the next requests
// whose path starts with a prefix.
type FrameFault struct {
	Action Action
	// Code is the RST_STREAM error code of ResetBefore and ResetAfter, and the
	// GOAWAY error code of the others (default NO_ERROR).
	Code http2.ErrCode
	// Times is how many requests the fault applies to; 0 means 1.
	Times int
}

type scripted struct {
	prefix string
	f      FrameFault
}

// H2Front is an HTTP/2 front end that misbehaves on demand at the framing
// level, which Go's own HTTP/2 server never does: it resets a stream with a
// chosen error code (PROTOCOL_ERROR, REFUSED_STREAM, ...) or sends GOAWAY,
// before or after the request was carried out.
//
// An H2Front listens on 127.0.0.1 with TLS, offers only h2 by ALPN (as the real
// API's load balancer negotiates HTTP/2 with Go's transport), and forwards each
// request to a backend over plain HTTP/1.1: a billingtest.Server, whose
// Applied then tells what was carried out. Faults are scripted per path prefix
// with H2Front.Fault. Frames are read and written with golang.org/x/net/http2's
// Framer and HPACK coder; everything else (settings, flow control, priorities)
// is the bare minimum a Go client needs, for small request and answer bodies.
//
// Create it with NewH2Front and Close it when done.
type H2Front struct {
	// URL is the base URL, https://127.0.0.1:port.
	URL string

	backend string
	ln      net.Listener
	cert    *x509.Certificate
	fwd     *http.Transport
	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	faults  []scripted
	conns   map[*conn]struct{}
	streams int
}

// NewH2Front starts an H2Front forwarding to backend (an http:// base URL).
func NewH2Front(backend string) *H2Front {
	cert, err := Loopback()
	if err != nil {
		panic("faultlab: " + err.Error())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("faultlab: " + err.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &H2Front{
		URL:     "https://" + ln.Addr().String(),
		backend: strings.TrimRight(backend, "/"),
		ln:      tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}}),
		cert:    cert.Leaf,
		fwd:     &http.Transport{DisableCompression: true},
		ctx:     ctx,
		cancel:  cancel,
		conns:   map[*conn]struct{}{},
	}
	s.wg.Add(1)
	go s.accept()
	return s
}

// Certificate returns the server's self-signed certificate (for 127.0.0.1),
// for the RootCAs of a client.
func (s *H2Front) Certificate() *x509.Certificate { return s.cert }

// Fault queues f for the next f.Times requests whose path starts with prefix.
func (s *H2Front) Fault(prefix string, f FrameFault) {
	if f.Action < ResetBefore || f.Action > GoAwayAfter || f.Times < 0 {
		panic("faultlab: invalid FrameFault")
	}
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, scripted{prefix, f})
}

func (s *H2Front) pop(path string) (FrameFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams++
	for i := range s.faults {
		if strings.HasPrefix(path, s.faults[i].prefix) {
			f := s.faults[i].f
			if s.faults[i].f.Times--; s.faults[i].f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f, true
		}
	}
	return FrameFault{}, false
}

// Conns returns how many client connections are open.
func (s *H2Front) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Streams returns how many requests the server received.
func (s *H2Front) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streams
}

// Close stops listening, closes every connection and waits for the server's
// goroutines to end.
func (s *H2Front) Close() {
	s.cancel()
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.fwd.CloseIdleConnections()
}

func (s *H2Front) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &conn{s: s, nc: nc, streams: map[uint32]*stream{}}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go c.serve()
	}
}

// conn is one client connection.
type conn struct {
	s  *H2Front
	nc net.Conn

	wmu  sync.Mutex // guards fr's writes, enc and closing
	fr   *http2.Framer
	enc  *hpack.Encoder
	ebuf bytes.Buffer
	gone bool // GOAWAY sent: no more frames

	streams map[uint32]*stream // owned by the read loop
}

// stream is one request being received.
type stream struct {
	id     uint32
	method string
	path   string
	header http.Header
	body   bytes.Buffer
	cancel context.CancelFunc
	ctx    context.Context
}

func (c *conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		_ = c.nc.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	tc := c.nc.(*tls.Conn)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.HandshakeContext(c.s.ctx); err != nil || tc.ConnectionState().NegotiatedProtocol != "h2" {
		return
	}
	_ = tc.SetDeadline(time.Time{})
	br := bufio.NewReader(c.nc)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, preface); err != nil || string(preface) != http2.ClientPreface {
		return
	}
	c.fr = http2.NewFramer(c.nc, br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.enc = hpack.NewEncoder(&c.ebuf)
	c.write(func() error { return c.fr.WriteSettings() })

	defer func() {
		for _, st := range c.streams {
			st.cancel()
		}
	}()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			ctx, cancel := context.WithCancel(c.s.ctx)
			st := &stream{id: f.StreamID, method: f.PseudoValue("method"), path: f.PseudoValue("path"),
				header: http.Header{}, ctx: ctx, cancel: cancel}
			for _, hf := range f.RegularFields() {
				st.header.Add(hf.Name, hf.Value)
			}
			if a := f.PseudoValue("authority"); a != "" {
				st.header.Set("Host", a)
			}
			c.streams[st.id] = st
			if f.StreamEnded() {
				c.dispatch(st)
			}
		case *http2.DataFrame:
			st := c.streams[f.StreamID]
			if n := len(f.Data()); n > 0 {
				c.write(func() error { return c.fr.WriteWindowUpdate(0, uint32(n)) })
				if st != nil && !f.StreamEnded() {
					c.write(func() error { return c.fr.WriteWindowUpdate(f.StreamID, uint32(n)) })
				}
			}
			if st == nil {
				continue
			}
			st.body.Write(f.Data())
			if f.StreamEnded() {
				c.dispatch(st)
			}
		case *http2.RSTStreamFrame:
			if st := c.streams[f.StreamID]; st != nil {
				st.cancel()
				delete(c.streams, f.StreamID)
			}
		case *http2.GoAwayFrame:
			return
		}
	}
}

// dispatch hands a complete request to its own goroutine.
func (c *conn) dispatch(st *stream) {
	delete(c.streams, st.id)
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		defer st.cancel()
		c.handle(st)
	}()
}

// write runs one framer write under the write lock; a failed write closes the
// connection.
func (c *conn) write(fn func() error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.gone {
		return
	}
	if err := fn(); err != nil {
		_ = c.nc.Close()
	}
}

// goAway sends GOAWAY and then half-closes the connection: the client reads the
// frame, then EOF, and closes its side, which ends the read loop.
func (c *conn) goAway(last uint32, code http2.ErrCode) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.gone {
		return
	}
	c.gone = true
	_ = c.fr.WriteGoAway(last, code, nil)
	_ = c.nc.(*tls.Conn).CloseWrite()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
}

func (c *conn) handle(st *stream) {
	f, faulted := c.s.pop(st.path)
	switch {
	case faulted && f.Action == ResetBefore:
		c.write(func() error { return c.fr.WriteRSTStream(st.id, f.Code) })
		return
	case faulted && f.Action == GoAwayBefore:
		last := uint32(0)
		if st.id > 2 {
			last = st.id - 2
		}
		c.goAway(last, f.Code)
		return
	}

	status, header, body, err := c.forward(st)
	switch {
	case err != nil:
		c.write(func() error { return c.fr.WriteRSTStream(st.id, http2.ErrCodeInternal) })
		return
	case faulted && f.Action == ResetAfter:
		c.write(func() error { return c.fr.WriteRSTStream(st.id, f.Code) })
		return
	case faulted && f.Action == GoAwayAfter:
		c.goAway(st.id, f.Code)
		return
	}
	c.answer(st.id, status, header, body)
}

// forward sends the request to the backend over HTTP/1.1 and reads the answer.
func (c *conn) forward(st *stream) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(st.ctx, st.method, c.s.backend+st.path, bytes.NewReader(st.body.Bytes()))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range st.header {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	res, err := c.s.fwd.RoundTrip(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return res.StatusCode, res.Header, body, nil
}

// answer writes the HEADERS and DATA frames of an answer.
func (c *conn) answer(id uint32, status int, header http.Header, body []byte) {
	c.write(func() error {
		c.ebuf.Reset()
		_ = c.enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(status)})
		for k, vs := range header {
			switch lk := strings.ToLower(k); lk {
			case "connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection":
			default:
				for _, v := range vs {
					_ = c.enc.WriteField(hpack.HeaderField{Name: lk, Value: v})
				}
			}
		}
		_ = c.enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(body))})
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.ebuf.Bytes(),
			EndStream: len(body) == 0, EndHeaders: true}); err != nil {
			return err
		}
		for len(body) > 0 {
			n := min(len(body), 16<<10)
			if err := c.fr.WriteData(id, n == len(body), body[:n]); err != nil {
				return err
			}
			body = body[n:]
		}
		return nil
	})
}
