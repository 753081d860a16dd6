package esm

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/queue"
)

// TestDelivery sends messages through a mapping and checks the batches,
// the SQS event shape and that the queue drains.
func TestDelivery(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	res, err := h.queues.Send(t.Context(), "src", []queue.SendInput{{
		Body: "with attributes",
		Attributes: map[string]queue.Attribute{
			"kind": {DataType: "String", StringValue: "a"},
			"n":    {DataType: "Number", StringValue: "7"},
			"blob": {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
		},
	}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	h.send("src", bodiesN("m", 24)...)
	m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker"})
	eventually(t, "the queue to drain", h.drained("src"))
	got := h.inv.bodies()
	if len(got) != 25 {
		t.Fatalf("delivered %d distinct bodies, want 25", len(got))
	}
	for body, n := range got {
		if n != 1 {
			t.Errorf("%q delivered %d times", body, n)
		}
	}
	for _, b := range h.inv.snapshot() {
		if len(b.event.Records) > DefaultBatchSize {
			t.Errorf("batch of %d records, BatchSize is %d", len(b.event.Records), DefaultBatchSize)
		}
		if b.function != fnARN {
			t.Errorf("invoked %s", b.function)
		}
		for _, r := range b.event.Records {
			sum := md5.Sum([]byte(r.Body))
			if r.EventSource != "aws:sqs" || r.EventSourceARN != src || r.AWSRegion != "us-east-1" ||
				r.MessageId == "" || r.ReceiptHandle == "" || r.Md5OfBody != hex.EncodeToString(sum[:]) ||
				r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] == "" ||
				r.Attributes["ApproximateFirstReceiveTimestamp"] == "" || r.Attributes["SenderId"] == "" {
				t.Errorf("record %+v", r)
			}
			if r.Body != "with attributes" {
				if len(r.MessageAttributes) != 0 || r.Md5OfMessageAttributes != "" {
					t.Errorf("record without attributes: %+v", r)
				}
				if !strings.Contains(string(b.raw), `"md5OfMessageAttributes":null`) {
					t.Errorf("md5OfMessageAttributes is not null: %s", b.raw)
				}
				continue
			}
			if a := r.MessageAttributes["kind"]; a.DataType != "String" || a.StringValue == nil || *a.StringValue != "a" {
				t.Errorf("kind attribute %+v", a)
			}
			if a := r.MessageAttributes["blob"]; a.DataType != "Binary" || string(a.BinaryValue) != "\x01\x02\x03" || a.StringValue != nil {
				t.Errorf("blob attribute %+v", a)
			}
			// The digest must be the one SQS itself reported on send.
			if r.Md5OfMessageAttributes != attributesDigest(map[string]queue.Attribute{
				"kind": {DataType: "String", StringValue: "a"},
				"n":    {DataType: "Number", StringValue: "7"},
				"blob": {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
			}) || r.Md5OfMessageAttributes == "" {
				t.Errorf("md5OfMessageAttributes %q", r.Md5OfMessageAttributes)
			}
			if !strings.Contains(string(b.raw), `"stringListValues":[],"binaryListValues":[]`) {
				t.Errorf("list members are not empty arrays: %s", b.raw)
			}
		}
	}
	eventually(t, "LastProcessingResult OK", func() bool {
		got, err := h.svc.Get(t.Context(), m.UUID)
		return err == nil && got.LastProcessingResult == "OK"
	})
}

// TestAttributesDigest checks the digest against the value AWS documents
// for one attribute (computed independently with Python's hashlib).
func TestAttributesDigest(t *testing.T) {
	got := attributesDigest(map[string]queue.Attribute{"k": {DataType: "String", StringValue: "v"}})
	// \x00\x00\x00\x01 k \x00\x00\x00\x06 String \x01 \x00\x00\x00\x01 v
	want := md5.Sum([]byte("\x00\x00\x00\x01k\x00\x00\x00\x06String\x01\x00\x00\x00\x01v"))
	if got != hex.EncodeToString(want[:]) {
		t.Errorf("digest %s, want %x", got, want)
	}
	if attributesDigest(nil) != "" {
		t.Error("digest of no attributes is not empty")
	}
}

func failBodies(sub string) func(b batch) (*invoke.Response, error) {
	return func(b batch) (*invoke.Response, error) {
		var ids []string
		for _, r := range b.event.Records {
			if strings.Contains(r.Body, sub) {
				ids = append(ids, fmt.Sprintf(`{"itemIdentifier":%q}`, r.MessageId))
			}
		}
		return &invoke.Response{StatusCode: 200, Payload: []byte(`{"batchItemFailures":[` + strings.Join(ids, ",") + `]}`)}, nil
	}
}

// TestPartialBatchResponse: only the reported messages come back; after
// maxReceiveCount the queue's redrive policy moves them to its DLQ, and
// the source drains.
func TestPartialBatchResponse(t *testing.T) {
	h := newHarness(t, nil)
	dlq := h.queue("dlq", nil)
	src := h.queue("src", map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlq),
	})
	h.inv.setBehave(failBodies("bad"))
	bodies := append(bodiesN("good", 30), "bad-1", "bad-2")
	h.send("src", bodies...)
	h.create(CreateInput{EventSourceARN: src, FunctionName: "quick", FunctionResponseTypes: []string{ReportBatchItemFailures}})
	eventually(t, "the source to drain", h.drained("src"))
	eventually(t, "two messages in the DLQ", func() bool { return h.counts("dlq").Visible == 2 })
	got := h.inv.bodies()
	for _, b := range bodiesN("good", 30) {
		if got[b] != 1 {
			t.Errorf("%s delivered %d times, want once", b, got[b])
		}
	}
	for _, b := range []string{"bad-1", "bad-2"} {
		if got[b] != 2 {
			t.Errorf("%s delivered %d times, want 2 (maxReceiveCount)", b, got[b])
		}
	}
}

// TestWholeBatchFailures: a function error, an unparseable partial
// response or an unknown item id leave the whole batch on the queue.
func TestWholeBatchFailures(t *testing.T) {
	tests := []struct {
		name   string
		behave func(b batch) (*invoke.Response, error)
		result string
	}{
		{"function error", func(b batch) (*invoke.Response, error) {
			return &invoke.Response{StatusCode: 200, FunctionError: "Unhandled", Payload: []byte(`{"errorMessage":"boom"}`)}, nil
		}, "PROBLEM: Function call failed"},
		{"unparseable response", func(b batch) (*invoke.Response, error) {
			return &invoke.Response{StatusCode: 200, Payload: []byte(`{"batchItemFailures":`)}, nil
		}, "OK"},
		{"unknown id", func(b batch) (*invoke.Response, error) {
			return &invoke.Response{StatusCode: 200, Payload: []byte(`{"batchItemFailures":[{"itemIdentifier":"nope"}]}`)}, nil
		}, "OK"},
		{"empty id", func(b batch) (*invoke.Response, error) {
			return &invoke.Response{StatusCode: 200, Payload: []byte(`{"batchItemFailures":[{"itemIdentifier":""}]}`)}, nil
		}, "OK"},
		{"not an object", func(b batch) (*invoke.Response, error) {
			return &invoke.Response{StatusCode: 200, Payload: []byte(`"done"`)}, nil
		}, "OK"},
		{"function missing", func(b batch) (*invoke.Response, error) {
			return nil, fault.New(fault.NotFound, "Function not found")
		}, "PROBLEM: Function not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			src := h.queue("src", map[string]string{"VisibilityTimeout": "600"})
			h.inv.setBehave(tc.behave)
			h.send("src", bodiesN("m", 5)...)
			m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", FunctionResponseTypes: []string{ReportBatchItemFailures}})
			<-h.inv.calls
			eventually(t, "LastProcessingResult "+tc.result, func() bool {
				got, _ := h.svc.Get(t.Context(), m.UUID)
				return got.LastProcessingResult == tc.result
			})
			// Nothing was deleted: all five are still in flight.
			if c := h.counts("src"); c.NotVisible != 5 || c.Visible != 0 {
				t.Fatalf("counts after the failed batch: %+v", c)
			}
		})
	}
}

// TestSuccessResponses: the responses Lambda reads as complete success.
func TestSuccessResponses(t *testing.T) {
	for _, payload := range []string{``, `null`, `{}`, `{"batchItemFailures":null}`, `{"batchItemFailures":[]}`} {
		ok := func(p []byte) bool {
			failed, ok := batchItemFailures(p, nil, nil)
			return ok && len(failed) == 0
		}
		if !ok([]byte(payload)) {
			t.Errorf("%q is not read as complete success", payload)
		}
	}
}

// TestFilters: messages that match no filter are deleted without an
// invocation; the others are delivered.
func TestFilters(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	h.send("src", `{"kind":"keep","n":1}`, `{"kind":"drop","n":2}`, `plain text`, `{"kind":"keep","n":3}`, `{"kind":"other"}`)
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", Filters: []Filter{
		{Pattern: `{"body":{"kind":["keep"]}}`},
		{Pattern: `{"body":[{"prefix":"plain"}]}`},
	}})
	eventually(t, "the queue to drain", h.drained("src"))
	got := h.inv.bodies()
	want := []string{`{"kind":"keep","n":1}`, `plain text`, `{"kind":"keep","n":3}`}
	if len(got) != len(want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
	for _, b := range want {
		if got[b] != 1 {
			t.Errorf("%s delivered %d times", b, got[b])
		}
	}
}

// TestScaling: with a backlog, pollers are added up to
// MaximumConcurrency and never beyond (counted as concurrent invocations);
// without one they shrink back to one.
func TestScaling(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   *int
		deflt   int
		wantMax int
	}{
		{"scaling config", ptr(3), 0, 3},
		{"default cap", nil, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *Options) { o.DefaultMaxConcurrency = tc.deflt })
			src := h.queue("src", nil)
			h.inv.setBehave(func(b batch) (*invoke.Response, error) {
				time.Sleep(5 * time.Millisecond) // long enough for invocations to overlap
				return &invoke.Response{StatusCode: 200}, nil
			})
			h.send("src", bodiesN("m", 300)...)
			h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(2), MaximumConcurrency: tc.limit})
			eventually(t, "the queue to drain", h.drained("src"))
			if peak := h.inv.peakInFlight(); peak > tc.wantMax || peak < 2 {
				t.Errorf("peak concurrent invocations %d, want 2..%d", peak, tc.wantMax)
			}
			if n := len(h.inv.bodies()); n != 300 {
				t.Errorf("delivered %d distinct messages, want 300", n)
			}
			// Idle pollers leave once their long poll finds nothing; one stays.
			eventually(t, "the pollers to shrink to one", func() bool { return h.svc.activePollers() == 1 })
		})
	}
}

// TestThrottled: a throttled invocation is retried (the batch is kept,
// not left to the visibility timeout).
func TestThrottled(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	var n atomic.Int32
	h.inv.setBehave(func(b batch) (*invoke.Response, error) {
		if n.Add(1) <= 3 {
			return nil, &fault.Error{Kind: fault.Throttled, Message: "Rate Exceeded."}
		}
		return &invoke.Response{StatusCode: 200}, nil
	})
	h.send("src", "one")
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker"})
	eventually(t, "the queue to drain", h.drained("src"))
	if got := h.inv.bodies(); got["one"] != 1 || n.Load() != 4 {
		t.Errorf("delivered %v after %d attempts", got, n.Load())
	}
}

// TestDisableEnable: a disabled mapping stops polling; enabling resumes.
func TestDisableEnable(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker"})
	h.send("src", "first")
	eventually(t, "first delivered", func() bool { return h.inv.bodies()["first"] == 1 })
	if _, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pollers to stop", func() bool {
		h.svc.mu.Lock()
		r := h.svc.runners[m.UUID]
		h.svc.mu.Unlock()
		return r != nil && !r.def.Enabled && h.svc.activePollers() == 0
	})
	h.send("src", "second")
	time.Sleep(200 * time.Millisecond)
	if h.inv.bodies()["second"] != 0 || h.counts("src").Visible != 1 {
		t.Fatal("a disabled mapping delivered a message")
	}
	if _, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second delivered", func() bool { return h.inv.bodies()["second"] == 1 })
	// Delete stops the pollers too.
	if _, err := h.svc.Delete(t.Context(), m.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pollers to stop", func() bool { return h.svc.activePollers() == 0 })
}

// TestRestartResumes: a new Service on the same store resumes the
// pollers of the enabled mappings.
func TestRestartResumes(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker"})
	h.send("src", "before")
	eventually(t, "before delivered", func() bool { return h.inv.bodies()["before"] == 1 })
	h.svc.Close()
	h.send("src", "while down")
	time.Sleep(100 * time.Millisecond)
	if h.inv.bodies()["while down"] != 0 {
		t.Fatal("a closed service delivered a message")
	}
	h.start()
	eventually(t, "delivery after the restart", func() bool { return h.inv.bodies()["while down"] == 1 })
}

// TestBatchingWindow: with a window, a partial batch waits for the window
// (on the fake clock); a full batch goes at once.
func TestBatchingWindow(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	h := newHarness(t, func(o *Options) { o.Clock = clk })
	src := h.queue("src", nil)
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(20), MaximumBatchingWindow: ptr(5 * time.Second)})
	h.send("src", bodiesN("early", 3)...)
	eventually(t, "the three to be received", func() bool { return h.counts("src").NotVisible == 3 })
	time.Sleep(100 * time.Millisecond)
	if n := len(h.inv.snapshot()); n != 0 {
		t.Fatalf("%d batches before the window ended", n)
	}
	clk.Advance(5 * time.Second)
	<-h.inv.calls
	if b := h.inv.snapshot(); len(b) != 1 || len(b[0].event.Records) != 3 {
		t.Fatalf("batches after the window: %d", len(b))
	}
	// A full batch does not wait for the window.
	h.send("src", bodiesN("full", 20)...)
	select {
	case <-h.inv.calls:
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch waited for the window")
	}
	if b := h.inv.snapshot(); len(b) != 2 || len(b[1].event.Records) != 20 {
		t.Fatalf("second batch: %d batches", len(b))
	}
}

// TestCloseWaits: Close returns once every poller has stopped.
func TestCloseWaits(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", MaximumConcurrency: ptr(5)})
	var r *runner
	eventually(t, "the runner", func() bool {
		h.svc.mu.Lock()
		defer h.svc.mu.Unlock()
		r = h.svc.runners[m.UUID]
		return r != nil && r.active.Load() > 0
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { h.svc.Close(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
	if n := r.active.Load(); n != 0 {
		t.Fatalf("%d pollers after Close", n)
	}
}

// TestFIFORecords: records of a FIFO queue carry the group, sequence
// number and deduplication id, in order within the group.
func TestFIFORecords(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src.fifo", map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
	var in []queue.SendInput
	for i := 0; i < 5; i++ {
		in = append(in, queue.SendInput{ID: fmt.Sprint(i), Body: fmt.Sprintf("m-%d", i), MessageGroupID: "g"})
	}
	if _, err := h.queues.Send(t.Context(), "src.fifo", in); err != nil {
		t.Fatal(err)
	}
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(2)})
	eventually(t, "the queue to drain", h.drained("src.fifo"))
	var order []string
	for _, b := range h.inv.snapshot() {
		for _, r := range b.event.Records {
			order = append(order, r.Body)
			if r.Attributes["MessageGroupId"] != "g" || r.Attributes["SequenceNumber"] == "" || r.Attributes["MessageDeduplicationId"] == "" {
				t.Errorf("FIFO record attributes %v", r.Attributes)
			}
		}
	}
	if strings.Join(order, ",") != "m-0,m-1,m-2,m-3,m-4" {
		t.Errorf("delivered in order %v", order)
	}
}

// TestUpdateRestartsPollers: a new batch size applies to later batches.
func TestUpdateRestartsPollers(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(1)})
	h.send("src", "a")
	eventually(t, "a delivered", func() bool { return h.inv.bodies()["a"] == 1 })
	if _, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{BatchSize: ptr(5), Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the pollers to stop", func() bool { return h.svc.activePollers() == 0 })
	h.send("src", bodiesN("b", 5)...)
	if _, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue to drain", h.drained("src"))
	b := h.inv.snapshot()
	if last := b[len(b)-1]; len(last.event.Records) != 5 {
		t.Errorf("batch after the update has %d records, want 5", len(last.event.Records))
	}
}
