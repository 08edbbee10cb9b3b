package faultlab

import (
	"net/http"
	"slices"
	"sync"
)

// Recorder is an http.RoundTripper that records the requests a client hands
// to its transport (as they are, GetBody included), then sends them with
// Transport.
type Recorder struct {
	Transport http.RoundTripper

	mu   sync.Mutex
	reqs []*http.Request
}

// RoundTrip records req and sends it.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return r.Transport.RoundTrip(req)
}

// Requests returns the requests recorded, oldest first.
func (r *Recorder) Requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}
