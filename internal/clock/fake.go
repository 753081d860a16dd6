package clock

import (
	"sort"
	"sync"
	"time"
)

// Fake is a manually advanced clock for tests. Timers and After channels
// fire when Advance (or Set) moves the time to or past their deadline.
// The zero value is not usable; call NewFake.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeTimer
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns a channel that receives the fake time once d has been advanced.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a timer that fires once the fake time reaches now+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.arm(f.now.Add(d))
	return t
}

// Advance moves the time forward by d and fires the timers that came due, in
// deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.set(f.now.Add(d))
	f.mu.Unlock()
}

// Set moves the time to t (never backwards) and fires the timers that came due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	if t.After(f.now) {
		f.set(t)
	}
	f.mu.Unlock()
}

// Waiters reports how many timers are armed: tests use it to know that the
// code under test is waiting before they advance the clock.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// BlockUntil waits (in real time) until at least n timers are armed.
func (f *Fake) BlockUntil(n int) {
	for f.Waiters() < n {
		time.Sleep(time.Millisecond)
	}
}

func (f *Fake) set(t time.Time) {
	f.now = t
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].when.Before(f.waiters[j].when) })
	keep := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.when.After(t) {
			w.armed = false
			select {
			case w.c <- t:
			default:
			}
			continue
		}
		keep = append(keep, w)
	}
	for i := len(keep); i < len(f.waiters); i++ {
		f.waiters[i] = nil
	}
	f.waiters = keep
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	when  time.Time
	armed bool
}

// arm is called with f.mu held.
func (t *fakeTimer) arm(when time.Time) {
	t.when = when
	if !when.After(t.f.now) {
		select {
		case t.c <- t.f.now:
		default:
		}
		return
	}
	t.armed = true
	t.f.waiters = append(t.f.waiters, t)
}

// disarm is called with f.mu held.
func (t *fakeTimer) disarm() bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, w := range t.f.waiters {
		if w == t {
			t.f.waiters = append(t.f.waiters[:i], t.f.waiters[i+1:]...)
			break
		}
	}
	return true
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.disarm()
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.disarm()
	t.arm(t.f.now.Add(d))
	return was
}
