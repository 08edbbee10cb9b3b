package scrub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// secretInCause shows its secret only when formatted (its Error does not).
type secretInCause struct{ secret string }

func (e secretInCause) Error() string { return "failed" }
func (e secretInCause) Format(s fmt.State, verb rune) {
	fmt.Fprintf(s, "failed: %s", e.secret)
}

func TestErrorKeepsACleanChainAndDropsADirtyOne(t *testing.T) {
	secrets := []string{"tok-1"}
	clean := fmt.Errorf("read: %w", context.Canceled)
	if got := Error(clean, secrets); got != clean {
		t.Errorf("Error(%v) = %v, want the error itself (its chain kept)", clean, got)
	}
	for _, dirty := range []error{
		fmt.Errorf("malformed %q: %w", "tok-1", context.Canceled),
		fmt.Errorf("wrapped: %w", secretInCause{"tok-1"}),
	} {
		got := Error(dirty, secrets)
		if errors.Unwrap(got) != nil || strings.Contains(fmt.Sprintf("%v %+v", got, got), "tok-1") {
			t.Errorf("Error(%v) = %+v, want its redacted text wrapping nothing", dirty, got)
		}
	}
}
