package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/store"
)

// t0 is the fake clock's start: a Monday, 00:00 UTC.
var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

const acct = "123456789012"

var quiet = slog.New(slog.DiscardHandler)

// openStore opens a real embedded store in a temporary directory.
func openStore(t testing.TB) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func kv(t testing.TB, st store.Store, bucket string) store.KV {
	t.Helper()
	b, err := st.KV(context.Background(), bucket)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sched is a Scheduler schedule in group "default".
func sched(name, expression string, anchor time.Time) *schedule.Definition {
	return &schedule.Definition{
		Kind: schedule.KindSchedule, Group: "default", Name: name,
		ARN:        "arn:aws:scheduler:us-east-1:" + acct + ":schedule/default/" + name,
		Expression: expression, Anchor: anchor, Enabled: true, Revision: 1,
		Target: schedule.TargetSpec{Arn: "arn:aws:lambda:us-east-1:" + acct + ":function:f"},
	}
}

// putDef writes d as the service would and returns the bucket revision.
func putDef(t testing.TB, st store.Store, d *schedule.Definition) uint64 {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv(t, st, schedule.DefinitionsBucket).Put(context.Background(), schedule.DefinitionKey(d), b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func deleteDef(t testing.TB, st store.Store, d *schedule.Definition) {
	t.Helper()
	if err := kv(t, st, schedule.DefinitionsBucket).Delete(context.Background(), schedule.DefinitionKey(d), 0); err != nil {
		t.Fatal(err)
	}
}

// fired is one firing as the target saw it.
type fired struct {
	schedule.Firing
	At time.Time // clock time of the Fire call
}

// recTarget records the firings of the calls it accepts; it refuses the
// first `fail` calls.
type recTarget struct {
	clk clock.Clock

	mu       sync.Mutex
	fail     int
	batches  [][]fired
	attempts [][]string // IDs of every call, refused ones too
}

func (r *recTarget) Fire(_ context.Context, fs []schedule.Firing) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.ID
	}
	r.attempts = append(r.attempts, ids)
	if r.fail > 0 {
		r.fail--
		return errors.New("target unavailable")
	}
	b := make([]fired, len(fs))
	for i, f := range fs {
		b[i] = fired{Firing: f, At: r.clk.Now()}
	}
	r.batches = append(r.batches, b)
	return nil
}

func (r *recTarget) all() []fired {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []fired
	for _, b := range r.batches {
		out = append(out, b...)
	}
	return out
}

// times returns the scheduled times fired for the definition named name.
func (r *recTarget) times(name string) []time.Time {
	var out []time.Time
	for _, f := range r.all() {
		if f.Definition.Name == name {
			out = append(out, f.ScheduledTime.UTC())
		}
	}
	return out
}

// running is an engine under test.
type running struct {
	*Engine
	clk  *clock.Fake
	stop func()
}

// start runs an engine on st and the fake clock until the test ends or
// stop is called (which waits for Run to return).
func start(t testing.TB, st store.Store, clk *clock.Fake, target schedule.Target, mod func(*Options)) *running {
	t.Helper()
	opts := Options{Store: st, Target: target, Clock: clk, Logger: quiet, NodeID: t.Name()}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return &running{Engine: e, clk: clk, stop: stop}
}

// waitFor polls cond (in real time) until it holds; it fails the test after
// a generous deadline, which only a broken engine reaches.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// idle reports whether e waits with nothing due by the clock's now.
func (r *running) idle() bool {
	if !r.parked.Load() {
		return false
	}
	w := r.wakeAt.Load()
	return w == 0 || w > r.clk.Now().UnixNano()
}

// settle waits until the engine leads and has fired everything due by now.
func (r *running) settle(t testing.TB) {
	t.Helper()
	waitFor(t, "the engine to lead and settle", func() bool { return r.Stats().Leading && r.idle() })
}

// sees waits until the engine has applied the definitions-bucket change
// rev and settled.
func (r *running) sees(t testing.TB, rev uint64) {
	t.Helper()
	waitFor(t, "the engine to apply a change", func() bool { return r.seen.Load() >= rev && r.Stats().Leading && r.idle() })
}

// advance moves the clock by step n times, settling after each.
func (r *running) advance(t testing.TB, step time.Duration, n int) {
	t.Helper()
	for range n {
		r.clk.Advance(step)
		r.settle(t)
	}
}

// minutes returns t0+m[i] minutes.
func minutes(m ...int) []time.Time {
	out := make([]time.Time, len(m))
	for i, v := range m {
		out[i] = t0.Add(time.Duration(v) * time.Minute)
	}
	return out
}

func span(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func equalTimes(a, b []time.Time) bool {
	return slices.EqualFunc(a, b, func(x, y time.Time) bool { return x.Equal(y) })
}

func fmtTimes(ts []time.Time) []string {
	out := make([]string, len(ts))
	for i, x := range ts {
		out[i] = x.UTC().Format("01-02T15:04:05.000")
	}
	return out
}
