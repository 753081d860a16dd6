package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// open returns a Store on a fresh store, with a fake clock, whose sweeper
// stops before the store closes.
func open(t *testing.T, opts Options) (*Store, store.Store, *clock.Fake) {
	t.Helper()
	st := openStore(t, t.TempDir())
	fc := clock.NewFake(t0)
	if opts.Clock == nil {
		opts.Clock = fc
	}
	opts.Logger = quiet()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-s.done })
	fc.BlockUntil(1) // the sweep at start is done: tests set up their own state
	return s, st, fc
}

func rec(fn, payload string) *Record {
	return &Record{Source: SourceAsync, FunctionName: fn, RequestID: "req-" + fn, Payload: json.RawMessage(payload),
		Condition: RetriesExhausted, ErrorType: "Error", ErrorMessage: "boom", Attempts: 3, EnqueuedAt: t0.Add(-time.Minute)}
}

func put(t *testing.T, s *Store, r *Record) *Record {
	t.Helper()
	if err := s.Put(t.Context(), r); err != nil {
		t.Fatalf("Put %s: %v", r.FunctionName, err)
	}
	return r
}

func ids(rs []Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestPutGet(t *testing.T) {
	s, _, fc := open(t, Options{})
	ctx := t.Context()

	r := put(t, s, rec("hello", `{"k":"v","n":1}`))
	if len(r.ID) != idLen || !r.FailedAt.Equal(t0) {
		t.Fatalf("Put filled ID %q FailedAt %v, want a %d-character ID and the clock's time", r.ID, r.FailedAt, idLen)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FunctionName != "hello" || string(got.Payload) != `{"k":"v","n":1}` || got.Attempts != 3 ||
		got.Condition != RetriesExhausted || !got.FailedAt.Equal(t0) || !got.EnqueuedAt.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("Get = %+v", got)
	}

	// A 1 MiB payload (the async limit) is kept whole.
	big := `{"data":"` + strings.Repeat("x", 1<<20) + `"}`
	fc.Advance(time.Millisecond)
	rb := put(t, s, rec("big", big))
	got, err = s.Get(ctx, rb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Payload, []byte(big)) {
		t.Fatalf("1 MiB payload came back as %d bytes", len(got.Payload))
	}

	// A caller-chosen ID and FailedAt are kept; putting it again replaces it.
	at := t0.Add(-time.Hour)
	mine := &Record{ID: "my-id_1", FunctionName: "arn:aws:lambda:us-east-1:000000000000:function:f", FailedAt: at,
		Payload: json.RawMessage(`[]`), Response: json.RawMessage(`not json`)}
	put(t, s, mine)
	mine.Attempts = 7
	put(t, s, mine)
	got, err = s.Get(ctx, "my-id_1")
	if err != nil {
		t.Fatal(err)
	}
	var resp string
	if !got.FailedAt.Equal(at) || got.Attempts != 7 || json.Unmarshal(got.Response, &resp) != nil || resp != "not json" {
		t.Fatalf("caller-chosen record = %+v (response %s)", got, got.Response)
	}
	if n, _ := s.Count(ctx, mine.FunctionName); n != 1 {
		t.Fatalf("Count after putting the same ID twice = %d, want 1", n)
	}
}

func TestPutRefuses(t *testing.T) {
	s, _, _ := open(t, Options{})
	for _, tc := range []struct {
		name string
		r    *Record
	}{
		{"nil record", nil},
		{"ID with a dot", &Record{ID: "a.b", FunctionName: "f"}},
		{"ID with a wildcard", &Record{ID: "a*", FunctionName: "f"}},
		{"ID too long", &Record{ID: strings.Repeat("a", 129), FunctionName: "f"}},
		{"payload not JSON", &Record{FunctionName: "f", Payload: json.RawMessage(`{`)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(t.Context(), tc.r); !fault.Is(err, fault.Invalid) {
				t.Fatalf("Put = %v, want fault.Invalid", err)
			}
		})
	}
	if n, _ := s.Count(t.Context(), ""); n != 0 {
		t.Fatalf("refused records were stored: Count = %d", n)
	}
}

func TestIDsSortByFailedAt(t *testing.T) {
	s, _, fc := open(t, Options{})
	var want []string
	// Several in the same millisecond, then later ones, across functions.
	for i := range 20 {
		if i%5 == 0 {
			fc.Advance(time.Millisecond)
		}
		want = append(want, put(t, s, rec(fmt.Sprintf("f%d", i%3), `{}`)).ID)
	}
	// A record that failed earlier (caller-set FailedAt) sorts first.
	early := rec("f1", `{}`)
	early.FailedAt = t0.Add(-time.Hour)
	want = append([]string{put(t, s, early).ID}, want...)

	if !slices.IsSorted(want[1:]) {
		t.Fatalf("IDs in Put order are not sorted: %v", want)
	}
	all, err := s.List(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(all); !slices.Equal(got, want) {
		t.Fatalf("List order:\n got %v\nwant %v", got, want)
	}
	seen := map[string]bool{}
	for _, id := range want {
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
	}
}

func TestListFilters(t *testing.T) {
	s, _, fc := open(t, Options{})
	ctx := t.Context()
	byFn := map[string][]string{}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:f"
	for _, fn := range []string{"f", "f2", "f", "f-x", arn, "f", ""} {
		fc.Advance(time.Second)
		byFn[fn] = append(byFn[fn], put(t, s, rec(fn, `{"fn":"`+fn+`"}`)).ID)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		// "f" must not match "f2", "f-x" or the ARN ending in ":f".
		{"one function", Filter{FunctionName: "f"}, byFn["f"]},
		{"function with a limit", Filter{FunctionName: "f", Limit: 2}, byFn["f"][:2]},
		{"function named by ARN", Filter{FunctionName: arn}, byFn[arn]},
		{"no function name", Filter{FunctionName: "f2"}, byFn["f2"]},
		{"unknown function", Filter{FunctionName: "nope"}, []string{}},
		{"all with a limit", Filter{Limit: 3}, []string{byFn["f"][0], byFn["f2"][0], byFn["f"][1]}},
		{"IDs, unknown and repeated ones left out", Filter{IDs: []string{byFn["f2"][0], "UNKNOWN", byFn["f"][0], byFn["f2"][0]}},
			[]string{byFn["f"][0], byFn["f2"][0]}},
		{"IDs of another function left out", Filter{FunctionName: "f", IDs: []string{byFn["f2"][0], byFn["f"][2]}}, byFn["f"][2:]},
		{"IDs with a limit", Filter{IDs: byFn["f"], Limit: 1}, byFn["f"][:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Fatalf("List(%+v) = %v, want %v", tc.f, ids(got), tc.want)
			}
			for _, r := range got {
				if string(r.Payload) != `{"fn":"`+r.FunctionName+`"}` {
					t.Fatalf("record %s of %q has payload %s", r.ID, r.FunctionName, r.Payload)
				}
			}
		})
	}
	if n, _ := s.Count(ctx, ""); n != 7 {
		t.Fatalf("Count(all) = %d, want 7", n)
	}
	if n, _ := s.Count(ctx, "f"); n != 3 {
		t.Fatalf("Count(f) = %d, want 3", n)
	}
	if _, err := s.List(ctx, Filter{IDs: []string{"bad.id"}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("List with an invalid ID = %v, want fault.Invalid", err)
	}
}

func TestDeleteAndPurge(t *testing.T) {
	s, _, fc := open(t, Options{})
	ctx := t.Context()
	var fs, gs []string
	for range 4 {
		fc.Advance(time.Millisecond)
		fs = append(fs, put(t, s, rec("f", `{}`)).ID)
		gs = append(gs, put(t, s, rec("g", `{}`)).ID)
	}

	if err := s.Delete(ctx, fs[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, fs[0]); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Get after Delete = %v, want fault.NotFound", err)
	}
	if err := s.Delete(ctx, fs[0]); err != nil {
		t.Fatalf("Delete of a missing record = %v, want nil", err)
	}
	if err := s.Delete(ctx, "a>b"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("Delete of an invalid ID = %v, want fault.Invalid", err)
	}
	if _, err := s.Get(ctx, "a b"); !fault.Is(err, fault.Invalid) {
		t.Fatalf("Get of an invalid ID = %v, want fault.Invalid", err)
	}

	for _, tc := range []struct {
		name      string
		f         Filter
		want      int
		remainF   int
		remainAll int
	}{
		{"IDs of another function", Filter{FunctionName: "f", IDs: gs[:2]}, 0, 3, 7},
		{"IDs", Filter{IDs: []string{fs[1], gs[0], "MISSING"}}, 2, 2, 5},
		{"function with a limit takes the oldest", Filter{FunctionName: "f", Limit: 1}, 1, 1, 4},
		{"function", Filter{FunctionName: "f"}, 1, 0, 3},
		{"everything", Filter{}, 3, 0, 0},
	} {
		n, err := s.Purge(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		nf, _ := s.Count(ctx, "f")
		na, _ := s.Count(ctx, "")
		if n != tc.want || nf != tc.remainF || na != tc.remainAll {
			t.Fatalf("%s: Purge = %d (left f %d, all %d), want %d (left %d, %d)", tc.name, n, nf, na, tc.want, tc.remainF, tc.remainAll)
		}
		if tc.name == "function with a limit takes the oldest" {
			if _, err := s.Get(ctx, fs[2]); !fault.Is(err, fault.NotFound) {
				t.Fatalf("the oldest record of f was not the one purged: %v", err)
			}
		}
	}
	// Purge removes the index keys too.
	kv, _ := s.kv.Keys(ctx, "")
	if len(kv) != 0 {
		t.Fatalf("keys left after purging everything: %v", kv)
	}
}

func TestRetentionSweeper(t *testing.T) {
	const retention, interval = 24 * time.Hour, time.Hour
	s, _, fc := open(t, Options{Retention: retention, SweepInterval: interval})
	ctx := t.Context()

	old := put(t, s, rec("f", `{"old":true}`))
	fc.Advance(2 * time.Hour)
	young := put(t, s, rec("f", `{"young":true}`))
	// FailedAt, not the time of the Put, decides.
	backdated := rec("g", `{}`)
	backdated.FailedAt = t0.Add(-48 * time.Hour)
	put(t, s, backdated)

	// At t0+23h30m the backdated record is long expired, old is 23h30m
	// old and young 21h30m; an interval later old is 24h30m old.
	fc.BlockUntil(1)
	fc.Advance(retention - 2*time.Hour + 30*time.Minute - interval)
	waitFor(t, func() bool { n, _ := s.Count(ctx, "g"); return n == 0 }, "the backdated record to expire")
	if n, _ := s.Count(ctx, "f"); n != 2 {
		t.Fatalf("records within retention removed too early: %d of f left, want 2", n)
	}
	fc.BlockUntil(1)
	fc.Advance(interval)
	waitFor(t, func() bool { n, _ := s.Count(ctx, "f"); return n == 1 }, "the old record to expire")
	if _, err := s.Get(ctx, old.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("expired record: Get = %v", err)
	}
	if _, err := s.Get(ctx, young.ID); err != nil {
		t.Fatalf("young record: %v", err)
	}
}

// waitFor polls cond in real time (the sweeper runs on its own goroutine).
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A crash between the two writes of a Put or a Delete leaves a record
// without its index or an index without its record; neither loses or
// invents a record.
func TestRepairAfterCrash(t *testing.T) {
	s, st, _ := open(t, Options{Retention: time.Hour})
	ctx := t.Context()
	kv, err := st.KV(ctx, Bucket)
	if err != nil {
		t.Fatal(err)
	}
	// A record whose index was never written.
	r := put(t, s, rec("f", `{"a":1}`))
	if err := kv.Delete(ctx, indexKey(r.ID), 0); err != nil {
		t.Fatal(err)
	}
	// An expired record without an index.
	gone := rec("f", `{}`)
	gone.FailedAt = t0.Add(-2 * time.Hour)
	put(t, s, gone)
	if err := kv.Delete(ctx, indexKey(gone.ID), 0); err != nil {
		t.Fatal(err)
	}
	// An index whose record was deleted.
	o := put(t, s, rec("f", `{}`))
	if err := kv.Delete(ctx, dataKey("f", o.ID), 0); err != nil {
		t.Fatal(err)
	}

	got, err := s.Get(ctx, r.ID)
	if err != nil || string(got.Payload) != `{"a":1}` {
		t.Fatalf("Get of a record without index = %v, %v", got, err)
	}
	if _, err := s.Get(ctx, o.ID); !fault.Is(err, fault.NotFound) {
		t.Fatalf("Get of an index without record = %v, want fault.NotFound", err)
	}
	if l, _ := s.List(ctx, Filter{IDs: []string{r.ID, o.ID}}); !slices.Equal(ids(l), []string{r.ID}) {
		t.Fatalf("List by IDs = %v, want only %s", ids(l), r.ID)
	}

	n, err := s.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the expired record removed", n, err)
	}
	if _, err := kv.Get(ctx, indexKey(r.ID)); err != nil {
		t.Fatalf("index of %s not rebuilt: %v", r.ID, err)
	}
	if _, err := kv.Get(ctx, indexKey(o.ID)); err == nil {
		t.Fatalf("index without record %s not removed", o.ID)
	}
	if keys, _ := kv.Keys(ctx, ""); !slices.Equal(keys, []string{indexKey(r.ID), dataKey("f", r.ID)}) {
		t.Fatalf("keys after sweep = %v", keys)
	}
}

// Records survive a restart of the store.
func TestDurable(t *testing.T) {
	dir := t.TempDir()
	fc := clock.NewFake(t0)
	st, err := store.Open(t.Context(), store.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Open(ctx, st, Options{Clock: fc, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r := put(t, s, rec("f", `{"kept":true}`))
	cancel()
	<-s.done
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	s2, _, _ := func() (*Store, store.Store, *clock.Fake) {
		st2 := openStore(t, dir)
		ctx, cancel := context.WithCancel(context.Background())
		s2, err := Open(ctx, st2, Options{Clock: fc, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); <-s2.done })
		return s2, st2, fc
	}()
	got, err := s2.Get(t.Context(), r.ID)
	if err != nil || string(got.Payload) != `{"kept":true}` {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
}

func TestFnToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hello-World_1", "hello-World_1"},
		{"", "="},
		{"arn:aws:lambda:us-east-1:1:function:f", "arn=3Aaws=3Alambda=3Aus-east-1=3A1=3Afunction=3Af"},
		{"a.b*c>", "a=2Eb=2Ac=3E"},
	} {
		if got := fnToken(tc.in); got != tc.want {
			t.Errorf("fnToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
