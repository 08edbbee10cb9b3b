// Package faultlab is the SDK's own fault lab, for its tests and the fault
// matrix (internal/faultmatrix): servers and answers that misbehave as no
// partner needs to script, around the fake of billing/billingtest or alone.
//
//   - Responders (Stall, Truncate, Pad, Redirect, Answer) are the Respond of a
//     billingtest.Fault: a stall, an answer cut short or padded beyond reason, a
//     redirect, any body;
//   - Origin is a second origin (its own port, scheme and host name) in front
//     of a server, recording what it receives: the target of a redirect, which
//     a client must never follow with its credentials;
//   - H2Front is an HTTP/2 front end that resets streams and sends GOAWAY;
//     RawH1 and RawH2 are servers that answer raw bytes and frames after
//     counting each request as applied;
//   - Recorder records the requests a client hands to its transport;
//   - Loopback is the TLS certificate of the lab's listeners.
//
// It imports neither billing nor billingtest, so that billing's own tests can
// use it.
package faultlab
