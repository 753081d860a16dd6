package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/invoke/async"
	lruntime "github.com/lamina-dev/lamina/internal/runtime"
	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// AsyncOptions configure RunAsync. Zero fields take the defaults.
type AsyncOptions struct {
	// Events is how many events the measured run enqueues (default 20,000).
	Events int
	// Workers are the concurrency levels measured, one run each (default
	// 16, 32, 64): how many events run at once, and so how many function
	// instances are started. The other figures are taken at the fastest.
	Workers []int
	// Rounds is how many times each concurrency is measured, the rounds
	// interleaved so that a slow spell of the machine does not fall on one
	// concurrency alone (default 3); each is reported by its median.
	Rounds int
	// Batch is how many events one EnqueueBatch carries (default 500).
	Batch int
}

func (o *AsyncOptions) setDefaults() {
	if o.Events <= 0 {
		o.Events = 20000
	}
	if len(o.Workers) == 0 {
		o.Workers = []int{16, 32, 64}
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
}

// AsyncRun is the median measured async run at one concurrency.
type AsyncRun struct {
	Workers int
	// Rounds holds every round's throughput at this concurrency.
	Rounds []float64
	// Elapsed is from the first enqueue to the last event's completion;
	// Throughput is Events / Elapsed. EnqueueElapsed is how long enqueueing
	// alone took (it overlaps with the running).
	Elapsed        time.Duration
	Throughput     float64
	EnqueueElapsed time.Duration
	// Succeeded and Failed are the async service's counts for the run.
	Succeeded, Failed int64
}

// AsyncReport holds the figures of one RunAsync.
type AsyncReport struct {
	GOMAXPROCS int
	Events     int
	// Runs are the async runs, one per concurrency; the fastest is also
	// embedded (Workers, Throughput, ...) and the rest of the figures are
	// measured at its concurrency.
	Runs []AsyncRun
	AsyncRun
	// InvokeElapsed and InvokeThroughput are Events synchronous in-process
	// invocations of the same function by Workers callers: the invocation
	// path alone, without the queue.
	InvokeElapsed    time.Duration
	InvokeThroughput float64
	// LayerElapsed and LayerThroughput are the same run with the function
	// replaced by an in-process no-op: what the async layer and the store
	// cost alone.
	LayerElapsed    time.Duration
	LayerThroughput float64
	// StoreElapsed and StoreThroughput are the baseline: as many messages
	// of the same size published to a work-queue stream and, at the same
	// time, fetched and acknowledged through a durable consumer.
	StoreMessages   int
	StoreElapsed    time.Duration
	StoreThroughput float64

	eventSize int // of one stored event, for a baseline of the same size
}

// Ratio is the async throughput over the store's raw rate.
func (r *AsyncReport) Ratio() float64 {
	if r.StoreThroughput == 0 {
		return 0
	}
	return r.Throughput / r.StoreThroughput
}

// AsyncTarget is the throughput the project aims at on a 2-core machine.
const AsyncTarget = 10000

// RunAsync measures enqueue-to-completion throughput of Event invocations
// of a trivial aws-lambda-go function through the real runtime pool and
// invoke service, beside the store's raw publish+consume rate measured in
// the same run. Progress lines go to w (nil = discard).
func RunAsync(ctx context.Context, opts AsyncOptions, w io.Writer) (*AsyncReport, error) {
	opts.setDefaults()
	if w == nil {
		w = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "lamina-bench-async-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	say("building the aws-lambda-go no-op function…")
	bootstrapPath, err := buildNoop(ctx, dir)
	if err != nil {
		return nil, err
	}
	say("starting the platform pieces in-process (embedded JetStream in %s)…", dir)
	p, err := startPlatform(ctx, dir, opts.Workers[0])
	if err != nil {
		return nil, err
	}
	defer p.close(context.WithoutCancel(ctx))
	zipped, err := zipBootstrap(bootstrapPath, nil)
	if err != nil {
		return nil, err
	}
	const fn = "bench-async"
	if _, err := p.reg.Create(ctx, function.CreateInput{
		FunctionName: fn,
		Config:       function.Config{Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/bench", Timeout: 30},
		ZipFile:      zipped,
	}); err != nil {
		return nil, fmt.Errorf("create function: %w", err)
	}
	rep := &AsyncReport{GOMAXPROCS: runtime.GOMAXPROCS(0), Events: opts.Events}
	runs := make(map[int][]AsyncRun, len(opts.Workers))
	for round := range opts.Rounds {
		for i, workers := range opts.Workers {
			if round > 0 || i > 0 {
				if err := p.restartAsync(ctx, p.inv, workers); err != nil {
					return nil, err
				}
			} else {
				p.async.Start(ctx)
			}
			// Warm-up: twice as many events as workers, so that every
			// instance the measured run needs is started.
			say("round %d/%d: warming up %d instances…", round+1, opts.Rounds, workers)
			if _, err := p.run(ctx, fn, 2*workers, opts.Batch); err != nil {
				return nil, fmt.Errorf("warm-up: %w", err)
			}
			say("round %d/%d: async, %d events, %d workers…", round+1, opts.Rounds, opts.Events, workers)
			before := p.async.Stats()
			res, err := p.run(ctx, fn, opts.Events, opts.Batch)
			if err != nil {
				return nil, err
			}
			after := p.async.Stats()
			runs[workers] = append(runs[workers], AsyncRun{
				Workers: workers, Elapsed: res.elapsed, EnqueueElapsed: res.enqueued,
				Throughput: float64(opts.Events) / res.elapsed.Seconds(),
				Succeeded:  after.Succeeded - before.Succeeded, Failed: after.Failed - before.Failed,
			})
			rep.eventSize = res.eventSize
		}
	}
	for _, workers := range opts.Workers {
		rs := runs[workers]
		slices.SortFunc(rs, func(a, b AsyncRun) int { return cmp.Compare(a.Throughput, b.Throughput) })
		median := rs[len(rs)/2]
		for _, r := range rs {
			median.Rounds = append(median.Rounds, r.Throughput)
		}
		rep.Runs = append(rep.Runs, median)
	}
	rep.AsyncRun = slices.MaxFunc(rep.Runs, func(a, b AsyncRun) int { return cmp.Compare(a.Throughput, b.Throughput) })
	workers := rep.Workers

	say("sync invoke, in-process, %d callers: %d invocations…", workers, opts.Events)
	if rep.InvokeElapsed, err = syncInvokes(ctx, p.inv, fn, opts.Events, workers); err != nil {
		return nil, fmt.Errorf("sync invoke: %w", err)
	}
	rep.InvokeThroughput = float64(opts.Events) / rep.InvokeElapsed.Seconds()

	say("async layer alone (no-op in-process function), %d workers: %d events…", workers, opts.Events)
	if err := p.restartAsync(ctx, noopInvoker{}, workers); err != nil {
		return nil, err
	}
	layer, err := p.run(ctx, fn, opts.Events, opts.Batch)
	if err != nil {
		return nil, fmt.Errorf("async layer alone: %w", err)
	}
	rep.LayerElapsed = layer.elapsed
	rep.LayerThroughput = float64(opts.Events) / layer.elapsed.Seconds()

	say("store: publish and consume %d messages…", opts.Events)
	rep.StoreMessages = opts.Events
	if rep.StoreElapsed, err = storeBaseline(ctx, p.st, opts.Events, opts.Batch, workers, rep.eventSize); err != nil {
		return nil, fmt.Errorf("store baseline: %w", err)
	}
	rep.StoreThroughput = float64(opts.Events) / rep.StoreElapsed.Seconds()
	return rep, nil
}

// platform is the pieces `lamina serve` wires for invocations, without
// the HTTP edge.
type platform struct {
	st    store.Store
	reg   *function.Service
	logs  *telemetry.Logs
	pool  *lruntime.Pool
	inv   *invoke.Service
	dl    *deadletter.Store
	async *async.Service
}

// noopInvoker answers every invocation at once, in-process.
type noopInvoker struct{}

func (noopInvoker) Invoke(_ context.Context, req invoke.Request) (*invoke.Response, error) {
	return &invoke.Response{StatusCode: 200, Payload: []byte(`null`), ExecutedVersion: function.Latest}, nil
}

func startPlatform(ctx context.Context, dir string, workers int) (p *platform, err error) {
	quiet := slog.New(slog.DiscardHandler)
	p = &platform{}
	defer func() {
		if err != nil {
			p.close(context.WithoutCancel(ctx))
		}
	}()
	if p.st, err = store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "store"), Logger: quiet}); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if p.reg, err = function.New(ctx, function.Options{Store: p.st, Logger: quiet}); err != nil {
		return nil, err
	}
	if err = p.reg.StartView(ctx); err != nil {
		return nil, err
	}
	if p.logs, err = telemetry.NewLogs(ctx, p.st, telemetry.LogsOptions{Logger: quiet}); err != nil {
		return nil, err
	}
	if p.pool, err = lruntime.New(ctx, lruntime.Options{Dir: filepath.Join(dir, "runtime"), Logs: p.logs, Logger: quiet}); err != nil {
		return nil, err
	}
	if p.inv, err = invoke.New(ctx, invoke.Options{Registry: p.reg, Pool: p.pool, Logger: quiet}); err != nil {
		return nil, err
	}
	if p.dl, err = deadletter.Open(ctx, p.st, deadletter.Options{Logger: quiet}); err != nil {
		return nil, err
	}
	if p.async, err = async.New(ctx, async.Options{
		Store: p.st, Registry: p.reg, Invoker: p.inv, DeadLetters: p.dl, Workers: workers, Logger: quiet,
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// restartAsync replaces the async service by one with workers workers
// calling inv, and starts it.
func (p *platform) restartAsync(ctx context.Context, inv async.Invoker, workers int) error {
	if err := p.async.Close(ctx); err != nil {
		return err
	}
	var err error
	p.async, err = async.New(ctx, async.Options{Store: p.st, Registry: p.reg, Invoker: inv, DeadLetters: p.dl,
		Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	p.async.Start(ctx)
	return nil
}

func (p *platform) close(ctx context.Context) {
	if p.async != nil {
		_ = p.async.Close(ctx)
	}
	if p.inv != nil {
		_ = p.inv.Close(ctx)
	}
	if p.pool != nil {
		_ = p.pool.Close(ctx)
	}
	if p.logs != nil {
		_ = p.logs.Close(ctx)
	}
	if p.reg != nil {
		_ = p.reg.Close()
	}
	if p.st != nil {
		_ = p.st.Close()
	}
}

type runResult struct {
	elapsed, enqueued time.Duration
	eventSize         int
}

// run enqueues n events in batches and waits until all of them succeeded.
func (p *platform) run(ctx context.Context, fn string, n, batch int) (runResult, error) {
	base := p.async.Stats()
	payload := []byte(echoBody)
	reqs := make([]async.Request, 0, batch)
	start := time.Now()
	for sent := 0; sent < n; {
		reqs = reqs[:0]
		for i := 0; i < batch && sent+i < n; i++ {
			reqs = append(reqs, async.Request{FunctionName: fn, Payload: payload})
		}
		if _, err := p.async.EnqueueBatch(ctx, reqs); err != nil {
			return runResult{}, fmt.Errorf("enqueue: %w", err)
		}
		sent += len(reqs)
	}
	res := runResult{enqueued: time.Since(start)}
	for {
		st := p.async.Stats()
		done := st.Succeeded - base.Succeeded
		if failed := st.Failed - base.Failed; failed > 0 {
			return runResult{}, fmt.Errorf("%d events failed", failed)
		}
		if done >= int64(n) {
			break
		}
		if err := ctx.Err(); err != nil {
			return runResult{}, fmt.Errorf("%d of %d events done: %w", done, n, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	res.elapsed = time.Since(start)
	// The size of one stored event, for a baseline of the same size.
	ev, _ := json.Marshal(async.Event{RequestID: "00000000-0000-0000-0000-000000000000", FunctionName: fn,
		Payload: payload, Source: async.Source{Kind: deadletter.SourceAsync}, EnqueuedAt: time.Now().UTC()})
	res.eventSize = len(ev)
	return res, nil
}

// syncInvokes makes n synchronous invocations of fn from callers
// goroutines and returns how long they took.
func syncInvokes(ctx context.Context, inv *invoke.Service, fn string, n, callers int) (time.Duration, error) {
	var next sync.Mutex
	left := n
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		left--
		return left >= 0
	}
	errs := make(chan error, callers)
	start := time.Now()
	for range callers {
		go func() {
			for take() {
				resp, err := inv.Invoke(ctx, invoke.Request{FunctionName: fn, Payload: []byte(echoBody)})
				if err == nil && resp.FunctionError != "" {
					err = fmt.Errorf("function error: %s", resp.Payload)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range callers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return time.Since(start), first
}

// storeBaseline publishes n messages of size bytes to a work-queue stream
// in batches while a fetch loop like the async workers' consumes them,
// acknowledging each with up to workers acknowledgements in flight, and
// returns how long it took until every message was acknowledged.
func storeBaseline(ctx context.Context, st store.Store, n, batch, workers, size int) (time.Duration, error) {
	s, err := st.Stream(ctx, store.StreamConfig{Name: "BENCH_RAW", Subjects: []string{"bench.raw.>"}, WorkQueue: true})
	if err != nil {
		return 0, err
	}
	cons, err := s.Consumer(ctx, store.ConsumerConfig{Durable: "bench-raw", MaxAckPending: 2*workers + maxBaselineFetch})
	if err != nil {
		return 0, err
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = 'x'
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() {
		msgs := make([]store.BatchMessage, 0, batch)
		for sent := 0; sent < n; {
			msgs = msgs[:0]
			for i := 0; i < batch && sent+i < n; i++ {
				msgs = append(msgs, store.BatchMessage{Subject: "bench.raw.x", Data: data,
					Opts: &store.PublishOptions{MsgID: "m" + strconv.Itoa(sent+i)}})
			}
			if _, err := s.PublishBatch(ctx, msgs); err != nil {
				pubErr <- err
				return
			}
			sent += len(msgs)
		}
		pubErr <- nil
	}()
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ackErr error
	acked := 0
	for got := 0; got < n; {
		msgs, err := cons.Fetch(ctx, min(maxBaselineFetch, n-got))
		if err != nil {
			return 0, err
		}
		got += len(msgs)
		for _, m := range msgs {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := m.Ack(ctx)
				mu.Lock()
				acked++
				if err != nil && ackErr == nil {
					ackErr = err
				}
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := <-pubErr; err != nil {
		return 0, err
	}
	if ackErr != nil {
		return 0, ackErr
	}
	if acked != n {
		return 0, errors.New("not every message was acknowledged")
	}
	return elapsed, nil
}

const maxBaselineFetch = 256

// Print writes the report with the ratio to the store's raw rate.
func (r *AsyncReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina async benchmark (GOMAXPROCS=%d, %d events per run, medians of interleaved rounds; enqueuer, platform and function share this machine)\n\n",
		r.GOMAXPROCS, r.Events)
	for _, run := range r.Runs {
		best := ""
		if run.Workers == r.Workers {
			best = "  ← fastest; the rows below use its concurrency"
		}
		spread := ""
		if len(run.Rounds) > 1 {
			spread = fmt.Sprintf(" (%.0f–%.0f over %d rounds)", slices.Min(run.Rounds), slices.Max(run.Rounds), len(run.Rounds))
		}
		fmt.Fprintf(w, "async invoke   enqueue → completion, %3d workers            %8.0f events/s%s   %s (enqueueing alone %s)%s\n",
			run.Workers, run.Throughput, spread, round(run.Elapsed), round(run.EnqueueElapsed), best)
	}
	fmt.Fprintf(w, "sync invoke    in-process, %3d callers, no queue               %8.0f events/s   %s\n",
		r.Workers, r.InvokeThroughput, round(r.InvokeElapsed))
	fmt.Fprintf(w, "async layer    the same, the function an in-process no-op     %8.0f events/s   %s\n",
		r.LayerThroughput, round(r.LayerElapsed))
	fmt.Fprintf(w, "store          publish + fetch + ack, same size, same run    %8.0f events/s   %s\n",
		r.StoreThroughput, round(r.StoreElapsed))
	invokeRatio := 0.0
	if r.InvokeThroughput > 0 {
		invokeRatio = r.Throughput / r.InvokeThroughput
	}
	fmt.Fprintf(w, "ratio          async invoke is %.2fx the store's raw rate and %.2fx the queue-less invoke path; %d succeeded, %d failed\n",
		r.Ratio(), invokeRatio, r.Succeeded, r.Failed)
	fmt.Fprintf(w, "\ntarget: ≥ %d events/s on a 2-core machine\n", AsyncTarget)
}

// JSON is the report for --output json.
func (r *AsyncReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
