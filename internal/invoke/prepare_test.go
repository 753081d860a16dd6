package invoke

import (
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestPrepareReadiesLatestCode(t *testing.T) {
	e := newEnv(t)
	e.create(t, "prep")
	snap, err := e.reg.Snapshot(e.ctx, "prep")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Prepare(e.ctx, "prep"); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	e.pool.mu.Lock()
	got := append([]string(nil), e.pool.prepared...)
	e.pool.mu.Unlock()
	if len(got) != 1 || got[0] != snap.Latest().Key {
		t.Errorf("pool prepared %v, want [%s]", got, snap.Latest().Key)
	}
	if err := e.svc.Prepare(e.ctx, "missing"); !fault.Is(err, fault.NotFound) {
		t.Errorf("Prepare(missing) = %v, want NotFound", err)
	}
}
