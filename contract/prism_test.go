package contract_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/internal/spec"
)

// specPath is the vendored spec, from this package's directory.
const specPath = "../openapi/billing.yaml"

// prismStartTimeout bounds how long Prism may take to listen (about 2 s warm;
// more on a cold, busy 2-core machine).
const prismStartTimeout = 90 * time.Second

// prismCommand returns the command line that runs Prism, or why it cannot run.
// PRISM names a Prism executable; by default it is the one `make contract-tools`
// installs into .cache/npm, run by node.
func prismCommand() ([]string, error) {
	if p := os.Getenv("PRISM"); p != "" {
		return []string{p}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("node is not installed (Prism needs Node.js 20 or later)")
	}
	bin, err := filepath.Abs("../.cache/npm/node_modules/.bin/prism")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("Prism is not installed at %s: run `make contract-tools` (npm ci of tools/npm into .cache/npm)", bin)
	}
	return []string{node, bin}, nil
}

// requirePrism returns the Prism command line, or skips the test (fails it with
// BILLING_CONTRACT=1) when Prism cannot run. BILLING_CONTRACT=0 skips.
func requirePrism(t *testing.T) []string {
	t.Helper()
	mode := os.Getenv("BILLING_CONTRACT")
	if mode == "0" {
		t.Skip("BILLING_CONTRACT=0: Prism contract tests skipped")
	}
	cmd, err := prismCommand()
	switch {
	case err != nil && mode == "1":
		t.Fatalf("BILLING_CONTRACT=1 but the Prism contract tests cannot run: %v", err)
	case err != nil:
		t.Skipf("Prism contract tests skipped: %v. `make contract` installs Prism and runs them.", err)
	}
	return cmd
}

// prism is a running Prism server.
type prism struct {
	URL string // http://127.0.0.1:port
}

// startPrism starts Prism with args (its subcommand first: mock or proxy) on a
// free loopback port, waits until it listens, and stops it when t ends.
func startPrism(t *testing.T, args ...string) *prism {
	t.Helper()
	base := requirePrism(t)
	var lastErr error
	for try := 0; try < 3; try++ { // the free port may be taken before Prism binds it
		p, err := launch(t, base, args)
		if err == nil {
			return p
		}
		lastErr = err
		if !strings.Contains(err.Error(), "EADDRINUSE") {
			break
		}
	}
	t.Fatalf("starting Prism %s: %v", strings.Join(args, " "), lastErr)
	return nil
}

func launch(t *testing.T, base, args []string) (*prism, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv := append(append(append([]string{}, base[1:]...), args...), "-h", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd := exec.Command(base[0], argv...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill() // only the process this test started
		<-exited
	}
	// Ready when this Prism says it listens on the port (so that a server another
	// process started on it meanwhile is not taken for it) and the port answers.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(prismStartTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(out.String(), "listening on http://"+addr) {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				_ = c.Close()
				break
			}
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("Prism exited before listening:\n%s", out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("Prism did not listen on %s within %v:\n%s", addr, prismStartTimeout, out.String())
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("Prism %s output:\n%s", strings.Join(args, " "), tail(out.String(), 4000))
		}
	})
	return &prism{URL: "http://" + addr}, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for the writes of a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exchange is what the wire saw of one call.
type exchange struct {
	op         string
	api        bool // op is an operation of the spec
	status     int
	violations string // Prism's sl-violations header
	body       []byte
}

// wire records every exchange that passes through it, for the tests to inspect
// what Prism answered beyond what billing.Client returns.
type wire struct {
	base http.RoundTripper
	mu   sync.Mutex
	log  []exchange
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body := readAll(resp)
	w.mu.Lock()
	op, api := opOf(req)
	w.log = append(w.log, exchange{
		op:         op,
		api:        api,
		status:     resp.StatusCode,
		violations: resp.Header.Get("sl-violations"),
		body:       body,
	})
	w.mu.Unlock()
	return resp, nil
}

// take returns the exchanges recorded so far, and forgets them.
func (w *wire) take() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.log
	w.log = nil
	return l
}

// readAll reads resp's body and puts it back: the same bytes, then the error
// that ended the read, if any.
func readAll(resp *http.Response) []byte {
	var b bytes.Buffer
	_, err := b.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	resp.Body = &readCloser{Reader: bytes.NewReader(b.Bytes()), err: err}
	return b.Bytes()
}

type readCloser struct {
	*bytes.Reader
	err error
}

func (r *readCloser) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if err == io.EOF && r.err != nil {
		return n, r.err
	}
	return n, err
}

func (*readCloser) Close() error { return nil }

// opOf names the operation of a request, and says whether it is one.
func opOf(req *http.Request) (string, bool) {
	r, err := spec.Load()
	if err != nil {
		panic(err)
	}
	if op, _, ok := r.Find(req.Method, req.URL.EscapedPath()); ok {
		return op.ID, true
	}
	return req.Method + " " + req.URL.Path, false
}
