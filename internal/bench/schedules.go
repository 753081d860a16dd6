package bench

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/schedule/engine"
	"github.com/lamina-dev/lamina/internal/store"
)

// SchedulesOptions configure RunSchedules. Zero fields take the defaults.
type SchedulesOptions struct {
	// Schedules is how many schedules fire (default 1000).
	Schedules int
	// Duration is the measured stretch of schedule time (default 10 s).
	Duration time.Duration
	// Rate is every schedule's period, whole seconds (default 1 s).
	Rate time.Duration
}

func (o *SchedulesOptions) setDefaults() error {
	if o.Schedules <= 0 {
		o.Schedules = 1000
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Rate <= 0 {
		o.Rate = time.Second
	}
	if o.Rate%time.Second != 0 {
		return fmt.Errorf("rate %s is not a whole number of seconds", o.Rate)
	}
	return nil
}

// Lateness summarises how long after their scheduled time firings reached
// their target.
type Lateness struct {
	// Firings counts those scheduled within the measured stretch, of
	// Expected; Missing and Duplicates count occurrences not fired or fired
	// more than once.
	Firings, Expected, Missing, Duplicates int
	P50, P99, Max                          time.Duration
}

func (l Lateness) String() string {
	return fmt.Sprintf("%6d/%-6d  p50 %9s  p99 %9s  max %9s", l.Firings, l.Expected, round(l.P50), round(l.P99), round(l.Max))
}

// SchedulesReport holds every figure of one run.
type SchedulesReport struct {
	GOMAXPROCS int
	Schedules  int
	Duration   time.Duration
	Rate       time.Duration
	// Lamina is the engine on an embedded store, all schedules due at the
	// same instants (its worst case: every firing in one batch); Baseline
	// a bare timer loop calling one callback per schedule at the same
	// instants, with no store, no payloads, no state.
	Lamina, Baseline Lateness
	// Engine is the engine's own account (its lateness is measured at the
	// Fire call, before the target records anything).
	Engine engine.Stats
}

// RunSchedules measures how late the schedule engine fires opts.Schedules
// schedules at rate(opts.Rate) for opts.Duration, beside a bare timer loop
// in the same run. It opens an embedded store in a temporary directory and
// writes progress lines to w (nil = discard).
func RunSchedules(ctx context.Context, opts SchedulesOptions, w io.Writer) (*SchedulesReport, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if w == nil {
		w = io.Discard
	}
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	rep := &SchedulesReport{GOMAXPROCS: runtime.GOMAXPROCS(0), Schedules: opts.Schedules, Duration: opts.Duration, Rate: opts.Rate}

	say("engine: %d schedules at every %s for %s on an embedded store", opts.Schedules, opts.Rate, opts.Duration)
	lamina, stats, err := runEngine(ctx, opts)
	if err != nil {
		return nil, err
	}
	rep.Lamina, rep.Engine = lamina, stats

	say("baseline: a bare timer loop, %d callbacks every %s for %s", opts.Schedules, opts.Rate, opts.Duration)
	rep.Baseline, err = runBareLoop(ctx, opts)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// lateRecorder collects the lateness of each schedule's firings within the
// measured stretch [from, to).
type lateRecorder struct {
	from, to time.Time

	mu   sync.Mutex
	late []time.Duration
	seen map[string][]time.Time // scheduled times per schedule
}

func newLateRecorder(from, to time.Time, capacity int) *lateRecorder {
	return &lateRecorder{from: from, to: to, late: make([]time.Duration, 0, capacity), seen: map[string][]time.Time{}}
}

func (r *lateRecorder) record(key string, scheduled, now time.Time) {
	if scheduled.Before(r.from) || !scheduled.Before(r.to) {
		return
	}
	r.mu.Lock()
	r.late = append(r.late, now.Sub(scheduled))
	r.seen[key] = append(r.seen[key], scheduled)
	r.mu.Unlock()
}

// summary checks every schedule's scheduled times against the expected
// sequence and summarises the lateness.
func (r *lateRecorder) summary(keys []string, rate time.Duration) Lateness {
	r.mu.Lock()
	defer r.mu.Unlock()
	per := int(r.to.Sub(r.from) / rate)
	l := Lateness{Firings: len(r.late), Expected: per * len(keys)}
	for _, k := range keys {
		got := map[time.Time]int{}
		for _, t := range r.seen[k] {
			got[t.UTC()]++
		}
		for i := range per {
			switch n := got[r.from.Add(time.Duration(i)*rate).UTC()]; {
			case n == 0:
				l.Missing++
			case n > 1:
				l.Duplicates += n - 1
			}
		}
	}
	slices.Sort(r.late)
	if n := len(r.late); n > 0 {
		l.P50, l.P99, l.Max = r.late[n*50/100], r.late[min(n-1, n*99/100)], r.late[n-1]
	}
	return l
}

// recordingTarget records each firing's lateness and stores nothing.
type recordingTarget struct{ r *lateRecorder }

func (t recordingTarget) Fire(_ context.Context, fs []schedule.Firing) error {
	for _, f := range fs {
		t.r.record(f.Definition.ARN, f.ScheduledTime, time.Now())
	}
	return nil
}

func runEngine(ctx context.Context, opts SchedulesOptions) (Lateness, engine.Stats, error) {
	dir, err := os.MkdirTemp("", "lamina-bench-schedules-")
	if err != nil {
		return Lateness{}, engine.Stats{}, err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet})
	if err != nil {
		return Lateness{}, engine.Stats{}, fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	defs, err := st.KV(ctx, schedule.DefinitionsBucket)
	if err != nil {
		return Lateness{}, engine.Stats{}, err
	}

	// The definitions are written while the engine runs, as the service
	// would, all anchored at one instant far enough ahead for every write
	// to be seen before it.
	anchor := time.Now().Add(2*time.Second + time.Duration(opts.Schedules)*time.Millisecond).Truncate(time.Second)
	rec := newLateRecorder(anchor, anchor.Add(opts.Duration), opts.Schedules*int(opts.Duration/opts.Rate))
	eng, err := engine.New(engine.Options{Store: st, Target: recordingTarget{rec}, Logger: quiet, NodeID: "bench"})
	if err != nil {
		return Lateness{}, engine.Stats{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	if err := waitUntil(ctx, func() bool { return eng.Stats().Leading }); err != nil {
		return Lateness{}, engine.Stats{}, fmt.Errorf("engine did not start leading: %w", err)
	}

	expression := fmt.Sprintf("rate(%d seconds)", opts.Rate/time.Second)
	if opts.Rate == time.Second {
		expression = "rate(1 second)"
	}
	keys := make([]string, opts.Schedules)
	for i := range keys {
		name := fmt.Sprintf("bench-%05d", i)
		keys[i] = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/" + name
	}
	err = parallel(ctx, opts.Schedules, 16, func(ctx context.Context, i int) error {
		d := &schedule.Definition{
			Kind: schedule.KindSchedule, ARN: keys[i], Group: "default", Name: fmt.Sprintf("bench-%05d", i),
			Expression: expression, Anchor: anchor, Enabled: true, Revision: 1,
			Target: schedule.TargetSpec{Arn: "arn:aws:lambda:us-east-1:000000000000:function:bench"},
		}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		_, err = defs.Put(ctx, schedule.DefinitionKey(d), b)
		return err
	})
	if err != nil {
		return Lateness{}, engine.Stats{}, fmt.Errorf("write definitions: %w", err)
	}
	if err := waitUntil(ctx, func() bool { return eng.Stats().Definitions == opts.Schedules }); err != nil {
		return Lateness{}, engine.Stats{}, fmt.Errorf("engine did not see the definitions: %w", err)
	}
	if time.Now().After(anchor) {
		return Lateness{}, engine.Stats{}, errors.New("setting up took longer than planned: the first firings would be late")
	}

	// Let the last measured occurrences fire, then stop.
	if err := sleepUntil(ctx, anchor.Add(opts.Duration+opts.Rate/2)); err != nil {
		return Lateness{}, engine.Stats{}, err
	}
	cancel()
	if err := <-done; err != nil {
		return Lateness{}, engine.Stats{}, err
	}
	return rec.summary(keys, opts.Rate), eng.Stats(), nil
}

// runBareLoop is the baseline: the engine's timer loop without a store.
// A min-heap of next times, one timer for the earliest, and on waking one
// callback per schedule due, each recording its lateness.
func runBareLoop(ctx context.Context, opts SchedulesOptions) (Lateness, error) {
	clk := clock.Real{}
	anchor := time.Now().Add(time.Second).Truncate(time.Second)
	rec := newLateRecorder(anchor, anchor.Add(opts.Duration), opts.Schedules*int(opts.Duration/opts.Rate))
	keys := make([]string, opts.Schedules)
	q := make(bareQueue, opts.Schedules)
	for i := range q {
		keys[i] = fmt.Sprintf("bare-%05d", i)
		q[i] = &bareItem{key: keys[i], next: anchor}
	}
	heap.Init(&q)
	end := anchor.Add(opts.Duration + opts.Rate/2)
	callback := func(key string, scheduled time.Time) { rec.record(key, scheduled, time.Now()) }
	for {
		now := clk.Now()
		if !now.Before(end) {
			break
		}
		for q[0].next.Compare(now) <= 0 {
			it := q[0]
			callback(it.key, it.next)
			it.next = it.next.Add(opts.Rate)
			heap.Fix(&q, 0)
		}
		wake := q[0].next
		if end.Before(wake) {
			wake = end
		}
		t := clk.NewTimer(wake.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return Lateness{}, ctx.Err()
		case <-t.C():
		}
	}
	return rec.summary(keys, opts.Rate), nil
}

type bareItem struct {
	key  string
	next time.Time
}

type bareQueue []*bareItem

func (q bareQueue) Len() int           { return len(q) }
func (q bareQueue) Less(i, j int) bool { return q[i].next.Before(q[j].next) }
func (q bareQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *bareQueue) Push(x any)        { *q = append(*q, x.(*bareItem)) }
func (q *bareQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// parallel runs f(0..n-1) on `workers` goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// waitUntil polls cond every 10 ms until it holds or 30 s pass.
func waitUntil(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Print writes the report as a table with the ratio of the p99s.
func (r *SchedulesReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina schedules benchmark (GOMAXPROCS=%d): %d schedules every %s for %s, all due at the same instants\n\n",
		r.GOMAXPROCS, r.Schedules, r.Rate, r.Duration)
	fmt.Fprintf(w, "lateness (fired − scheduled)   firings/expected\n")
	fmt.Fprintf(w, "Lamina engine (embedded store) %s\n", r.Lamina)
	fmt.Fprintf(w, "bare timer loop (no store)     %s\n", r.Baseline)
	ratio := 0.0
	if r.Baseline.P99 > 0 {
		ratio = float64(r.Lamina.P99) / float64(r.Baseline.P99)
	}
	fmt.Fprintf(w, "ratio (p99)                    %.2fx\n", ratio)
	fmt.Fprintf(w, "\nLamina: %d missing, %d duplicates; engine: %d firings in %d batches, %d refused, lateness at Fire p50 %s p99 %s max %s\n",
		r.Lamina.Missing, r.Lamina.Duplicates, r.Engine.Firings, r.Engine.Batches, r.Engine.FireErrors,
		round(r.Engine.Lateness.P50), round(r.Engine.Lateness.P99), round(r.Engine.Lateness.Max))
	fmt.Fprintf(w, "\ntarget: Lamina p99 lateness < 100ms, nothing missing or repeated\n")
}

// JSON renders the report for machines.
func (r *SchedulesReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
