package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// readAll collects what a Read yields, failing the test on an error.
func readAll(t *testing.T, s Stream, ctx context.Context, opts ReadOptions) []*RawMessage {
	t.Helper()
	var out []*RawMessage
	for m, err := range s.Read(ctx, opts) {
		if err != nil {
			t.Fatalf("Read(%+v): %v", opts, err)
		}
		out = append(out, m)
	}
	return out
}

func datas(msgs []*RawMessage) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Data)
	}
	return out
}

func eqStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testStreamRead(t *testing.T, st Store) {
	ctx := testCtx(t, 30*time.Second)
	s := mustStream(t, st, StreamConfig{})
	pa, pb := s.Name()+".x.a", s.Name()+".x.b"

	// An empty stream: a read ends at once, with nothing.
	start := time.Now()
	if got := readAll(t, s, ctx, ReadOptions{}); len(got) != 0 {
		t.Fatalf("empty stream read %d messages", len(got))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reading an empty stream took %v", d)
	}

	var seqs []uint64
	for i := range 6 {
		subj := pa
		if i%2 == 1 {
			subj = pb
		}
		seqs = append(seqs, mustPublish(t, s, subj, []byte(strconv.Itoa(i)), &PublishOptions{Header: map[string]string{"N": strconv.Itoa(i)}}))
	}
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	for i := 6; i < 10; i++ {
		seqs = append(seqs, mustPublish(t, s, pa, []byte(strconv.Itoa(i)), nil))
	}

	all := readAll(t, s, ctx, ReadOptions{})
	if want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; !eqStrings(datas(all), want) {
		t.Fatalf("read all = %v, want %v", datas(all), want)
	}
	for i, m := range all {
		if m.Sequence != seqs[i] || m.Time.IsZero() || (i < 6 && m.Header["N"] != strconv.Itoa(i)) {
			t.Fatalf("message %d = %+v (want seq %d)", i, m, seqs[i])
		}
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{Subjects: []string{pb}})); !eqStrings(got, []string{"1", "3", "5"}) {
		t.Fatalf("read subject b = %v", got)
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{Subjects: []string{pb, s.Name() + ".none"}})); !eqStrings(got, []string{"1", "3", "5"}) {
		t.Fatalf("read two subjects = %v", got)
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{Subjects: []string{s.Name() + ".none"}})); len(got) != 0 {
		t.Fatalf("read unmatched subject = %v", got)
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{StartSeq: seqs[4]})); !eqStrings(got, []string{"4", "5", "6", "7", "8", "9"}) {
		t.Fatalf("read from seq = %v", got)
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{Since: mid})); !eqStrings(got, []string{"6", "7", "8", "9"}) {
		t.Fatalf("read since = %v", got)
	}
	if got := datas(readAll(t, s, ctx, ReadOptions{Since: mid, Subjects: []string{pb}})); len(got) != 0 {
		t.Fatalf("read since, subject b = %v", got)
	}
	if got := readAll(t, s, ctx, ReadOptions{Since: time.Now().Add(time.Hour)}); len(got) != 0 {
		t.Fatalf("read since the future = %v", datas(got))
	}

	// Breaking out of the loop stops the read.
	n := 0
	for _, err := range s.Read(ctx, ReadOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("read %d before breaking", n)
	}

	// A read larger than the reader's prefetch, with a large payload among
	// small ones.
	big := mustStream(t, st, StreamConfig{})
	msgs := make([]BatchMessage, 1000)
	for i := range msgs {
		msgs[i] = BatchMessage{Subject: big.Name() + ".m", Data: []byte(strconv.Itoa(i))}
	}
	msgs[500].Data = randBytes(2 << 20)
	if _, err := big.PublishBatch(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, big, ctx, ReadOptions{})
	if len(got) != 1000 || string(got[999].Data) != "999" || len(got[500].Data) != 2<<20 {
		t.Fatalf("read %d messages of 1000", len(got))
	}

	// A cancelled ctx ends the read with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	var last error
	for _, err := range s.Read(cctx, ReadOptions{}) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("read with cancelled ctx: %v", last)
	}
}

func testStreamReadFollow(t *testing.T, st Store) {
	ctx := testCtx(t, 30*time.Second)
	s := mustStream(t, st, StreamConfig{})
	pa, pb := s.Name()+".a", s.Name()+".b"
	mustPublish(t, s, pa, []byte("old-a"), nil)
	mustPublish(t, s, pb, []byte("old-b"), nil)

	fctx, stop := context.WithCancel(ctx)
	defer stop()
	got := make(chan string, 100)
	done := make(chan error, 1)
	go func() {
		var last error
		for m, err := range s.Read(fctx, ReadOptions{Subjects: []string{pa}, Follow: true}) {
			if err != nil {
				last = err
				break
			}
			got <- string(m.Data)
		}
		done <- last
	}()
	next := func(want string) {
		t.Helper()
		select {
		case g := <-got:
			if g != want {
				t.Fatalf("follow got %q, want %q", g, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("follow: %q did not arrive", want)
		}
	}
	next("old-a")
	// A follower waits past the idle time of a read that does not follow.
	time.Sleep(readIdleCheck + 500*time.Millisecond)
	mustPublish(t, s, pb, []byte("new-b"), nil)
	mustPublish(t, s, pa, []byte("new-a"), nil)
	start := time.Now()
	next("new-a")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a new message took %v to reach the follower", d)
	}
	if _, err := s.PublishBatch(ctx, []BatchMessage{{Subject: pa, Data: []byte("batch-1")}, {Subject: pa, Data: []byte("batch-2")}}); err != nil {
		t.Fatal(err)
	}
	next("batch-1")
	next("batch-2")
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("follow ended with %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end with its ctx")
	}

	// Following from the end (StartSeq past the last message) sees only new messages.
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fctx2, stop2 := context.WithTimeout(ctx, 5*time.Second)
	defer stop2()
	var wg sync.WaitGroup
	wg.Add(1)
	var seen []string
	go func() {
		defer wg.Done()
		for m, err := range s.Read(fctx2, ReadOptions{StartSeq: info.LastSeq + 1, Follow: true}) {
			if err != nil {
				return
			}
			seen = append(seen, string(m.Data))
			if len(seen) == 2 {
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	mustPublish(t, s, pb, []byte("x"), nil)
	mustPublish(t, s, pa, []byte("y"), nil)
	wg.Wait()
	if !eqStrings(seen, []string{"x", "y"}) {
		t.Fatalf("follow from the end saw %v", seen)
	}
}

func testStreamPublishBatch(t *testing.T, st Store) {
	ctx := testCtx(t, 30*time.Second)
	s := mustStream(t, st, StreamConfig{})
	if seqs, err := s.PublishBatch(ctx, nil); err != nil || len(seqs) != 0 {
		t.Fatalf("empty batch: %v, %v", seqs, err)
	}
	const n = 3000 // well past the publish window
	msgs := make([]BatchMessage, n)
	for i := range msgs {
		msgs[i] = BatchMessage{Subject: fmt.Sprintf("%s.p%d", s.Name(), i%3), Data: []byte(strconv.Itoa(i))}
	}
	msgs[7].Opts = &PublishOptions{MsgID: "seven", Header: map[string]string{"K": "v"}}
	seqs, err := s.PublishBatch(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("seqs[%d] = %d after %d: writes out of order", i, seqs[i], seqs[i-1])
		}
	}
	raw, err := s.Get(ctx, seqs[7])
	if err != nil || string(raw.Data) != "7" || raw.Header["K"] != "v" {
		t.Fatalf("Get seven = %+v, %v", raw, err)
	}
	// MsgID deduplicates as with Publish.
	again, err := s.PublishBatch(ctx, []BatchMessage{{Subject: s.Name() + ".p0", Data: []byte("dup"), Opts: &PublishOptions{MsgID: "seven"}}})
	if err != nil || again[0] != seqs[7] {
		t.Fatalf("duplicate batch write: seq %v, %v (want %d)", again, err, seqs[7])
	}
	// A write the store refuses fails alone.
	mixed, err := s.PublishBatch(ctx, []BatchMessage{
		{Subject: s.Name() + ".ok", Data: []byte("1")},
		{Subject: "nobody.listens.here", Data: []byte("2")},
		{Subject: s.Name() + ".ok", Data: []byte("3")},
	})
	if err == nil || mixed[0] == 0 || mixed[1] != 0 || mixed[2] == 0 {
		t.Fatalf("mixed batch: seqs %v, err %v", mixed, err)
	}
	info, err := s.Info(ctx)
	if err != nil || info.Messages != n+2 {
		t.Fatalf("Info = %+v, %v; want %d messages", info, err, n+2)
	}
}
