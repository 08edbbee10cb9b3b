// Command baseline is what a partner would write with x/oauth2 and net/http alone:
// an *http.Client that gets client-credentials tokens. BenchmarkColdStart compares
// the sdk program with it. Built with -tags call, it also makes one call when run
// with the argument "call" (the benchmark never does).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

func main() {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	cfg := &clientcredentials.Config{
		ClientID:     "client-id",
		ClientSecret: "client-secret",
		TokenURL:     "https://oauth.example.test/oauth2/token",
	}
	hc := cfg.Client(context.Background())
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	fmt.Printf("newclient %d ns %d bytes %d allocs\n", elapsed.Nanoseconds(), m1.TotalAlloc-m0.TotalAlloc, m1.Mallocs-m0.Mallocs)
	if len(os.Args) > 1 && os.Args[1] == "call" {
		if err := call(hc); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
