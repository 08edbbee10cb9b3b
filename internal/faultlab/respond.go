package faultlab

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"
)

// A Responder writes the answer of a faulted call: the Respond of a
// billingtest.Fault. answer is the fake's answer when the fault carried the
// call out first (billingtest.Fault.Apply), else nil; the ones that need it
// say so.
type Responder = func(w http.ResponseWriter, r *http.Request, answer *http.Response)

// Stall holds the call, without answering, until the client gives up or the
// server is closed (the request's context ends), then closes the connection.
func Stall(_ http.ResponseWriter, r *http.Request, _ *http.Response) {
	<-r.Context().Done()
	panic(http.ErrAbortHandler) // net/http closes the connection (HTTP/2: resets the stream)
}

// Truncate sends the answer cut short: the status, the headers and the
// Content-Length of the whole answer, then half of the body, then closes the
// connection (over HTTP/2 the stream is reset). It needs the answer.
func Truncate(w http.ResponseWriter, _ *http.Request, answer *http.Response) {
	body, _ := io.ReadAll(answer.Body)
	copyHeader(w, answer.Header)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(answer.StatusCode)
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	panic(http.ErrAbortHandler) // net/http closes the connection (HTTP/2: resets the stream)
}

// Pad sends the answer followed by spaces, n bytes in all, with no
// Content-Length: a valid JSON body that is larger than a client should accept.
// Sending stops when the client goes away or the server is closed (the
// request's context ends), even if the client stopped reading. It needs the
// answer.
func Pad(n int64) Responder {
	return func(w http.ResponseWriter, r *http.Request, answer *http.Response) {
		copyHeader(w, answer.Header)
		w.Header().Del("Content-Length")
		w.WriteHeader(answer.StatusCode)
		// A client that stops reading blocks the writes; when the call's
		// context ends, the write deadline ends them.
		rc := http.NewResponseController(w)
		fired := make(chan struct{})
		stop := context.AfterFunc(r.Context(), func() {
			defer close(fired)
			_ = rc.SetWriteDeadline(time.Now())
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
		sent, err := io.Copy(w, answer.Body)
		if err != nil {
			return
		}
		spaces := bytes.Repeat([]byte{' '}, 32<<10)
		for left := n - sent; left > 0; left -= int64(len(spaces)) {
			if _, err := w.Write(spaces[:min(left, int64(len(spaces)))]); err != nil {
				return // the client went away, or the server closed
			}
		}
	}
}

// Redirect answers status (a 3xx) with a Location header and the JSON error
// body of the spec.
func Redirect(status int, location string) Responder {
	return func(w http.ResponseWriter, _ *http.Request, _ *http.Response) {
		w.Header().Set("Location", location)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"statusCode":`+strconv.Itoa(status)+`,"errorCode":"REDIRECT","message":"fault injected by faultlab"}`)
	}
}

// Answer answers status with body, verbatim, as contentType (default
// application/json): malformed JSON, a 2xx body the spec does not describe...
func Answer(status int, contentType, body string) Responder {
	if contentType == "" {
		contentType = "application/json"
	}
	return func(w http.ResponseWriter, _ *http.Request, _ *http.Response) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func copyHeader(w http.ResponseWriter, h http.Header) {
	for k, v := range h {
		w.Header()[k] = v
	}
}
