package queue

import "time"

// attemptWindow is how long a FIFO ReceiveRequestAttemptId replays its
// receive, as in SQS.
const attemptWindow = 5 * time.Minute

// attempt remembers the messages one FIFO receive handed out, so that a
// retry of it (same ReceiveRequestAttemptId, for instance after a network
// error) gets the same messages and receipt handles instead of finding
// their groups locked.
type attempt struct {
	handles []handle
	exp     time.Time
}

func (q *queue) rememberAttempt(id string, out []Message, now time.Time) {
	a := attempt{exp: now.Add(attemptWindow), handles: make([]handle, 0, len(out))}
	for _, m := range out {
		if h, ok := parseHandle(m.ReceiptHandle); ok {
			a.handles = append(a.handles, h)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.attempts == nil {
		q.attempts = make(map[string]attempt)
	}
	for k, old := range q.attempts {
		if !old.exp.After(now) {
			delete(q.attempts, k)
		}
	}
	q.attempts[id] = a
}

// retryAttempt returns the messages of an earlier receive with the same
// attempt id while they are still in flight under that receive; ok is
// false when there is no such receive (the caller then receives anew).
func (q *queue) retryAttempt(id string, now time.Time, sel selection) ([]Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	a, found := q.attempts[id]
	if !found || !a.exp.After(now) {
		return nil, false
	}
	var out []Message
	for _, h := range a.handles {
		m := q.msgs[h.key]
		if m == nil || m.nonce != h.nonce || m.state != stInflight {
			continue
		}
		out = append(out, q.view(m, sel))
	}
	if len(out) == 0 {
		delete(q.attempts, id)
		return nil, false
	}
	return out, true
}
