// Package engine fires schedule definitions (package schedule) on time,
// exactly as often as they are due, from whichever node holds the engine's
// store lease.
//
// # Leadership
//
// Every node may run an Engine; only the holder of the lease
// schedule.LeaseName (table "leases") fires. The others retry acquiring it
// every LeaseTTL/3. The holder renews it every LeaseTTL/3; when a renewal is
// refused (another node took it) or has failed for a whole TTL, the holder
// stops firing at once: everything it does runs under a context that the
// loss cancels. Each leadership term reads the definitions and the firing
// state afresh, so a node taking over resumes where the last holder's
// stored state ends.
//
// # Firing
//
// A term follows DefinitionsBucket with KV.Watch and keeps, for every
// enabled definition, its next occurrence in a min-heap ordered by due time
// (the occurrence plus, with a FlexibleWindow, a uniform random delay in
// [0, window], drawn once per occurrence). One loop waits on a clock timer
// for the earliest due time and hands everything due by then to the Target
// in one Fire call, ordered by scheduled time then key. A failed Fire is
// repeated with the same firings (same IDs and payloads) after a backoff that
// grows from 100 ms to 5 s; a batch is never skipped.
//
// # Firing state
//
// StateBucket holds, under each definition's key, the definition Revision
// the state belongs to, the last fired scheduled time, and Since: the time
// this revision's sequence started from. Occurrences strictly after
// max(last fired, Since) are due; nothing at or before the last fired one is
// ever fired again by a leader that has read the state. The state is written
// after Fire returns, for the whole batch at once with bounded concurrency,
// by compare-and-set on the revision this leader last read or wrote: a
// conflict means another node is firing, and ends the term. The writes
// survive the cancellation of the term (a graceful stop still records what
// it fired). A crash between Fire and the write fires those occurrences
// again on restart, with the same Firing.ID, so the target drops the repeat.
//
// Since is chosen when a sequence starts: for a definition without state,
// just before its Anchor when the Anchor is within CatchUp of now (a
// Scheduler schedule fires at its Anchor, a rule one period after it: see
// package expr), otherwise now; for a definition whose Revision changed, or
// that was enabled after being disabled, now. It is stored at once, so a
// restart before the first firing still fires what fell due meanwhile.
//
// # Catch-up after downtime
//
// When a term or a sequence starts, occurrences older than CatchUp are
// skipped with a log line, and of those within CatchUp of now at most
// MaxCatchUpPerSchedule (the latest) are fired, each as its own occurrence,
// one batch per round, in order. The age limit also applies when the loop
// falls behind (a target refusing batches for longer than CatchUp).
//
// # Bounds and completion
//
// StartDate is inclusive and EndDate exclusive (Scheduler: "after which" the
// schedule begins, "before which" it may invoke). Disabled definitions do
// not fire. When a definition has no occurrence left (an at() that fired, or
// EndDate reached) and DeleteAfterCompletion is set, OnComplete is called
// once its last firing is stored (AWS applies ActionAfterCompletion to any
// schedule that completes); a failed call is retried every 5 s, and at the
// start of every term.
//
// # Payloads
//
// A Scheduler schedule sends Target.Input verbatim with the placeholders
// <aws.scheduler.schedule-arn>, <aws.scheduler.scheduled-time> (RFC 3339,
// UTC, seconds), <aws.scheduler.execution-id> (the Firing.ID) and
// <aws.scheduler.attempt-number> ("1": retries belong to the target)
// substituted; without Input it sends "{}" (Scheduler requires an Input for
// templated targets; an empty object is what a handler can parse). A rule
// target sends its Input verbatim, or else the "Scheduled Event" envelope
// (version "0", id = the Firing.ID, account and region from the rule ARN).
// Firing.ID is a name-based UUID (SHA-1) of the ARN, TargetID and scheduled
// time, so it is a valid request id and the same for a repeated firing.
//
// # Time
//
// All scheduling time comes from the injected clock.Clock. Store calls
// are bounded by context timeouts, which are I/O deadlines, not schedule
// time. The lease's own expiry is kept by the store in wall time.
//
// # Concurrency
//
// Run's goroutine owns the heap, the entries and the stored state (no
// locks); a helper goroutine per term renews the lease and may only cancel
// the term's context. Stats are guarded by their own mutex.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/store"
)

// Defaults of Options.
const (
	DefaultLeaseTTL              = 10 * time.Second
	DefaultCatchUp               = 5 * time.Minute
	DefaultMaxCatchUpPerSchedule = 100
)

// LeaseTable is the store lease table the engine's lease lives in.
const LeaseTable = "leases"

const (
	// fireBackoffMin and fireBackoffMax bound the wait before a failed
	// batch is fired again.
	fireBackoffMin = 100 * time.Millisecond
	fireBackoffMax = 5 * time.Second
	// termBackoff is the pause before a new term after one ended in error
	// (store trouble), so a failing store is not hammered.
	termBackoff = time.Second
	// completeRetry is how often a failed OnComplete is retried.
	completeRetry = 5 * time.Second
	// storeTimeout bounds one store call (an I/O deadline).
	storeTimeout = 10 * time.Second
	// stateWriters bounds the concurrent state writes of one batch.
	stateWriters = 64
	// armSlack: if more time than this passed while a timer was being
	// armed, the timer may be late by as much, so the wait is recomputed.
	armSlack = time.Millisecond
)

// Options configure an Engine. Store and Target are required.
type Options struct {
	Store  store.Store
	Target schedule.Target
	// Clock is the source of all scheduling time (nil = the wall clock).
	Clock clock.Clock
	// Logger receives the engine's logs (nil = slog.Default()).
	Logger *slog.Logger
	// NodeID names this node as lease holder (empty = hostname plus a
	// random suffix). Two engines must not share one.
	NodeID string
	// LeaseTTL is how long the lease lasts unrenewed (default 10 s).
	LeaseTTL time.Duration
	// CatchUp is how far back missed occurrences are still fired after
	// downtime (default 5 min).
	CatchUp time.Duration
	// MaxCatchUpPerSchedule bounds the missed occurrences fired per
	// definition when catching up (default 100; the latest are kept).
	MaxCatchUpPerSchedule int
	// OnComplete is called for a definition with DeleteAfterCompletion once
	// it has no occurrence left and its last firing is stored (nil = none).
	// The service deletes the definition there.
	OnComplete func(ctx context.Context, d *schedule.Definition) error
}

// Engine fires the definitions of a store. Create it with New; Run it.
type Engine struct {
	st         store.Store
	target     schedule.Target
	clk        clock.Clock
	log        *slog.Logger
	nodeID     string
	ttl        time.Duration
	catchUp    time.Duration
	maxCatchUp int
	onComplete func(context.Context, *schedule.Definition) error

	running atomic.Bool
	stats   recorder

	// parked is set while Run's goroutine waits for time or a change, and
	// wakeAt is the clock time (UnixNano, 0 = none) its timer fires at:
	// tests use them to know that everything due by now has been fired.
	parked atomic.Bool
	wakeAt atomic.Int64
	// seen is the highest definitions-bucket revision applied.
	seen atomic.Uint64
}

// New checks opts and returns an Engine; nothing runs until Run.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("schedule engine: no store")
	}
	if opts.Target == nil {
		return nil, errors.New("schedule engine: no target")
	}
	if opts.LeaseTTL < 0 || opts.CatchUp < 0 || opts.MaxCatchUpPerSchedule < 0 {
		return nil, errors.New("schedule engine: negative LeaseTTL, CatchUp or MaxCatchUpPerSchedule")
	}
	e := &Engine{
		st:         opts.Store,
		target:     opts.Target,
		clk:        opts.Clock,
		log:        opts.Logger,
		nodeID:     opts.NodeID,
		ttl:        opts.LeaseTTL,
		catchUp:    opts.CatchUp,
		maxCatchUp: opts.MaxCatchUpPerSchedule,
		onComplete: opts.OnComplete,
	}
	if e.clk == nil {
		e.clk = clock.Real{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.nodeID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		e.nodeID = host + "-" + hex.EncodeToString(b[:])
	}
	if e.ttl == 0 {
		e.ttl = DefaultLeaseTTL
	}
	if e.catchUp == 0 {
		e.catchUp = DefaultCatchUp
	}
	if e.maxCatchUp == 0 {
		e.maxCatchUp = DefaultMaxCatchUpPerSchedule
	}
	e.log = e.log.With("component", "schedule-engine", "node", e.nodeID)
	return e, nil
}

// NodeID is the name this engine holds the lease under.
func (e *Engine) NodeID() string { return e.nodeID }

// Run fires schedules whenever this engine holds the lease, until ctx ends;
// it then releases the lease and returns nil. Store trouble does not end
// it: the term in progress ends, and the engine tries again.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("schedule engine: already running")
	}
	defer e.running.Store(false)
	var leases store.Leases
	for {
		var err error
		leases, err = e.st.Leases(ctx, LeaseTable)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("schedule engine: cannot open the lease table; retrying", "err", err)
		if e.sleep(ctx, termBackoff) != nil {
			return nil
		}
	}
	for {
		lease, err := e.acquire(ctx, leases)
		if err != nil {
			return nil // ctx ended
		}
		e.log.Info("schedule engine: leading")
		err = e.term(ctx, lease)
		if ctx.Err() != nil {
			return nil
		}
		e.log.Warn("schedule engine: term ended; will lead again when the lease allows", "err", err)
		if e.sleep(ctx, termBackoff) != nil {
			return nil
		}
	}
}

// acquire waits until this node holds the lease, or ctx ends.
func (e *Engine) acquire(ctx context.Context, leases store.Leases) (store.Lease, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, storeTimeout)
		l, err := leases.Acquire(actx, schedule.LeaseName, e.nodeID, e.ttl)
		cancel()
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, store.ErrHeld) {
			e.log.Warn("schedule engine: cannot acquire the lease", "err", err)
		}
		if err := e.sleep(ctx, e.ttl/3); err != nil {
			return nil, err
		}
	}
}

// term fires for one tenure of the lease: it returns when ctx ends, the
// lease is lost, or the store fails; the lease is released then.
func (e *Engine) term(ctx context.Context, lease store.Lease) error {
	tctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { e.keepLease(tctx, lease, cancel) })
	err := e.lead(tctx)
	cancel(nil)
	wg.Wait()
	if cause := context.Cause(tctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // the lease was lost: that is why lead stopped
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer rcancel()
	if rerr := lease.Release(rctx); rerr != nil {
		e.log.Warn("schedule engine: cannot release the lease; it will lapse", "err", rerr)
	}
	return err
}

// errLeaseLost cancels a term whose lease another node now holds.
var errLeaseLost = errors.New("schedule engine: lease lost")

// keepLease renews the lease every TTL/3 until ctx ends, and cancels the
// term (lost) once the lease is taken by another node or has gone a whole
// TTL without a renewal. No attempt outlasts the TTL, so this node stops
// firing about when another may acquire the lapsed lease.
func (e *Engine) keepLease(ctx context.Context, lease store.Lease, lost context.CancelCauseFunc) {
	every := e.ttl / 3
	validUntil := e.clk.Now().Add(e.ttl)
	t := e.clk.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		start := e.clk.Now()
		timeout := every
		if left := validUntil.Sub(start); left > 0 {
			timeout = min(every, left)
		} // else this goroutine did not run for a while (a paused process, a
		// fake clock's jump): a renewal can still succeed if nobody took over.
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err := lease.Renew(rctx)
		cancel()
		switch {
		case err == nil:
			validUntil = start.Add(e.ttl)
			t.Reset(every)
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrHeld):
			e.log.Warn("schedule engine: lease taken by another node; stopping", "err", err)
			lost(fmt.Errorf("%w: %w", errLeaseLost, err))
			return
		case !e.clk.Now().Before(validUntil):
			e.log.Warn("schedule engine: lease not renewed within its TTL; stopping", "err", err)
			lost(fmt.Errorf("%w: not renewed within %s: %w", errLeaseLost, e.ttl, err))
			return
		default:
			e.log.Warn("schedule engine: cannot renew the lease; retrying", "err", err)
			t.Reset(max(0, min(every, time.Second, validUntil.Sub(e.clk.Now()))))
		}
	}
}

// sleep waits d on the engine's clock, or until ctx ends.
func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	t, wake := e.arm(d)
	defer t.Stop()
	e.park(wake)
	defer e.unpark()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// arm starts a timer for d and returns it with its deadline. Time that
// passes while the timer is armed would make the deadline late (the clock
// counts d from when the timer is made), so arm measures it and, past
// armSlack, makes the timer again.
func (e *Engine) arm(d time.Duration) (clock.Timer, time.Time) {
	for {
		now0 := e.clk.Now()
		t := e.clk.NewTimer(d)
		if e.clk.Now().Sub(now0) <= armSlack {
			return t, now0.Add(d)
		}
		t.Stop()
	}
}

func (e *Engine) park(wake time.Time) {
	if wake.IsZero() {
		e.wakeAt.Store(0)
	} else {
		e.wakeAt.Store(wake.UnixNano())
	}
	e.parked.Store(true)
}

func (e *Engine) unpark() { e.parked.Store(false) }
