package queue

import "time"

// mheap is a min-heap of messages that knows each message's position, so
// that a message leaves it at once when deleted or rescheduled: with
// visibility timeouts of hours and retention of days, lazily dropped
// entries would pile up at high throughput.
type mheap struct {
	items []*message
	less  func(a, b *message) bool
	pos   func(m *message) *int // -1 when absent
}

func (h *mheap) Len() int { return len(h.items) }

func (h *mheap) top() *message {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *mheap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	*h.pos(h.items[i]) = i
	*h.pos(h.items[j]) = j
}

func (h *mheap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h *mheap) down(i int) {
	n := len(h.items)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < n && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			return
		}
		h.swap(i, m)
		i = m
	}
}

// set adds m or, when present, restores order after its key changed.
func (h *mheap) set(m *message) {
	p := h.pos(m)
	if *p >= 0 {
		h.up(*p)
		h.down(*p)
		return
	}
	*p = len(h.items)
	h.items = append(h.items, m)
	h.up(*p)
}

func (h *mheap) remove(m *message) {
	p := h.pos(m)
	i := *p
	if i < 0 {
		return
	}
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	*p = -1
	if i != last {
		h.up(i)
		h.down(i)
	}
}

// The methods below are called with q.mu held.

// setVisibleAt schedules m (delayed or in flight) to become ready at at.
func (q *queue) setVisibleAt(m *message, at time.Time) {
	m.visibleAt = at
	q.visible.set(m)
	q.kickTimer(at)
}

// kickTimer wakes the timer goroutine when at is earlier than its armed
// deadline.
func (q *queue) kickTimer(at time.Time) {
	if q.armed.IsZero() || at.Before(q.armed) {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// nextDeadline is when the timer goroutine must next act (ok false: no
// deadline).
func (q *queue) nextDeadline() (time.Time, bool) {
	var next time.Time
	ok := false
	if m := q.visible.top(); m != nil {
		next, ok = m.visibleAt, true
	}
	if m := q.retained.top(); m != nil {
		if exp := m.sent.Add(q.cfg.retention); !ok || exp.Before(next) {
			next, ok = exp, true
		}
	}
	return next, ok
}

// fireDue applies the delay, visibility and retention expiries due at now.
func (q *queue) fireDue(now time.Time) {
	for {
		m := q.visible.top()
		if m == nil || m.visibleAt.After(now) {
			break
		}
		q.visible.remove(m)
		if m.state == stDelayed || m.state == stInflight {
			q.makeReady(m)
		}
	}
	expired := false
	for {
		m := q.retained.top()
		if m == nil || m.sent.Add(q.cfg.retention).After(now) {
			break
		}
		q.remove(m)
		expired = true
	}
	if expired {
		q.svc.kickCompactor()
	}
}
