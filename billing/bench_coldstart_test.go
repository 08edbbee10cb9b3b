package billing_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// BenchmarkColdStart measures what a program pays for the SDK before its first call,
// against a baseline program that uses x/oauth2's client credentials and net/http
// alone (testdata/coldstart): the package init of the whole program
// (GODEBUG=inittrace=1, summed over its packages), its first NewClient (time and
// allocations, in a fresh process) and the size of its stripped binary
// (go build -ldflags="-s -w"), once for programs that only build a client and once
// for programs that also make one call. Each iteration runs the sdk program once:
// ns/op is the wall time of a process that starts and builds a client.
func BenchmarkColdStart(b *testing.B) {
	goCmd, err := exec.LookPath("go") // GOTOOLCHAIN, as make exports it, picks the toolchain
	if err != nil {
		b.Skip("no go command: ", err)
	}
	dir := b.TempDir()
	build := func(prog, tags string) (path string, size int64) {
		path = filepath.Join(dir, prog+"-"+tags)
		cmd := exec.Command(goCmd, "build", "-tags", tags, "-ldflags=-s -w", "-o", path, "./testdata/coldstart/"+prog)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", prog, err, out)
		}
		fi, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return path, fi.Size()
	}
	sdk, sdkSize := build("sdk", "")
	baseline, baselineSize := build("baseline", "")
	_, sdkCallSize := build("sdk", "call")
	_, baselineCallSize := build("baseline", "call")

	var sdkRuns, baselineRuns []coldRun
	for b.Loop() {
		sdkRuns = append(sdkRuns, runCold(b, sdk))
	}
	for range min(len(sdkRuns), 50) {
		baselineRuns = append(baselineRuns, runCold(b, baseline))
	}
	s, base := medianCold(sdkRuns), medianCold(baselineRuns)
	b.ReportMetric(s.initMs, "init-ms")
	b.ReportMetric(s.newClientMs, "newclient-ms")
	b.ReportMetric(float64(sdkSize)/1e6, "binary-MB")
	b.Logf("cold start: package init %.2f ms, %.0f kB (baseline %.2f ms, %.0f kB); first NewClient %.3f ms, %.1f kB, %.0f allocs (medians of %d and %d runs)",
		s.initMs, s.initBytes/1e3, base.initMs, base.initBytes/1e3, s.newClientMs, s.newClientBytes/1e3, s.newClientAllocs, len(sdkRuns), len(baselineRuns))
	b.Logf("binary: sdk %.1f MB, baseline %.1f MB, %+.1f MB (programs that only build a client; the baseline links no code that gets a token or sends a request)",
		float64(sdkSize)/1e6, float64(baselineSize)/1e6, float64(sdkSize-baselineSize)/1e6)
	b.Logf("binary: sdk %.1f MB, baseline %.1f MB, %+.1f MB (programs that build a client and make one call)",
		float64(sdkCallSize)/1e6, float64(baselineCallSize)/1e6, float64(sdkCallSize-baselineCallSize)/1e6)
}

// coldRun is what one run of a coldstart program reported.
type coldRun struct {
	initMs, initBytes                            float64
	newClientMs, newClientBytes, newClientAllocs float64
}

// runCold runs a coldstart program with GODEBUG=inittrace=1 and reads its figures.
func runCold(b *testing.B, path string) coldRun {
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", path, err, stderr.Bytes())
	}
	var r coldRun
	// init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		by, err2 := strconv.ParseFloat(f[7], 64)
		if err1 != nil || err2 != nil {
			b.Fatalf("inittrace line %q", sc.Text())
		}
		r.initMs += ms
		r.initBytes += by
	}
	var ns float64
	if _, err := fmt.Sscanf(stdout.String(), "newclient %g ns %g bytes %g allocs", &ns, &r.newClientBytes, &r.newClientAllocs); err != nil {
		b.Fatalf("%s printed %q: %v", path, stdout.String(), err)
	}
	r.newClientMs = ns / 1e6
	return r
}

func medianCold(runs []coldRun) coldRun {
	col := func(f func(coldRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	return coldRun{
		initMs:          col(func(r coldRun) float64 { return r.initMs }),
		initBytes:       col(func(r coldRun) float64 { return r.initBytes }),
		newClientMs:     col(func(r coldRun) float64 { return r.newClientMs }),
		newClientBytes:  col(func(r coldRun) float64 { return r.newClientBytes }),
		newClientAllocs: col(func(r coldRun) float64 { return r.newClientAllocs }),
	}
}

// BenchmarkNewClient is the cost of a client once the process runs: nothing is
// parsed or compiled, for the first client or any other.
func BenchmarkNewClient(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := billing.NewClient(billing.WithClientCredentials("client-id", "client-secret"), billing.WithSandbox(true))
		if err != nil || c == nil {
			b.Fatal(err)
		}
	}
}
