package readme

import (
	"fmt"
	"go/ast"
	"go/parser"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docs are the documents whose Go must compile: the README, CONTRIBUTING.md
// and the pages of docs/ they link to.
func docs(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/ (%v)", err)
	}
	return append([]string{"../../README.md", "../../CONTRIBUTING.md"}, pages...)
}

// preamble declares what the snippets use without declaring it: a client, and
// the variables the inline expressions name (ctx, srv, secret...).
const preamble = `package readme

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/prestashopcorp/billing-sdk-go/billing"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingotel"
	"github.com/prestashopcorp/billing-sdk-go/billing/billingtest"
	"github.com/prestashopcorp/billing-sdk-go/billing/meter"
	"github.com/prestashopcorp/billing-sdk-go/billing/sqlstore"
	"github.com/prestashopcorp/billing-sdk-go/billing/webhook"
	"github.com/prestashopcorp/billing-sdk-go/gen"
	"go.opentelemetry.io/otel"
)

var (
	_ = bytes.NewReader
	_ = sql.Open
	_ = log.Printf
	_ = slog.Default
	_ = billingotel.New
	_ = meter.New
	_ = sqlstore.New
	_ = errors.Is
	_ = fmt.Println
	_ = http.Handle
	_ = os.Getenv
	_ = time.Now
	_ = billingtest.NewServer
	_ = gen.UsageInput{}
	_ = webhook.Verify
)

var (
	client                          *billing.Client
	srv                             *billingtest.Server
	signer                          *webhook.Signer
	ctx                             context.Context
	subscriptionID, itemID, invoiceID string
	secret, url, id                 string
	productID, requestID            string
	verifier                        *webhook.SignatureVerifier
	tracker                         *webhook.Tracker
	onCreated, onUpdated            webhook.HandlerFunc
	m                               *meter.Meter
	batchID                         int64
	pool                            *sql.DB
	logger                          *slog.Logger
	info                            billing.ResponseInfo
	h                               http.Header
	tracerProvider                  = otel.GetTracerProvider()
	meterProvider                   = otel.GetMeterProvider()
	body                            []byte
	header                          http.Header
	on                              bool
	n                               int
	ts                              float64
)
`

var (
	goBlock    = regexp.MustCompile("(?s)```go\n(.*?)```")
	anyBlock   = regexp.MustCompile("(?s)```.*?```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
)

// roots are the names an inline expression must start from to be checked:
// the packages and the variables of the preamble. Other inline code (commands,
// field names, a method in a table) is prose.
var roots = map[string]bool{
	"billing": true, "billingtest": true, "webhook": true, "gen": true, "meter": true, "sqlstore": true, "billingotel": true,
	"client": true, "srv": true, "signer": true, "m": true,
}

// snippets is what the documents hold: function bodies, complete programs and
// inline expressions, each with where it comes from.
type snippets struct {
	bodies, programs, inline, where []string
}

func collect(t *testing.T) snippets {
	t.Helper()
	var s snippets
	for _, doc := range docs(t) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range goBlock.FindAllStringSubmatch(string(text), -1) {
			if strings.HasPrefix(b[1], "package ") {
				s.programs = append(s.programs, b[1])
			} else {
				s.bodies = append(s.bodies, b[1])
			}
		}
		prose := anyBlock.ReplaceAllString(string(text), "")
		for _, m := range inlineCode.FindAllStringSubmatch(prose, -1) {
			if isRootedExpr(m[1]) {
				s.inline = append(s.inline, m[1])
				s.where = append(s.where, filepath.Base(doc))
			}
		}
	}
	return s
}

// isRootedExpr reports whether code is a Go call (no elision) that starts from
// one of roots. A bare name is left out: it may be a type or a value, and
// "go doc" checks names.
func isRootedExpr(code string) bool {
	if strings.Contains(code, "...") {
		return false
	}
	e, err := parser.ParseExpr(code)
	if err != nil {
		return false
	}
	if _, call := e.(*ast.CallExpr); !call {
		return false
	}
	for {
		switch x := e.(type) {
		case *ast.CallExpr:
			e = x.Fun
		case *ast.SelectorExpr:
			e = x.X
		case *ast.Ident:
			return roots[x.Name] && x.Name != code
		default:
			return false
		}
	}
}

// Each ```go block is the body of a function returning an error, with ctx,
// subscriptionID and itemID in scope, or a complete program (package main);
// each inline call is a statement with the preamble's variables in scope.
// All must compile (go build, through an overlay, so nothing is written to the
// tree).
func TestSnippetsCompile(t *testing.T) {
	s := collect(t)
	if len(s.bodies) < 5 || len(s.programs) < 1 || len(s.inline) < 8 {
		t.Fatalf("found %d Go snippets, %d programs and %d inline calls; want at least 5, 1 and 8", len(s.bodies), len(s.programs), len(s.inline))
	}
	var src strings.Builder
	src.WriteString(preamble)
	for i, b := range s.bodies {
		fmt.Fprintf(&src, "\n// snippet %d\nfunc snippet%d(ctx context.Context, subscriptionID, itemID string) error {\n%s\treturn nil\n}\n", i+1, i+1, b)
	}
	for i, code := range s.inline {
		fmt.Fprintf(&src, "\n// inline %d, %s\nfunc inline%d() { %s }\n", i+1, s.where[i], i+1, code)
	}
	files := map[string]string{"snippets_gen.go": src.String()}
	pkgs := []string{"."}
	for i, p := range s.programs {
		dir := fmt.Sprintf("program%d", i+1)
		files[filepath.Join(dir, "main.go")] = p
		pkgs = append(pkgs, "./"+dir)
	}
	build(t, files, pkgs)
}

// build builds pkgs with files (relative to this directory) laid over the tree.
func build(t *testing.T, files map[string]string, pkgs []string) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH:", err)
	}
	dir := t.TempDir()
	replace := map[string]string{}
	for name, content := range files {
		tmp := filepath.Join(dir, strings.ReplaceAll(name, string(filepath.Separator), "_"))
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			t.Fatal(err)
		}
		replace[abs] = tmp
	}
	var entries []string
	for abs, tmp := range replace {
		entries = append(entries, fmt.Sprintf("%q:%q", abs, tmp))
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, []byte(`{"Replace":{`+strings.Join(entries, ",")+`}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, append([]string{"build", "-o", os.DevNull, "-overlay", overlay}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		var shown strings.Builder
		for name, content := range files {
			fmt.Fprintf(&shown, "== %s\n%s", name, numbered(content))
		}
		t.Errorf("the documents' Go does not compile: %v\n%s\nthe generated files:\n%s", err, out, shown.String())
	}
}

func numbered(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, line)
	}
	return b.String()
}
