// Package faultmatrix holds the fault matrix of the SDK (make faults): every
// operation of billing.Client against every fault family internal/faultlab
// can script, on billingtest or in front of it (refused and dropped
// connections, 5xx, 429, stalls, HTTP/2 stream resets and GOAWAY, redirects,
// broken 2xx answers, token endpoint failures, a context ending at a random
// point), and a hostile gateway of its own (echoing credentials and tokens,
// refusing the retry of an applied call, compressing answers, lying about
// their length) and a caller transport that re-sends; each cell run many
// times with jittered timing. Each run checks what the caller saw against what
// the server applied, and each cell checks that no goroutine or connection is
// left behind.
//
// The matrix is a test that runs only when asked:
//
//	go test ./internal/faultmatrix/ -run TestFaultMatrix -v -args -runs=50
//
// It has no non-test code; this file only documents it.
package faultmatrix
