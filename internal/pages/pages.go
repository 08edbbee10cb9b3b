// Package pages iterates over a list served by offset and total (limit and
// offset, newest first, as Billing serves invoices), one page held at a time:
// an item already yielded is skipped when later pages shift, and a server that
// makes no progress ends the iteration with a *Stalled error instead of looping.
package pages

import (
	"fmt"
	"math"
	"slices"
)

// MaxTotal bounds the total a page may claim (a subscription invoiced daily for
// ten thousand years has fewer invoices): the pages of an iteration are bounded.
const MaxTotal = 1 << 22

// Stalled is a page that makes no progress.
type Stalled struct {
	Offset float64 // the page's
	Reason string  // e.g. "is empty, but the total is 5: the list ended early"
}

func (e *Stalled) Error() string { return fmt.Sprintf("the page at offset %g %s", e.Offset, e.Reason) }

// All fetches the pages from offset 0 as the iteration advances, and yields
// each item of theirs not yielded before, by its id (the ids are kept: a
// hash of them could take two items for one and skip the second).
// An error of fetch, or a page that makes no progress (a total that is not a
// count of items, an empty page before the total, a page of items already
// yielded), ends the iteration as a final (zero item, error) pair. noun names
// the items in a Stalled reason.
func All[T any](noun string, fetch func(offset float64) (items []T, total float64, _ error), id func(T) string, yield func(T, error) bool) {
	seen := map[string]bool{}
	yielded := func(item T) bool { return seen[id(item)] }
	for offset := 0.0; ; {
		items, total, err := fetch(offset)
		stalled := func(format string, args ...any) { err = &Stalled{Offset: offset, Reason: fmt.Sprintf(format, args...)} }
		switch {
		case err != nil:
		case total < 0 || total > MaxTotal || total != math.Trunc(total):
			stalled("claims a total of %g %s: not a count of %[2]s", total, noun)
		case len(items) == 0 && offset < total:
			stalled("is empty, but the total is %g: the list ended early", total)
		case len(items) > 0 && !slices.ContainsFunc(items, func(item T) bool { return !yielded(item) }):
			stalled("holds only %s already yielded (%q first): the server ignored the offset", noun, id(items[0]))
		}
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		for _, item := range items {
			if k := id(item); !seen[k] {
				seen[k] = true
				if !yield(item, nil) {
					return
				}
			}
		}
		if offset += float64(len(items)); offset >= total {
			return
		}
	}
}
