package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testLogger keeps the servers' notices out of test output but shows warnings.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

var nameSeq atomic.Int64

// uniq returns a name no other test uses, so suites may share one server.
func uniq(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, os.Getpid()%1000, nameSeq.Add(1))
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustKV(t *testing.T, st Store) KV {
	t.Helper()
	kv, err := st.KV(testCtx(t, 10*time.Second), uniq("kv"))
	if err != nil {
		t.Fatalf("KV: %v", err)
	}
	return kv
}

func mustStream(t *testing.T, st Store, cfg StreamConfig) Stream {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = uniq("st")
	}
	if len(cfg.Subjects) == 0 {
		cfg.Subjects = []string{cfg.Name + ".>"}
	}
	s, err := st.Stream(testCtx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return s
}

func mustConsumer(t *testing.T, s Stream, cfg ConsumerConfig) Consumer {
	t.Helper()
	if cfg.Durable == "" {
		cfg.Durable = uniq("c")
	}
	c, err := s.Consumer(testCtx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatalf("Consumer: %v", err)
	}
	return c
}

func mustPublish(t *testing.T, s Stream, subject string, data []byte, opts *PublishOptions) uint64 {
	t.Helper()
	seq, err := s.Publish(testCtx(t, 10*time.Second), subject, data, opts)
	if err != nil {
		t.Fatalf("Publish %s: %v", subject, err)
	}
	return seq
}

// fetchOne fetches exactly one message within d.
func fetchOne(t *testing.T, c Consumer, d time.Duration) Message {
	t.Helper()
	msgs, err := c.Fetch(testCtx(t, d), 1)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("Fetch returned %d messages, want 1", len(msgs))
	}
	return msgs[0]
}

// expectNone asserts that nothing is delivered within d.
func expectNone(t *testing.T, c Consumer, d time.Duration) {
	t.Helper()
	msgs, err := c.Fetch(testCtx(t, d), 1)
	if err == nil {
		t.Fatalf("Fetch delivered %d messages (seq %d, delivered %d), want none",
			len(msgs), msgs[0].Sequence(), msgs[0].Delivered())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch error = %v, want deadline exceeded", err)
	}
}

func ack(t *testing.T, m Message) {
	t.Helper()
	if err := m.Ack(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Ack: %v", err)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// runSuite exercises every method of every interface against the stores
// made by open. Each subtest gets its own Store from open and uses names no
// other subtest uses, so open may hand out connections to one shared server.
func runSuite(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"KVCrud", testKVCrud},
		{"KVListKeys", testKVListKeys},
		{"KVWatch", testKVWatch},
		{"StreamWorkQueue", testStreamWorkQueue},
		{"StreamNakDelay", testStreamNakDelay},
		{"StreamTerm", testStreamTerm},
		{"StreamAckNoWait", testStreamAckNoWait},
		{"StreamAckWaitAndInProgress", testStreamAckWait},
		{"StreamMaxDeliver", testStreamMaxDeliver},
		{"StreamDedupe", testStreamDedupe},
		{"StreamConcurrentFetchers", testStreamConcurrentFetchers},
		{"StreamGetPurgeInfo", testStreamGetPurgeInfo},
		{"StreamFilterAndConsumers", testStreamFilterAndConsumers},
		{"StreamPurgeBeforeAndDelete", testStreamPurgeBeforeAndDelete},
		{"StreamLargePayload", testStreamLargePayload},
		{"StreamRead", testStreamRead},
		{"StreamReadFollow", testStreamReadFollow},
		{"StreamPublishBatch", testStreamPublishBatch},
		{"FetchCancel", testFetchCancel},
		{"Objects", testObjects},
		{"Leases", testLeases},
		{"PingClose", testPingClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

func testKVCrud(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	kv := mustKV(t, st)

	if _, err := kv.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
	}
	before := time.Now().Add(-time.Second)
	r1, err := kv.Put(ctx, "fn.a", []byte("v1"))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	e, err := kv.Get(ctx, "fn.a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if e.Key != "fn.a" || string(e.Value) != "v1" || e.Revision != r1 || e.Created.Before(before) {
		t.Fatalf("Get = %+v, want fn.a=v1 rev %d created after %v", e, r1, before)
	}
	r2, err := kv.Put(ctx, "fn.a", []byte("v2"))
	if err != nil || r2 <= r1 {
		t.Fatalf("second Put: rev %d (first %d), err %v", r2, r1, err)
	}

	if _, err := kv.Create(ctx, "fn.a", []byte("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("Create existing: err = %v, want ErrExists", err)
	}
	if errors.Is(err, ErrConflict) {
		t.Fatalf("Create existing also matches ErrConflict: %v", err)
	}
	rb, err := kv.Create(ctx, "fn.b", []byte("b1"))
	if err != nil || rb <= r2 {
		t.Fatalf("Create new: rev %d, err %v", rb, err)
	}

	if _, err := kv.Update(ctx, "fn.a", []byte("stale"), r1); !errors.Is(err, ErrConflict) {
		t.Fatalf("Update stale: err = %v, want ErrConflict", err)
	}
	if _, err := kv.Update(ctx, "nothere", []byte("x"), 1); !errors.Is(err, ErrConflict) {
		t.Fatalf("Update missing key: err = %v, want ErrConflict", err)
	}
	r3, err := kv.Update(ctx, "fn.a", []byte("v3"), r2)
	if err != nil || r3 <= rb {
		t.Fatalf("Update current: rev %d, err %v", r3, err)
	}
	if e, _ := kv.Get(ctx, "fn.a"); string(e.Value) != "v3" || e.Revision != r3 {
		t.Fatalf("after Update Get = %+v", e)
	}

	if err := kv.Delete(ctx, "fn.a", r2); !errors.Is(err, ErrConflict) {
		t.Fatalf("Delete stale rev: err = %v, want ErrConflict", err)
	}
	if e, err := kv.Get(ctx, "fn.a"); err != nil || string(e.Value) != "v3" {
		t.Fatalf("failed Delete changed the key: %+v %v", e, err)
	}
	if err := kv.Delete(ctx, "fn.a", r3); err != nil {
		t.Fatalf("Delete with rev: %v", err)
	}
	if _, err := kv.Get(ctx, "fn.a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted: err = %v, want ErrNotFound", err)
	}
	if err := kv.Delete(ctx, "fn.b", 0); err != nil {
		t.Fatalf("Delete unconditional: %v", err)
	}
	if _, err := kv.Get(ctx, "fn.b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted b: err = %v, want ErrNotFound", err)
	}
	if err := kv.Delete(ctx, "never.there", 0); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	r4, err := kv.Create(ctx, "fn.a", []byte("again"))
	if err != nil || r4 <= r3 {
		t.Fatalf("Create after delete: rev %d, err %v", r4, err)
	}
	if e, err := kv.Get(ctx, "fn.a"); err != nil || string(e.Value) != "again" {
		t.Fatalf("Get re-created: %+v %v", e, err)
	}
	if _, err := kv.Put(ctx, "bad key", []byte("x")); err == nil {
		t.Fatal("Put with invalid key succeeded")
	}
	big := randBytes(2 << 20)
	if _, err := kv.Put(ctx, "big", big); err != nil {
		t.Fatalf("Put 2 MiB: %v", err)
	}
	if e, err := kv.Get(ctx, "big"); err != nil || !bytes.Equal(e.Value, big) {
		t.Fatalf("Get 2 MiB: len %d, err %v", len(e.Value), err)
	}
}

func testKVListKeys(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	kv := mustKV(t, st)

	if l, err := kv.List(ctx, ""); err != nil || len(l) != 0 {
		t.Fatalf("List empty bucket = %v, %v", l, err)
	}
	if k, err := kv.Keys(ctx, "x"); err != nil || len(k) != 0 {
		t.Fatalf("Keys empty bucket = %v, %v", k, err)
	}
	// Written out of order on purpose.
	for _, k := range []string{"b.x", "a.bc", "a", "a.b.c", "ab", "a.b", "a.z"} {
		if _, err := kv.Put(ctx, k, []byte("v:"+k)); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	if err := kv.Delete(ctx, "a.z", 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a", "a.b", "a.b.c", "a.bc", "ab", "b.x"}},
		{"a", []string{"a", "a.b", "a.b.c", "a.bc", "ab"}},
		{"a.", []string{"a.b", "a.b.c", "a.bc"}},
		{"a.b", []string{"a.b", "a.b.c", "a.bc"}},
		{"a.b.", []string{"a.b.c"}},
		{"a.z", nil},
		{"b", []string{"b.x"}},
		{"c", nil},
	}
	for _, c := range cases {
		keys, err := kv.Keys(ctx, c.prefix)
		if err != nil {
			t.Fatalf("Keys(%q): %v", c.prefix, err)
		}
		if !slices.Equal(keys, c.want) {
			t.Errorf("Keys(%q) = %q, want %q", c.prefix, keys, c.want)
		}
		entries, err := kv.List(ctx, c.prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", c.prefix, err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Key)
			if string(e.Value) != "v:"+e.Key || e.Revision == 0 {
				t.Errorf("List(%q) entry %+v has wrong value or revision", c.prefix, e)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("List(%q) keys = %q, want %q", c.prefix, got, c.want)
		}
	}
}

func nextEvent(t *testing.T, ch <-chan WatchEvent) WatchEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed early")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event within 5s")
	}
	panic("unreachable")
}

func testKVWatch(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	kv := mustKV(t, st)

	// An empty bucket: the marker comes at once.
	wctx0, cancel0 := context.WithCancel(ctx)
	ch0, err := kv.Watch(wctx0, "")
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch0); !ev.InitialDone {
		t.Fatalf("empty bucket: first event %+v, want InitialDone", ev)
	}
	cancel0()

	r1, _ := kv.Put(ctx, "w.1", []byte("one"))
	r2, _ := kv.Put(ctx, "w.2", []byte("two"))
	kv.Put(ctx, "w.3", []byte("three"))
	kv.Delete(ctx, "w.3", 0)
	kv.Put(ctx, "x.1", []byte("other"))
	kv.Put(ctx, "w", []byte("not under w."))

	// No deadline on the watch's ctx: the watch lives until it is cancelled.
	wctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := kv.Watch(wctx, "w.")
	if err != nil {
		t.Fatal(err)
	}
	initial := map[string]WatchEvent{}
	for {
		ev := nextEvent(t, ch)
		if ev.InitialDone {
			if ev.Key != "" {
				t.Fatalf("marker has a key: %+v", ev)
			}
			break
		}
		if ev.Deleted {
			t.Fatalf("initial values include a deleted key: %+v", ev)
		}
		initial[ev.Key] = ev
	}
	if len(initial) != 2 || string(initial["w.1"].Value) != "one" || initial["w.1"].Revision != r1 ||
		string(initial["w.2"].Value) != "two" || initial["w.2"].Revision != r2 {
		t.Fatalf("initial values = %+v", initial)
	}

	kv.Put(ctx, "x.2", []byte("ignored"))
	r4, _ := kv.Put(ctx, "w.4", []byte("four"))
	if ev := nextEvent(t, ch); ev.Key != "w.4" || string(ev.Value) != "four" || ev.Revision != r4 || ev.Deleted || ev.InitialDone {
		t.Fatalf("live put event = %+v", ev)
	}
	if err := kv.Delete(ctx, "w.1", 0); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, ch); ev.Key != "w.1" || !ev.Deleted || ev.Revision <= r4 {
		t.Fatalf("live delete event = %+v", ev)
	}
	r5, _ := kv.Update(ctx, "w.2", []byte("two'"), r2)
	if ev := nextEvent(t, ch); ev.Key != "w.2" || string(ev.Value) != "two'" || ev.Revision != r5 {
		t.Fatalf("live update event = %+v", ev)
	}

	cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("watch channel not closed after ctx ended")
		}
	}
}

func testStreamWorkQueue(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	s := mustStream(t, st, StreamConfig{WorkQueue: true, MaxAge: time.Hour, MaxBytes: 64 << 20})
	if s.Name() == "" {
		t.Fatal("empty stream name")
	}
	subj := s.Name() + ".jobs"
	before := time.Now().Add(-time.Second)
	var seqs []uint64
	for i := range 3 {
		seq := mustPublish(t, s, subj, []byte(fmt.Sprintf("job-%d", i)), &PublishOptions{Header: map[string]string{"X-Job": fmt.Sprint(i)}})
		if len(seqs) > 0 && seq <= seqs[len(seqs)-1] {
			t.Fatalf("sequence did not increase: %v then %d", seqs, seq)
		}
		seqs = append(seqs, seq)
	}
	if info, err := s.Info(ctx); err != nil || info.Messages != 3 || info.LastSeq != seqs[2] || info.Bytes == 0 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 10 * time.Second})
	var got []Message
	for len(got) < 3 {
		msgs, err := c.Fetch(testCtx(t, 5*time.Second), 10)
		if err != nil {
			t.Fatalf("Fetch: %v (have %d)", err, len(got))
		}
		got = append(got, msgs...)
	}
	if len(got) != 3 {
		t.Fatalf("fetched %d messages, want 3", len(got))
	}
	for i, m := range got {
		if m.Subject() != subj || string(m.Data()) != fmt.Sprintf("job-%d", i) || m.Sequence() != seqs[i] ||
			m.Delivered() != 1 || m.Header()["X-Job"] != fmt.Sprint(i) || m.Published().Before(before) ||
			m.Published().After(time.Now()) {
			t.Fatalf("message %d: subject %q data %q seq %d delivered %d header %v published %v",
				i, m.Subject(), m.Data(), m.Sequence(), m.Delivered(), m.Header(), m.Published())
		}
		ack(t, m)
	}
	if err := got[0].Ack(ctx); err == nil {
		t.Fatal("second Ack succeeded")
	}
	if info, err := s.Info(ctx); err != nil || info.Messages != 0 {
		t.Fatalf("after acks Info = %+v, %v; want work queue empty", info, err)
	}
	expectNone(t, c, 300*time.Millisecond)
}

func testStreamNakDelay(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 10 * time.Second})
	mustPublish(t, s, s.Name()+".x", []byte("retry me"), nil)
	m := fetchOne(t, c, 5*time.Second)
	if m.Delivered() != 1 {
		t.Fatalf("Delivered = %d, want 1", m.Delivered())
	}
	const delay = 800 * time.Millisecond
	nakAt := time.Now()
	if err := m.Nak(testCtx(t, 5*time.Second), delay); err != nil {
		t.Fatalf("Nak: %v", err)
	}
	expectNone(t, c, delay/2)
	m2 := fetchOne(t, c, 5*time.Second)
	if waited := time.Since(nakAt); waited < delay {
		t.Fatalf("redelivered after %v, before the %v delay", waited, delay)
	}
	if m2.Sequence() != m.Sequence() || m2.Delivered() != 2 || string(m2.Data()) != "retry me" {
		t.Fatalf("redelivery: seq %d (want %d) delivered %d", m2.Sequence(), m.Sequence(), m2.Delivered())
	}
	// Nak without delay redelivers at once.
	if err := m2.Nak(testCtx(t, 5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	m3 := fetchOne(t, c, 2*time.Second)
	if m3.Delivered() != 3 {
		t.Fatalf("Delivered = %d, want 3", m3.Delivered())
	}
	ack(t, m3)
	expectNone(t, c, 300*time.Millisecond)
}

func testStreamTerm(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{})
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 300 * time.Millisecond})
	mustPublish(t, s, s.Name()+".poison", []byte("bad"), nil)
	mustPublish(t, s, s.Name()+".good", []byte("good"), nil)
	m := fetchOne(t, c, 5*time.Second)
	if string(m.Data()) != "bad" {
		t.Fatalf("first message %q", m.Data())
	}
	if err := m.Term(testCtx(t, 5*time.Second)); err != nil {
		t.Fatalf("Term: %v", err)
	}
	if err := m.Nak(testCtx(t, 5*time.Second), 0); err == nil {
		t.Fatal("Nak after Term succeeded")
	}
	g := fetchOne(t, c, 5*time.Second)
	if string(g.Data()) != "good" {
		t.Fatalf("second message %q", g.Data())
	}
	ack(t, g)
	// Well past AckWait: the termed message must not come back.
	expectNone(t, c, time.Second)
}

func testStreamAckNoWait(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 300 * time.Millisecond})
	mustPublish(t, s, s.Name()+".x", []byte("once"), nil)
	m := fetchOne(t, c, 5*time.Second)
	if err := m.AckNoWait(); err != nil {
		t.Fatalf("AckNoWait: %v", err)
	}
	if err := m.AckNoWait(); err == nil {
		t.Fatal("a second AckNoWait succeeded")
	}
	// Well past AckWait: an acknowledged message is not delivered again,
	// and the work queue drops it.
	expectNone(t, c, time.Second)
	ctx := testCtx(t, 5*time.Second)
	for {
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Messages == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the work queue still holds %d messages", info.Messages)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testStreamAckWait(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	const ackWait = time.Second
	c := mustConsumer(t, s, ConsumerConfig{AckWait: ackWait})
	mustPublish(t, s, s.Name()+".slow", []byte("slow"), nil)

	// Unacked: delivered again once AckWait passes.
	m := fetchOne(t, c, 5*time.Second)
	got := time.Now()
	m2 := fetchOne(t, c, 5*time.Second)
	if since := time.Since(got); since < ackWait/2 {
		t.Fatalf("redelivered after %v, AckWait is %v", since, ackWait)
	}
	if m2.Sequence() != m.Sequence() || m2.Delivered() != 2 {
		t.Fatalf("redelivery seq %d delivered %d", m2.Sequence(), m2.Delivered())
	}

	// InProgress keeps it invisible for much longer than AckWait.
	start := time.Now()
	for time.Since(start) < 2*ackWait {
		if err := m2.InProgress(testCtx(t, 5*time.Second)); err != nil {
			t.Fatalf("InProgress: %v", err)
		}
		expectNone(t, c, ackWait/4)
	}
	ack(t, m2)
	expectNone(t, c, ackWait+200*time.Millisecond)
}

func testStreamMaxDeliver(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{})
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 250 * time.Millisecond, MaxDeliver: 2})
	mustPublish(t, s, s.Name()+".x", []byte("twice"), nil)
	if m := fetchOne(t, c, 5*time.Second); m.Delivered() != 1 {
		t.Fatalf("Delivered = %d", m.Delivered())
	}
	if m := fetchOne(t, c, 5*time.Second); m.Delivered() != 2 {
		t.Fatalf("Delivered = %d", m.Delivered())
	}
	expectNone(t, c, time.Second)
}

func testStreamDedupe(t *testing.T, st Store) {
	ctx := testCtx(t, 10*time.Second)
	s := mustStream(t, st, StreamConfig{DuplicateWindow: time.Minute})
	subj := s.Name() + ".d"
	a := mustPublish(t, s, subj, []byte("a"), &PublishOptions{MsgID: "id-1"})
	b := mustPublish(t, s, subj, []byte("a again"), &PublishOptions{MsgID: "id-1"})
	if a != b {
		t.Fatalf("duplicate publish got seq %d, original %d", b, a)
	}
	c := mustPublish(t, s, subj, []byte("c"), &PublishOptions{MsgID: "id-2"})
	if c <= a {
		t.Fatalf("new MsgID got seq %d after %d", c, a)
	}
	if info, err := s.Info(ctx); err != nil || info.Messages != 2 {
		t.Fatalf("Info = %+v, %v; want 2 messages", info, err)
	}
	raw, err := s.Get(ctx, a)
	if err != nil || string(raw.Data) != "a" {
		t.Fatalf("Get original = %+v, %v", raw, err)
	}
}

func testStreamConcurrentFetchers(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	c := mustConsumer(t, s, ConsumerConfig{AckWait: 30 * time.Second})
	const total, fetchers = 300, 8
	for i := range total {
		mustPublish(t, s, s.Name()+".m", []byte(fmt.Sprint(i)), nil)
	}
	ctx := testCtx(t, 20*time.Second)
	var (
		mu    sync.Mutex
		seen  = map[uint64]int{}
		count atomic.Int64
		per   [fetchers]int
		wg    sync.WaitGroup
		errs  = make(chan error, fetchers)
	)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	for f := range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msgs, err := c.Fetch(fctx, 7)
				if err != nil {
					if fctx.Err() == nil {
						errs <- err
					}
					return
				}
				for _, m := range msgs {
					if err := m.Ack(ctx); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[m.Sequence()]++
					per[f]++
					mu.Unlock()
					if count.Add(1) == total {
						stop()
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("fetcher: %v", err)
	}
	if len(seen) != total || count.Load() != total {
		t.Fatalf("distinct %d, total %d, want %d", len(seen), count.Load(), total)
	}
	for seq, n := range seen {
		if n != 1 {
			t.Fatalf("seq %d delivered %d times", seq, n)
		}
	}
	busy := 0
	for _, n := range per {
		if n > 0 {
			busy++
		}
	}
	t.Logf("messages per fetcher: %v", per)
	if busy < 2 {
		t.Fatalf("only %d fetchers got messages: %v", busy, per)
	}
	if info, err := s.Info(testCtx(t, 5*time.Second)); err != nil || info.Messages != 0 {
		t.Fatalf("after acks Info = %+v, %v", info, err)
	}
}

func testStreamGetPurgeInfo(t *testing.T, st Store) {
	ctx := testCtx(t, 10*time.Second)
	s := mustStream(t, st, StreamConfig{})
	pa, pb := s.Name()+".a", s.Name()+".b"
	before := time.Now().Add(-time.Second)
	s1 := mustPublish(t, s, pa, []byte("a1"), &PublishOptions{Header: map[string]string{"Trace-Id": "t1"}})
	s2 := mustPublish(t, s, pb, []byte("b1"), nil)
	s3 := mustPublish(t, s, pa, []byte("a2"), nil)

	raw, err := s.Get(ctx, s1)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Subject != pa || raw.Sequence != s1 || string(raw.Data) != "a1" || raw.Header["Trace-Id"] != "t1" ||
		raw.Time.Before(before) {
		t.Fatalf("Get = %+v", raw)
	}
	if _, err := s.Get(ctx, s3+100); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get beyond end: err = %v, want ErrNotFound", err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.Messages != 3 || info.FirstSeq != s1 || info.LastSeq != s3 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if err := s.Purge(ctx, pa); err != nil {
		t.Fatalf("Purge subject: %v", err)
	}
	if info, err := s.Info(ctx); err != nil || info.Messages != 1 || info.FirstSeq != s2 {
		t.Fatalf("after subject purge Info = %+v, %v", info, err)
	}
	if _, err := s.Get(ctx, s1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get purged: err = %v, want ErrNotFound", err)
	}
	if err := s.Purge(ctx, ""); err != nil {
		t.Fatalf("Purge all: %v", err)
	}
	if info, err := s.Info(ctx); err != nil || info.Messages != 0 || info.Bytes != 0 {
		t.Fatalf("after purge Info = %+v, %v", info, err)
	}
	// The sequence keeps counting after a purge.
	if s4 := mustPublish(t, s, pb, []byte("b2"), nil); s4 <= s3 {
		t.Fatalf("seq after purge %d <= %d", s4, s3)
	}
	// Re-opening the stream with the same config is fine, and so is
	// changing its limits.
	if _, err := st.Stream(ctx, StreamConfig{Name: s.Name(), Subjects: []string{s.Name() + ".>"}, MaxAge: time.Hour}); err != nil {
		t.Fatalf("re-open stream with new limits: %v", err)
	}
	if _, err := st.Stream(ctx, StreamConfig{Name: "bad name", Subjects: []string{"x"}}); err == nil {
		t.Fatal("stream with invalid name opened")
	}
}

func testStreamPurgeBeforeAndDelete(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	name := uniq("pb")
	s := mustStream(t, st, StreamConfig{Name: name})
	for i := range 5 {
		if _, err := s.Publish(ctx, name+".m", []byte{byte('a' + i)}, nil); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := s.PurgeBefore(ctx, 4); err != nil {
		t.Fatalf("PurgeBefore: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Messages != 2 || info.FirstSeq != 4 {
		t.Fatalf("after PurgeBefore(4): %d messages from %d, want 2 from 4", info.Messages, info.FirstSeq)
	}
	if _, err := s.Get(ctx, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(3) after purge: err = %v, want ErrNotFound", err)
	}
	if err := st.DeleteStream(ctx, name); err != nil {
		t.Fatalf("DeleteStream: %v", err)
	}
	if err := st.DeleteStream(ctx, name); err != nil {
		t.Fatalf("DeleteStream of a missing stream: %v", err)
	}
	s2 := mustStream(t, st, StreamConfig{Name: name})
	if info, err := s2.Info(ctx); err != nil || info.Messages != 0 {
		t.Fatalf("recreated stream: %+v, %v; want empty", info, err)
	}
}

func testStreamFilterAndConsumers(t *testing.T, st Store) {
	ctx := testCtx(t, 10*time.Second)
	s := mustStream(t, st, StreamConfig{})
	fa, fb := s.Name()+".f.a", s.Name()+".f.b"
	mustPublish(t, s, fb, []byte("b"), nil)
	mustPublish(t, s, fa, []byte("a"), nil)
	durable := uniq("filt")
	c := mustConsumer(t, s, ConsumerConfig{Durable: durable, FilterSubject: fa})
	m := fetchOne(t, c, 5*time.Second)
	if m.Subject() != fa {
		t.Fatalf("filtered consumer got %q", m.Subject())
	}
	ack(t, m)
	expectNone(t, c, 300*time.Millisecond)

	// The durable keeps its position when opened again.
	c2 := mustConsumer(t, s, ConsumerConfig{Durable: durable, FilterSubject: fa})
	mustPublish(t, s, fa, []byte("a2"), nil)
	if m := fetchOne(t, c2, 5*time.Second); string(m.Data()) != "a2" {
		t.Fatalf("reopened durable got %q, want a2", m.Data())
	} else {
		ack(t, m)
	}

	if err := s.DeleteConsumer(ctx, durable); err != nil {
		t.Fatalf("DeleteConsumer: %v", err)
	}
	if err := s.DeleteConsumer(ctx, durable); err != nil {
		t.Fatalf("DeleteConsumer missing: %v", err)
	}
	// Re-created from scratch, it starts at the beginning again.
	c3 := mustConsumer(t, s, ConsumerConfig{Durable: durable, FilterSubject: fa})
	if m := fetchOne(t, c3, 5*time.Second); string(m.Data()) != "a" {
		t.Fatalf("re-created durable got %q, want a", m.Data())
	}
}

func testStreamLargePayload(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	payload := randBytes(6_000_000)
	seq := mustPublish(t, s, s.Name()+".big", payload, nil)
	raw, err := s.Get(ctx, seq)
	if err != nil || !bytes.Equal(raw.Data, payload) {
		t.Fatalf("Get 6 MB: len %d, err %v", len(raw.Data), err)
	}
	c := mustConsumer(t, s, ConsumerConfig{})
	m := fetchOne(t, c, 10*time.Second)
	if !bytes.Equal(m.Data(), payload) {
		t.Fatalf("fetched %d bytes, want the 6 MB payload", len(m.Data()))
	}
	ack(t, m)
}

func testFetchCancel(t *testing.T, st Store) {
	s := mustStream(t, st, StreamConfig{WorkQueue: true})
	// A long AckWait: a message lost to an abandoned pull request would not
	// come back within this test.
	c := mustConsumer(t, s, ConsumerConfig{AckWait: time.Minute})

	ctx, cancel := context.WithCancel(t.Context())
	var cancelled atomic.Int64
	go func() {
		time.Sleep(150 * time.Millisecond)
		cancelled.Store(time.Now().UnixNano())
		cancel()
	}()
	msgs, err := c.Fetch(ctx, 5)
	if !errors.Is(err, context.Canceled) || msgs != nil {
		t.Fatalf("Fetch after cancel = %v, %v; want nil, context.Canceled", msgs, err)
	}
	// The pull requests live a second; returning must not wait for them.
	if d := time.Since(time.Unix(0, cancelled.Load())); d > 400*time.Millisecond {
		t.Fatalf("Fetch took %v to honour cancellation", d)
	}
	// The abandoned pull request may still be waiting on the server; this
	// message may go to it and must come back anyway.
	mustPublish(t, s, s.Name()+".x", []byte("not lost"), nil)
	m := fetchOne(t, c, 5*time.Second)
	if string(m.Data()) != "not lost" {
		t.Fatalf("got %q", m.Data())
	}
	ack(t, m)

	// A ctx already ended returns at once.
	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if _, err := c.Fetch(done, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch with ended ctx: %v", err)
	}
}

func testObjects(t *testing.T, st Store) {
	ctx := testCtx(t, 30*time.Second)
	objs, err := st.Objects(ctx, uniq("obj"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := objs.List(ctx, "")
	if err != nil || l == nil || len(l) != 0 {
		t.Fatalf("List empty store = %#v, %v; want empty non-nil", l, err)
	}
	if _, err := objs.Stat(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat missing: %v", err)
	}
	if _, err := objs.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}

	big := randBytes(5<<20 + 12345)
	before := time.Now().Add(-time.Second)
	info, err := objs.Put(ctx, "code/fn-1.zip", bytes.NewReader(big))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info.Name != "code/fn-1.zip" || info.Size != int64(len(big)) || info.Digest == "" {
		t.Fatalf("Put info = %+v", info)
	}
	read := func(name string) []byte {
		t.Helper()
		rc, err := objs.Get(ctx, name)
		if err != nil {
			t.Fatalf("Get %s: %v", name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		return b
	}
	if got := read("code/fn-1.zip"); !bytes.Equal(got, big) {
		t.Fatalf("round trip: got %d bytes, want %d identical bytes", len(got), len(big))
	}
	// A Get without deadline streams as well.
	rc, err := objs.Get(context.Background(), "code/fn-1.zip")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(big)) {
		t.Fatalf("Get without deadline read %d, %v", n, err)
	}
	rc.Close()

	stat, err := objs.Stat(ctx, "code/fn-1.zip")
	if err != nil || stat.Size != int64(len(big)) || stat.Digest != info.Digest || stat.ModTime.Before(before) {
		t.Fatalf("Stat = %+v, %v", stat, err)
	}
	for name, data := range map[string]string{"code/fn-2.zip": "two", "layers/l1": "layer", "empty": ""} {
		if _, err := objs.Put(ctx, name, bytes.NewReader([]byte(data))); err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
	}
	if got := read("empty"); len(got) != 0 {
		t.Fatalf("empty object read %d bytes", len(got))
	}
	if _, err := objs.Put(ctx, "code/fn-2.zip", bytes.NewReader([]byte("two, replaced"))); err != nil {
		t.Fatal(err)
	}
	if got := read("code/fn-2.zip"); string(got) != "two, replaced" {
		t.Fatalf("replaced object = %q", got)
	}
	names := func(prefix string) []string {
		t.Helper()
		l, err := objs.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		var n []string
		for _, o := range l {
			n = append(n, o.Name)
		}
		return n
	}
	if got := names("code/"); !slices.Equal(got, []string{"code/fn-1.zip", "code/fn-2.zip"}) {
		t.Fatalf("List(code/) = %q", got)
	}
	if err := objs.Delete(ctx, "code/fn-2.zip"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := objs.Stat(ctx, "code/fn-2.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat deleted: %v", err)
	}
	if _, err := objs.Get(ctx, "code/fn-2.zip"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get deleted: %v", err)
	}
	if err := objs.Delete(ctx, "code/fn-2.zip"); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	if err := objs.Delete(ctx, "never"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	if got := names(""); !slices.Equal(got, []string{"code/fn-1.zip", "empty", "layers/l1"}) {
		t.Fatalf("List() = %q", got)
	}
	l, _ = objs.List(ctx, "code/")
	if len(l) != 1 || l[0].Size != int64(len(big)) {
		t.Fatalf("List sizes = %+v", l)
	}
}

func testLeases(t *testing.T, st Store) {
	ctx := testCtx(t, 20*time.Second)
	ls, err := st.Leases(ctx, uniq("leases"))
	if err != nil {
		t.Fatal(err)
	}
	const ttl = 1500 * time.Millisecond
	start := time.Now()
	l1, err := ls.Acquire(ctx, "scheduler", "node-1", ttl)
	if err != nil {
		t.Fatalf("Acquire free: %v", err)
	}
	if l1.Name() != "scheduler" || l1.Holder() != "node-1" || l1.Expires().Before(start.Add(ttl)) ||
		l1.Expires().After(time.Now().Add(ttl)) {
		t.Fatalf("lease = %s/%s expires %v", l1.Name(), l1.Holder(), l1.Expires())
	}
	if _, err := ls.Acquire(ctx, "scheduler", "node-2", ttl); !errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire held: err = %v, want ErrHeld", err)
	}
	// Another lease name is independent.
	other, err := ls.Acquire(ctx, "janitor", "node-2", ttl)
	if err != nil {
		t.Fatalf("Acquire other name: %v", err)
	}
	// The same holder acquiring again renews.
	l1b, err := ls.Acquire(ctx, "scheduler", "node-1", ttl)
	if err != nil || l1b.Expires().Before(l1.Expires()) {
		t.Fatalf("re-Acquire by holder: %v, expires %v (was %v)", err, l1b.Expires(), l1.Expires())
	}
	// l1's revision is stale now; its owner is told so.
	if err := l1.Renew(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("Renew of superseded lease: err = %v, want ErrHeld", err)
	}
	prev := l1b.Expires()
	time.Sleep(20 * time.Millisecond)
	if err := l1b.Renew(ctx); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if !l1b.Expires().After(prev) {
		t.Fatalf("Renew did not extend: %v -> %v", prev, l1b.Expires())
	}
	// Renewing keeps node-2 out past the original ttl.
	for range 4 {
		time.Sleep(ttl / 4)
		if err := l1b.Renew(ctx); err != nil {
			t.Fatalf("Renew: %v", err)
		}
		if _, err := ls.Acquire(ctx, "scheduler", "node-2", ttl); !errors.Is(err, ErrHeld) {
			t.Fatalf("Acquire while renewed: err = %v, want ErrHeld", err)
		}
	}
	// Let it lapse: node-2 takes over.
	time.Sleep(time.Until(l1b.Expires()) + 50*time.Millisecond)
	l2, err := ls.Acquire(ctx, "scheduler", "node-2", ttl)
	if err != nil {
		t.Fatalf("Acquire expired: %v", err)
	}
	if err := l1b.Renew(ctx); !errors.Is(err, ErrHeld) {
		t.Fatalf("Renew of lost lease: err = %v, want ErrHeld", err)
	}
	if err := l1b.Release(ctx); err != nil {
		t.Fatalf("Release of lost lease: %v", err)
	}
	if _, err := ls.Acquire(ctx, "scheduler", "node-3", ttl); !errors.Is(err, ErrHeld) {
		t.Fatalf("node-1's Release freed node-2's lease: err = %v", err)
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	l3, err := ls.Acquire(ctx, "scheduler", "node-3", ttl)
	if err != nil {
		t.Fatalf("Acquire released: %v", err)
	}
	if err := l3.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Acquire(ctx, "scheduler", "node-4", 0); err == nil {
		t.Fatal("Acquire with zero ttl succeeded")
	}

	// Racing acquirers: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ls.Acquire(ctx, "race", fmt.Sprintf("racer-%d", i), 10*time.Second)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, ErrHeld):
				t.Errorf("racer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d racers won the lease", wins.Load())
	}
}

func testPingClose(t *testing.T, st Store) {
	ctx := testCtx(t, 10*time.Second)
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	kv := mustKV(t, st)
	s := mustStream(t, st, StreamConfig{})
	c := mustConsumer(t, s, ConsumerConfig{})
	wch, err := kv.Watch(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	fetchErr := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, 1)
		fetchErr <- err
	}()
	time.Sleep(100 * time.Millisecond)

	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case err := <-fetchErr:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("blocked Fetch after Close: %v, want ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("blocked Fetch did not return after Close")
	}
	for range wch { // must be closed
	}
	checks := map[string]error{
		"Ping": st.Ping(ctx),
		"KV.Get": func() error {
			_, err := kv.Get(ctx, "k")
			return err
		}(),
		"KV.Put": func() error {
			_, err := kv.Put(ctx, "k", nil)
			return err
		}(),
		"Publish": func() error {
			_, err := s.Publish(ctx, s.Name()+".x", nil, nil)
			return err
		}(),
		"Fetch": func() error {
			_, err := c.Fetch(ctx, 1)
			return err
		}(),
		"Store.KV": func() error {
			_, err := st.KV(ctx, "x")
			return err
		}(),
	}
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checks[n]; !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", n, err)
		}
	}
}
