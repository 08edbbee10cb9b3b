package billing

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Headers that would make net/http fail (HTTP/2 forbids them) or change how the
// answer is read are refused before anything is sent, with no retry.
func TestRefusedHeadersAreInvalidRequests(t *testing.T) {
	for _, tt := range []struct{ key, value, field string }{
		{"Connection", "upgrade", "header Connection"},
		{"Upgrade", "h2c", "header Upgrade"},
		{"Transfer-Encoding", "gzip", "header Transfer-Encoding"},
		{"Transfer-Encoding", "Chunked", "header Transfer-Encoding"},
		{"Accept-Encoding", "gzip", "header Accept-Encoding"},
		{"accept-encoding", "gzip", "header Accept-Encoding"},
	} {
		t.Run(tt.key+": "+tt.value, func(t *testing.T) {
			api := newTestAPI(t, ok)
			c, waits := api.client(t)
			for _, call := range calls {
				err := call.do(context.Background(), c, func(_ context.Context, r *http.Request) error {
					r.Header[tt.key] = []string{tt.value}
					return nil
				})
				var ire *InvalidRequestError
				if !errors.As(err, &ire) || ire.Field != tt.field {
					t.Errorf("%s: error = %v, want an *InvalidRequestError on %s", call.op, err, tt.field)
				}
			}
			if n := api.apiRequests.Load(); n != 0 || len(*waits) != 0 {
				t.Errorf("%d requests sent, %d waits; want none", n, len(*waits))
			}
		})
	}
}

// Connection: close and keep-alive, and Transfer-Encoding: chunked are what
// net/http sends itself: allowed.
func TestAllowedConnectionHeaders(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, h := range [][2]string{{"Connection", "close"}, {"Connection", "keep-alive"}, {"Transfer-Encoding", "chunked"}} {
		err := calls[0].do(context.Background(), c, func(_ context.Context, r *http.Request) error {
			r.Header.Set(h[0], h[1])
			return nil
		})
		if err != nil {
			t.Errorf("%s: %s: %v", h[0], h[1], err)
		}
	}
}

// A header set under a key that is not in canonical form is checked as the
// canonical one.
func TestNonCanonicalHeaderKeyIsChecked(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	err := calls[5].do(context.Background(), c, func(_ context.Context, r *http.Request) error {
		r.Header["sandbox"] = []string{"maybe"}
		return nil
	})
	var ire *InvalidRequestError
	if !errors.As(err, &ire) || !strings.Contains(ire.Field, "andbox") {
		t.Fatalf("error = %v, want an *InvalidRequestError on the sandbox header", err)
	}
	if err := calls[5].do(context.Background(), c, func(_ context.Context, r *http.Request) error {
		r.Header["sandbox"] = []string{"true"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := api.requests[0].Header.Values("Sandbox"); len(got) != 1 || got[0] != "true" {
		t.Errorf("Sandbox header sent = %q, want [true]", got)
	}
}

func TestBaseURLWithEmptyFragmentIsRefused(t *testing.T) {
	for _, u := range []string{"https://billing.example#", "https://billing.example/#x"} {
		if _, err := NewClient(WithClientCredentials("id", "secret"), WithBaseURL(u)); err == nil || !strings.Contains(err.Error(), "fragment") {
			t.Errorf("WithBaseURL(%q): error = %v, want a fragment refused", u, err)
		}
	}
}

func TestNilContextIsAnInvalidRequestForEveryOperation(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, call := range calls {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("%s: panic: %v", call.op, p)
				}
			}()
			//lint:ignore SA1012 a nil context is what is tested
			err = call.do(nil, c) //nolint:staticcheck // a nil context is what is tested
		}()
		var ire *InvalidRequestError
		if !errors.As(err, &ire) || ire.Field != "ctx" {
			t.Errorf("%s: error = %v, want an *InvalidRequestError on ctx", call.op, err)
		}
	}
	if n := api.apiRequests.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// A body an editor set is closed when the request is refused before sending,
// as net/http's Do closes it (a pipe's writer waits for that).
func TestRefusedRequestClosesTheEditorsBody(t *testing.T) {
	api := newTestAPI(t, ok)
	c, _ := api.client(t)
	for _, tt := range []struct {
		name string
		edit func(r *http.Request) error
	}{
		{"refused header", func(r *http.Request) error { r.Header.Set("Upgrade", "h2c"); return nil }},
		{"editor error", func(r *http.Request) error { return errors.New("no") }},
		{"moved elsewhere", func(r *http.Request) error { r.URL.Host = "example.com"; return nil }},
	} {
		body := &closeRecorder{Reader: strings.NewReader(`{"usageQuantity": 1}`)}
		err := calls[5].do(context.Background(), c, func(_ context.Context, r *http.Request) error {
			r.Body, r.ContentLength = body, -1
			return tt.edit(r)
		})
		if err == nil {
			t.Fatalf("%s: no error", tt.name)
		}
		if !body.closed {
			t.Errorf("%s: the editor's body was not closed", tt.name)
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }
