package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

// appendRecs journals recs as send records (one per chunk that fits a
// store message; a batch of ten is one record) and, once the store has
// confirmed each, inserts its messages. It returns each message's key.
// FIFO callers hold q.sendMu.
func (q *queue) appendRecs(ctx context.Context, recs []*rec) ([]mkey, error) {
	keys := make([]mkey, 0, len(recs))
	for start := 0; start < len(recs); {
		end, size := start, 0
		for end < len(recs) && end-start < maxRecordMessages {
			n := recs[end].encodedSize()
			if end > start && size+n > maxRecordBytes {
				break
			}
			size += n
			end++
		}
		chunk := recs[start:end]
		seq, err := q.publish(ctx, q.subjS, encodeSend(chunk))
		if err != nil {
			return keys, err
		}
		q.mu.Lock()
		now := q.svc.clk.Now()
		for i, r := range chunk {
			k := mkey{seq: seq, idx: uint32(i)}
			keys = append(keys, k)
			if !q.deleted {
				q.insert(&message{rec: *r, key: k}, now)
			}
		}
		q.mu.Unlock()
		start = end
	}
	return keys, nil
}

// publish writes one record, registering it as pending so that compaction
// never purges below a record that has landed but is not applied yet.
func (q *queue) publish(ctx context.Context, subject string, data []byte) (uint64, error) {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return 0, errNoQueue()
	}
	id := q.addPending()
	q.mu.Unlock()
	seq, err := q.stream.Publish(ctx, subject, data, nil)
	q.mu.Lock()
	delete(q.pending, id)
	if err == nil && seq > q.highSeq {
		q.highSeq = seq
	}
	deleted := q.deleted
	q.mu.Unlock()
	if err != nil {
		if deleted {
			return 0, errNoQueue()
		}
		return 0, errInternal(err, "queue %s: journal write failed", q.name)
	}
	return seq, nil
}

// journalDelete journals the deletion of keys and then forgets their
// messages.
func (q *queue) journalDelete(ctx context.Context, keys []mkey) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := q.publish(ctx, q.subjD, encodeDelete(keys)); err != nil {
		return err
	}
	q.mu.Lock()
	for _, k := range keys {
		if m := q.msgs[k]; m != nil {
			q.remove(m)
		}
	}
	q.mu.Unlock()
	q.svc.kickCompactor()
	return nil
}

// replay rebuilds the queue's messages from its journal. Messages that
// were in flight when the process stopped are visible again; receive
// counts start over.
func (q *queue) replay(ctx context.Context) error {
	type sendRec struct {
		seq  uint64
		recs []*rec
	}
	var sends []sendRec
	deleted := make(map[mkey]bool)
	var last uint64
	for raw, err := range q.stream.Read(ctx, store.ReadOptions{}) {
		if err != nil {
			return err
		}
		last = raw.Sequence
		switch {
		case strings.HasSuffix(raw.Subject, ".s"):
			recs, err := decodeSend(raw.Data)
			if err != nil {
				q.svc.log.Error("queue: skipping corrupt send record", "queue", q.name, "seq", raw.Sequence, "err", err)
				continue
			}
			sends = append(sends, sendRec{raw.Sequence, recs})
		case strings.HasSuffix(raw.Subject, ".d"):
			keys, err := decodeDelete(raw.Data)
			if err != nil {
				q.svc.log.Error("queue: skipping corrupt delete record", "queue", q.name, "seq", raw.Sequence, "err", err)
				continue
			}
			for _, k := range keys {
				deleted[k] = true
			}
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.svc.clk.Now()
	q.highSeq = max(q.highSeq, last)
	q.compacted = 0
	for _, sr := range sends {
		for i, r := range sr.recs {
			k := mkey{seq: sr.seq, idx: uint32(i)}
			if q.cfg.fifo && r.dedup != "" {
				if exp := r.sent.Add(DedupWindow); exp.After(now) {
					dk := q.dedupKey(r)
					q.dedup[dk] = dedupEntry{id: r.id, seq: seqNumber(k), exp: exp}
					q.dedupQ = append(q.dedupQ, dedupRef{key: dk, exp: exp})
				}
			}
			if deleted[k] || !r.sent.Add(q.cfg.retention).After(now) {
				continue
			}
			q.insert(&message{rec: *r, key: k}, now)
		}
	}
	return nil
}

// compactor purges the dead prefix of journals, at most once per
// compactEvery, after deletes have made one.
func (s *Service) compactor() {
	defer s.wg.Done()
	for {
		select {
		case <-s.compactKick:
		case <-s.ctx.Done():
			return
		}
		s.mu.RLock()
		qs := make([]*queue, 0, len(s.queues))
		for _, q := range s.queues {
			qs = append(qs, q)
		}
		s.mu.RUnlock()
		for _, q := range qs {
			if err := q.compact(s.ctx); err != nil && s.ctx.Err() == nil {
				s.log.Warn("queue: journal compaction failed", "queue", q.name, "err", err)
			}
		}
		select {
		case <-s.clk.After(compactEvery):
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Service) kickCompactor() {
	select {
	case s.compactKick <- struct{}{}:
	default:
	}
}

// compact purges every journal record below the lowest one still needed.
// A delete record below it only names messages of send records below it,
// which are dead too, so nothing that replay needs is lost.
func (q *queue) compact(ctx context.Context) error {
	q.mu.Lock()
	if q.deleted {
		q.mu.Unlock()
		return nil
	}
	low := q.minLive()
	if low <= q.compacted {
		q.mu.Unlock()
		return nil
	}
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := q.stream.PurgeBefore(ctx, low); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("purge before %d: %w", low, err)
	}
	q.mu.Lock()
	q.compacted = max(q.compacted, low)
	q.mu.Unlock()
	return nil
}
