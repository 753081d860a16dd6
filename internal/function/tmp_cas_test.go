package function

import (
	"errors"
	"testing"

	"github.com/lamina-dev/lamina/internal/store"
)

func TestTmpCAS(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	en, _ := e.svc.functions.Get(e.ctx, "fn")
	if _, err := e.svc.functions.Update(e.ctx, "fn", en.Value, en.Revision); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.functions.Update(e.ctx, "fn", en.Value, en.Revision)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	t.Logf("stale update: %v", err)
}
