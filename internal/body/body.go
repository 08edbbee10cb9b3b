// Package body reads HTTP bodies into memory within a bound, and makes request
// bodies of bytes held in memory, which can be made again.
package body

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"slices"
)

// reader returns a request body over b. net/http knows this shape holds its
// bytes in memory, and writes the headers and the body at once.
func reader(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// Buffer reads the body of req into memory, and returns a function that makes
// it again (nil when req has no body). req.Body is closed and replaced, and
// req.ContentLength set.
func Buffer(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		req.ContentLength = 0
		return nil, nil
	}
	b, err := Read(req.Body, math.MaxInt64, req.ContentLength)
	_ = req.Body.Close()
	req.Body = nil
	if err != nil {
		return nil, err
	}
	req.Body, req.ContentLength = reader(b), int64(len(b))
	return func() (io.ReadCloser, error) { return reader(b), nil }, nil
}

// Read reads r whole, or its first max+1 bytes: a result longer than max tells
// the body is larger. size is the length announced (Content-Length, -1 if
// unknown): a body of up to 64 KiB is then read in one allocation. Memory
// follows the bytes read, never the announced size.
func Read(r io.Reader, max, size int64) ([]byte, error) {
	limit := max
	if limit < math.MaxInt64 {
		limit++
	}
	n := int64(512)
	if size >= 0 && size < 64<<10 {
		n = size + 1 // room to see the EOF
	}
	b := make([]byte, 0, min(n, limit))
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, 1)
		}
		m, err := r.Read(b[len(b):int(min(int64(cap(b)), limit))])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}
