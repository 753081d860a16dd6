package queue

import (
	"context"
	"time"
)

// transfer moves msgs, which are marked stMoving in src, to dst: it
// journals a copy of each (adjusted by edit) into dst first, then journals their deletion from src. If the
// first step fails the messages become visible again in src; if the
// second fails they stay in both (at least once, never lost).
func (s *Service) transfer(ctx context.Context, src, dst *queue, msgs []*message, edit func(*rec)) error {
	recs := make([]*rec, len(msgs))
	keys := make([]mkey, len(msgs))
	src.mu.Lock()
	for i, m := range msgs {
		r := m.rec
		edit(&r)
		recs[i] = &r
		keys[i] = m.key
	}
	src.mu.Unlock()
	var err error
	if dst.fifo {
		dst.sendMu.Lock()
		_, err = dst.appendRecs(ctx, recs)
		dst.sendMu.Unlock()
	} else {
		_, err = dst.appendRecs(ctx, recs)
	}
	if err != nil {
		src.mu.Lock()
		for _, m := range msgs {
			if !m.gone && m.state == stMoving {
				src.makeReady(m)
			}
		}
		src.mu.Unlock()
		return err
	}
	if err := src.journalDelete(ctx, keys); err != nil {
		s.log.Error("queue: moved messages could not be deleted from their source; they may be delivered twice",
			"source", src.name, "destination", dst.name, "err", err)
		src.mu.Lock()
		for _, m := range msgs {
			src.remove(m)
		}
		src.mu.Unlock()
		return err
	}
	return nil
}

// redrive moves messages that reached maxReceiveCount to the dead-letter
// queue, recording where they came from.
func (s *Service) redrive(ctx context.Context, src, dlq *queue, msgs []*message) {
	// The move must not be abandoned half-way because the receiver gave
	// up; it is bounded by its own timeout instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := s.transfer(ctx, src, dlq, msgs, func(r *rec) {
		r.dlqSource = src.arn
		r.delay = 0
		if src.fifo {
			// As in SQS: the DLQ deduplicates by the original MessageId,
			// so two messages that shared a deduplication id both land.
			r.dedup = r.id
		}
	})
	if err != nil {
		s.log.Warn("queue: redrive to dead-letter queue failed", "queue", src.name, "dlq", dlq.name, "err", err)
	}
}
