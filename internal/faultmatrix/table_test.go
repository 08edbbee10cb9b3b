package faultmatrix

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/prestashopcorp/billing-sdk-go/billing"
)

// cellTable gathers, per cell, what callers saw and what the server applied.
type cellTable struct {
	// family (name and protocol) -> operation -> outcome -> numbers of applications
	seen map[string]map[string]map[string]map[int]bool
}

func famKey(f *family) string { return f.name + " (" + f.proto.String() + ")" }

func (t *cellTable) add(fam *family, op *operation, cr cellResult) {
	if t.seen == nil {
		t.seen = map[string]map[string]map[string]map[int]bool{}
	}
	k := famKey(fam)
	if t.seen[k] == nil {
		t.seen[k] = map[string]map[string]map[int]bool{}
	}
	m := map[string]map[int]bool{}
	t.seen[k][op.id] = m
	for _, r := range cr.results {
		if r.setupErr != nil {
			continue
		}
		o := "ok"
		switch {
		case errors.Is(r.err, billing.ErrOutcomeUnknown):
			o = "unknown"
		case r.err != nil:
			o = "error"
		}
		if m[o] == nil {
			m[o] = map[int]bool{}
		}
		m[o][r.applied] = true
	}
}

// markdown renders the table: a row per family, a column per operation; each
// cell lists what callers saw (ok, error, unknown = error wrapping
// ErrOutcomeUnknown) with the numbers of applications the server counted.
func (t *cellTable) markdown(fams []family) string {
	var b strings.Builder
	head, rule := []string{"fault"}, []string{"---"}
	for _, op := range operations {
		head, rule = append(head, op.short), append(rule, "---")
	}
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row(head)
	row(rule)
	for i := range fams {
		k := famKey(&fams[i])
		seen, ok := t.seen[k]
		if !ok {
			continue
		}
		cells := []string{k}
		for _, op := range operations {
			cells = append(cells, cellText(seen[op.id]))
		}
		row(cells)
	}
	return b.String()
}

func cellText(m map[string]map[int]bool) string {
	var parts []string
	for _, o := range []string{"ok", "error", "unknown"} {
		if m[o] == nil {
			continue
		}
		var ns []int
		for n := range m[o] {
			ns = append(ns, n)
		}
		slices.Sort(ns)
		var s []string
		for _, n := range ns {
			s = append(s, fmt.Sprint(n))
		}
		parts = append(parts, o+" "+strings.Join(s, "/"))
	}
	return strings.Join(parts, ", ")
}
