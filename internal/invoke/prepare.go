package invoke

import (
	"context"
	"fmt"
)

// Prepare readies function name's $LATEST for its first invocation
// (extracting its code), so that a cold start after a deploy costs only the
// process start. Callers treat an error as a warning: the invocation path
// repeats the work and reports any failure itself.
func (s *Service) Prepare(ctx context.Context, name string) error {
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		return fmt.Errorf("prepare %q: %w", name, err)
	}
	t := snap.Latest()
	if t == nil {
		return nil
	}
	if err := s.pool.Prepare(ctx, s.spec(s.state(name), t)); err != nil {
		return fmt.Errorf("prepare %q: %w", name, err)
	}
	return nil
}
