package billingtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/prestashopcorp/billing-sdk-go/gen"
)

// apiError is an error answer of any operation: a status and the spec's error
// body. It implements the response interface of every operation, so that a
// handler may answer a status the spec does not declare for it (then response
// validation reports it, unless it is a 400 or 401: see serveAPI).
type apiError struct {
	status int
	body   gen.Error
}

func newError(status int, code, format string, args ...any) apiError {
	msg := fmt.Sprintf(format, args...)
	return apiError{status: status, body: gen.Error{StatusCode: float64(status), ErrorCode: code, Message: msg}}
}

// write writes the answer; it returns an error for the Visit methods' sake, but
// cannot fail (see writeJSON).
func (e apiError) write(w http.ResponseWriter) error {
	writeJSON(w, e.status, e.body)
	return nil
}

func (e apiError) VisitAddCustomerResponse(w http.ResponseWriter) error { return e.write(w) }
func (e apiError) VisitAddSubscriptionEstimateForCustomerResponse(w http.ResponseWriter) error {
	return e.write(w)
}
func (e apiError) VisitGetInvoicesResponse(w http.ResponseWriter) error          { return e.write(w) }
func (e apiError) VisitGetInvoiceDownloadResponse(w http.ResponseWriter) error   { return e.write(w) }
func (e apiError) VisitGetProductComponentsResponse(w http.ResponseWriter) error { return e.write(w) }
func (e apiError) VisitUpdateSubscriptionResponse(w http.ResponseWriter) error   { return e.write(w) }
func (e apiError) VisitAddSubscriptionChargeAtTermResponse(w http.ResponseWriter) error {
	return e.write(w)
}
func (e apiError) VisitSetSubscriptionItemQuantityResponse(w http.ResponseWriter) error {
	return e.write(w)
}
func (e apiError) VisitSetSubscriptionItemUsageResponse(w http.ResponseWriter) error {
	return e.write(w)
}

// writeError writes the spec's error body.
func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, newError(status, code, format, args...).body)
}

// writeFault writes the error body of an injected status, its code derived from
// the status text (503: SERVICE_UNAVAILABLE).
func writeFault(w http.ResponseWriter, status int) {
	code := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	if code == "" {
		code = "ERROR"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeError(w, status, code, "fault injected by billingtest")
}

// badRequest answers the generated server's parameter and body decoding errors
// with the spec's error body rather than text/plain. Request validation runs
// first, so it only sees what the validator lets through, such as an email that
// the generated type refuses ("email: failed to pass regex validation").
func badRequest(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, http.StatusBadRequest, "BAD_REQUEST", "%s", strings.TrimPrefix(err.Error(), "can't decode JSON body: "))
}

// internalError answers a handler's failure; the 500 is then reported as a
// violation of the spec.
func internalError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "billingtest: %v", err)
}

// writeJSON writes v as a JSON answer. Every value the fake writes encodes; a
// failed write means that the client left, and there is no one to tell.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("billingtest: encoding an answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
