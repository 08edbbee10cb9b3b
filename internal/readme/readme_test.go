// Package readme checks that the Go snippets of README.md compile as written.
package readme

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// preamble declares what the README's snippets use without declaring it: a
// context, the ids of a subscription and of its item, and a client.
const preamble = `package readme

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
)

var (
	_ = errors.Is
	_ = fmt.Println
	_ = http.Handle
	_ = os.Getenv
	_ = billingtest.NewServer
	_ = gen.UsageInput{}
	_ = webhook.Verify
)

var client *billing.Client
`

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// Each ```go block of README.md is the body of a function returning an error, with
// ctx, subscriptionID and itemID in scope: it must compile (go build, through an
// overlay, so nothing is written to the tree).
func TestReadmeSnippetsCompile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("README.md has %d Go snippets, want at least 5", len(blocks))
	}
	var src strings.Builder
	src.WriteString(preamble)
	for i, b := range blocks {
		fmt.Fprintf(&src, "\n// snippet %d\nfunc snippet%d(ctx context.Context, subscriptionID, itemID string) error {\n%s\treturn nil\n}\n", i+1, i+1, b[1])
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "snippets.go")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs("snippets_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, fmt.Appendf(nil, `{"Replace":{%q:%q}}`, abs, file), 0o644); err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH:", err)
	}
	cmd := exec.Command(goCmd, "build", "-overlay", overlay, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("README.md snippets do not compile: %v\n%s\nthe generated file:\n%s", err, out, numbered(src.String()))
	}
}

func numbered(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, line)
	}
	return b.String()
}
