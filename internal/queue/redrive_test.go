package queue

import (
	"fmt"
	"testing"
	"time"
)

func TestRedriveAndMoveTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("dlq", nil)
	dlqARN := e.svc.ARN("dlq")
	e.create("src", map[string]string{
		AttrVisibilityTimeout: "5",
		AttrRedrivePolicy:     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlqARN),
	})
	attrs, err := e.svc.GetAttributes(e.ctx, "src", []string{AttrRedrivePolicy})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlqARN); attrs[AttrRedrivePolicy] != want {
		t.Fatalf("RedrivePolicy = %s", attrs[AttrRedrivePolicy])
	}
	if srcs, _ := e.svc.ListDeadLetterSourceQueues(e.ctx, "dlq"); len(srcs) != 1 || srcs[0] != "src" {
		t.Fatalf("dead-letter sources = %v", srcs)
	}
	sent := e.sendIn("src", SendInput{Body: "poison", Attributes: map[string]Attribute{"k": {DataType: "String", StringValue: "v"}}})
	for i := 1; i <= 2; i++ {
		m := e.recv("src", 1)
		if len(m) != 1 || m[0].ReceiveCount != i {
			t.Fatalf("receive %d: %+v", i, m)
		}
		e.advance(5 * time.Second)
	}
	// The third receive moves it to the DLQ instead of handing it out.
	if m := e.recv("src", 1); len(m) != 0 {
		t.Fatalf("message received a third time: %+v", m)
	}
	if c := e.counts("src"); c != (Counts{}) {
		t.Fatalf("source counts = %+v", c)
	}
	dm := e.recv("dlq", 1)
	if len(dm) != 1 {
		t.Fatalf("DLQ has %d messages", len(dm))
	}
	d := dm[0]
	if d.MessageID != sent[0].MessageID || d.Body != "poison" || d.Attributes["k"].StringValue != "v" ||
		!d.SentTimestamp.Equal(epoch) || d.DeadLetterQueueSourceARN != e.svc.ARN("src") ||
		d.SystemAttributes[SysDeadLetterQueueSourceArn] != e.svc.ARN("src") {
		t.Fatalf("DLQ message = %+v", d)
	}
	res, _ := e.svc.ChangeVisibility(e.ctx, "dlq", []VisibilityChange{{ReceiptHandle: d.ReceiptHandle}})
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}

	// A move task brings it back to its source.
	if _, err := e.svc.StartMoveTask(e.ctx, e.svc.ARN("src"), "", 0); codeOf(err) != CodeInvalidParameterValue {
		t.Fatalf("move from a non-DLQ: %v", err)
	}
	h, err := e.svc.StartMoveTask(e.ctx, dlqARN, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("move task done", func() bool {
		ts, _ := e.svc.ListMoveTasks(e.ctx, dlqARN, 10)
		return len(ts) == 1 && ts[0].Status == TaskCompleted
	})
	ts, _ := e.svc.ListMoveTasks(e.ctx, dlqARN, 10)
	if ts[0].TaskHandle != h || ts[0].ApproximateNumberOfMessagesMoved != 1 || ts[0].ApproximateNumberOfMessagesToMove != 1 {
		t.Fatalf("task = %+v", ts[0])
	}
	back := e.recv("src", 1)
	// A moved message is new: new MessageId and SentTimestamp, as in SQS.
	if len(back) != 1 || back[0].MessageID == sent[0].MessageID || back[0].Body != "poison" || back[0].DeadLetterQueueSourceARN != "" ||
		back[0].Attributes["k"].StringValue != "v" || back[0].ReceiveCount != 1 || !back[0].SentTimestamp.Equal(e.clk.Now()) {
		t.Fatalf("moved back = %+v", back)
	}
	if c := e.counts("dlq"); c != (Counts{}) {
		t.Fatalf("dlq counts = %+v", c)
	}
	if _, err := e.svc.CancelMoveTask(e.ctx, h); codeOf(err) != CodeUnsupportedOperation {
		t.Fatalf("cancel of a completed task: %v", err)
	}
}

func TestMoveTaskRateAndCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("dlq2", nil)
	e.create("src2", map[string]string{AttrRedrivePolicy: fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, e.svc.ARN("dlq2"))})
	e.create("dest2", nil)
	for i := 0; i < 3; i++ {
		e.send("dlq2", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	}
	h, err := e.svc.StartMoveTask(e.ctx, e.svc.ARN("dlq2"), e.svc.ARN("dest2"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartMoveTask(e.ctx, e.svc.ARN("dlq2"), "", 0); codeOf(err) != CodeUnsupportedOperation {
		t.Fatalf("second task: %v", err)
	}
	// The first ten go at once; the next ten wait for a second.
	e.eventually("first batch", func() bool {
		ts, _ := e.svc.ListMoveTasks(e.ctx, e.svc.ARN("dlq2"), 1)
		return ts[0].ApproximateNumberOfMessagesMoved == 10
	})
	if c := e.counts("dest2"); c.Visible != 10 {
		t.Fatalf("dest counts = %+v", c)
	}
	// The rate holds the second batch until a second has passed.
	e.clk.Advance(999 * time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if ts, _ := e.svc.ListMoveTasks(e.ctx, e.svc.ARN("dlq2"), 1); ts[0].ApproximateNumberOfMessagesMoved != 10 {
		t.Fatalf("moved %d before a second passed", ts[0].ApproximateNumberOfMessagesMoved)
	}
	e.clk.Advance(time.Millisecond)
	e.eventually("second batch", func() bool {
		ts, _ := e.svc.ListMoveTasks(e.ctx, e.svc.ARN("dlq2"), 1)
		return ts[0].ApproximateNumberOfMessagesMoved == 20
	})
	moved, err := e.svc.CancelMoveTask(e.ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if moved != 20 {
		t.Fatalf("moved = %d", moved)
	}
	e.eventually("cancelled", func() bool {
		ts, _ := e.svc.ListMoveTasks(e.ctx, e.svc.ARN("dlq2"), 1)
		return ts[0].Status == TaskCancelled
	})
	if c := e.counts("dlq2"); c.Visible != 10 {
		t.Fatalf("dlq counts = %+v", c)
	}
}

func TestFIFORedriveKeepsGroupOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("dl.fifo", map[string]string{AttrFifoQueue: "true"})
	if _, err := e.svc.CreateQueue(e.ctx, "std-dlq", nil, nil); err != nil {
		t.Fatal(err)
	}
	bad := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, e.svc.ARN("std-dlq"))
	if _, err := e.svc.CreateQueue(e.ctx, "s.fifo", map[string]string{AttrFifoQueue: "true", AttrRedrivePolicy: bad}, nil); codeOf(err) != CodeInvalidParameterValue {
		t.Fatalf("standard DLQ for a FIFO queue: %v", err)
	}
	e.create("s.fifo", map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "true", AttrVisibilityTimeout: "5",
		AttrRedrivePolicy: fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, e.svc.ARN("dl.fifo"))})
	e.sendIn("s.fifo", SendInput{Body: "a1", MessageGroupID: "a"}, SendInput{Body: "a2", MessageGroupID: "a"})
	if m := e.recv("s.fifo", 1); bodies(m) != "a1" {
		t.Fatalf("first = %s", bodies(m))
	}
	e.advance(5 * time.Second)
	// a1 has had its one receive: it goes to the DLQ, and a2 follows.
	if m := e.recv("s.fifo", 10); bodies(m) != "a2" {
		t.Fatalf("after redrive = %s", bodies(m))
	}
	d := e.recv("dl.fifo", 10)
	if bodies(d) != "a1" || d[0].MessageGroupID != "a" || d[0].SequenceNumber == "" || d[0].DeadLetterQueueSourceARN != e.svc.ARN("s.fifo") ||
		d[0].DeduplicationID != d[0].MessageID {
		t.Fatalf("DLQ = %+v", d)
	}
}
