package topic

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/queue"
)

// TestRealQueues fans out into the real queue engine: an envelope to a
// standard queue, raw delivery with attributes, and a FIFO topic into a
// FIFO queue with its group and order.
func TestRealQueues(t *testing.T) {
	var qs *queue.Service
	e := newEnv(t, func(o *Options) {
		var err error
		qs, err = queue.New(t.Context(), queue.Options{Store: o.Store, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { qs.Close() })
		o.Queues = qs
	})
	ctx := t.Context()
	for _, q := range []struct {
		name  string
		attrs map[string]string
	}{
		{"env", nil},
		{"raw", nil},
		{"ordered.fifo", map[string]string{queue.AttrFifoQueue: "true"}},
	} {
		if _, err := qs.CreateQueue(ctx, q.name, q.attrs, nil); err != nil {
			t.Fatal(err)
		}
	}
	std := e.s(e.svc.CreateTopic(ctx, "std", nil, nil))
	e.s(e.svc.Subscribe(ctx, std, "sqs", qs.ARN("env"), nil, false))
	e.s(e.svc.Subscribe(ctx, std, "sqs", qs.ARN("raw"), map[string]string{SubAttrRawMessageDelivery: "true"}, false))
	fifo := e.s(e.svc.CreateTopic(ctx, "f.fifo", map[string]string{AttrFifoTopic: "true", AttrContentBasedDeduplication: "true"}, nil))
	e.s(e.svc.Subscribe(ctx, fifo, "sqs", qs.ARN("ordered.fifo"), nil, false))

	res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: std, Message: "hello", Attributes: map[string]Attribute{
		"k": {DataType: "String", StringValue: "v"}}}))
	for i := range 3 {
		e.p(e.svc.Publish(ctx, PublishInput{TopicARN: fifo, Message: string(rune('a' + i)), MessageGroupID: "g"}))
	}

	receive := func(name string, n int) []queue.Message {
		t.Helper()
		var out []queue.Message
		deadline := time.Now().Add(20 * time.Second)
		for len(out) < n && time.Now().Before(deadline) {
			msgs, err := qs.Receive(ctx, name, queue.ReceiveInput{Max: 10, Wait: time.Second, WaitSet: true,
				AttributeNames: []string{"All"}, SystemAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, msgs...)
			for _, m := range msgs {
				if _, err := qs.Delete(ctx, name, []queue.DeleteEntry{{ReceiptHandle: m.ReceiptHandle}}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(out) != n {
			t.Fatalf("queue %s: %d messages, want %d", name, len(out), n)
		}
		return out
	}

	var env envelope
	if err := json.Unmarshal([]byte(receive("env", 1)[0].Body), &env); err != nil || env.MessageID != res.MessageID || env.Message != "hello" {
		t.Errorf("envelope = %+v (%v)", env, err)
	}
	raw := receive("raw", 1)[0]
	if raw.Body != "hello" || raw.AllAttributes["k"].StringValue != "v" {
		t.Errorf("raw = %q %+v", raw.Body, raw.AllAttributes)
	}
	var order string
	for _, m := range receive("ordered.fifo", 3) {
		if err := json.Unmarshal([]byte(m.Body), &env); err != nil {
			t.Fatal(err)
		}
		order += env.Message
		if m.MessageGroupID != "g" {
			t.Errorf("group = %q", m.MessageGroupID)
		}
	}
	if order != "abc" {
		t.Errorf("order = %q", order)
	}
}
