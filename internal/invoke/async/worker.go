package async

// How events flow through a node
//
// One fetch loop pulls messages from the durable consumer in batches. It
// keeps at most 2 × Workers events "busy" (running, or fetched and waiting
// for a worker slot): the second half is a prefetch, so that batches stay
// large under load while idle workers never wait for a fetch round trip.
// Each fetched event is decoded once:
//
//   - due now: a goroutine takes a worker slot (Workers of them) and runs it;
//   - due later (a retry's NotBefore, at most holdLimit away): the hold
//     queue keeps it, on a timer of the injected clock, and releases it to
//     a worker when due — a held event occupies no worker;
//   - due further away: it is Nak'd with a delay, so JetStream's own timer
//     brings it back (it is then held for the rest of its wait).
//
// Every fetched, unsettled message is in the live set, and the heartbeat
// marks them all in progress every heartbeatEvery, well inside the
// consumer's AckWait: invocations may run for 15 minutes and more, and held
// events wait for minutes. The heartbeat runs on the real clock, whatever
// Options.Clock is, because AckWait is kept by the store on the wall clock.
//
// Held messages count against the consumer's MaxAckPending (MaxHeld +
// 2 × Workers): past MaxHeld held events the store stops handing out new
// ones until some are settled.
//
// A state change (a retry) is a new message published before the old one is
// acknowledged; a final outcome is stored (destination, dead-letter queue or
// dead-letter store) before its message is acknowledged. A crash between the
// two repeats the step: duplicates are possible, losses are not.

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/store"
)

// Defaults and tuning.
const (
	DefaultWorkers = 256
	DefaultMaxHeld = 20000
	// ackWait is how long the store waits for a fetched message to be
	// settled or marked in progress before it hands it out again.
	ackWait = 30 * time.Second
	// heartbeatEvery marks every live message in progress; a third of
	// ackWait leaves room for a slow round.
	heartbeatEvery = 10 * time.Second
	// holdLimit is the longest wait held in memory; an event due later is
	// Nak'd with a delay and comes back holdLimit/2 before it is due.
	holdLimit = 15 * time.Minute
	// maxFetch bounds one Fetch.
	maxFetch = 256
	// settleTimeout bounds the store writes that record an outcome after
	// the invocation's context has ended (shutdown must not lose them).
	settleTimeout = 30 * time.Second
	// storeRetryDelay is how soon an event whose outcome could not be
	// stored is handed out again.
	storeRetryDelay = 5 * time.Second
	// heartbeatParallel bounds the in-progress marks in flight at once.
	heartbeatParallel = 32
)

// Service queues and runs Event invocations. Its methods are safe for
// concurrent use.
type Service struct {
	opts    Options
	reg     Registry
	clock   clock.Clock
	log     *slog.Logger
	stream  store.Stream
	cons    store.Consumer
	dl      *deadletter.Store
	senders map[string]Sender

	stats struct {
		enqueued, succeeded, failed, retried, throttled, deadLettered atomic.Int64
	}

	// slots holds a token per running invocation (capacity Workers).
	slots chan struct{}
	// busy counts events running or waiting for a slot; the fetch loop
	// keeps it at most 2 × Workers.
	busy atomic.Int64
	// wake tells the fetch loop that busy went down.
	wake chan struct{}
	// live is every fetched message not settled yet (*inflight → struct{}).
	live sync.Map
	held holdQueue

	mu        sync.Mutex
	started   bool
	closed    bool
	stopping  chan struct{} // closed when Close starts: nothing new starts
	cancelRun context.CancelFunc
	loops     sync.WaitGroup // fetch and hold loops
	running   sync.WaitGroup // one per dispatched event
	beatDone  chan struct{}
}

// inflight is one fetched message and its decoded event.
type inflight struct {
	msg store.Message
	ev  Event
}

// New opens the stream and the consumer; it does not start the workers.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil || opts.Registry == nil || opts.Invoker == nil || opts.DeadLetters == nil {
		return nil, errors.New("async: Options.Store, Registry, Invoker and DeadLetters are required")
	}
	if opts.MaxPayload <= 0 {
		opts.MaxPayload = MaxPayload
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxHeld <= 0 {
		opts.MaxHeld = DefaultMaxHeld
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Minute
	}
	if opts.RetryCap <= 0 {
		opts.RetryCap = 5 * time.Minute
	}
	if opts.ThrottleBase <= 0 {
		opts.ThrottleBase = time.Second
	}
	if opts.ThrottleCap <= 0 {
		opts.ThrottleCap = 5 * time.Minute
	}
	if opts.Region == "" {
		opts.Region = function.DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = function.DefaultAccountID
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	st, err := opts.Store.Stream(ctx, store.StreamConfig{
		Name:      StreamName,
		Subjects:  []string{SubjectPrefix + ">"},
		WorkQueue: true,
	})
	if err != nil {
		return nil, fmt.Errorf("async: open stream: %w", err)
	}
	cons, err := st.Consumer(ctx, store.ConsumerConfig{
		Durable:       ConsumerName,
		AckWait:       ackWait,
		MaxAckPending: opts.MaxHeld + 2*opts.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("async: open consumer: %w", err)
	}
	s := &Service{
		opts:     opts,
		reg:      opts.Registry,
		clock:    opts.Clock,
		log:      opts.Logger,
		stream:   st,
		cons:     cons,
		dl:       opts.DeadLetters,
		slots:    make(chan struct{}, opts.Workers),
		wake:     make(chan struct{}, 1),
		stopping: make(chan struct{}),
	}
	s.held.changed = make(chan struct{}, 1)
	s.senders = map[string]Sender{"lambda": &lambdaSender{s: s}}
	for k, v := range opts.Senders {
		s.senders[k] = v
	}
	return s, nil
}

// Start starts the workers. They stop when ctx ends (running invocations
// are cancelled and their events left for redelivery) or on Close.
func (s *Service) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	runCtx, cancel := context.WithCancel(ctx)
	s.cancelRun = cancel
	s.beatDone = make(chan struct{})
	s.loops.Add(2)
	go s.fetchLoop(runCtx)
	go s.holdLoop(runCtx)
	go s.heartbeatLoop(runCtx)
}

// Close stops fetching, hands the held events back to the store, waits for
// running invocations until ctx ends (then cancels them) and returns. Events
// that did not finish are delivered again, to this node or another.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stopping)
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	s.loops.Wait()
	done := make(chan struct{})
	go func() { s.running.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("async: close: running invocations cancelled: %w", ctx.Err())
		s.cancelRun()
		<-done
	}
	s.cancelRun()
	<-s.beatDone
	return err
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{
		Enqueued:     s.stats.enqueued.Load(),
		Succeeded:    s.stats.succeeded.Load(),
		Failed:       s.stats.failed.Load(),
		Retried:      s.stats.retried.Load(),
		Throttled:    s.stats.throttled.Load(),
		DeadLettered: s.stats.deadLettered.Load(),
		Pending:      s.busy.Load() + int64(s.held.len()),
	}
}

// ---- fetching and dispatching

// fetchLoop fetches until Close; ctx is the workers' context, which the
// events it dispatches run under.
func (s *Service) fetchLoop(ctx context.Context) {
	defer s.loops.Done()
	fetchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-fetchCtx.Done():
		}
	}()
	limit := int64(2 * s.opts.Workers)
	// Fetch again only once a quarter of the room is free (or a worker may
	// be idle), so batches stay large under load.
	threshold := max(1, limit/4)
	for {
		free := limit - s.busy.Load()
		if free < threshold && s.busy.Load() > 0 {
			select {
			case <-s.wake:
				continue
			case <-fetchCtx.Done():
				return
			}
		}
		msgs, err := s.cons.Fetch(fetchCtx, int(min(free, maxFetch)))
		if err != nil {
			if fetchCtx.Err() != nil {
				return
			}
			s.log.Warn("async: fetch failed", "err", err)
			select {
			case <-fetchCtx.Done():
				return
			case <-s.clock.After(time.Second):
			}
			continue
		}
		now := s.clock.Now()
		for _, m := range msgs {
			s.accept(ctx, m, now)
		}
	}
}

// accept decodes a fetched message and runs, holds or defers it.
func (s *Service) accept(ctx context.Context, m store.Message, now time.Time) {
	in := &inflight{msg: m}
	s.live.Store(in, struct{}{})
	if err := decodeEvent(m.Data(), &in.ev); err != nil || in.ev.RequestID == "" || in.ev.FunctionName == "" {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			s.undecodable(ctx, in, err)
		}()
		return
	}
	wait := in.ev.NotBefore.Sub(now)
	switch {
	case wait <= 0:
		s.dispatch(ctx, in)
	case wait <= holdLimit:
		s.held.push(in)
	default:
		// JetStream's timer brings it back in time to be held for the rest.
		s.settle(ctx, in, func(ctx context.Context) error { return m.Nak(ctx, wait-holdLimit/2) })
	}
}

// dispatch runs in on a worker slot, in a goroutine of its own.
func (s *Service) dispatch(ctx context.Context, in *inflight) {
	s.busy.Add(1)
	s.running.Add(1)
	go func() {
		defer func() {
			s.busy.Add(-1)
			s.running.Done()
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}()
		select {
		case s.slots <- struct{}{}:
		case <-s.stopping:
			s.release(ctx, in)
			return
		case <-ctx.Done():
			s.release(ctx, in)
			return
		}
		// The slot is given back as soon as the invocation returned: the
		// store writes that record its outcome need no function instance,
		// and the next event can use it meanwhile.
		held := true
		free := func() {
			if held {
				held = false
				<-s.slots
			}
		}
		defer free()
		s.process(ctx, in, free)
	}()
}

// outliving returns ctx while it lasts, else a context that outlives it by
// settleTimeout: an outcome reached while the service stops is still
// recorded. (Only then: a context and a timer per event are measurable.)
func outliving(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

// settle ends a message's delivery with fn and forgets it.
func (s *Service) settle(ctx context.Context, in *inflight, fn func(context.Context) error) {
	sctx, cancel := outliving(ctx)
	defer cancel()
	if err := fn(sctx); err != nil {
		s.log.Warn("async: settling message failed; it will be delivered again",
			"requestId", in.ev.RequestID, "function", in.ev.FunctionName, "err", err)
	}
	s.live.Delete(in)
}

// release hands an unfinished event back to the store for immediate redelivery.
// It runs when ctx has ended or is about to, so it gets a short context of
// its own.
func (s *Service) release(ctx context.Context, in *inflight) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	s.settle(ctx, in, func(ctx context.Context) error { return in.msg.Nak(ctx, 0) })
}

// ---- holding events until their retry time

// holdQueue is a min-heap of held events by NotBefore.
type holdQueue struct {
	mu      sync.Mutex
	items   []*inflight
	changed chan struct{}
}

func (h *holdQueue) Len() int { return len(h.items) }
func (h *holdQueue) Less(i, j int) bool {
	return h.items[i].ev.NotBefore.Before(h.items[j].ev.NotBefore)
}
func (h *holdQueue) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *holdQueue) Push(x any)    { h.items = append(h.items, x.(*inflight)) }
func (h *holdQueue) Pop() any {
	n := len(h.items) - 1
	it := h.items[n]
	h.items[n] = nil
	h.items = h.items[:n]
	return it
}

func (h *holdQueue) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.items)
}

func (h *holdQueue) push(in *inflight) {
	h.mu.Lock()
	heap.Push(h, in)
	h.mu.Unlock()
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

// due removes and returns the events due at now, and the time the next one
// is due (zero when none is held).
func (h *holdQueue) due(now time.Time) (out []*inflight, next time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(h.items) > 0 && !h.items[0].ev.NotBefore.After(now) {
		out = append(out, heap.Pop(h).(*inflight))
	}
	if len(h.items) > 0 {
		next = h.items[0].ev.NotBefore
	}
	return out, next
}

// nextDue is when the first held event is due (zero when none is held).
func (h *holdQueue) nextDue() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.items) == 0 {
		return time.Time{}
	}
	return h.items[0].ev.NotBefore
}

func (h *holdQueue) drain() []*inflight {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.items
	h.items = nil
	return out
}

// holdLoop releases held events to workers when due, on the injected
// clock. When the service stops it hands the held events back.
func (s *Service) holdLoop(ctx context.Context) {
	defer s.loops.Done()
	var timer clock.Timer
	var armed time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		for _, in := range s.held.drain() {
			s.release(ctx, in)
		}
	}()
	for {
		ready, next := s.held.due(s.clock.Now())
		for _, in := range ready {
			s.dispatch(ctx, in)
		}
		var fire <-chan time.Time
		if !next.IsZero() {
			if timer == nil {
				timer = s.clock.NewTimer(next.Sub(s.clock.Now()))
			} else if !next.Equal(armed) {
				timer.Stop()
				timer.Reset(next.Sub(s.clock.Now()))
			}
			armed = next
			fire = timer.C()
		} else if timer != nil && !armed.IsZero() {
			timer.Stop()
			armed = time.Time{}
		}
		select {
		case <-fire:
			armed = time.Time{}
		case <-s.held.changed:
		case <-s.stopping:
			return
		case <-ctx.Done():
			return
		}
	}
}

// heartbeatLoop marks every live message in progress.
func (s *Service) heartbeatLoop(ctx context.Context) {
	defer close(s.beatDone)
	t := clock.Real{}.NewTimer(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		sem := make(chan struct{}, heartbeatParallel)
		var wg sync.WaitGroup
		s.live.Range(func(k, _ any) bool {
			in := k.(*inflight)
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				bctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
				defer cancel()
				// A message settled meanwhile refuses; nothing to do then.
				_ = in.msg.InProgress(bctx)
			}()
			return true
		})
		wg.Wait()
		t.Reset(heartbeatEvery)
	}
}

// ---- running one event

// eventConfig is the event-invoke config in force, with AWS's defaults.
type eventConfig struct {
	retries   int
	maxAge    time.Duration
	onSuccess string
	onFailure string
}

func configFor(snap *function.Snapshot, qualifier string) eventConfig {
	c := eventConfig{retries: function.DefaultAsyncRetryAttempts, maxAge: function.DefaultMaxEventAge * time.Second}
	if snap == nil {
		return c
	}
	if ec := snap.EventInvokeFor(qualifier); ec != nil {
		if ec.MaximumRetryAttempts != nil {
			c.retries = *ec.MaximumRetryAttempts
		}
		if ec.MaximumEventAgeInSeconds != nil {
			c.maxAge = time.Duration(*ec.MaximumEventAgeInSeconds) * time.Second
		}
		c.onSuccess, c.onFailure = ec.OnSuccess, ec.OnFailure
	}
	return c
}

// process runs one due event and records what became of it. It calls
// free once the invocation has returned.
func (s *Service) process(ctx context.Context, in *inflight, free func()) {
	ev := &in.ev
	now := s.clock.Now()
	snap, err := s.reg.Snapshot(ctx, ev.FunctionName)
	if err != nil {
		if ctx.Err() != nil {
			s.release(ctx, in)
			return
		}
		s.failedToRun(ctx, in, nil, err, now)
		return
	}
	cfg := configFor(snap, ev.Qualifier)
	if now.Sub(ev.EnqueuedAt) > cfg.maxAge {
		s.fail(ctx, in, snap, deadletter.EventAgeExceeded)
		return
	}
	resp, err := s.opts.Invoker.Invoke(ctx, invoke.Request{
		FunctionName:   ev.FunctionName,
		Qualifier:      ev.Qualifier,
		InvocationType: invoke.RequestResponse,
		Payload:        ev.Payload,
		Region:         ev.Region,
		RequestID:      ev.RequestID,
		TraceID:        ev.TraceID,
		Background:     true,
		MaxPayload:     s.opts.MaxPayload,
	})
	free()
	if err != nil {
		if ctx.Err() != nil {
			// Shutting down: the invocation was cut short, not refused.
			s.release(ctx, in)
			return
		}
		s.failedToRun(ctx, in, snap, err, s.clock.Now())
		return
	}
	now = s.clock.Now()
	ev.Attempts++
	ev.Throttles = 0
	ev.LastAttempt = now.UTC()
	ev.LastStatusCode = resp.StatusCode
	ev.LastExecutedVersion = resp.ExecutedVersion
	ev.LastFunctionError = resp.FunctionError
	ev.LastResponse = jsonOrString(resp.Payload)
	if resp.FunctionError == "" {
		s.succeed(ctx, in, cfg)
		return
	}
	ev.LastErrorType, ev.LastErrorMessage = errorFields(resp.Payload)
	if ev.Attempts < 1+cfg.retries {
		ev.NotBefore = now.Add(backoff(s.opts.RetryBase, s.opts.RetryCap, ev.Attempts)).UTC()
		if s.reschedule(ctx, in) {
			s.stats.retried.Add(1)
		}
		return
	}
	s.fail(ctx, in, snap, deadletter.RetriesExhausted)
}

// failedToRun handles an invocation the platform did not run: throttled
// (or a platform failure) is retried without counting an attempt until the
// event is too old; a missing function is retried under the event's
// Policy, else it fails at once; anything else fails at once.
func (s *Service) failedToRun(ctx context.Context, in *inflight, snap *function.Snapshot, err error, now time.Time) {
	ev := &in.ev
	ev.LastAttempt = now.UTC()
	ev.LastResponse = nil
	ev.LastFunctionError = ""
	var fe *fault.Error
	if errors.As(err, &fe) {
		ev.LastErrorMessage = fe.Message
	} else {
		ev.LastErrorMessage = err.Error()
	}
	kind := fault.KindOf(err)
	switch kind {
	case fault.Throttled:
		ev.LastStatusCode, ev.LastErrorType = 429, "TooManyRequestsException"
	case fault.NotFound:
		ev.LastStatusCode, ev.LastErrorType = 404, "ResourceNotFoundException"
	case fault.Internal:
		ev.LastStatusCode, ev.LastErrorType = 500, "ServiceException"
	default:
		ev.LastStatusCode, ev.LastErrorType = 400, kind.String()
	}
	if fe == nil {
		s.log.Warn("async: invocation failed in the platform; retrying",
			"requestId", ev.RequestID, "function", ev.FunctionName, "err", err)
	}

	switch {
	case kind == fault.NotFound:
		p := ev.Policy
		if p == nil || ev.Deliveries >= p.MaximumRetryAttempts {
			s.fail(ctx, in, snap, deadletter.DeliveryFailed)
			return
		}
		ev.Deliveries++
		ev.NotBefore = now.Add(backoff(s.opts.ThrottleBase, s.opts.ThrottleCap, ev.Deliveries)).UTC()
		if p.MaximumEventAgeInSeconds > 0 && ev.NotBefore.Sub(ev.EnqueuedAt) > time.Duration(p.MaximumEventAgeInSeconds)*time.Second {
			s.fail(ctx, in, snap, deadletter.DeliveryFailed)
			return
		}
	case kind == fault.Throttled && snap != nil && snap.Reserved != nil && *snap.Reserved == 0:
		// As AWS: a function whose reserved concurrency is 0 sends its
		// events to the failure destinations at once, without retries.
		s.fail(ctx, in, snap, deadletter.RetriesExhausted)
		return
	case kind == fault.Throttled || kind == fault.Internal:
		ev.Throttles++
		ev.NotBefore = now.Add(backoff(s.opts.ThrottleBase, s.opts.ThrottleCap, ev.Throttles)).UTC()
		maxAge := configFor(snap, ev.Qualifier).maxAge
		if p := ev.Policy; p != nil && p.MaximumEventAgeInSeconds > 0 {
			maxAge = min(maxAge, time.Duration(p.MaximumEventAgeInSeconds)*time.Second)
		}
		if ev.NotBefore.Sub(ev.EnqueuedAt) > maxAge {
			// Too old by the time it could run again.
			s.fail(ctx, in, snap, deadletter.EventAgeExceeded)
			return
		}
	default:
		s.fail(ctx, in, snap, deadletter.DeliveryFailed)
		return
	}
	if s.reschedule(ctx, in) {
		s.stats.throttled.Add(1)
	}
}

// backoff is base × 2^(n-1), capped.
func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// reschedule publishes the event's new state, then acknowledges the
// message that carried the old one. The message id makes a repeat after a
// crash between the two a duplicate the store drops. It reports success.
func (s *Service) reschedule(ctx context.Context, in *inflight) bool {
	ev := &in.ev
	sctx, cancel := outliving(ctx)
	defer cancel()
	data, err := encodeEvent(nil, ev)
	if err == nil {
		id := fmt.Sprintf("%s#%d.%d.%d", ev.RequestID, ev.Attempts, ev.Throttles, ev.Deliveries)
		_, err = s.stream.Publish(sctx, SubjectPrefix+ev.FunctionName, data, &store.PublishOptions{MsgID: id})
	}
	if err != nil {
		s.log.Error("async: storing a retry failed; the event will be delivered again",
			"requestId", ev.RequestID, "function", ev.FunctionName, "err", err)
		s.settle(ctx, in, func(ctx context.Context) error { return in.msg.Nak(ctx, storeRetryDelay) })
		return false
	}
	// The outcome is stored already: a lost ack only means a redelivery.
	s.settle(ctx, in, func(context.Context) error { return in.msg.AckNoWait() })
	return true
}

// undecodable keeps a message that is not an event in the dead-letter
// store, so that nothing vanishes, then acknowledges it.
func (s *Service) undecodable(ctx context.Context, in *inflight, err error) {
	if err == nil {
		err = errors.New("requestId or functionName missing")
	}
	name := strings.TrimPrefix(in.msg.Subject(), SubjectPrefix)
	now := s.clock.Now().UTC()
	rec := &deadletter.Record{
		Source:       deadletter.SourceAsync,
		FunctionName: name,
		Payload:      jsonOrString(in.msg.Data()),
		Condition:    deadletter.DeliveryFailed,
		ErrorType:    "Lamina.InvalidEvent",
		ErrorMessage: "the stored event could not be decoded: " + err.Error(),
		EnqueuedAt:   in.msg.Published().UTC(),
		FailedAt:     now,
	}
	s.log.Error("async: undecodable event moved to the dead-letter store", "subject", in.msg.Subject(), "err", err)
	s.finish(ctx, in, rec, false)
}

// finish stores rec (when not nil) in the dead-letter store and then
// acknowledges the message; if the store refuses, the message is handed
// out again later. final counts a failed event.
func (s *Service) finish(ctx context.Context, in *inflight, rec *deadletter.Record, final bool) {
	if rec != nil {
		sctx, cancel := outliving(ctx)
		err := s.dl.Put(sctx, rec)
		cancel()
		if err != nil {
			s.log.Error("async: dead-letter store refused a record; the event will be delivered again",
				"requestId", in.ev.RequestID, "function", in.ev.FunctionName, "err", err)
			s.settle(ctx, in, func(ctx context.Context) error { return in.msg.Nak(ctx, storeRetryDelay) })
			return
		}
		s.stats.deadLettered.Add(1)
	}
	if final {
		s.stats.failed.Add(1)
	}
	// The outcome is stored already: a lost ack only means a redelivery.
	s.settle(ctx, in, func(context.Context) error { return in.msg.AckNoWait() })
}
