package engine

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/schedule/expr"
	"github.com/lamina-dev/lamina/internal/store"
)

// state is a definition's firing state, stored in StateBucket under the
// definition's key.
type state struct {
	// Revision is the definition Revision this state belongs to.
	Revision int64 `json:"revision"`
	// LastFired is the scheduled time of the last occurrence fired (zero:
	// none yet).
	LastFired time.Time `json:"lastFired,omitzero"`
	// Since is where this revision's sequence starts: only occurrences
	// strictly after it are due.
	Since time.Time `json:"since,omitzero"`
}

// cursor is the time after which the next occurrence is due.
func (s state) cursor() time.Time {
	if s.LastFired.After(s.Since) {
		return s.LastFired
	}
	return s.Since
}

// entry is the engine's view of one definition during a term.
type entry struct {
	key string
	def *schedule.Definition
	ex  expr.Expression

	st    state
	stRev uint64 // revision of the stored state (0 = none stored)
	dirty bool   // st differs from the stored state

	// next is the next occurrence to fire; due is when (next plus the
	// flexible delay); firing is built ahead, so that at the due time only
	// the hand-over remains. Valid while queued (idx >= 0).
	next, due time.Time
	firing    schedule.Firing
	idx       int
	// completed: OnComplete has been called successfully this term;
	// completeAt: when to call it (again).
	completed  bool
	completeAt time.Time
}

// queue is a min-heap of entries by due time.
type queue []*entry

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if c := q[i].due.Compare(q[j].due); c != 0 {
		return c < 0
	}
	return q[i].key < q[j].key
}
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}
func (q *queue) Push(x any) {
	en := x.(*entry)
	en.idx = len(*q)
	*q = append(*q, en)
}
func (q *queue) Pop() any {
	old := *q
	en := old[len(old)-1]
	old[len(old)-1] = nil
	en.idx = -1
	*q = old[:len(old)-1]
	return en
}

// runner is one term's state; only the term's goroutine touches it.
type runner struct {
	e       *Engine
	clk     clock.Clock
	states  store.KV
	entries map[string]*entry
	q       queue
	// completing are finished entries awaiting OnComplete.
	completing []*entry
	// dirty are the entries whose state flush is to store.
	dirty []*entry
	locs  map[string]*time.Location
}

// lead runs one term: it loads the definitions and their state, then fires
// until ctx ends or the store fails.
func (e *Engine) lead(ctx context.Context) error {
	defs, err := e.st.KV(ctx, schedule.DefinitionsBucket)
	if err != nil {
		return fmt.Errorf("schedule engine: open definitions: %w", err)
	}
	states, err := e.st.KV(ctx, schedule.StateBucket)
	if err != nil {
		return fmt.Errorf("schedule engine: open state: %w", err)
	}
	events, err := defs.Watch(ctx, "")
	if err != nil {
		return fmt.Errorf("schedule engine: watch definitions: %w", err)
	}
	initial := map[string]store.Entry{}
	var maxRev uint64
initialLoop:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-events:
			switch {
			case !ok:
				return errors.New("schedule engine: definitions watch ended before its initial values")
			case ev.InitialDone:
				break initialLoop
			case ev.Deleted:
				delete(initial, ev.Key)
			default:
				initial[ev.Key] = ev.Entry
			}
			maxRev = max(maxRev, ev.Revision)
		}
	}
	lctx, cancel := context.WithTimeout(ctx, storeTimeout)
	stored, err := states.List(lctx, "")
	cancel()
	if err != nil {
		return fmt.Errorf("schedule engine: read state: %w", err)
	}

	r := &runner{e: e, clk: e.clk, states: states, entries: map[string]*entry{}, locs: map[string]*time.Location{}}
	now := e.clk.Now()
	for _, se := range stored {
		if _, ok := initial[se.Key]; !ok {
			// The definition went while no engine watched: drop its state.
			r.dropState(ctx, se.Key, se.Revision)
		}
	}
	storedBy := make(map[string]store.Entry, len(stored))
	for _, se := range stored {
		storedBy[se.Key] = se
	}
	for key, de := range initial {
		d, ex, err := r.decode(key, de.Value)
		if err != nil {
			e.log.Error("schedule engine: ignoring a definition", "key", key, "err", err)
			continue
		}
		en := &entry{key: key, def: d, ex: ex, idx: -1}
		if se, ok := storedBy[key]; ok {
			en.stRev = se.Revision
			if err := json.Unmarshal(se.Value, &en.st); err != nil {
				e.log.Warn("schedule engine: unreadable firing state; starting afresh from now", "key", key, "err", err)
				en.st = state{Revision: d.Revision, Since: now}
				r.markDirty(en)
			} else if en.st.Revision != d.Revision {
				// Changed while no engine watched: a new sequence from now.
				en.st = state{Revision: d.Revision, LastFired: en.st.LastFired, Since: now}
				r.markDirty(en)
			}
		} else {
			en.st = state{Revision: d.Revision, Since: r.firstSince(d, now)}
			if d.Enabled {
				r.markDirty(en)
			}
		}
		r.entries[key] = en
		if d.Enabled {
			r.plan(en, now, true)
		}
	}
	e.seen.Store(maxRev)
	if err := r.flush(ctx); err != nil {
		return err
	}
	e.stats.setLeading(true, len(r.entries), len(r.q))
	defer e.stats.setLeading(false, 0, 0)
	return r.loop(ctx, events)
}

// firstSince is where a definition never fired before starts: at its
// Anchor if that is recent enough to be caught up, else now.
func (r *runner) firstSince(d *schedule.Definition, now time.Time) time.Time {
	a := d.Anchor
	if a.IsZero() || a.Before(now.Add(-r.e.catchUp)) {
		return now
	}
	if d.Kind != schedule.KindRule {
		// Scheduler fires at the Anchor itself; a rule one period after
		// (package expr).
		a = a.Add(-time.Nanosecond)
	}
	return a
}

// decode reads and parses one stored definition.
func (r *runner) decode(key string, value []byte) (*schedule.Definition, expr.Expression, error) {
	d := new(schedule.Definition)
	if err := json.Unmarshal(value, d); err != nil {
		return nil, nil, fmt.Errorf("decode %q: %w", key, err)
	}
	loc := time.UTC
	if d.Timezone != "" {
		var ok bool
		if loc, ok = r.locs[d.Timezone]; !ok {
			l, err := time.LoadLocation(d.Timezone)
			if err != nil {
				return nil, nil, fmt.Errorf("definition %q: time zone: %w", key, err)
			}
			r.locs[d.Timezone], loc = l, l
		}
	}
	ex, err := expr.Parse(d.Expression, expr.ParseOptions{
		Location: loc, Anchor: d.Anchor,
		// The service decided what each kind may use; accept what it stored.
		AllowSeconds: true, AllowAt: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("definition %q: %w", key, err)
	}
	return d, ex, nil
}

// plan computes en's next occurrence after its cursor and queues it, or
// marks it finished. With bound, missed occurrences are limited to
// MaxCatchUpPerSchedule (at the start of a sequence or a term; afterwards
// the loop keeps up, and bounding on every firing would cost a scan of the
// backlog each time).
func (r *runner) plan(en *entry, now time.Time, bound bool) {
	d := en.def
	after := en.st.cursor()
	if !d.StartDate.IsZero() && after.Before(d.StartDate) {
		after = d.StartDate.Add(-time.Nanosecond) // StartDate itself may fire
	}
	next, ok := en.ex.Next(after)
	if floor := now.Add(-r.e.catchUp); ok && next.Before(floor) && r.inRange(d, next) {
		r.e.log.Warn("schedule engine: skipping occurrences missed beyond the catch-up window",
			"key", en.key, "from", next, "before", floor, "catchUp", r.e.catchUp)
		r.e.stats.skip()
		next, ok = en.ex.Next(floor.Add(-time.Nanosecond))
	}
	if bound && ok && !next.After(now) {
		maxN := r.e.maxCatchUp
		var occ []time.Time
		trimmed := false
		for t, more := next, true; more && !t.After(now) && r.inRange(d, t); t, more = en.ex.Next(t) {
			occ = append(occ, t)
			if len(occ) > 2*maxN {
				occ = append(occ[:0], occ[len(occ)-maxN:]...)
				trimmed = true
			}
		}
		if len(occ) > maxN {
			occ = occ[len(occ)-maxN:]
			trimmed = true
		}
		if trimmed {
			r.e.log.Warn("schedule engine: too many missed occurrences; firing only the latest",
				"key", en.key, "from", next, "firstFired", occ[0], "max", maxN)
			r.e.stats.skip()
			next = occ[0]
		}
	}
	if !ok || !d.EndDate.IsZero() && !next.Before(d.EndDate) {
		r.finished(en)
		return
	}
	en.next, en.due = next, next
	en.firing = newFiring(d, next)
	if w := d.FlexibleWindow; w > 0 {
		en.due = next.Add(time.Duration(rand.Int64N(int64(w) + 1)))
	}
	heap.Push(&r.q, en)
}

// inRange reports whether t is within d's EndDate.
func (r *runner) inRange(d *schedule.Definition, t time.Time) bool {
	return d.EndDate.IsZero() || t.Before(d.EndDate)
}

// finished notes that en has no occurrence left.
func (r *runner) finished(en *entry) {
	if en.def.DeleteAfterCompletion && !en.completed && r.e.onComplete != nil && !slices.Contains(r.completing, en) {
		en.completeAt = time.Time{}
		r.completing = append(r.completing, en)
	}
}

func (r *runner) dequeue(en *entry) {
	if en.idx >= 0 {
		heap.Remove(&r.q, en.idx)
	}
	r.completing = slices.DeleteFunc(r.completing, func(c *entry) bool { return c == en })
}

// loop fires what is due and follows the definitions until ctx ends.
func (r *runner) loop(ctx context.Context, events <-chan store.WatchEvent) error {
	e := r.e
	for {
		if err := r.fireDue(ctx); err != nil {
			return err
		}
		r.complete(ctx)
		// Wait for the earliest due time (or completion retry), or a change.
		now0 := r.clk.Now()
		var wake time.Time
		if len(r.q) > 0 {
			wake = r.q[0].due
		}
		for _, en := range r.completing {
			if wake.IsZero() || en.completeAt.Before(wake) {
				wake = en.completeAt
			}
		}
		var t clock.Timer
		var tc <-chan time.Time
		if !wake.IsZero() {
			wait := wake.Sub(now0)
			if wait <= 0 {
				continue
			}
			t, wake = e.arm(wait)
			tc = t.C()
		}
		e.stats.setLeading(true, len(r.entries), len(r.q))
		e.park(wake)
		select {
		case <-ctx.Done():
		case <-tc:
		case ev, ok := <-events:
			e.unpark()
			if t != nil {
				t.Stop()
			}
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("schedule engine: definitions watch ended")
			}
			if err := r.apply(ctx, ev, events); err != nil {
				return err
			}
			continue
		}
		e.unpark()
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// maxEventsPerWake bounds the changes applied before firing is looked at
// again, so a flood of updates cannot hold up due firings for long.
const maxEventsPerWake = 256

// apply applies ev and the changes already waiting behind it, then stores
// the state they changed.
func (r *runner) apply(ctx context.Context, ev store.WatchEvent, events <-chan store.WatchEvent) error {
	r.applyOne(ctx, ev)
more:
	for range maxEventsPerWake {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("schedule engine: definitions watch ended")
			}
			r.applyOne(ctx, ev)
		default:
			break more
		}
	}
	return r.flush(ctx)
}

func (r *runner) applyOne(ctx context.Context, ev store.WatchEvent) {
	defer func() {
		if ev.Revision > r.e.seen.Load() {
			r.e.seen.Store(ev.Revision)
		}
	}()
	if ev.InitialDone {
		return
	}
	now := r.clk.Now()
	old := r.entries[ev.Key]
	if ev.Deleted {
		if old != nil {
			r.dequeue(old)
			delete(r.entries, ev.Key)
		}
		r.dropState(ctx, ev.Key, 0)
		return
	}
	d, ex, err := r.decode(ev.Key, ev.Value)
	if err != nil {
		r.e.log.Error("schedule engine: ignoring a definition", "key", ev.Key, "err", err)
		if old != nil {
			r.dequeue(old)
			delete(r.entries, ev.Key)
		}
		return
	}
	en := old
	switch {
	case en == nil:
		en = &entry{key: ev.Key, idx: -1, st: state{Revision: d.Revision, Since: r.firstSince(d, now)}}
		r.entries[ev.Key] = en
		if d.Enabled {
			r.markDirty(en)
		}
	case d.Revision != en.def.Revision || d.Enabled && !en.def.Enabled:
		// A new sequence: edited, or resumed after being disabled (AWS
		// does not fire what fell due while a schedule was disabled).
		r.dequeue(en)
		en.st = state{Revision: d.Revision, LastFired: en.st.LastFired, Since: now}
		en.completed = false
		r.markDirty(en)
	default:
		r.dequeue(en)
	}
	en.def, en.ex = d, ex
	if d.Enabled {
		r.plan(en, now, true)
	}
}

func (r *runner) markDirty(en *entry) {
	if !en.dirty {
		en.dirty = true
		r.dirty = append(r.dirty, en)
	}
}

// dropState deletes the firing state of a definition that is gone; rev
// guards against deleting state a definition of the same key wrote since
// (0 = unconditionally). Failures only leave a stale record, which the next
// term removes.
func (r *runner) dropState(ctx context.Context, key string, rev uint64) {
	dctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := r.states.Delete(dctx, key, rev); err != nil && ctx.Err() == nil {
		r.e.log.Warn("schedule engine: cannot delete firing state", "key", key, "err", err)
	}
}

// fireDue fires, batch after batch, everything due by now.
func (r *runner) fireDue(ctx context.Context) error {
	for {
		now := r.clk.Now()
		var batch []*entry
		for len(r.q) > 0 && !r.q[0].due.After(now) {
			batch = append(batch, heap.Pop(&r.q).(*entry))
		}
		if len(batch) == 0 {
			return nil
		}
		slices.SortFunc(batch, func(a, b *entry) int {
			if c := a.next.Compare(b.next); c != 0 {
				return c
			}
			return cmp.Compare(a.key, b.key)
		})
		firings := make([]schedule.Firing, len(batch))
		for i, en := range batch {
			firings[i] = en.firing
		}
		at, err := r.fire(ctx, firings)
		if err != nil {
			return err
		}
		r.e.stats.fired(batch, at)
		for _, en := range batch {
			en.st.LastFired = en.next
			r.markDirty(en)
		}
		if err := r.flush(ctx); err != nil {
			return err
		}
		now = r.clk.Now()
		for _, en := range batch {
			r.plan(en, now, false)
		}
	}
}

// fire hands firings to the target until it accepts them or ctx ends, and
// returns when the accepted attempt started.
func (r *runner) fire(ctx context.Context, firings []schedule.Firing) (time.Time, error) {
	backoff := fireBackoffMin
	for {
		at := r.clk.Now()
		err := r.e.target.Fire(ctx, firings)
		if err == nil {
			return at, nil
		}
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		r.e.stats.fireError()
		r.e.log.Warn("schedule engine: target refused a batch; firing it again",
			"firings", len(firings), "in", backoff, "err", err)
		if err := r.e.sleep(ctx, backoff); err != nil {
			return time.Time{}, err
		}
		backoff = min(2*backoff, fireBackoffMax)
	}
}

// flush stores the state of every dirty entry, concurrently. The writes
// outlive ctx's cancellation (so a stop records what was fired) but not
// a store timeout; any failure ends the term, whose successor reloads.
func (r *runner) flush(ctx context.Context) error {
	// Entries deleted since they were marked have no state to keep.
	dirty := slices.DeleteFunc(r.dirty, func(en *entry) bool { return r.entries[en.key] != en })
	r.dirty = nil
	if len(dirty) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, stateWriters)
	)
	for _, en := range dirty {
		b, err := json.Marshal(en.st)
		if err != nil {
			return fmt.Errorf("schedule engine: encode state of %q: %w", en.key, err)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var rev uint64
			var err error
			if en.stRev == 0 {
				rev, err = r.states.Create(wctx, en.key, b)
			} else {
				rev, err = r.states.Update(wctx, en.key, b, en.stRev)
			}
			if err != nil {
				if errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict) {
					err = fmt.Errorf("%w: state of %q written by another node: %w", errLeaseLost, en.key, err)
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			en.stRev, en.dirty = rev, false
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		r.e.stats.stateError(len(errs))
		return fmt.Errorf("schedule engine: store firing state (%d of %d failed): %w", len(errs), len(dirty), errors.Join(errs...))
	}
	return nil
}

// complete calls OnComplete for the finished entries whose time has come.
func (r *runner) complete(ctx context.Context) {
	if len(r.completing) == 0 {
		return
	}
	now := r.clk.Now()
	keep := r.completing[:0]
	for _, en := range r.completing {
		if now.Before(en.completeAt) || ctx.Err() != nil {
			keep = append(keep, en)
			continue
		}
		if err := r.e.onComplete(ctx, en.def); err != nil {
			if ctx.Err() == nil {
				r.e.log.Warn("schedule engine: after-completion action failed; retrying", "key", en.key, "in", completeRetry, "err", err)
			}
			en.completeAt = now.Add(completeRetry)
			keep = append(keep, en)
			continue
		}
		en.completed = true
	}
	clear(r.completing[len(keep):])
	r.completing = keep
}
