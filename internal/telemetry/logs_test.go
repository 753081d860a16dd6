package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func openStore(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := store.Open(testCtx(t, 30*time.Second), store.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openLogs(t testing.TB, st store.Store, opts LogsOptions) *Logs {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	l, err := NewLogs(testCtx(t, 30*time.Second), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

func closeLogs(t testing.TB, l *Logs) {
	t.Helper()
	if err := l.Close(testCtx(t, 20*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func runQuery(t testing.TB, l *Logs, q LogQuery) ([]LogEvent, string) {
	t.Helper()
	evs, next, err := l.Query(testCtx(t, 20*time.Second), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return evs, next
}

func lines(evs []LogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Line
	}
	return out
}

const streamA = "2026/01/02/[$LATEST]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const streamB = "2026/01/02/[$LATEST]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// TestWriteManyQueryInOrder writes from many goroutines at once (one log
// stream each, as instances do) and reads everything back, each stream's
// lines in the order they were written.
func TestWriteManyQueryInOrder(t *testing.T) {
	st := openStore(t, t.TempDir())
	l := openLogs(t, st, LogsOptions{})
	const writers, perWriter = 16, 2000
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			fn := "fn-even"
			if w%2 == 1 {
				fn = "fn-odd"
			}
			stream := fmt.Sprintf("2026/01/02/[$LATEST]%032d", w)
			for i := range perWriter {
				l.WriteLog(LogLine{Time: time.Now(), FunctionName: fn, Version: "$LATEST", Stream: stream,
					RequestID: "req-" + strconv.Itoa(i/10), Line: fmt.Sprintf("w%d line %d", w, i)})
			}
		})
	}
	wg.Wait()
	closeLogs(t, l)
	t.Logf("%d lines written and stored in %v", writers*perWriter, time.Since(start))
	if d := l.Dropped(); d != 0 {
		t.Fatalf("%d lines dropped", d)
	}

	for _, fn := range []string{"fn-even", "fn-odd"} {
		evs, next := runQuery(t, l, LogQuery{FunctionName: fn, Limit: writers * perWriter})
		if len(evs) != writers/2*perWriter || next == "" && len(evs) == writers*perWriter {
			t.Fatalf("%s: %d events, want %d", fn, len(evs), writers/2*perWriter)
		}
		nextIdx := map[string]int{}
		for i, e := range evs {
			if i > 0 && e.ID <= evs[i-1].ID {
				t.Fatalf("IDs out of order: %s after %s", e.ID, evs[i-1].ID)
			}
			var w, n int
			if _, err := fmt.Sscanf(e.Line, "w%d line %d", &w, &n); err != nil {
				t.Fatalf("line %q: %v", e.Line, err)
			}
			if e.FunctionName != fn || e.Version != "$LATEST" || e.RequestID != "req-"+strconv.Itoa(n/10) ||
				e.Ingested.IsZero() || e.Time.IsZero() || !strings.HasSuffix(e.Stream, fmt.Sprintf("%032d", w)) {
				t.Fatalf("event %+v", e)
			}
			if n != nextIdx[e.Stream] {
				t.Fatalf("stream %s: line %d came where %d was due", e.Stream, n, nextIdx[e.Stream])
			}
			nextIdx[e.Stream]++
		}
		streams, err := l.Streams(testCtx(t, 10*time.Second), fn)
		if err != nil || len(streams) != writers/2 {
			t.Fatalf("Streams(%s) = %d, %v", fn, len(streams), err)
		}
		for _, s := range streams {
			if s.FunctionName != fn || s.Version != "$LATEST" || s.FirstEvent.IsZero() || s.LastEvent.Before(s.FirstEvent) ||
				s.LastIngestion.IsZero() || s.Bytes < int64(perWriter*len("w0 line 0")) {
				t.Fatalf("stream %+v", s)
			}
		}
	}
	fns, err := l.Functions(testCtx(t, 10*time.Second))
	if err != nil || len(fns) != 2 || fns[0].Name != "fn-even" || fns[1].Name != "fn-odd" || fns[0].Streams != writers/2 {
		t.Fatalf("Functions = %+v, %v", fns, err)
	}
	if streams, err := l.Streams(testCtx(t, 10*time.Second), "nobody"); err != nil || len(streams) != 0 {
		t.Fatalf("Streams(nobody) = %v, %v", streams, err)
	}
}

// writeFixture stores lines at known times in two streams of "fn" and
// one of "other", and returns once they are stored.
func writeFixture(t *testing.T, l *Logs) {
	t.Helper()
	fixture := []struct {
		stream string
		sec    int
		line   string
	}{
		{streamA, 0, "START RequestId: r1 Version: $LATEST"},
		{streamA, 1, "ERROR database timeout"},
		{streamB, 2, "INFO all good"},
		{streamA, 3, "WARN disk almost full"},
		{streamB, 4, `ERROR "quoted" thing`},
		{streamA, 5, "ERROR retrying: Task timed out"},
		{streamB, 6, "REPORT RequestId: r1 Duration: 12.5 ms"},
	}
	// Lines of different log streams stored in one flush are stored stream
	// by stream; a Sync after each line keeps the order of the fixture.
	for _, f := range fixture {
		l.WriteLog(LogLine{Time: t0.Add(time.Duration(f.sec) * time.Second), FunctionName: "fn", Version: "$LATEST",
			Stream: f.stream, RequestID: "r1", Line: f.line})
		mustSync(t, l)
	}
	l.WriteLog(LogLine{Time: t0, FunctionName: "other", Version: "3", Stream: "2026/01/02/[3]cc", Line: "ERROR elsewhere"})
	mustSync(t, l)
}

func mustSync(t *testing.T, l *Logs) {
	t.Helper()
	if err := l.Sync(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestQueryFilterAndTimeRange(t *testing.T) {
	st := openStore(t, t.TempDir())
	l := openLogs(t, st, LogsOptions{})
	writeFixture(t, l)

	tests := []struct {
		name string
		q    LogQuery
		want []string
	}{
		{"all", LogQuery{}, []string{
			"START RequestId: r1 Version: $LATEST", "ERROR database timeout", "INFO all good", "WARN disk almost full",
			`ERROR "quoted" thing`, "ERROR retrying: Task timed out", "REPORT RequestId: r1 Duration: 12.5 ms"}},
		{"term", LogQuery{Filter: "ERROR"}, []string{"ERROR database timeout", `ERROR "quoted" thing`, "ERROR retrying: Task timed out"}},
		{"terms are ANDed", LogQuery{Filter: "ERROR timeout"}, []string{"ERROR database timeout"}},
		{"case-sensitive", LogQuery{Filter: "error"}, nil},
		{"quoted phrase", LogQuery{Filter: `"Task timed out"`}, []string{"ERROR retrying: Task timed out"}},
		{"escaped quote", LogQuery{Filter: `"\"quoted\""`}, []string{`ERROR "quoted" thing`}},
		{"exclusion", LogQuery{Filter: "ERROR -retrying -database"}, []string{`ERROR "quoted" thing`}},
		{"either", LogQuery{Filter: "?WARN ?INFO"}, []string{"INFO all good", "WARN disk almost full"}},
		{"regex", LogQuery{Filter: `%Duration: [0-9.]+ ms%`}, []string{"REPORT RequestId: r1 Duration: 12.5 ms"}},
		{"empty quoted matches all", LogQuery{Filter: `""`, Limit: 2}, []string{"START RequestId: r1 Version: $LATEST", "ERROR database timeout"}},
		{"since", LogQuery{Since: t0.Add(5 * time.Second)}, []string{"ERROR retrying: Task timed out", "REPORT RequestId: r1 Duration: 12.5 ms"}},
		{"until is exclusive", LogQuery{Until: t0.Add(2 * time.Second)}, []string{"START RequestId: r1 Version: $LATEST", "ERROR database timeout"}},
		{"since and until", LogQuery{Since: t0.Add(2 * time.Second), Until: t0.Add(4 * time.Second)}, []string{"INFO all good", "WARN disk almost full"}},
		{"one stream", LogQuery{Streams: []string{streamB}}, []string{"INFO all good", `ERROR "quoted" thing`, "REPORT RequestId: r1 Duration: 12.5 ms"}},
		{"stream and filter", LogQuery{Streams: []string{streamA, "nope"}, Filter: "ERROR"}, []string{"ERROR database timeout", "ERROR retrying: Task timed out"}},
		{"unknown stream", LogQuery{Streams: []string{"nope"}}, nil},
		{"other function", LogQuery{FunctionName: "other"}, []string{"ERROR elsewhere"}},
		{"several functions", LogQuery{FunctionNames: []string{"other", "fn"}, Filter: "elsewhere"}, []string{"ERROR elsewhere"}},
		{"tail", LogQuery{Tail: true, Limit: 2}, []string{"ERROR retrying: Task timed out", "REPORT RequestId: r1 Duration: 12.5 ms"}},
		{"tail with filter", LogQuery{Tail: true, Limit: 2, Filter: "ERROR"}, []string{`ERROR "quoted" thing`, "ERROR retrying: Task timed out"}},
		{"max bytes", LogQuery{MaxBytes: 60}, []string{"START RequestId: r1 Version: $LATEST", "ERROR database timeout"}},
		{"max bytes keeps one", LogQuery{MaxBytes: 1}, []string{"START RequestId: r1 Version: $LATEST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			if q.FunctionName == "" && q.FunctionNames == nil {
				q.FunctionName = "fn"
			}
			evs, _ := runQuery(t, l, q)
			if got := lines(evs); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}

	for _, q := range []LogQuery{
		{},
		{FunctionName: "fn", Filter: `"unclosed`},
		{FunctionName: "fn", Filter: `{ $.level = "ERROR" }`},
		{FunctionName: "fn", NextToken: "bogus"},
		{FunctionName: "fn", Before: "12"},
		{FunctionName: "fn", Limit: -1},
		{FunctionName: "fn", Since: t0, Until: t0},
	} {
		_, _, err := l.Query(t.Context(), q)
		if k := fault.KindOf(err); k != fault.Invalid && k != fault.Unsupported {
			t.Errorf("Query(%+v) = %v, want an Invalid or Unsupported fault", q, err)
		}
	}
}

func TestQueryPaging(t *testing.T) {
	st := openStore(t, t.TempDir())
	// A long flush interval puts many lines in one stored batch, so pages
	// also end in the middle of a batch.
	l := openLogs(t, st, LogsOptions{FlushInterval: 200 * time.Millisecond})
	const n = 250
	for i := range n {
		l.WriteLog(LogLine{Time: t0.Add(time.Duration(i) * time.Millisecond), FunctionName: "pager", Version: "1",
			Stream: streamA, Line: "line " + strconv.Itoa(i)})
	}
	waitFor(t, func() bool {
		evs, _, err := l.Query(t.Context(), LogQuery{FunctionName: "pager"})
		return err == nil && len(evs) == n
	})

	var all []LogEvent
	token, pages := "", 0
	for {
		evs, next := runQuery(t, l, LogQuery{FunctionName: "pager", Limit: 100, NextToken: token})
		all = append(all, evs...)
		pages++
		if next == "" {
			break
		}
		if len(evs) != 100 || next != evs[len(evs)-1].ID {
			t.Fatalf("page %d: %d events, next %q", pages, len(evs), next)
		}
		token = next
	}
	// 100 + 100 + 50, then a full last page would need a fourth call.
	if pages != 3 || len(all) != n {
		t.Fatalf("%d pages, %d events", pages, len(all))
	}
	for i, e := range all {
		if e.Line != "line "+strconv.Itoa(i) {
			t.Fatalf("event %d = %q", i, e.Line)
		}
	}
	// A page that ends exactly at the end returns a token; the next page is empty.
	evs, next := runQuery(t, l, LogQuery{FunctionName: "pager", Limit: 50, NextToken: all[199].ID})
	if len(evs) != 50 || next == "" {
		t.Fatalf("last full page: %d events, next %q", len(evs), next)
	}
	if evs, next := runQuery(t, l, LogQuery{FunctionName: "pager", NextToken: next}); len(evs) != 0 || next != "" {
		t.Fatalf("after the end: %d events, next %q", len(evs), next)
	}
	// Backwards: the events before one, the last ones first in line.
	evs, _ = runQuery(t, l, LogQuery{FunctionName: "pager", Tail: true, Limit: 3, Before: all[100].ID})
	if got := lines(evs); !slices.Equal(got, []string{"line 97", "line 98", "line 99"}) {
		t.Fatalf("tail before = %q", got)
	}
	evs, _ = runQuery(t, l, LogQuery{FunctionName: "pager", Tail: true, Limit: 3, Before: all[1].ID})
	if got := lines(evs); !slices.Equal(got, []string{"line 0"}) {
		t.Fatalf("tail before the second = %q", got)
	}
	// Tail pages go backwards: each one's token is the next one's Before.
	var back []string
	before, pages := "", 0
	for {
		evs, next := runQuery(t, l, LogQuery{FunctionName: "pager", Tail: true, Limit: 100, Before: before})
		back = append(lines(evs), back...)
		if pages++; next == "" {
			break
		}
		if next != evs[0].ID || pages > 3 {
			t.Fatalf("tail page %d: next %q", pages, next)
		}
		before = next
	}
	if pages != 3 || !slices.Equal(back, lines(all)) {
		t.Fatalf("tail pages: %d, %d events", pages, len(back))
	}
	// StartToken is before everything.
	if evs, _ := runQuery(t, l, LogQuery{FunctionName: "pager", NextToken: StartToken}); len(evs) != n {
		t.Fatalf("from StartToken: %d events", len(evs))
	}
	if evs, next := runQuery(t, l, LogQuery{FunctionName: "pager", Tail: true, Before: StartToken}); len(evs) != 0 || next != "" {
		t.Fatalf("before StartToken: %d events, next %q", len(evs), next)
	}
	// A token combines with a time range.
	evs, _ = runQuery(t, l, LogQuery{FunctionName: "pager", NextToken: all[10].ID, Until: t0.Add(14 * time.Millisecond)})
	if got := lines(evs); !slices.Equal(got, []string{"line 11", "line 12", "line 13"}) {
		t.Fatalf("token and until = %q", got)
	}
}

func TestFollow(t *testing.T) {
	st := openStore(t, t.TempDir())
	l := openLogs(t, st, LogsOptions{})
	writeFixture(t, l)

	ctx, cancel := context.WithCancel(testCtx(t, 30*time.Second))
	defer cancel()
	got := make(chan LogEvent, 100)
	errc := make(chan error, 2)
	// From now on: only new events, through the filter.
	go func() {
		errc <- l.Follow(ctx, LogQuery{FunctionName: "fn", Filter: "ERROR"}, func(ev LogEvent) error {
			got <- ev
			return nil
		})
	}()
	// From a time: the stored events first.
	old := make(chan LogEvent, 100)
	go func() {
		errc <- l.Follow(ctx, LogQuery{FunctionName: "fn", Since: t0.Add(6 * time.Second)}, func(ev LogEvent) error {
			old <- ev
			return nil
		})
	}()
	select {
	case ev := <-old:
		if ev.Line != "REPORT RequestId: r1 Duration: 12.5 ms" {
			t.Fatalf("follow since got %q", ev.Line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow since: stored event did not come")
	}
	time.Sleep(300 * time.Millisecond) // let the first follower start from the end
	start := time.Now()
	l.WriteLog(LogLine{FunctionName: "fn", Version: "$LATEST", Stream: streamA, Line: "INFO not for the filter"})
	l.WriteLog(LogLine{FunctionName: "other", Version: "$LATEST", Stream: streamA, Line: "ERROR other function"})
	l.WriteLog(LogLine{FunctionName: "fn", Version: "$LATEST", Stream: streamB, Line: "ERROR fresh"})
	select {
	case ev := <-got:
		if ev.Line != "ERROR fresh" || ev.Stream != streamB || ev.Time.IsZero() {
			t.Fatalf("follow got %+v", ev)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a new line took %v to reach the follower", d)
		}
		t.Logf("new line followed in %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("follow: the new line did not come")
	}
	for _, want := range []string{"INFO not for the filter", "ERROR fresh"} {
		select {
		case ev := <-old:
			if ev.Line != want {
				t.Fatalf("follow since got %q, want %q", ev.Line, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("follow since: %q did not come", want)
		}
	}
	cancel()
	for range 2 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow returned %v, want context.Canceled", err)
		}
	}

	// fn's error ends the follow with that error.
	stop := errors.New("enough")
	err := l.Follow(testCtx(t, 10*time.Second), LogQuery{FunctionName: "fn", Since: t0}, func(LogEvent) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("Follow = %v, want fn's error", err)
	}
}

// stallingStore wraps a store so that its streams' PublishBatch can be held.
type stallingStore struct {
	store.Store
	gate chan struct{} // PublishBatch waits until it is closed
}

type stallingStream struct {
	store.Stream
	gate chan struct{}
}

func (s *stallingStore) Stream(ctx context.Context, cfg store.StreamConfig) (store.Stream, error) {
	st, err := s.Store.Stream(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &stallingStream{Stream: st, gate: s.gate}, nil
}

func (s *stallingStream) PublishBatch(ctx context.Context, msgs []store.BatchMessage) ([]uint64, error) {
	select {
	case <-s.gate:
	case <-ctx.Done():
		return make([]uint64, len(msgs)), ctx.Err()
	}
	return s.Stream.PublishBatch(ctx, msgs)
}

func (s *stallingStream) Read(ctx context.Context, opts store.ReadOptions) iter.Seq2[*store.RawMessage, error] {
	return s.Stream.Read(ctx, opts)
}

// TestBufferFullDropsWithoutBlocking holds the store's writes: WriteLog
// keeps returning at once, drops what does not fit and counts it; once the
// store answers again, what was kept is stored.
func TestBufferFullDropsWithoutBlocking(t *testing.T) {
	st := &stallingStore{Store: openStore(t, t.TempDir()), gate: make(chan struct{})}
	var warnings atomic.Int32
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		if strings.Contains(string(p), "buffer is full") {
			warnings.Add(1)
		}
		return len(p), nil
	}), nil))
	l := openLogs(t, st, LogsOptions{BufferBytes: 64 << 10, Logger: logger})
	const n = 20000
	line := strings.Repeat("x", 100)
	start := time.Now()
	for i := range n {
		l.WriteLog(LogLine{FunctionName: "busy", Version: "$LATEST", Stream: streamA, Line: line + strconv.Itoa(i)})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("%d WriteLog calls took %v with the store stalled", n, d)
	}
	dropped := l.Dropped()
	if dropped == 0 || dropped >= n {
		t.Fatalf("dropped %d of %d", dropped, n)
	}
	if w := warnings.Load(); w != 1 {
		t.Fatalf("%d warnings about the full buffer, want 1 (rate-limited)", w)
	}
	close(st.gate)
	closeLogs(t, l)
	evs, _ := runQuery(t, l, LogQuery{FunctionName: "busy", Limit: n})
	if uint64(len(evs))+l.Dropped() != n {
		t.Fatalf("stored %d + dropped %d != written %d", len(evs), l.Dropped(), n)
	}
	// Kept lines are the first ones, in order.
	for i, e := range evs {
		if e.Line != line+strconv.Itoa(i) {
			t.Fatalf("event %d = %q", i, e.Line)
		}
	}
	// After Close, lines are dropped and counted.
	before := l.Dropped()
	l.WriteLog(LogLine{FunctionName: "busy", Line: "late"})
	if l.Dropped() != before+1 {
		t.Fatal("a line written after Close was not counted as dropped")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestCloseGivesUpWithItsContext: a store that never answers cannot hold
// Close beyond its ctx.
func TestCloseGivesUpWithItsContext(t *testing.T) {
	st := &stallingStore{Store: openStore(t, t.TempDir()), gate: make(chan struct{})}
	l := openLogs(t, st, LogsOptions{})
	for i := range 10 {
		l.WriteLog(LogLine{FunctionName: "stuck", Stream: streamA, Line: strconv.Itoa(i)})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Close = %v after %v", err, time.Since(start))
	}
	if l.Dropped() != 10 {
		t.Fatalf("dropped %d, want 10", l.Dropped())
	}
}

// TestDurableAcrossReopen stores lines, closes everything, opens the same
// data directory again and finds them, and the log streams, there.
func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(testCtx(t, 30*time.Second), store.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLogs(testCtx(t, 10*time.Second), st, LogsOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.WriteLog(LogLine{Time: t0.Add(time.Duration(i) * time.Second), FunctionName: "durable", Version: "$LATEST",
			Stream: streamA, Line: "before " + strconv.Itoa(i)})
	}
	closeLogs(t, l)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st2 := openStore(t, dir)
	l2 := openLogs(t, st2, LogsOptions{})
	evs, _ := runQuery(t, l2, LogQuery{FunctionName: "durable"})
	if len(evs) != 100 || evs[0].Line != "before 0" || evs[99].Line != "before 99" || !evs[99].Time.Equal(t0.Add(99*time.Second)) {
		t.Fatalf("after reopen: %d events", len(evs))
	}
	streams, err := l2.Streams(t.Context(), "durable")
	if err != nil || len(streams) != 1 || streams[0].Name != streamA || !streams[0].FirstEvent.Equal(t0) ||
		!streams[0].LastEvent.Equal(t0.Add(99*time.Second)) {
		t.Fatalf("streams after reopen = %+v, %v", streams, err)
	}
	// The same log stream goes on after a restart: its index entry is merged.
	l2.WriteLog(LogLine{Time: t0.Add(200 * time.Second), FunctionName: "durable", Version: "$LATEST", Stream: streamA, Line: "after"})
	closeLogs(t, l2)
	streams, err = l2.Streams(t.Context(), "durable")
	if err != nil || len(streams) != 1 || !streams[0].FirstEvent.Equal(t0) || !streams[0].LastEvent.Equal(t0.Add(200*time.Second)) ||
		streams[0].Bytes != int64(len("after"))+evsBytes(evs) {
		t.Fatalf("streams after more lines = %+v, %v", streams, err)
	}
}

func evsBytes(evs []LogEvent) int64 {
	var n int64
	for _, e := range evs {
		n += int64(len(e.Line))
	}
	return n
}

type fakeClock struct {
	clock.Real
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// TestStreamsPastRetention: index entries of log streams whose lines were
// all stored longer ago than the retention are left out of listings, and
// removed.
func TestStreamsPastRetention(t *testing.T) {
	st := openStore(t, t.TempDir())
	clk := &fakeClock{now: t0}
	l := openLogs(t, st, LogsOptions{Clock: clk, Retention: time.Hour})
	l.WriteLog(LogLine{FunctionName: "old", Version: "$LATEST", Stream: streamA, Line: "stamped by the clock"})
	mustSync(t, l)
	clk.Set(t0.Add(50 * time.Minute))
	l.WriteLog(LogLine{FunctionName: "old", Version: "$LATEST", Stream: streamB, Line: "later"})
	mustSync(t, l)
	if s, err := l.Streams(t.Context(), "old"); err != nil || len(s) != 2 || !s[0].FirstEvent.Equal(t0) ||
		!s[0].LastIngestion.Equal(t0) || !s[1].LastIngestion.Equal(t0.Add(50*time.Minute)) {
		t.Fatalf("Streams = %+v, %v", s, err)
	}
	clk.Set(t0.Add(90 * time.Minute))
	if s, err := l.Streams(t.Context(), "old"); err != nil || len(s) != 1 || s[0].Name != streamB {
		t.Fatalf("Streams after retention = %+v, %v", s, err)
	}
	if f, err := l.Functions(t.Context()); err != nil || len(f) != 1 || f[0].Streams != 1 {
		t.Fatalf("Functions after retention = %+v, %v", f, err)
	}
	clk.Set(t0)
	if s, err := l.Streams(t.Context(), "old"); err != nil || len(s) != 1 {
		t.Fatalf("expired entry was not removed: %+v, %v", s, err)
	}
}

// TestSync: lines written before Sync are queryable when it returns, and
// their log stream is listed.
func TestSync(t *testing.T) {
	st := openStore(t, t.TempDir())
	l := openLogs(t, st, LogsOptions{FlushInterval: time.Hour})
	for i := range 5 {
		l.WriteLog(LogLine{FunctionName: "synced", Stream: streamA, Line: strconv.Itoa(i)})
	}
	start := time.Now()
	mustSync(t, l)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Sync took %v", d)
	}
	if evs, _ := runQuery(t, l, LogQuery{FunctionName: "synced"}); len(evs) != 5 {
		t.Fatalf("%d events after Sync", len(evs))
	}
	if s, err := l.Streams(t.Context(), "synced"); err != nil || len(s) != 1 || s[0].Bytes != 5 {
		t.Fatalf("Streams after Sync = %+v, %v", s, err)
	}
	closeLogs(t, l)
	if err := l.Sync(t.Context()); err != nil {
		t.Fatalf("Sync after Close: %v", err)
	}
}

func TestLongLinesAreCut(t *testing.T) {
	st := openStore(t, t.TempDir())
	l := openLogs(t, st, LogsOptions{})
	long := strings.Repeat("é", MaxLineBytes) // 2 bytes each
	l.WriteLog(LogLine{FunctionName: "long", Stream: streamA, Line: long})
	l.WriteLog(LogLine{FunctionName: "long", Stream: streamA, Line: "short"})
	closeLogs(t, l)
	evs, _ := runQuery(t, l, LogQuery{FunctionName: "long"})
	if len(evs) != 2 || len(evs[0].Line) != MaxLineBytes || evs[1].Line != "short" {
		t.Fatalf("%d events, first %d bytes", len(evs), len(evs[0].Line))
	}
}

func TestTokens(t *testing.T) {
	for _, s := range []string{"fn", "my-fn_2", "", "$LATEST", "2026/01/02/[$LATEST]abc", "a.b", "*", ">", "=x", "é"} {
		tok := token(s)
		if strings.ContainsAny(tok, ".*> \t") || tok == "" {
			t.Errorf("token(%q) = %q is not a subject token", s, tok)
		}
		if back, err := untoken(tok); err != nil || back != s {
			t.Errorf("untoken(token(%q)) = %q, %v", s, back, err)
		}
	}
	if versionToken("$LATEST") != "LATEST" || versionToken("12") != "12" {
		t.Error("version tokens")
	}
	p := position{seq: 123, idx: 45}
	if q, ok := parsePosition(p.id()); !ok || q != p {
		t.Errorf("parsePosition(%q) = %+v, %v", p.id(), q, ok)
	}
	for _, bad := range []string{"", "12", strings.Repeat("x", 26), "-" + strings.Repeat("1", 25)} {
		if _, ok := parsePosition(bad); ok {
			t.Errorf("parsePosition(%q) accepted", bad)
		}
	}
}

func FuzzToken(f *testing.F) {
	for _, s := range []string{"fn", "", "2026/01/02/[$LATEST]abc", "=", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok := token(s)
		if strings.ContainsAny(tok, ".*> \t\r\n") || tok == "" {
			t.Fatalf("token(%q) = %q", s, tok)
		}
		if back, err := untoken(tok); err != nil || back != s {
			t.Fatalf("untoken(token(%q)) = %q, %v", s, back, err)
		}
	})
}

func BenchmarkWriteLog(b *testing.B) {
	st := openStore(b, b.TempDir())
	l := openLogs(b, st, LogsOptions{BufferBytes: 256 << 20})
	line := LogLine{FunctionName: "bench", Version: "$LATEST", Stream: streamA, RequestID: "8f5f1bb4-8d32-4c1a-9b9e-2f1e4f0f8a11",
		Line: "2026-01-02T03:04:05.000Z 8f5f1bb4 INFO handled request path=/users/42 status=200 duration_ms=3"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.WriteLog(line)
		}
	})
	if err := l.Close(testCtx(b, time.Minute)); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if d := l.Dropped(); d > 0 {
		b.Logf("%d of %d lines dropped", d, b.N)
	}
}

// failingStore wraps a store so that its streams' PublishBatch can be made
// to fail at once.
type failingStore struct {
	store.Store
	fail *atomic.Bool
}

type failingStream struct {
	store.Stream
	fail *atomic.Bool
}

func (s *failingStore) Stream(ctx context.Context, cfg store.StreamConfig) (store.Stream, error) {
	st, err := s.Store.Stream(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &failingStream{Stream: st, fail: s.fail}, nil
}

func (s *failingStream) PublishBatch(ctx context.Context, msgs []store.BatchMessage) ([]uint64, error) {
	if s.fail.Load() {
		return make([]uint64, len(msgs)), errors.New("store unavailable")
	}
	return s.Stream.PublishBatch(ctx, msgs)
}

func (s *failingStream) Read(ctx context.Context, opts store.ReadOptions) iter.Seq2[*store.RawMessage, error] {
	return s.Stream.Read(ctx, opts)
}

// TestSyncFailureRetries: lines a failed Sync could not store are stored
// later by themselves, with no further line to wake the writer.
func TestSyncFailureRetries(t *testing.T) {
	fail := new(atomic.Bool)
	fail.Store(true)
	st := &failingStore{Store: openStore(t, t.TempDir()), fail: fail}
	l := openLogs(t, st, LogsOptions{FlushInterval: time.Hour})
	for i := range 3 {
		l.WriteLog(LogLine{FunctionName: "quiet", Stream: streamA, Line: strconv.Itoa(i)})
	}
	if err := l.Sync(testCtx(t, 10*time.Second)); err == nil {
		t.Fatal("Sync succeeded with the store failing")
	}
	fail.Store(false)
	waitFor(t, func() bool {
		evs, _ := runQuery(t, l, LogQuery{FunctionName: "quiet"})
		return len(evs) == 3
	})
	if d := l.Dropped(); d != 0 {
		t.Fatalf("dropped %d", d)
	}
}
