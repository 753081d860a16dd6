package queue

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestRestartKeepsUndeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("keep", map[string]string{AttrVisibilityTimeout: "60"})
	e.create("keep.fifo", map[string]string{AttrFifoQueue: "true"})
	const n = 35
	want := map[string]bool{}
	for i := 0; i < n; i += 5 {
		var bs []string
		for j := i; j < i+5; j++ {
			bs = append(bs, fmt.Sprint("m", j))
		}
		e.send("keep", bs...)
	}
	fifo := e.sendIn("keep.fifo", SendInput{Body: "f", MessageGroupID: "g", DeduplicationID: "d1"})
	// Receive everything; delete every third; leave the rest in flight.
	var got []Message
	for len(got) < n {
		got = append(got, e.recv("keep", 10)...)
	}
	for i, m := range got {
		if i%3 == 0 {
			e.del("keep", m)
		} else {
			want[m.Body] = true
		}
	}
	e.restart()
	var after []string
	for {
		ms := e.recv("keep", 10)
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			after = append(after, m.Body)
			if m.ReceiveCount != 1 {
				t.Errorf("%s: receive count %d after restart", m.Body, m.ReceiveCount)
			}
		}
	}
	sort.Strings(after)
	if len(after) != len(want) {
		t.Fatalf("after restart got %d messages, want %d: %v", len(after), len(want), after)
	}
	for _, b := range after {
		if !want[b] {
			t.Errorf("deleted message %s came back", b)
		}
	}
	// FIFO deduplication survives the restart within the window.
	again := e.sendIn("keep.fifo", SendInput{Body: "f2", MessageGroupID: "g", DeduplicationID: "d1"})
	if again[0].MessageID != fifo[0].MessageID || again[0].SequenceNumber != fifo[0].SequenceNumber {
		t.Fatalf("dedup after restart: %+v vs %+v", again[0], fifo[0])
	}
	attrs, err := e.svc.GetAttributes(e.ctx, "keep", []string{AttrVisibilityTimeout})
	if err != nil || attrs[AttrVisibilityTimeout] != "60" {
		t.Fatalf("attributes after restart: %v %v", attrs, err)
	}
}

func TestRecreatedQueueIsEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("again", nil)
	e.send("again", "old1", "old2")
	old := e.recv("again", 1)
	if err := e.svc.DeleteQueue(e.ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Counts(e.ctx, "again"); codeOf(err) != CodeQueueDoesNotExist {
		t.Fatalf("deleted queue: %v", err)
	}
	e.create("again", nil)
	if c := e.counts("again"); c != (Counts{}) {
		t.Fatalf("re-created queue counts = %+v", c)
	}
	res, err := e.svc.Delete(e.ctx, "again", []DeleteEntry{{ReceiptHandle: old[0].ReceiptHandle}})
	if err != nil || codeOf(res[0].Err) != CodeReceiptHandleIsInvalid {
		t.Fatalf("old incarnation's handle: %v %v", err, res[0].Err)
	}
	e.send("again", "new")
	e.restart()
	m := e.recv("again", 10)
	if len(m) != 1 || m[0].Body != "new" {
		t.Fatalf("after restart: %v", bodies(m))
	}
}

func TestCompaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("compact", nil)
	for i := 0; i < 20; i++ {
		e.send("compact", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	}
	e.send("compact", "survivor")
	q, _ := e.svc.queue("compact")
	info, err := q.stream.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 21 {
		t.Fatalf("journal has %d records before deletes", info.Messages)
	}
	deleted := 0
	for deleted < 200 {
		ms := e.recv("compact", 10)
		var del []Message
		for _, m := range ms {
			if m.Body != "survivor" {
				del = append(del, m)
			}
		}
		e.del("compact", del...)
		deleted += len(del)
	}
	// Everything below the survivor's send record (the 21st) is dead: the
	// compactor purges it, at once after deletes, then at most once a
	// second.
	e.eventually("journal compacted", func() bool {
		e.clk.Advance(time.Second)
		info, err := q.stream.Info(e.ctx)
		return err == nil && info.FirstSeq == 21 && info.Messages == info.LastSeq-20
	})
	e.restart()
	m := e.recv("compact", 10)
	if len(m) != 1 || m[0].Body != "survivor" {
		t.Fatalf("after compaction and restart: %v", bodies(m))
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("p", nil)
	e.send("p", "a", "b")
	e.recv("p", 1)
	if err := e.svc.PurgeQueue(e.ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if c := e.counts("p"); c != (Counts{}) {
		t.Fatalf("counts after purge = %+v", c)
	}
	if err := e.svc.PurgeQueue(e.ctx, "p"); codeOf(err) != CodePurgeQueueInProgress {
		t.Fatalf("second purge: %v", err)
	}
	e.send("p", "c")
	e.clk.Advance(60 * time.Second)
	e.restart()
	if m := e.recv("p", 10); bodies(m) != "c" {
		t.Fatalf("after purge and restart: %v", bodies(m))
	}
	if err := e.svc.PurgeQueue(e.ctx, "p"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentTrafficSurvivesRestart sends, receives and deletes from
// several goroutines while the compactor runs, then restarts: exactly the
// messages not deleted come back.
func TestConcurrentTrafficSurvivesRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("busy", map[string]string{AttrVisibilityTimeout: "600"})
	const producers, batches = 4, 50
	var (
		mu      sync.Mutex
		sentIDs = map[string]bool{}
		delIDs  = map[string]bool{}
		wg      sync.WaitGroup
		stop    = make(chan struct{})
	)
	go func() { // let the compactor run now and then
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				e.clk.Advance(time.Second)
			}
		}
	}()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				in := make([]SendInput, 10)
				for i := range in {
					in[i] = SendInput{ID: fmt.Sprint(i), Body: fmt.Sprintf("p%d-%d-%d", p, b, i)}
				}
				res, err := e.svc.Send(e.ctx, "busy", in)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, r := range res {
					sentIDs[r.MessageID] = true
				}
				mu.Unlock()
			}
		}()
	}
	for c := 0; c < 4; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 40; k++ {
				ms, err := e.svc.Receive(e.ctx, "busy", ReceiveInput{Max: 10, WaitSet: true})
				if err != nil {
					t.Error(err)
					return
				}
				// Delete two in three; leave the rest in flight.
				var del []DeleteEntry
				var ids []string
				for i, m := range ms {
					if i%3 != 2 {
						del = append(del, DeleteEntry{ID: fmt.Sprint(i), ReceiptHandle: m.ReceiptHandle})
						ids = append(ids, m.MessageID)
					}
				}
				if len(del) == 0 {
					continue
				}
				if _, err := e.svc.Delete(e.ctx, "busy", del); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, id := range ids {
					delIDs[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if len(sentIDs) != producers*batches*10 {
		t.Fatalf("sent %d distinct messages", len(sentIDs))
	}
	want := len(sentIDs) - len(delIDs)
	if c := e.counts("busy"); c.Visible+c.NotVisible != want {
		t.Fatalf("counts %+v, want %d live", c, want)
	}
	e.restart()
	got := map[string]bool{}
	for {
		ms, err := e.svc.Receive(e.ctx, "busy", ReceiveInput{Max: 100, WaitSet: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		for _, m := range ms {
			if delIDs[m.MessageID] || !sentIDs[m.MessageID] || got[m.MessageID] {
				t.Fatalf("unexpected message %s after restart", m.MessageID)
			}
			got[m.MessageID] = true
		}
	}
	if len(got) != want {
		t.Fatalf("after restart %d messages, want %d", len(got), want)
	}
}
