package queue

import (
	"context"
	"testing"
	"time"
)

func TestVisibilityTimeoutAndRedelivery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("q1", map[string]string{AttrVisibilityTimeout: "10"})
	sent := e.send("q1", "hello")

	m1 := e.recv("q1", 10)
	if len(m1) != 1 || m1[0].Body != "hello" || m1[0].MessageID != sent[0].MessageID {
		t.Fatalf("first receive = %+v", m1)
	}
	if m1[0].ReceiveCount != 1 || m1[0].SystemAttributes[SysApproximateReceiveCount] != "1" {
		t.Fatalf("receive count = %d %v", m1[0].ReceiveCount, m1[0].SystemAttributes)
	}
	if got := e.counts("q1"); got != (Counts{NotVisible: 1}) {
		t.Fatalf("counts in flight = %+v", got)
	}
	if again := e.recv("q1", 10); len(again) != 0 {
		t.Fatalf("invisible message received again: %+v", again)
	}
	e.advance(9 * time.Second)
	if again := e.recv("q1", 10); len(again) != 0 {
		t.Fatalf("received before the timeout ended: %+v", again)
	}
	e.advance(time.Second)
	m2 := e.recv("q1", 10)
	if len(m2) != 1 || m2[0].ReceiveCount != 2 || m2[0].ReceiptHandle == m1[0].ReceiptHandle {
		t.Fatalf("redelivery = %+v", m2)
	}
	if !m2[0].FirstReceiveTimestamp.Equal(epoch) {
		t.Fatalf("first receive timestamp = %v", m2[0].FirstReceiveTimestamp)
	}

	// The older handle is accepted but deletes nothing.
	e.del("q1", m1[0])
	if got := e.counts("q1"); got.NotVisible != 1 {
		t.Fatalf("stale handle deleted the message: %+v", got)
	}
	e.del("q1", m2[0])
	if got := e.counts("q1"); got != (Counts{}) {
		t.Fatalf("counts after delete = %+v", got)
	}
	// Deleting again is silent.
	e.del("q1", m2[0])
}

func TestChangeVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("cv", nil)
	e.send("cv", "a", "b")
	msgs := e.recv("cv", 10)
	if len(msgs) != 2 {
		t.Fatalf("got %d messages", len(msgs))
	}
	res, err := e.svc.ChangeVisibility(e.ctx, "cv", []VisibilityChange{
		{ID: "0", ReceiptHandle: msgs[0].ReceiptHandle, Timeout: 0},
		{ID: "1", ReceiptHandle: msgs[1].ReceiptHandle, Timeout: 100 * time.Second},
		{ID: "2", ReceiptHandle: "garbage", Timeout: time.Second},
		{ID: "3", ReceiptHandle: msgs[1].ReceiptHandle, Timeout: 13 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "", CodeReceiptHandleIsInvalid, CodeInvalidParameterValue}
	for i, r := range res {
		if codeOf(r.Err) != want[i] {
			t.Errorf("entry %d: %v, want %q", i, r.Err, want[i])
		}
	}
	again := e.recv("cv", 10)
	if len(again) != 1 || again[0].Body != msgs[0].Body {
		t.Fatalf("after visibility 0: %+v", again)
	}
	// The first message is visible again, so its first handle is stale
	// and it is not in flight under it... but the new receive made it in
	// flight; return it, then it is not in flight.
	res, _ = e.svc.ChangeVisibility(e.ctx, "cv", []VisibilityChange{{ReceiptHandle: again[0].ReceiptHandle}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	res, _ = e.svc.ChangeVisibility(e.ctx, "cv", []VisibilityChange{{ReceiptHandle: again[0].ReceiptHandle, Timeout: time.Second}})
	if codeOf(res[0].Err) != CodeMessageNotInflight {
		t.Fatalf("change of a visible message: %v", res[0].Err)
	}
	e.advance(99 * time.Second)
	if c := e.counts("cv"); c.NotVisible != 1 {
		t.Fatalf("extended message became visible early: %+v", c)
	}
	e.advance(time.Second)
	if c := e.counts("cv"); c.Visible != 2 || c.NotVisible != 0 {
		t.Fatalf("counts = %+v", c)
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("d", map[string]string{AttrDelaySeconds: "30"})
	e.send("d", "queue-delay")
	e.sendIn("d", SendInput{Body: "msg-delay", Delay: 5 * time.Second, DelaySet: true})
	e.sendIn("d", SendInput{Body: "no-delay", Delay: 0, DelaySet: true})
	if c := e.counts("d"); c != (Counts{Visible: 1, Delayed: 2}) {
		t.Fatalf("counts = %+v", c)
	}
	m := e.recv("d", 10)
	if len(m) != 1 || m[0].Body != "no-delay" {
		t.Fatalf("got %+v", m)
	}
	e.del("d", m...)
	e.advance(5 * time.Second)
	m = e.recv("d", 10)
	if len(m) != 1 || m[0].Body != "msg-delay" {
		t.Fatalf("got %+v", m)
	}
	e.del("d", m...)
	e.advance(24 * time.Second)
	if m := e.recv("d", 10); len(m) != 0 {
		t.Fatalf("got %+v before the queue delay", m)
	}
	e.advance(time.Second)
	if m := e.recv("d", 10); len(m) != 1 || m[0].Body != "queue-delay" {
		t.Fatalf("got %+v", m)
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("r", map[string]string{AttrMessageRetentionPeriod: "60"})
	e.send("r", "old")
	e.advance(30 * time.Second)
	e.send("r", "young")
	if m := e.recv("r", 1); len(m) != 1 || m[0].Body != "old" {
		t.Fatalf("got %+v", m)
	}
	e.advance(30 * time.Second) // "old" expires while in flight
	if c := e.counts("r"); c != (Counts{Visible: 1}) {
		t.Fatalf("counts after first expiry = %+v", c)
	}
	e.advance(30 * time.Second)
	if c := e.counts("r"); c != (Counts{}) {
		t.Fatalf("counts after second expiry = %+v", c)
	}
	// Shortening the retention expires what is now too old.
	e.send("r", "x")
	if err := e.svc.SetAttributes(e.ctx, "r", map[string]string{AttrMessageRetentionPeriod: "120"}); err != nil {
		t.Fatal(err)
	}
	e.advance(100 * time.Second)
	if c := e.counts("r"); c.Visible != 1 {
		t.Fatalf("message expired under the longer retention: %+v", c)
	}
	e.advance(20 * time.Second)
	if c := e.counts("r"); c.Visible != 0 {
		t.Fatalf("message outlived its retention: %+v", c)
	}
}

func TestLongPoll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("lp", nil)

	type result struct {
		msgs []Message
		err  error
	}
	got := make(chan result, 1)
	go func() {
		m, err := e.svc.Receive(e.ctx, "lp", ReceiveInput{Max: 10, Wait: 20 * time.Second, WaitSet: true})
		got <- result{m, err}
	}()
	e.waitReceivers("lp", 1)
	e.send("lp", "wake up")
	r := <-got
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].Body != "wake up" {
		t.Fatalf("long poll = %+v", r)
	}

	// Nothing arrives: the receive returns empty when the wait ends.
	go func() {
		m, err := e.svc.Receive(e.ctx, "lp", ReceiveInput{Max: 10, Wait: 20 * time.Second, WaitSet: true})
		got <- result{m, err}
	}()
	e.waitReceivers("lp", 1)
	e.clk.Advance(19 * time.Second)
	select {
	case r := <-got:
		t.Fatalf("returned before the wait ended: %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
	e.clk.Advance(time.Second)
	if r := <-got; r.err != nil || r.msgs != nil {
		t.Fatalf("empty long poll = %+v", r)
	}

	// The queue's ReceiveMessageWaitTimeSeconds applies when no wait is
	// given, and an ended context ends the wait with no error.
	if err := e.svc.SetAttributes(e.ctx, "lp", map[string]string{AttrReceiveMessageWaitTimeSeconds: "20"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	go func() {
		m, err := e.svc.Receive(ctx, "lp", ReceiveInput{})
		got <- result{m, err}
	}()
	e.waitReceivers("lp", 1)
	cancel()
	if r := <-got; r.err != nil || r.msgs != nil {
		t.Fatalf("cancelled long poll = %+v", r)
	}
}

// TestZeroVisibilityReceive: a receive with VisibilityTimeout 0 counts the
// receive and hands out a handle, but leaves the message visible at once,
// without the clock moving; the handle still deletes it, and a FIFO group
// stays unlocked.
func TestZeroVisibilityReceive(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"zero", "zero.fifo"} {
		attrs, group := map[string]string{}, ""
		if name == "zero.fifo" {
			attrs, group = map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true"}, "g"
		}
		e.create(name, attrs)
		e.sendIn(name, SendInput{Body: "a", MessageGroupID: group})
		first, err := e.svc.Receive(e.ctx, name, ReceiveInput{Max: 10, VisibilitySet: true})
		if err != nil || len(first) != 1 || first[0].ReceiveCount != 1 {
			t.Fatalf("%s: first receive %v %+v", name, err, first)
		}
		if c := e.counts(name); c.Visible != 1 || c.NotVisible != 0 {
			t.Fatalf("%s: counts after a zero-visibility receive %+v, want it visible", name, c)
		}
		second := e.recv(name, 10)
		if len(second) != 1 || second[0].ReceiveCount != 2 || second[0].MessageID != first[0].MessageID {
			t.Fatalf("%s: second receive %+v", name, second)
		}
		e.del(name, second[0])
		if c := e.counts(name); c != (Counts{}) {
			t.Fatalf("%s: counts after delete %+v", name, c)
		}
	}
}
