package invoke

import (
	"sync"
	"sync/atomic"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Throttling reasons (the Reason of Lambda's TooManyRequestsException).
const (
	ReasonReserved = "ReservedFunctionConcurrentInvocationLimitExceeded"
	ReasonCapacity = "ConcurrentInvocationLimitExceeded"
)

// The throttling errors, made once: they are returned, never modified.
var (
	errThrottledReserved = &fault.Error{Kind: fault.Throttled, Message: "Rate Exceeded.", Reason: ReasonReserved}
	errThrottledCapacity = &fault.Error{Kind: fault.Throttled, Message: "Rate Exceeded.", Reason: ReasonCapacity}
)

// limiter enforces the node's concurrency.
//
// Invariants:
//   - A function with reserved concurrency R runs at most R invocations at
//     once, counted in its fnState.reservedInUse (R = 0: always throttled).
//   - All other functions together run at most capacity − Σ reserved,
//     counted in unreservedInUse.
//   - acquire returns the counter it incremented and the caller decrements
//     that same counter when the invocation ends (deferred, so failures and
//     panics release too), even if the reservation changed meanwhile.
//
// The invocation path only touches atomics; mu guards the reservations
// table, written when the registry reports a change.
type limiter struct {
	capacity        int64
	unreservedLimit atomic.Int64
	unreservedInUse atomic.Int64
	// syncReserve is the part of the unreserved share that background
	// (asynchronous) invocations may not take, so sync callers always find room.
	syncReserve int64

	mu       sync.Mutex
	reserved map[string]int64
	total    int64
}

func (l *limiter) init(capacity, syncReserve int64) {
	l.capacity = capacity
	l.syncReserve = syncReserve
	l.reserved = map[string]int64{}
	l.unreservedLimit.Store(capacity)
}

// setReserved records function name's reservation (nil = none).
func (l *limiter) setReserved(name string, r *int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total -= l.reserved[name]
	delete(l.reserved, name)
	if r != nil {
		l.reserved[name] = int64(*r)
		l.total += int64(*r)
	}
	l.unreservedLimit.Store(l.capacity - l.total)
}

// acquire takes one unit of concurrency for an invocation of a function
// with reservation reserved (nil = none), or returns fault.Throttled. A
// background invocation may not use the last syncReserve units of the
// unreserved share (a function's own reservation it may use in full).
func (l *limiter) acquire(st *fnState, reserved *int, background bool) (*atomic.Int64, error) {
	if reserved != nil {
		c := &st.reservedInUse
		if c.Add(1) > int64(*reserved) {
			c.Add(-1)
			return nil, errThrottledReserved
		}
		return c, nil
	}
	c := &l.unreservedInUse
	limit := l.unreservedLimit.Load()
	if background {
		limit -= l.syncReserve
	}
	if c.Add(1) > limit {
		c.Add(-1)
		return nil, errThrottledCapacity
	}
	return c, nil
}

// InUse reports the invocations running now: against the unreserved share,
// and against function name's reservation.
func (s *Service) InUse(name string) (unreserved, reserved int) {
	reserved = 0
	if v, ok := s.states.Load(name); ok {
		reserved = int(v.(*fnState).reservedInUse.Load())
	}
	return int(s.limits.unreservedInUse.Load()), reserved
}
