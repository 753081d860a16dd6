package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// KVQuotaStore is a durable KeyQuotaStore (and limit.QuotaStore): one
// counter per key, "quota.<key>" in a KV bucket, holding the current
// period's count and changed by compare-and-set, so every node counts
// against the same quota and counts survive restarts. Memory and store
// use are bounded by the number of keys, as for limit.MemoryQuotaStore,
// whose semantics it follows.
//
// Each counted request costs a read and a conditional write in the store;
// that is the price of a quota shared between nodes.
type KVQuotaStore struct {
	KV store.KV
}

type quotaDoc struct {
	Window time.Time `json:"window"`
	Used   int       `json:"used"`
}

// Take implements KeyQuotaStore.
func (s *KVQuotaStore) Take(ctx context.Context, key string, window time.Time, limit, offset int) (int, bool, error) {
	skey := quotaPrefix + key
	for range casAttempts {
		var d quotaDoc
		var rev uint64
		e, err := s.KV.Get(ctx, skey)
		switch {
		case errors.Is(err, store.ErrNotFound):
			d = quotaDoc{Window: window, Used: offset}
		case err != nil:
			return 0, false, fmt.Errorf("gateway: read quota %s: %w", key, err)
		default:
			if err := json.Unmarshal(e.Value, &d); err != nil {
				return 0, false, fmt.Errorf("gateway: decode quota %s: %w", key, err)
			}
			rev = e.Revision
			if window.After(d.Window) {
				d = quotaDoc{Window: window}
			}
			// An earlier window than the stored one (a node whose clock
			// lags) counts in the current period, as the memory store does.
		}
		if d.Used >= limit {
			return d.Used, false, nil
		}
		d.Used++
		b, err := json.Marshal(d)
		if err != nil {
			return 0, false, fmt.Errorf("gateway: encode quota %s: %w", key, err)
		}
		if rev == 0 {
			_, err = s.KV.Create(ctx, skey, b)
		} else {
			_, err = s.KV.Update(ctx, skey, b, rev)
		}
		if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
			continue // another request counted meanwhile: count again
		}
		if err != nil {
			return 0, false, fmt.Errorf("gateway: write quota %s: %w", key, err)
		}
		return d.Used, true, nil
	}
	return 0, false, fmt.Errorf("gateway: quota %s: too many concurrent updates", key)
}
