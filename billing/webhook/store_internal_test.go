package webhook

import (
	"errors"
	"testing"
	"time"
)

func TestMemoryStoreRetention(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	m := NewMemoryStore(time.Hour)
	m.now = func() time.Time { return now }
	ctx := t.Context()
	for _, id := range []string{"a", "b"} {
		c, err := m.ClaimMessage(ctx, id, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.CompleteMessage(ctx, c); err != nil {
			t.Fatal(err)
		}
		now = now.Add(30 * time.Minute)
	}
	// a is 1 h old, b 30 min.
	if _, err := m.ClaimMessage(ctx, "a", time.Minute); !errors.Is(err, ErrDuplicate) {
		t.Errorf("a at the retention: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := m.ClaimMessage(ctx, "a", time.Minute); err != nil {
		t.Errorf("a past the retention: %v, want forgotten", err)
	}
	if _, err := m.ClaimMessage(ctx, "b", time.Minute); !errors.Is(err, ErrDuplicate) {
		t.Errorf("b within the retention: %v", err)
	}
	if len(m.done) != 1 || len(m.messages) != 2 { // b done, a claimed again
		t.Errorf("done %d, messages %d", len(m.done), len(m.messages))
	}
}
