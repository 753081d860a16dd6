package esm

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/pattern"
	"github.com/lamina-dev/lamina/internal/queue"
)

// LastProcessingResult values, as Lambda reports them.
const (
	resultNone     = "No records processed"
	resultOK       = "OK"
	resultFailed   = "PROBLEM: Function call failed"
	resultNotFound = "PROBLEM: Function not found"
)

// runner runs one mapping's pollers on this node. Pollers are goroutines
// that each collect a batch, invoke the function and delete what it
// processed, one batch at a time: so the mapping's in-flight invocations
// are at most its pollers, and active never exceeds max.
//
// Scaling: a runner starts InitialPollers pollers; a poller whose batch
// came back full (a backlog) adds one more, up to max, so the count grows
// geometrically while the backlog lasts; a poller whose long poll found
// nothing, or whose invocation was throttled, leaves unless it is the
// last one.
type runner struct {
	s       *Service
	def     *definition
	rev     uint64
	max     int
	filters []*pattern.Pattern

	// ctx ends when the mapping is stopped: pollers stop receiving then,
	// but finish the batch they hold (with the service's context).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	active atomic.Int32
	result atomic.Pointer[string]

	// queue facts, read by the first poller (under setupMu until ready).
	setupMu    sync.Mutex
	ready      bool
	queueName  string
	visibility time.Duration
}

func newRunner(s *Service, d *definition, rev uint64, result string) *runner {
	r := &runner{s: s, def: d, rev: rev, max: d.MaximumConcurrency}
	if r.max <= 0 {
		r.max = s.opts.DefaultMaxConcurrency
	}
	for _, f := range d.Filters {
		// Validated when stored; a pattern that no longer compiles (a
		// stricter release) matches nothing rather than everything.
		p, err := pattern.Compile([]byte(f.Pattern), pattern.Options{Dialect: pattern.LambdaFilter})
		if err != nil {
			s.log.Error("mapping filter does not compile; it matches nothing", "uuid", d.UUID, "err", err)
			p = nil
		}
		r.filters = append(r.filters, p)
	}
	r.ctx, r.cancel = context.WithCancel(s.ctx)
	r.setResult(result)
	return r
}

func (r *runner) lastResult() string { return *r.result.Load() }

func (r *runner) setResult(v string) {
	if cur := r.result.Load(); cur == nil || *cur != v {
		r.result.Store(&v)
	}
}

// start launches the initial pollers.
func (r *runner) start() {
	n := min(r.s.opts.InitialPollers, r.max)
	for i := 0; i < n; i++ {
		r.active.Add(1)
		r.wg.Add(1)
		go r.poll()
	}
}

// stop asks the pollers to stop without waiting for them: a poller that
// holds a batch finishes it first.
func (r *runner) stop() { r.cancel() }

func (r *runner) wait() { r.wg.Wait() }

// grow adds a poller unless max are running.
func (r *runner) grow() {
	for {
		n := r.active.Load()
		if int(n) >= r.max || r.ctx.Err() != nil {
			return
		}
		if r.active.CompareAndSwap(n, n+1) {
			r.wg.Add(1)
			go r.poll()
			return
		}
	}
}

// leave lets a poller exit when it is not the last one.
func (r *runner) leave() bool {
	for {
		n := r.active.Load()
		if n <= 1 {
			return false
		}
		if r.active.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// readQueue resolves the queue's name and visibility timeout once per
// runner.
func (r *runner) readQueue() error {
	r.setupMu.Lock()
	defer r.setupMu.Unlock()
	if r.ready {
		return nil
	}
	q := r.s.opts.Queues
	name, err := q.NameFromARN(r.def.EventSourceARN)
	if err != nil {
		return err
	}
	attrs, err := q.GetAttributes(r.ctx, name, []string{queue.AttrVisibilityTimeout})
	if err != nil {
		return err
	}
	r.queueName = name
	r.visibility = queue.DefaultVisibilityTimeout
	if secs, err := strconv.Atoi(attrs[queue.AttrVisibilityTimeout]); err == nil && secs >= 0 {
		r.visibility = time.Duration(secs) * time.Second
	}
	r.ready = true
	return nil
}

// poll is one poller's loop.
func (r *runner) poll() {
	defer r.wg.Done()
	delay := r.s.opts.RetryDelay
	backoff := func() bool {
		select {
		case <-r.s.clock.After(delay):
		case <-r.ctx.Done():
		}
		delay = min(2*delay, r.s.opts.MaxRetryDelay)
		return r.ctx.Err() == nil
	}
	if err := r.readQueue(); err != nil {
		// The queue is gone or unreadable: try again later (a new runner
		// starts when the mapping changes).
		r.s.log.Warn("mapping cannot read its queue", "uuid", r.def.UUID, "queue", r.def.EventSourceARN, "err", err)
		for backoff() {
			if err := r.readQueue(); err == nil {
				break
			}
		}
	}
	for r.ctx.Err() == nil {
		msgs, err := r.collect()
		if err != nil && len(msgs) == 0 {
			if r.ctx.Err() != nil {
				break
			}
			r.s.log.Warn("receiving from the queue failed", "uuid", r.def.UUID, "queue", r.queueName, "err", err)
			if !backoff() {
				break
			}
			continue
		}
		if len(msgs) == 0 {
			if r.leave() {
				return
			}
			continue
		}
		if len(msgs) >= r.def.BatchSize {
			r.grow()
		}
		switch r.process(msgs) {
		case outcomeOK:
			delay = r.s.opts.RetryDelay
		case outcomeThrottled:
			if r.leave() {
				return
			}
			if !backoff() {
				break
			}
		case outcomeError:
			if !backoff() {
				break
			}
		}
	}
	r.active.Add(-1)
}
