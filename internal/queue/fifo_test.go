package queue

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFIFOOrderConcurrentConsumers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("order.fifo", map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true"})
	const groups, per, consumers = 20, 50, 8
	// Interleave groups in batches of ten, as producers would.
	var batch []SendInput
	for i := 0; i < per; i++ {
		for g := 0; g < groups; g++ {
			batch = append(batch, SendInput{ID: fmt.Sprint(len(batch)), Body: fmt.Sprintf("g%d:%d", g, i), MessageGroupID: fmt.Sprint("g", g)})
			if len(batch) == 10 {
				e.sendIn("order.fifo", batch...)
				batch = nil
			}
		}
	}
	var mu sync.Mutex
	last := make(map[string]int)
	seen := 0
	var wg sync.WaitGroup
	errs := make(chan error, consumers)
	for c := 0; c < consumers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				done := seen == groups*per
				mu.Unlock()
				if done {
					return
				}
				msgs, err := e.svc.Receive(e.ctx, "order.fifo", ReceiveInput{Max: 10, WaitSet: true})
				if err != nil {
					errs <- err
					return
				}
				var del []DeleteEntry
				mu.Lock()
				for _, m := range msgs {
					g, n, _ := strings.Cut(m.Body, ":")
					i, _ := strconv.Atoi(n)
					if prev, ok := last[g]; ok && i != prev+1 || !ok && i != 0 {
						errs <- fmt.Errorf("group %s: got %d after %d", g, i, prev)
					}
					last[g] = i
					seen++
					del = append(del, DeleteEntry{ID: fmt.Sprint(len(del)), ReceiptHandle: m.ReceiptHandle})
				}
				mu.Unlock()
				if len(del) > 0 {
					if _, err := e.svc.Delete(e.ctx, "order.fifo", del); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for g := 0; g < groups; g++ {
		if last[fmt.Sprint("g", g)] != per-1 {
			t.Errorf("group g%d ended at %d", g, last[fmt.Sprint("g", g)])
		}
	}
	if c := e.counts("order.fifo"); c != (Counts{}) {
		t.Fatalf("counts = %+v", c)
	}
}

func TestFIFOGroupLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("lock.fifo", map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true"})
	e.sendIn("lock.fifo",
		SendInput{Body: "a1", MessageGroupID: "a"}, SendInput{Body: "b1", MessageGroupID: "b"},
		SendInput{Body: "a2", MessageGroupID: "a"}, SendInput{Body: "a3", MessageGroupID: "a"})
	first := e.recv("lock.fifo", 2)
	if len(first) != 2 || first[0].Body != "a1" || first[1].Body != "a2" {
		t.Fatalf("first = %v", bodies(first))
	}
	if first[0].SequenceNumber >= first[1].SequenceNumber || first[0].SystemAttributes[SysMessageGroupID] != "a" {
		t.Fatalf("sequence numbers %q %q", first[0].SequenceNumber, first[1].SequenceNumber)
	}
	// Group a is locked: only b is available.
	second := e.recv("lock.fifo", 10)
	if len(second) != 1 || second[0].Body != "b1" {
		t.Fatalf("second = %v", bodies(second))
	}
	if c := e.counts("lock.fifo"); c != (Counts{Visible: 1, NotVisible: 3}) {
		t.Fatalf("counts = %+v", c)
	}
	e.del("lock.fifo", first[0])
	if m := e.recv("lock.fifo", 10); len(m) != 0 {
		t.Fatalf("group a delivered while a2 in flight: %v", bodies(m))
	}
	e.advance(30 * time.Second) // a2 (and b1) visible again
	m := e.recv("lock.fifo", 10)
	// Groups come in the order of their head messages: b1 was sent
	// before a2.
	if got := bodies(m); got != "b1,a2,a3" {
		t.Fatalf("after timeout = %s", got)
	}
	if m[1].ReceiveCount != 2 || m[2].ReceiveCount != 1 {
		t.Fatalf("receive counts %d %d", m[1].ReceiveCount, m[2].ReceiveCount)
	}
}

func bodies(ms []Message) string {
	var b []string
	for _, m := range ms {
		b = append(b, m.Body)
	}
	return strings.Join(b, ",")
}

func TestFIFODeduplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("dd.fifo", map[string]string{AttrFifoQueue: "true"})
	r1 := e.sendIn("dd.fifo", SendInput{Body: "one", MessageGroupID: "g", DeduplicationID: "x"})
	r2 := e.sendIn("dd.fifo", SendInput{Body: "other body", MessageGroupID: "g", DeduplicationID: "x"})
	if r1[0].MessageID != r2[0].MessageID || r1[0].SequenceNumber != r2[0].SequenceNumber || r1[0].SequenceNumber == "" {
		t.Fatalf("duplicate got %+v, original %+v", r2[0], r1[0])
	}
	// Within one batch too.
	rb := e.sendIn("dd.fifo", SendInput{ID: "a", Body: "b1", MessageGroupID: "g", DeduplicationID: "y"},
		SendInput{ID: "b", Body: "b2", MessageGroupID: "g", DeduplicationID: "y"})
	if rb[0].MessageID != rb[1].MessageID {
		t.Fatalf("batch duplicate: %+v", rb)
	}
	if c := e.counts("dd.fifo"); c.Visible != 2 {
		t.Fatalf("counts = %+v", c)
	}
	e.advance(DedupWindow - time.Second)
	if r := e.sendIn("dd.fifo", SendInput{Body: "again", MessageGroupID: "g", DeduplicationID: "x"}); r[0].MessageID != r1[0].MessageID {
		t.Fatal("deduplicated window ended early")
	}
	e.advance(time.Second)
	r3 := e.sendIn("dd.fifo", SendInput{Body: "again", MessageGroupID: "g", DeduplicationID: "x"})
	if r3[0].MessageID == r1[0].MessageID {
		t.Fatal("still deduplicated after the window")
	}
	if c := e.counts("dd.fifo"); c.Visible != 3 {
		t.Fatalf("counts = %+v", c)
	}

	// Content-based deduplication uses the body's SHA-256.
	e.create("cb.fifo", map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true"})
	a := e.sendIn("cb.fifo", SendInput{Body: "same", MessageGroupID: "g1"})
	b := e.sendIn("cb.fifo", SendInput{Body: "same", MessageGroupID: "g2"})
	c := e.sendIn("cb.fifo", SendInput{Body: "different", MessageGroupID: "g1"})
	if a[0].MessageID != b[0].MessageID || a[0].MessageID == c[0].MessageID {
		t.Fatalf("content dedup: %v %v %v", a[0].MessageID, b[0].MessageID, c[0].MessageID)
	}
	m := e.recv("cb.fifo", 1)
	sum := sha256.Sum256([]byte("same"))
	if m[0].DeduplicationID != hex.EncodeToString(sum[:]) {
		t.Fatalf("dedup id = %q", m[0].DeduplicationID)
	}

	// With DeduplicationScope messageGroup, the same id in another group
	// is a new message.
	e.create("scope.fifo", map[string]string{AttrFifoQueue: "true", AttrDeduplicationScope: "messageGroup", AttrFifoThroughputLimit: "perMessageGroupId"})
	s1 := e.sendIn("scope.fifo", SendInput{Body: "b", MessageGroupID: "g1", DeduplicationID: "d"})
	s2 := e.sendIn("scope.fifo", SendInput{Body: "b", MessageGroupID: "g2", DeduplicationID: "d"})
	if s1[0].MessageID == s2[0].MessageID {
		t.Fatal("messageGroup scope deduplicated across groups")
	}
}

func TestFIFOReceiveRequestAttemptID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("att.fifo", map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true"})
	e.sendIn("att.fifo", SendInput{Body: "1", MessageGroupID: "g"}, SendInput{Body: "2", MessageGroupID: "g"})
	in := ReceiveInput{Max: 10, WaitSet: true, ReceiveRequestAttemptID: "try-1"}
	first, err := e.svc.Receive(e.ctx, "att.fifo", in)
	if err != nil || len(first) != 2 {
		t.Fatalf("first = %v %v", bodies(first), err)
	}
	retry, err := e.svc.Receive(e.ctx, "att.fifo", in)
	if err != nil || len(retry) != 2 || retry[0].ReceiptHandle != first[0].ReceiptHandle || retry[1].ReceiptHandle != first[1].ReceiptHandle {
		t.Fatalf("retry = %+v %v", retry, err)
	}
	in.ReceiveRequestAttemptID = "try-2"
	if other, _ := e.svc.Receive(e.ctx, "att.fifo", in); len(other) != 0 {
		t.Fatalf("another attempt got %v from a locked group", bodies(other))
	}
}
