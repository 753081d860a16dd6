package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/store"
)

// TestFiringTimes runs one definition on a fake clock and checks every
// scheduled time, and that each was handed over exactly when due.
func TestFiringTimes(t *testing.T) {
	tz := func(d *schedule.Definition, z string) *schedule.Definition { d.Timezone = z; return d }
	rule := func(d *schedule.Definition) *schedule.Definition {
		d.Kind, d.Group, d.TargetID = schedule.KindRule, "default", "t1"
		d.ARN = "arn:aws:events:us-east-1:" + acct + ":rule/" + d.Name
		return d
	}
	bounded := func(d *schedule.Definition, from, to time.Duration) *schedule.Definition {
		d.StartDate, d.EndDate = t0.Add(from), t0.Add(to)
		return d
	}
	newYork := func(days ...int) []time.Time { // 09:00 EST = 14:00 UTC
		var out []time.Time
		for _, d := range days {
			out = append(out, t0.AddDate(0, 0, d).Add(14*time.Hour))
		}
		return out
	}
	tests := []struct {
		name       string
		def        *schedule.Definition
		step       time.Duration
		steps      int
		want       []time.Time
		wantStates bool
	}{
		{"scheduler rate starts at its anchor", sched("r1", "rate(1 minute)", t0), 30 * time.Second, 10, minutes(span(0, 5)...), true},
		{"rule rate starts one period after", rule(sched("r2", "rate(5 minutes)", t0)), time.Minute, 16, minutes(5, 10, 15), true},
		{"cron every 15 minutes", sched("c1", "cron(0/15 * * * ? *)", t0.Add(time.Second)), 5 * time.Minute, 12, minutes(15, 30, 45, 60), true},
		{"cron in a time zone", tz(sched("c2", "cron(0 9 * * ? *)", t0), "America/New_York"), time.Hour, 63, newYork(0, 1, 2), true},
		{"start inclusive, end exclusive", bounded(sched("b1", "rate(1 minute)", t0), 3*time.Minute, 6*time.Minute), time.Minute, 9, minutes(3, 4, 5), true},
		{"start between occurrences", bounded(sched("b2", "rate(1 minute)", t0), 150*time.Second, time.Hour), 30 * time.Second, 10, minutes(3, 4, 5), true},
		{"seconds", sched("s1", "rate(10 seconds)", t0), 5 * time.Second, 7, []time.Time{t0, t0.Add(10 * time.Second), t0.Add(20 * time.Second), t0.Add(30 * time.Second)}, true},
		{"disabled never fires", func() *schedule.Definition { d := sched("d1", "rate(1 minute)", t0); d.Enabled = false; return d }(), time.Minute, 5, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			clk := clock.NewFake(t0)
			putDef(t, st, tc.def)
			target := &recTarget{clk: clk}
			e := start(t, st, clk, target, nil)
			e.settle(t)
			e.advance(t, tc.step, tc.steps)
			got := target.times(tc.def.Name)
			if !equalTimes(got, tc.want) {
				t.Fatalf("fired %v\nwant  %v", fmtTimes(got), fmtTimes(tc.want))
			}
			for _, f := range target.all() {
				if !f.At.Equal(f.ScheduledTime) {
					t.Errorf("%s fired at %s", f.ScheduledTime.UTC(), f.At.UTC())
				}
			}
			_, err := kv(t, st, schedule.StateBucket).Get(context.Background(), schedule.DefinitionKey(tc.def))
			if (err == nil) != tc.wantStates {
				t.Errorf("state stored: %v, want %v", err == nil, tc.wantStates)
			}
			if s := e.Stats(); s.Firings != uint64(len(tc.want)) || s.Lateness.Count != s.Firings || s.Lateness.Max != 0 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// TestBatch: everything due at one moment goes to the target in one call.
func TestBatch(t *testing.T) {
	const n = 300
	st := openStore(t)
	clk := clock.NewFake(t0)
	for i := range n {
		putDef(t, st, sched(fmt.Sprintf("s%03d", i), "rate(1 minute)", t0))
	}
	target := &recTarget{clk: clk}
	e := start(t, st, clk, target, nil)
	e.settle(t)
	e.advance(t, time.Minute, 2)
	target.mu.Lock()
	defer target.mu.Unlock()
	if len(target.batches) != 3 {
		t.Fatalf("%d Fire calls, want 3", len(target.batches))
	}
	ids := map[string]bool{}
	for k, b := range target.batches {
		if len(b) != n {
			t.Fatalf("batch %d has %d firings, want %d", k, len(b), n)
		}
		for i, f := range b {
			if want := fmt.Sprintf("s%03d", i); f.Definition.Name != want || !f.ScheduledTime.Equal(t0.Add(time.Duration(k)*time.Minute)) {
				t.Fatalf("batch %d[%d] = %s at %s, want %s at +%dm", k, i, f.Definition.Name, f.ScheduledTime, want, k)
			}
			if ids[f.ID] {
				t.Fatalf("repeated firing id %s", f.ID)
			}
			ids[f.ID] = true
		}
	}
	if s := e.Stats(); s.Batches != 3 || s.Firings != 3*n || s.Queued != n {
		t.Errorf("stats %+v", s)
	}
}

// TestChanges edits, disables, re-enables and deletes definitions while
// the engine runs.
func TestChanges(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	target := &recTarget{clk: clk}
	e := start(t, st, clk, target, nil)
	e.settle(t)

	a := sched("a", "rate(1 minute)", t0)
	e.sees(t, putDef(t, st, a)) // fires at t0 at once
	e.advance(t, time.Minute, 2)

	// Edit: a new revision restarts the sequence from now.
	e.advance(t, 30*time.Second, 1) // t0+2m30s
	a.Expression, a.Revision = "rate(2 minutes)", 2
	e.sees(t, putDef(t, st, a))
	e.advance(t, 30*time.Second, 4) // to t0+4m30s: rate(2 minutes) from t0 fires at +4m

	// Disable, let occurrences pass, enable: nothing missed is fired.
	a.Enabled = false
	e.sees(t, putDef(t, st, a))
	e.advance(t, time.Minute, 4) // t0+8m30s
	a.Enabled = true
	e.sees(t, putDef(t, st, a))
	e.advance(t, 30*time.Second, 4) // t0+10m30s: fires +10m

	// Delete: no more firings, and the state goes too.
	deleteDef(t, st, a)
	waitFor(t, "the definition to be dropped", func() bool { return e.Stats().Definitions == 0 })
	e.settle(t)
	e.advance(t, time.Minute, 5)

	want := minutes(0, 1, 2, 4, 10)
	if got := target.times("a"); !equalTimes(got, want) {
		t.Fatalf("fired %v\nwant  %v", fmtTimes(got), fmtTimes(want))
	}
	waitFor(t, "the firing state to be deleted", func() bool {
		_, err := kv(t, st, schedule.StateBucket).Get(context.Background(), schedule.DefinitionKey(a))
		return errors.Is(err, store.ErrNotFound)
	})
}

// TestOneTime: at() fires once, then OnComplete (retried when it fails)
// removes the definition.
func TestOneTime(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	target := &recTarget{clk: clk}
	var (
		mu    sync.Mutex
		calls []string
	)
	onComplete := func(ctx context.Context, d *schedule.Definition) error {
		mu.Lock()
		calls = append(calls, d.Name)
		first := len(calls) == 1
		mu.Unlock()
		if first {
			return errors.New("service busy")
		}
		return kv(t, st, schedule.DefinitionsBucket).Delete(ctx, schedule.DefinitionKey(d), 0)
	}
	once := sched("once", "at(2025-01-06T00:01:30)", t0)
	once.DeleteAfterCompletion = true
	keep := sched("keep", "at(2025-01-06T00:01:30)", t0) // no action after completion
	putDef(t, st, once)
	putDef(t, st, keep)
	e := start(t, st, clk, target, func(o *Options) { o.OnComplete = onComplete })
	e.settle(t)
	e.advance(t, 30*time.Second, 3) // fires at +1m30s; OnComplete fails
	mu.Lock()
	n := len(calls)
	mu.Unlock()
	if n != 1 {
		t.Fatalf("OnComplete called %d times right after the firing, want 1", n)
	}
	e.advance(t, completeRetry, 1) // the retry deletes the definition
	waitFor(t, "the definition to be dropped", func() bool { return e.Stats().Definitions == 1 })
	e.advance(t, time.Hour, 2)
	for _, name := range []string{"once", "keep"} {
		if got, want := target.times(name), minutes(0)[0].Add(90*time.Second); len(got) != 1 || !got[0].Equal(want) {
			t.Errorf("%s fired %v, want once at %s", name, fmtTimes(got), want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[0] != "once" || calls[1] != "once" {
		t.Errorf("OnComplete calls %v, want [once once]", calls)
	}
}

// TestFlexibleWindow: each occurrence fires once, at a random moment within
// its window; the state and the payload keep the scheduled time.
func TestFlexibleWindow(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	target := &recTarget{clk: clk}
	d := sched("flex", "rate(1 minute)", t0)
	d.FlexibleWindow = 40 * time.Second
	in := `{"t":"<aws.scheduler.scheduled-time>"}`
	d.Target.Input = &in
	putDef(t, st, d)
	e := start(t, st, clk, target, nil)
	e.settle(t)
	const step = 500 * time.Millisecond
	e.advance(t, step, int(20*time.Minute/step))
	fs := target.all()
	if len(fs) != 20 && len(fs) != 21 {
		t.Fatalf("%d firings in 20 minutes, want 20 or 21", len(fs))
	}
	delayed := 0
	for i, f := range fs {
		if want := t0.Add(time.Duration(i) * time.Minute); !f.ScheduledTime.Equal(want) {
			t.Fatalf("firing %d scheduled %s, want %s", i, f.ScheduledTime, want)
		}
		delay := f.At.Sub(f.ScheduledTime)
		if delay < 0 || delay > d.FlexibleWindow+step {
			t.Errorf("firing %d came %s after its time, window %s", i, delay, d.FlexibleWindow)
		}
		if delay > time.Second {
			delayed++
		}
		if want := `{"t":"` + f.ScheduledTime.UTC().Format(time.RFC3339) + `"}`; string(f.Payload) != want {
			t.Errorf("payload %s, want %s", f.Payload, want)
		}
	}
	if delayed < len(fs)/2 {
		t.Errorf("only %d of %d firings were delayed by more than 1 s in a 40 s window", delayed, len(fs))
	}
}

// TestFireErrorRetried: a refused batch is fired again, same IDs, until the
// target takes it; nothing is skipped.
func TestFireErrorRetried(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	target := &recTarget{clk: clk, fail: 4}
	putDef(t, st, sched("r", "rate(1 minute)", t0))
	e := start(t, st, clk, target, nil)
	// The first batch (t0) is refused 4 times: backoffs 100, 200, 400, 800 ms.
	waitFor(t, "the engine to retry", func() bool { return e.Stats().FireErrors >= 1 })
	for e.Stats().Firings == 0 {
		waitFor(t, "the engine to wait", e.idle)
		clk.Advance(100 * time.Millisecond)
	}
	e.settle(t)
	e.advance(t, time.Minute, 2)
	if got, want := target.times("r"), minutes(0, 1, 2); !equalTimes(got, want) {
		t.Fatalf("fired %v, want %v", fmtTimes(got), fmtTimes(want))
	}
	target.mu.Lock()
	attempts := target.attempts
	target.mu.Unlock()
	if len(attempts) != 7 {
		t.Fatalf("%d Fire calls, want 7", len(attempts))
	}
	for i := 1; i < 5; i++ {
		if attempts[i][0] != attempts[0][0] {
			t.Errorf("attempt %d carried id %s, the first %s", i, attempts[i][0], attempts[0][0])
		}
	}
	if s := e.Stats(); s.FireErrors != 4 || s.Firings != 3 {
		t.Errorf("stats %+v", s)
	}
}

// TestLeaseTakeover: of two engines on one store only the lease holder
// fires; when it stops the other takes over where it ended.
func TestLeaseTakeover(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	putDef(t, st, sched("r", "rate(1 minute)", t0))
	ta, tb := &recTarget{clk: clk}, &recTarget{clk: clk}
	// The lease renews on the engine's (fake) clock but lapses in the
	// store's wall time: a TTL of minutes keeps a slow machine from letting
	// a's lease lapse between two steps of the fake clock, while its third
	// (b's acquire retry) stays under the one-minute steps.
	const ttl = 150 * time.Second
	a := start(t, st, clk, ta, func(o *Options) { o.NodeID, o.LeaseTTL = "a", ttl })
	a.settle(t)
	b := start(t, st, clk, tb, func(o *Options) { o.NodeID, o.LeaseTTL = "b", ttl })
	waitFor(t, "b to wait for the lease", b.idle)
	for range 3 {
		clk.Advance(time.Minute)
		a.settle(t)
		waitFor(t, "b to wait for the lease", b.idle)
	}
	if b.Stats().Leading || len(tb.all()) != 0 {
		t.Fatalf("b fired while a held the lease: %v", fmtTimes(tb.times("r")))
	}
	a.stop()
	waitFor(t, "b to wait for the lease", b.idle)
	clk.Advance(time.Minute) // b's retry finds the lease free
	b.settle(t)
	b.advance(t, time.Minute, 2)

	gotA, gotB := ta.times("r"), tb.times("r")
	if want := minutes(0, 1, 2, 3); !equalTimes(gotA, want) {
		t.Errorf("a fired %v, want %v", fmtTimes(gotA), fmtTimes(want))
	}
	if want := minutes(4, 5, 6); !equalTimes(gotB, want) {
		t.Errorf("b fired %v, want %v", fmtTimes(gotB), fmtTimes(want))
	}
}

// TestLeaseLost: once another node holds the lease, the engine stops
// firing at its next renewal and waits for the lease again.
func TestLeaseLost(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	putDef(t, st, sched("r", "rate(1 minute)", t0))
	target := &recTarget{clk: clk}
	// The store keeps lease expiry in wall time: a short TTL lapses while the
	// fake clock stands still, so that another holder can take it.
	const ttl = 300 * time.Millisecond
	e := start(t, st, clk, target, func(o *Options) { o.LeaseTTL = ttl })
	e.settle(t)
	leases, err := st.Leases(context.Background(), LeaseTable)
	if err != nil {
		t.Fatal(err)
	}
	var intruder store.Lease
	waitFor(t, "the lease to lapse", func() bool {
		intruder, err = leases.Acquire(context.Background(), schedule.LeaseName, "intruder", time.Hour)
		return err == nil
	})
	clk.Advance(ttl / 3) // the renewal finds the lease taken
	stopped := func() bool { return !e.Stats().Leading && e.idle() }
	waitFor(t, "the engine to stop leading", stopped)
	for range 3 {
		clk.Advance(time.Minute)
		waitFor(t, "the engine to wait for the lease", stopped)
	}
	if got := target.times("r"); !equalTimes(got, minutes(0)) {
		t.Fatalf("fired %v after losing the lease, want only the first", fmtTimes(got))
	}
	if err := intruder.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.advance(t, ttl/3, 1) // the engine takes the lease back and catches up
	if got, want := target.times("r"), minutes(0, 1, 2, 3); !equalTimes(got, want) {
		t.Fatalf("fired %v, want %v", fmtTimes(got), fmtTimes(want))
	}
}

// TestRestart stops an engine, lets time pass, and starts another on the
// same store: it fires each missed occurrence within CatchUp once, in
// order, and nothing that was already fired.
func TestRestart(t *testing.T) {
	tests := []struct {
		name     string
		down     time.Duration
		maxCatch int
		edit     bool // the definition gets a new revision while down
		want     []int
		skips    uint64
	}{
		{"short downtime: all missed fired", 4*time.Minute + 30*time.Second, 0, false, span(0, 12), 0},
		{"window start is inclusive", 6 * time.Minute, 0, false, span(0, 12), 0},
		{"older than the window skipped", 10*time.Minute + 30*time.Second, 0, false, append(span(0, 3), span(9, 13)...), 1},
		{"bounded per schedule", 4 * time.Minute, 2, false, append(span(0, 3), span(6, 12)...), 1},
		{"edited while down: from now", 4*time.Minute + 30*time.Second, 0, true, append(span(0, 3), span(8, 12)...), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			clk := clock.NewFake(t0)
			d := sched("r", "rate(1 minute)", t0)
			putDef(t, st, d)
			target := &recTarget{clk: clk}
			mod := func(o *Options) { o.MaxCatchUpPerSchedule = tc.maxCatch }
			first := start(t, st, clk, target, mod)
			first.settle(t)
			first.advance(t, time.Minute, 3) // fires 0..3
			first.stop()

			if tc.edit {
				d.Revision++
				putDef(t, st, d)
			}
			clk.Advance(tc.down)
			second := start(t, st, clk, target, mod)
			second.settle(t)
			for clk.Now().Before(t0.Add(12 * time.Minute)) {
				second.advance(t, 30*time.Second, 1)
			}
			got := target.times("r")
			for i := 1; i < len(got); i++ {
				if !got[i].After(got[i-1]) {
					t.Fatalf("not strictly increasing: %v", fmtTimes(got))
				}
			}
			if want := minutes(tc.want...); !equalTimes(got, want) {
				t.Fatalf("fired %v\nwant  %v", fmtTimes(got), fmtTimes(want))
			}
			if s := second.Stats(); s.Skips != tc.skips {
				t.Errorf("skips %d, want %d", s.Skips, tc.skips)
			}
		})
	}
}

// TestCrashBetweenFireAndState: state that lags behind what was fired
// (a crash after Fire, before the write) makes the next leader fire those
// occurrences again with the same IDs, so the target can drop them.
func TestCrashBetweenFireAndState(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	d := sched("r", "rate(1 minute)", t0)
	putDef(t, st, d)
	b, _ := json.Marshal(state{Revision: 1, LastFired: t0, Since: t0.Add(-1)})
	if _, err := kv(t, st, schedule.StateBucket).Put(context.Background(), schedule.DefinitionKey(d), b); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // +1m and +2m were fired, say, but not recorded
	target := &recTarget{clk: clk}
	e := start(t, st, clk, target, nil)
	e.settle(t)
	got := target.all()
	if len(got) != 2 || got[0].ID != FiringID(d, t0.Add(time.Minute)) || got[1].ID != FiringID(d, t0.Add(2*time.Minute)) {
		t.Fatalf("fired %+v, want +1m and +2m with their deterministic IDs", got)
	}
}

// TestStateConflictEndsTerm: state written by someone else (another leader)
// makes the engine give up its term and reload before firing on.
func TestStateConflictEndsTerm(t *testing.T) {
	st := openStore(t)
	clk := clock.NewFake(t0)
	d := sched("r", "rate(1 minute)", t0)
	putDef(t, st, d)
	target := &recTarget{clk: clk}
	e := start(t, st, clk, target, nil)
	e.settle(t)
	// Another node records +1m and +2m as fired.
	b, _ := json.Marshal(state{Revision: 1, LastFired: t0.Add(2 * time.Minute), Since: t0.Add(-1)})
	if _, err := kv(t, st, schedule.StateBucket).Put(context.Background(), schedule.DefinitionKey(d), b); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // fires +1m; its state write conflicts
	waitFor(t, "the conflict", func() bool { return e.Stats().StateErrors == 1 })
	waitFor(t, "the engine to wait", e.idle)
	clk.Advance(termBackoff) // the new term reloads: +2m is done
	e.settle(t)
	e.advance(t, time.Minute, 2) // to +3m1s
	if got, want := target.times("r"), minutes(0, 1, 3); !equalTimes(got, want) {
		t.Fatalf("fired %v, want %v", fmtTimes(got), fmtTimes(want))
	}
}

// TestRealClock: with the wall clock, rate(1 second) fires about every second.
func TestRealClock(t *testing.T) {
	st := openStore(t)
	var count atomic.Int64
	d := sched("s", "rate(1 second)", time.Now())
	putDef(t, st, d)
	target := targetFunc(func(_ context.Context, fs []schedule.Firing) error {
		count.Add(int64(len(fs)))
		return nil
	})
	e, err := New(Options{Store: st, Target: target, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count.Load(); n < 4 || n > 6 {
		t.Errorf("%d firings in 5 s, want 4 to 6", n)
	}
}

type targetFunc func(context.Context, []schedule.Firing) error

func (f targetFunc) Fire(ctx context.Context, fs []schedule.Firing) error { return f(ctx, fs) }

func TestNewRejects(t *testing.T) {
	st := openStore(t)
	target := &recTarget{}
	for _, o := range []Options{{Target: target}, {Store: st}, {Store: st, Target: target, CatchUp: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
