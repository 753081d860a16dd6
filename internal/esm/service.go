package esm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

// Invoker runs a function synchronously; *invoke.Service satisfies it.
// Function errors come back as a Response with FunctionError set;
// throttles as a *fault.Error of kind Throttled.
type Invoker interface {
	Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error)
}

// Function is what a mapping needs to know of its function.
type Function struct {
	// ARN is the function's ARN, qualified when the name given was.
	ARN string
	// Timeout is the function's timeout (0 = unknown: the queue's
	// visibility timeout is then not checked against it).
	Timeout time.Duration
}

// Functions resolves the FunctionName of a mapping; the server adapts the
// function registry to it.
type Functions interface {
	// Resolve checks that name (a name, name:qualifier, or a full or
	// partial ARN) names an existing function, version or alias and
	// returns it. Errors are *fault.Error: NotFound for a missing
	// function, Invalid for a malformed name.
	Resolve(ctx context.Context, name string) (Function, error)
}

// Options configure a Service.
type Options struct {
	// Store holds the mapping definitions (bucket Bucket). Required.
	Store store.Store
	// Queues are the event sources. Required.
	Queues queue.API
	// Invoker runs the functions. Required.
	Invoker Invoker
	// Functions resolves and validates function names. Required.
	Functions Functions
	// AccountID and Region go into mapping ARNs and records (defaults
	// 000000000000 and us-east-1).
	AccountID string
	Region    string
	// DefaultMaxConcurrency caps the pollers (= in-flight invocations) of a
	// mapping without ScalingConfig.MaximumConcurrency (default 100).
	DefaultMaxConcurrency int
	// InitialPollers is how many pollers an enabled mapping starts with
	// (default 1); more are added while batches come back full.
	InitialPollers int
	// PollWait is the long-poll wait of an idle poller (default 20 s, the
	// most SQS allows).
	PollWait time.Duration
	// RetryDelay is the first wait after a throttled invocation or a
	// failed queue call; it doubles up to MaxRetryDelay (defaults 100 ms
	// and 5 s).
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Clock times batching windows and back-offs (nil = the wall clock).
	Clock clock.Clock
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxConcurrency = 100
	DefaultRegion         = "us-east-1"
	DefaultAccountID      = "000000000000"
)

// Service keeps event source mappings and runs their pollers. Safe for
// concurrent use.
type Service struct {
	opts  Options
	kv    store.KV
	clock clock.Clock
	log   *slog.Logger

	// ctx ends on Close: it bounds the watcher, the pollers and their
	// invocations.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	runners map[string]*runner // by UUID: the mappings this node knows of
	closed  bool
}

var _ API = (*Service)(nil)

// New opens the bucket, resumes the pollers of every enabled mapping and
// follows later changes (from this node or another). ctx bounds the
// start-up only.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil || opts.Queues == nil || opts.Invoker == nil || opts.Functions == nil {
		return nil, errors.New("esm: Options.Store, Queues, Invoker and Functions are required")
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.DefaultMaxConcurrency <= 0 {
		opts.DefaultMaxConcurrency = DefaultMaxConcurrency
	}
	if opts.InitialPollers <= 0 {
		opts.InitialPollers = 1
	}
	if opts.PollWait <= 0 || opts.PollWait > queue.MaxWait {
		opts.PollWait = queue.MaxWait
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = 100 * time.Millisecond
	}
	if opts.MaxRetryDelay < opts.RetryDelay {
		opts.MaxRetryDelay = max(5*time.Second, opts.RetryDelay)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	kv, err := opts.Store.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("esm: open bucket: %w", err)
	}
	s := &Service{
		opts:    opts,
		kv:      kv,
		clock:   opts.Clock,
		log:     opts.Logger.With("component", "esm"),
		runners: map[string]*runner{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	events, err := s.kv.Watch(s.ctx, mappingPrefix)
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("esm: watch mappings: %w", err)
	}
	// Wait for the current mappings, so that New returns with their
	// pollers started.
	for ev := range events {
		if ev.InitialDone {
			break
		}
		s.apply(ev)
	}
	s.wg.Add(1)
	go s.follow(events)
	return s, nil
}

// follow applies the store's changes to the runners until Close, opening
// a new watch when one ends early (the store restarted).
func (s *Service) follow(events <-chan store.WatchEvent) {
	defer s.wg.Done()
	delay := s.opts.RetryDelay
	for {
		for ev := range events {
			delay = s.opts.RetryDelay
			if !ev.InitialDone {
				s.apply(ev)
			}
		}
		for {
			if s.ctx.Err() != nil {
				return
			}
			select {
			case <-s.clock.After(delay):
			case <-s.ctx.Done():
				return
			}
			delay = min(2*delay, s.opts.MaxRetryDelay)
			var err error
			if events, err = s.kv.Watch(s.ctx, mappingPrefix); err == nil {
				break
			}
			s.log.Warn("watching the mappings failed; retrying", "err", err)
		}
	}
}

// apply brings the runner of one mapping in line with a stored change.
func (s *Service) apply(ev store.WatchEvent) {
	uuid := ev.Key[len(mappingPrefix):]
	var d *definition
	if !ev.Deleted {
		var err error
		if d, err = decodeDefinition(ev.Value); err != nil {
			s.log.Error("unreadable mapping ignored", "uuid", uuid, "err", err)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	old := s.runners[uuid]
	if old != nil && old.rev >= ev.Revision {
		return // already applied
	}
	result := resultNone
	if old != nil {
		result = old.lastResult()
		old.stop()
		delete(s.runners, uuid)
	}
	if d == nil {
		return
	}
	r := newRunner(s, d, ev.Revision, result)
	s.runners[uuid] = r
	if d.Enabled {
		r.start()
	}
}

// lastResult is the LastProcessingResult this node has for a mapping.
func (s *Service) lastResult(uuid string) string {
	s.mu.Lock()
	r := s.runners[uuid]
	s.mu.Unlock()
	if r == nil {
		return resultNone
	}
	return r.lastResult()
}

// Close stops every poller (in-flight invocations are cancelled; their
// messages return to their queues after the visibility timeout) and waits
// for them.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	runners := s.runners
	s.runners = map[string]*runner{}
	s.mu.Unlock()
	s.cancel()
	for _, r := range runners {
		r.stop()
	}
	for _, r := range runners {
		r.wait()
	}
	s.wg.Wait()
}

// activePollers counts the pollers running on this node (for tests and
// metrics).
func (s *Service) activePollers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.runners {
		n += int(r.active.Load())
	}
	return n
}
