package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// openTestStore opens an embedded store in a temporary directory for a
// test that serves an edge over real services; ctx bounds their start-up.
func openTestStore(t *testing.T) (ctx context.Context, st store.Store, quiet *slog.Logger) {
	t.Helper()
	quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return ctx, st, quiet
}
