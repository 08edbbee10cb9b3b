// Command sdk builds a Billing client: BenchmarkColdStart measures its package init
// (GODEBUG=inittrace=1), its first NewClient and the size of its binary. Built with
// -tags call, it also makes one call when run with the argument "call" (the benchmark
// never does), so that the call path is linked in.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

func main() {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	c, err := billing.NewClient(billing.WithClientCredentials("client-id", "client-secret"))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&m1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("newclient %d ns %d bytes %d allocs\n", elapsed.Nanoseconds(), m1.TotalAlloc-m0.TotalAlloc, m1.Mallocs-m0.Mallocs)
	if len(os.Args) > 1 && os.Args[1] == "call" {
		if err := call(c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
