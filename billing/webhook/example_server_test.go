package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
)

// The server a Handler needs: the Handler bounds the body itself, and the
// http.Server bounds the rest (headers, answer, idle connections).
func ExampleHandler_serverTimeouts() {
	secret := webhook.NewSecret() // in production: the whsec_ secret Billing gives you
	verifier, err := webhook.NewSignatureVerifier([]string{secret})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/billing", webhook.NewHandler(verifier,
		webhook.On(webhook.PaymentSucceeded, func(_ context.Context, ev *webhook.Event) error {
			fmt.Println(ev.Type, ev.PaymentData.Transaction.ID)
			return nil
		}),
		webhook.WithReadTimeout(webhook.DefaultReadTimeout), // the body: 408 past it
	))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,  // required: the Handler runs once the headers are in
		ReadTimeout:       15 * time.Second, // headers and body
		WriteTimeout:      time.Minute,      // from the headers to the answer: longer than your slowest function
		IdleTimeout:       2 * time.Minute,  // kept-alive connections between deliveries
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // in production: srv.ListenAndServeTLS(cert, key)
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	// Billing's side: one signed delivery.
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"eventType":"payment.succeeded","data":{"transaction":{"id":"txn_1","status":"success"}}}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/webhooks/billing", bytes.NewReader(body))
	req.Header = signer.Headers("msg_1", time.Now(), body)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	_ = res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// payment.succeeded txn_1
	// 204
}
