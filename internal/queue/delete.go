package queue

import (
	"context"
	"slices"
	"time"
)

// Delete deletes messages by receipt handle: the handles are checked in
// memory, the batch is journaled as one delete record, and the messages
// are forgotten once the store has confirmed it. A handle of a message
// already deleted, or of an older receive of it, succeeds and does
// nothing, as in SQS.
func (s *Service) Delete(ctx context.Context, name string, entries []DeleteEntry) ([]EntryResult, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	results := make([]EntryResult, len(entries))
	keys := make([]mkey, 0, len(entries))
	// A repeat is found by a scan in an API batch (at most ten entries),
	// by a map in the larger ones of event source mappings.
	var seen map[mkey]bool
	if len(entries) > 16 {
		seen = make(map[mkey]bool, len(entries))
	}
	repeat := func(k mkey) bool {
		if seen == nil {
			return slices.Contains(keys, k)
		}
		if seen[k] {
			return true
		}
		seen[k] = true
		return false
	}
	q.mu.Lock()
	for i, e := range entries {
		results[i].ID = e.ID
		h, ok := parseHandle(e.ReceiptHandle)
		if !ok || h.inc != q.inc {
			results[i].Err = errBadHandle(e.ReceiptHandle)
			continue
		}
		m := q.msgs[h.key]
		if m == nil || m.nonce != h.nonce || m.state == stMoving || repeat(h.key) {
			continue
		}
		keys = append(keys, h.key)
	}
	q.mu.Unlock()
	if err := q.journalDelete(ctx, keys); err != nil {
		return nil, err
	}
	return results, nil
}

// ChangeVisibility changes the visibility timeout of in-flight messages,
// counted from now. It is kept in memory only: after a restart every
// message is visible anyway.
func (s *Service) ChangeVisibility(ctx context.Context, name string, changes []VisibilityChange) ([]EntryResult, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	results := make([]EntryResult, len(changes))
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return nil, errNoQueue()
	}
	now := s.clk.Now()
	for i, c := range changes {
		results[i].ID = c.ID
		h, ok := parseHandle(c.ReceiptHandle)
		if !ok || h.inc != q.inc {
			results[i].Err = errBadHandle(c.ReceiptHandle)
			continue
		}
		if c.Timeout < 0 || c.Timeout > MaxVisibilityTimeout {
			results[i].Err = errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.", int64(c.Timeout/time.Second))
			continue
		}
		m := q.msgs[h.key]
		if m == nil || m.nonce != h.nonce {
			results[i].Err = errInvalidParam("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", c.ReceiptHandle)
			continue
		}
		if m.state != stInflight {
			results[i].Err = errNotInflight()
			continue
		}
		if c.Timeout == 0 {
			q.makeReady(m)
			continue
		}
		q.setVisibleAt(m, now.Add(c.Timeout))
	}
	return results, nil
}
