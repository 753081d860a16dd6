package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// sweepLoop runs Sweep at start and then every SweepInterval until ctx ends.
func (s *Store) sweepLoop(ctx context.Context) {
	defer close(s.done)
	for {
		n, err := s.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			// The next round tries again; records only stay longer.
			s.log.Warn("dead letters: retention sweep failed", "err", err)
		case n > 0:
			s.log.Info("dead letters: expired records removed", "count", n, "retention", s.opts.Retention)
		}
		t := s.opts.Clock.NewTimer(s.opts.SweepInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Sweep removes the records whose FailedAt is older than the retention and
// reports how many. It also repairs what a crash between the two writes of
// a Put or a Delete left behind: a record without an index gets one, an
// index without a record goes. Several nodes may sweep at once.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	// Indexes are listed before records: an index is written after its
	// record, so one seen here whose record is missing below was deleted,
	// not half-written.
	idxEntries, err := s.kv.List(ctx, indexPrefix)
	if err != nil {
		return 0, fmt.Errorf("dead letters: sweep: list index: %w", err)
	}
	keys, err := s.kv.Keys(ctx, dataPrefix)
	if err != nil {
		return 0, fmt.Errorf("dead letters: sweep: list records: %w", err)
	}
	cutoff := s.opts.Clock.Now().Add(-s.opts.Retention)
	records := make(map[string]bool, len(keys))
	for _, k := range keys {
		records[k] = true
	}

	removed := 0
	indexed := make(map[string]bool, len(idxEntries))
	for _, e := range idxEntries {
		id := e.Key[len(indexPrefix):]
		var idx indexEntry
		if err := json.Unmarshal(e.Value, &idx); err != nil || !records[idx.Key] {
			// Unreadable, or its record is gone: a record without an index
			// is rebuilt below, so dropping this one loses nothing.
			if err := s.kv.Delete(ctx, e.Key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
				return removed, fmt.Errorf("dead letters: sweep: drop index of %s: %w", id, err)
			}
			continue
		}
		indexed[idx.Key] = true
		if idx.FailedAt.Before(cutoff) {
			if err := s.remove(ctx, keyRef{key: idx.Key, id: id}); err != nil {
				return removed, fmt.Errorf("dead letters: sweep: %w", err)
			}
			removed++
		}
	}

	for _, k := range keys {
		if indexed[k] {
			continue
		}
		id, ok := idOfKey(k)
		if !ok {
			continue
		}
		n, err := s.repair(ctx, k, id, cutoff)
		if err != nil {
			return removed, fmt.Errorf("dead letters: sweep: %w", err)
		}
		removed += n
	}
	return removed, nil
}

// repair handles a record found without an index: an expired one is
// removed (reporting 1), any other gets its index back.
func (s *Store) repair(ctx context.Context, key, id string, cutoff time.Time) (int, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // deleted meanwhile
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", id, err)
	}
	failedAt := e.Created // an unreadable record still expires, counted from its write
	var r Record
	if err := json.Unmarshal(e.Value, &r); err == nil && !r.FailedAt.IsZero() {
		failedAt = r.FailedAt
	}
	if failedAt.Before(cutoff) {
		if err := s.remove(ctx, keyRef{key: key, id: id}); err != nil {
			return 0, err
		}
		return 1, nil
	}
	idx, err := json.Marshal(indexEntry{Key: key, FailedAt: failedAt})
	if err != nil {
		return 0, fmt.Errorf("encode index of %s: %w", id, err)
	}
	if _, err := s.kv.Put(ctx, indexKey(id), idx); err != nil {
		return 0, fmt.Errorf("index %s: %w", id, err)
	}
	s.log.Info("dead letters: index rebuilt", "id", id)
	return 0, nil
}
