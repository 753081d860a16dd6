package queue

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Receive hands out up to in.Max ready messages, waiting up to the wait
// time for the first. It works in memory under the queue's lock; only a
// redrive to the dead-letter queue touches the store.
func (s *Service) Receive(ctx context.Context, name string, in ReceiveInput) ([]Message, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	max := in.Max
	if max <= 0 {
		max = 1
	}
	q.mu.Lock()
	wait, vis := q.cfg.wait, q.cfg.visibility
	q.mu.Unlock()
	if in.WaitSet {
		wait = in.Wait
	}
	if in.VisibilitySet {
		vis = in.Visibility
	}
	if wait < 0 {
		return nil, errInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", int64(wait/time.Second))
	}
	if vis < 0 || vis > MaxVisibilityTimeout {
		return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200, if provided.", int64(vis/time.Second))
	}
	sel := newSelection(&in)
	if ctx.Err() != nil {
		return nil, nil
	}
	if in.ReceiveRequestAttemptID != "" && q.fifo {
		if out, ok := q.retryAttempt(in.ReceiveRequestAttemptID, s.clk.Now(), sel); ok {
			return out, nil
		}
	}
	var timer interface {
		C() <-chan time.Time
		Stop() bool
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		dlq, maxRecv := s.redriveTarget(q)
		q.mu.Lock()
		if q.deleted {
			q.mu.Unlock()
			return nil, errNoQueue()
		}
		now := s.clk.Now()
		out, moves := q.take(now, max, vis, maxRecv, sel)
		q.mu.Unlock()
		if len(moves) > 0 {
			s.redrive(ctx, q, dlq, moves)
		}
		if len(out) > 0 {
			if in.ReceiveRequestAttemptID != "" && q.fifo {
				q.rememberAttempt(in.ReceiveRequestAttemptID, out, now)
			}
			return out, nil
		}
		if len(moves) > 0 {
			continue
		}
		if wait <= 0 || ctx.Err() != nil {
			return nil, nil
		}
		if timer == nil {
			timer = s.clk.NewTimer(wait)
		}
		q.mu.Lock()
		if q.nReady > 0 && q.readyNow() {
			q.mu.Unlock()
			continue
		}
		ch := q.wake
		q.waiting++
		q.mu.Unlock()
		var expired bool
		select {
		case <-ch:
		case <-timer.C():
			expired = true
		case <-ctx.Done():
			expired = true
		case <-s.ctx.Done():
			expired = true
		}
		q.mu.Lock()
		q.waiting--
		q.mu.Unlock()
		if expired {
			return nil, nil
		}
	}
}

// readyNow reports whether a receive would find a message (FIFO: an
// unlocked group with a ready head). Called with q.mu held.
func (q *queue) readyNow() bool {
	if q.cfg.fifo {
		return q.groupQ.Len() > 0
	}
	return q.ready.Len() > 0
}

// redriveTarget returns the queue's dead-letter queue and
// maxReceiveCount, or (nil, 0) when it has none (or it does not exist).
func (s *Service) redriveTarget(q *queue) (*queue, int) {
	q.mu.Lock()
	p := q.cfg.redrive
	q.mu.Unlock()
	if p == nil {
		return nil, 0
	}
	dlq, err := s.queueByARN(p.Target)
	if err != nil {
		return nil, 0
	}
	return dlq, p.MaxReceive
}

// take picks up to max ready messages and makes them in flight; messages
// that have already been received maxRecv times are marked for the
// dead-letter queue instead and returned as moves. Called with q.mu held.
func (q *queue) take(now time.Time, max int, vis time.Duration, maxRecv int, sel selection) (out []Message, moves []*message) {
	if vis == 0 {
		// A zero visibility timeout leaves the messages visible: they are
		// received (counted, new handles) and ready again at once, not at
		// the timer goroutine's next turn.
		var taken []*message
		q.delivered = &taken
		defer func() {
			q.delivered = nil
			for _, m := range taken {
				if m.state == stInflight {
					q.makeReady(m)
				}
			}
		}()
	}
	if q.cfg.fifo {
		for len(out) < max {
			e, ok := q.groupQ.pop()
			if !ok {
				break
			}
			g := e.g
			if !g.queued || g.queuedKey != e.key {
				continue
			}
			g.queued = false
			if g.inflight > 0 || len(g.msgs) == 0 || g.msgs[0].key != e.key {
				q.checkGroup(g)
				continue
			}
			for _, m := range g.msgs {
				if len(out) >= max {
					break
				}
				if m.gone {
					continue
				}
				if m.state != stReady {
					break
				}
				if maxRecv > 0 && m.receives >= maxRecv {
					// The group stays locked until the move is done, so
					// that order holds.
					q.setState(m, stMoving)
					g.inflight++
					moves = append(moves, m)
					break
				}
				q.deliver(m, now, vis)
				g.inflight++
				out = append(out, q.view(m, sel))
			}
		}
		return out, moves
	}
	if n := min(max, q.nReady); n > 0 {
		out = make([]Message, 0, n)
	}
	for len(out) < max {
		e, ok := q.ready.pop()
		if !ok {
			break
		}
		m := e.m
		if m.gone || m.gen != e.gen || m.state != stReady {
			continue
		}
		if maxRecv > 0 && m.receives >= maxRecv {
			q.setState(m, stMoving)
			moves = append(moves, m)
			continue
		}
		q.deliver(m, now, vis)
		out = append(out, q.view(m, sel))
	}
	return out, moves
}

// deliver makes m in flight for vis under a fresh receive.
func (q *queue) deliver(m *message, now time.Time, vis time.Duration) {
	q.setState(m, stInflight)
	m.receives++
	if m.firstRecv.IsZero() {
		m.firstRecv = now
	}
	q.nonce++
	m.nonce = q.nonce
	q.setVisibleAt(m, now.Add(vis))
	if q.delivered != nil {
		*q.delivered = append(*q.delivered, m)
	}
}

// selection says which attributes a receive returns.
type selection struct {
	allAttrs  bool
	names     map[string]bool
	prefixes  []string
	allSys    bool
	sysNames  map[string]bool
	anyAttrs  bool
	anySystem bool
}

func newSelection(in *ReceiveInput) selection {
	var s selection
	for _, n := range in.AttributeNames {
		s.anyAttrs = true
		switch {
		case n == "All" || n == ".*":
			s.allAttrs = true
		case strings.HasSuffix(n, ".*"):
			s.prefixes = append(s.prefixes, strings.TrimSuffix(n, "*"))
		default:
			if s.names == nil {
				s.names = make(map[string]bool)
			}
			s.names[n] = true
		}
	}
	for _, n := range in.SystemAttributeNames {
		s.anySystem = true
		if n == "All" {
			s.allSys = true
			continue
		}
		if s.sysNames == nil {
			s.sysNames = make(map[string]bool)
		}
		s.sysNames[n] = true
	}
	return s
}

func (s *selection) attr(name string) bool {
	if s.allAttrs || s.names[name] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// view copies what a receiver sees of m. Called with q.mu held.
func (q *queue) view(m *message, sel selection) Message {
	out := Message{
		MessageID:                m.id,
		ReceiptHandle:            handle{inc: q.inc, key: m.key, nonce: m.nonce}.String(),
		Body:                     m.body,
		BodyMD5:                  m.bodyMD5,
		AllAttributes:            m.attrs,
		SentTimestamp:            m.sent,
		FirstReceiveTimestamp:    m.firstRecv,
		ReceiveCount:             m.receives,
		MessageGroupID:           m.group,
		DeduplicationID:          m.dedup,
		AWSTraceHeader:           m.trace,
		SenderID:                 m.sender,
		DeadLetterQueueSourceARN: m.dlqSource,
	}
	if q.cfg.fifo {
		out.SequenceNumber = seqNumber(m.key)
	}
	if sel.anyAttrs && len(m.attrs) > 0 {
		for name, a := range m.attrs {
			if sel.attr(name) {
				if out.Attributes == nil {
					out.Attributes = make(map[string]Attribute)
				}
				out.Attributes[name] = a
			}
		}
	}
	if sel.anySystem {
		sys := make(map[string]string)
		put := func(name, v string) {
			if v != "" && (sel.allSys || sel.sysNames[name]) {
				sys[name] = v
			}
		}
		put(SysApproximateReceiveCount, strconv.Itoa(m.receives))
		put(SysApproximateFirstReceiveTimestamp, strconv.FormatInt(m.firstRecv.UnixMilli(), 10))
		put(SysSentTimestamp, strconv.FormatInt(m.sent.UnixMilli(), 10))
		put(SysSenderID, m.sender)
		put(SysMessageGroupID, m.group)
		put(SysMessageDeduplicationID, m.dedup)
		put(SysSequenceNumber, out.SequenceNumber)
		put(SysAWSTraceHeader, m.trace)
		put(SysDeadLetterQueueSourceArn, m.dlqSource)
		if len(sys) > 0 {
			out.SystemAttributes = sys
		}
	}
	return out
}

// Counts reports the queue's message counts.
func (s *Service) Counts(ctx context.Context, name string) (Counts, error) {
	q, err := s.queue(name)
	if err != nil {
		return Counts{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.counts(), nil
}
