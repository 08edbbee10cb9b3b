package webhook

import "errors"

// Errors of verification and decoding, for errors.Is. The errors returned wrap
// one of them with details; no error holds a secret or a signature.
var (
	// ErrNotSigned: a signature header (svix-id, svix-timestamp,
	// svix-signature or their webhook-* names) or the Authorization header of
	// the legacy system is missing, or holds no v1 signature.
	ErrNotSigned = errors.New("webhook: not signed")
	// ErrInvalidHeader: the timestamp is not a number, or the Authorization
	// header is not Basic.
	ErrInvalidHeader = errors.New("webhook: invalid signature header")
	// ErrNoValidSignature: no signature matches any secret (a wrong secret, or
	// a tampered body, id or timestamp), or the legacy token is wrong.
	ErrNoValidSignature = errors.New("webhook: no valid signature")
	// ErrTooOld: the signed timestamp is older than the tolerance: a replay,
	// or a clock far behind.
	ErrTooOld = errors.New("webhook: timestamp too old")
	// ErrTooNew: the signed timestamp is further in the future than the
	// tolerance.
	ErrTooNew = errors.New("webhook: timestamp too new")
	// ErrTooLarge: the body is larger than the handler accepts.
	ErrTooLarge = errors.New("webhook: body too large")
	// ErrInvalidPayload: the body, authentic or not checked, is not a webhook
	// (see Decode).
	ErrInvalidPayload = errors.New("webhook: invalid payload")
	// ErrInProgress: another delivery of the same message is being processed;
	// answer a non-2xx status so that Billing delivers it again later.
	ErrInProgress = errors.New("webhook: message in progress")
	// ErrDuplicate: the message was processed already (from a Store).
	ErrDuplicate = errors.New("webhook: duplicate message")
)
