package queue

// pq is a binary min-heap ordered by less. The engine's heaps hold
// entries that may have gone stale (a message deleted or re-scheduled
// since it was pushed); their consumers check each popped entry, which is
// cheaper than finding and removing entries on every change.
type pq[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *pq[T]) Len() int { return len(h.items) }

func (h *pq[T]) peek() (T, bool) {
	if len(h.items) == 0 {
		var zero T
		return zero, false
	}
	return h.items[0], true
}

func (h *pq[T]) push(v T) {
	h.items = append(h.items, v)
	i := len(h.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *pq[T]) pop() (T, bool) {
	var zero T
	n := len(h.items)
	if n == 0 {
		return zero, false
	}
	top := h.items[0]
	h.items[0] = h.items[n-1]
	h.items[n-1] = zero
	h.items = h.items[:n-1]
	n--
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h.less(h.items[l], h.items[m]) {
			m = l
		}
		if r < n && h.less(h.items[r], h.items[m]) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top, true
}

func keyLess(a, b mkey) bool {
	if a.seq != b.seq {
		return a.seq < b.seq
	}
	return a.idx < b.idx
}
