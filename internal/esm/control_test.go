package esm

import (
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	fifo := h.queue("src.fifo", map[string]string{"FifoQueue": "true"})
	short := h.queue("short", map[string]string{"VisibilityTimeout": "10"})
	tests := []struct {
		name     string
		in       CreateInput
		kind     fault.Kind
		contains string
	}{
		{"no source", CreateInput{FunctionName: "worker"}, fault.Invalid, "eventSourceArn"},
		{"no function", CreateInput{EventSourceARN: src}, fault.Invalid, "functionName"},
		{"bad arn", CreateInput{EventSourceARN: "queue", FunctionName: "worker"}, fault.Invalid, "regular expression"},
		{"kinesis", CreateInput{EventSourceARN: "arn:aws:kinesis:us-east-1:000000000000:stream/s", FunctionName: "worker"}, fault.Unsupported, "SQS"},
		{"missing queue", CreateInput{EventSourceARN: src + "-nope", FunctionName: "worker"}, fault.Invalid, "NonExistentQueue"},
		{"missing function", CreateInput{EventSourceARN: src, FunctionName: "nope"}, fault.NotFound, "Function not found"},
		{"batch 0", CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(0)}, fault.Invalid, "greater than or equal to 1"},
		{"batch 10001", CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(10001), MaximumBatchingWindow: ptr(time.Second)}, fault.Invalid, "less than or equal to 10000"},
		{"batch 11 without window", CreateInput{EventSourceARN: src, FunctionName: "worker", BatchSize: ptr(11)}, fault.Invalid, "Maximum batch window in seconds must be greater than 0"},
		{"fifo batch 11", CreateInput{EventSourceARN: fifo, FunctionName: "worker", BatchSize: ptr(11)}, fault.Invalid, "FIFO"},
		{"fifo window", CreateInput{EventSourceARN: fifo, FunctionName: "worker", MaximumBatchingWindow: ptr(time.Second)}, fault.Invalid, "FIFO"},
		{"window 301", CreateInput{EventSourceARN: src, FunctionName: "worker", MaximumBatchingWindow: ptr(301 * time.Second)}, fault.Invalid, "less than or equal to 300"},
		{"response type", CreateInput{EventSourceARN: src, FunctionName: "worker", FunctionResponseTypes: []string{"Other"}}, fault.Invalid, "enum value set"},
		{"concurrency 1", CreateInput{EventSourceARN: src, FunctionName: "worker", MaximumConcurrency: ptr(1)}, fault.Invalid, "greater than or equal to 2"},
		{"concurrency 1001", CreateInput{EventSourceARN: src, FunctionName: "worker", MaximumConcurrency: ptr(1001)}, fault.Invalid, "less than or equal to 1000"},
		{"six filters", CreateInput{EventSourceARN: src, FunctionName: "worker", Filters: make([]Filter, 6)}, fault.Invalid, "at most 5"},
		{"bad filter", CreateInput{EventSourceARN: src, FunctionName: "worker", Filters: []Filter{{Pattern: `{"body":`}}}, fault.Invalid, "Invalid filter pattern definition"},
		{"visibility below timeout", CreateInput{EventSourceARN: short, FunctionName: "slow"}, fault.Invalid, "Queue visibility timeout: 10 seconds is less than Function timeout: 60 seconds"},
		{"bad uuid", CreateInput{UUID: "x", EventSourceARN: src, FunctionName: "worker"}, fault.Invalid, "UUID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.svc.Create(t.Context(), tc.in)
			wantFault(t, err, tc.kind, tc.contains)
		})
	}
	list, err := h.svc.List(t.Context(), "", "")
	if err != nil || len(list) != 0 {
		t.Fatalf("after refused creates: %v, %v", list, err)
	}
}

func TestControlLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	src := h.queue("src", nil)
	other := h.queue("other-src", nil)
	m := h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", Enabled: ptr(false)})
	if m.State != StateCreating || m.BatchSize != DefaultBatchSize || m.MaximumBatchingWindow != 0 ||
		m.FunctionARN != fnARN || m.EventSourceARN != src || m.UUID == "" || m.StateTransitionReason != "USER_INITIATED" ||
		m.LastProcessingResult != "No records processed" || m.LastModified.IsZero() {
		t.Fatalf("created %+v", m)
	}
	got, err := h.svc.Get(t.Context(), m.UUID)
	if err != nil || got.State != StateDisabled || got.UUID != m.UUID {
		t.Fatalf("Get: %+v, %v", got, err)
	}

	// A second mapping of the same pair conflicts, naming the first.
	_, err = h.svc.Create(t.Context(), CreateInput{EventSourceARN: src, FunctionName: fnARN})
	wantFault(t, err, fault.Conflict, m.UUID)
	var fe *fault.Error
	if errorsAs(err, &fe); fe.Reason != "ResourceConflictException" {
		t.Errorf("conflict reason %q", fe.Reason)
	}
	// The same queue with another function, a qualified one, or another
	// queue with the same function are distinct pairs.
	m2 := h.create(CreateInput{EventSourceARN: src, FunctionName: "other", Enabled: ptr(false)})
	m3 := h.create(CreateInput{EventSourceARN: other, FunctionName: "worker:live", Enabled: ptr(false),
		BatchSize: ptr(100), MaximumBatchingWindow: ptr(2 * time.Second), FunctionResponseTypes: []string{ReportBatchItemFailures},
		MaximumConcurrency: ptr(7), Filters: []Filter{{Pattern: `{"body":{"kind":["a"]}}`}}})
	if m3.FunctionARN != fnARN+":live" || m3.BatchSize != 100 || m3.MaximumBatchingWindow != 2*time.Second ||
		m3.MaximumConcurrency != 7 || len(m3.Filters) != 1 || len(m3.FunctionResponseTypes) != 1 {
		t.Fatalf("m3 %+v", m3)
	}

	for _, tc := range []struct {
		fn, src string
		want    int
	}{
		{"", "", 3},
		{"worker", "", 2},
		{fnARN, "", 2},
		{"worker:live", "", 1},
		{"other", "", 1},
		{"", src, 2},
		{"worker", src, 1},
		{"nobody", "", 0},
	} {
		list, err := h.svc.List(t.Context(), tc.fn, tc.src)
		if err != nil || len(list) != tc.want {
			t.Errorf("List(%q, %q) = %d mappings, %v; want %d", tc.fn, tc.src, len(list), err, tc.want)
		}
		for i := 1; i < len(list); i++ {
			if list[i-1].UUID >= list[i].UUID {
				t.Errorf("List not sorted by UUID")
			}
		}
	}

	// Update: enable, change batch settings; invalid combinations refused.
	_, err = h.svc.Update(t.Context(), m.UUID, UpdateInput{BatchSize: ptr(50)})
	wantFault(t, err, fault.Invalid, "Maximum batch window")
	up, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{Enabled: ptr(true), BatchSize: ptr(50), MaximumBatchingWindow: ptr(time.Second)})
	if err != nil || up.State != StateEnabling || up.BatchSize != 50 {
		t.Fatalf("Update: %+v, %v", up, err)
	}
	up, err = h.svc.Update(t.Context(), m.UUID, UpdateInput{Enabled: ptr(false)})
	if err != nil || up.State != StateDisabling {
		t.Fatalf("Update disable: %+v, %v", up, err)
	}
	// Moving m to the function m2 already maps from src conflicts.
	_, err = h.svc.Update(t.Context(), m.UUID, UpdateInput{FunctionName: "other"})
	wantFault(t, err, fault.Conflict, m2.UUID)
	// Filters can be cleared.
	up, err = h.svc.Update(t.Context(), m3.UUID, UpdateInput{FiltersSet: true})
	if err != nil || len(up.Filters) != 0 || up.State != StateUpdating {
		t.Fatalf("clear filters: %+v, %v", up, err)
	}
	_, err = h.svc.Update(t.Context(), "00000000-0000-0000-0000-000000000000", UpdateInput{})
	wantFault(t, err, fault.NotFound, "does not exist")

	// Delete returns the mapping as Deleting; the pair is free again.
	del, err := h.svc.Delete(t.Context(), m2.UUID)
	if err != nil || del.State != StateDeleting || del.UUID != m2.UUID {
		t.Fatalf("Delete: %+v, %v", del, err)
	}
	_, err = h.svc.Get(t.Context(), m2.UUID)
	wantFault(t, err, fault.NotFound, "does not exist")
	_, err = h.svc.Delete(t.Context(), m2.UUID)
	wantFault(t, err, fault.NotFound, "does not exist")
	if _, err := h.svc.Update(t.Context(), m.UUID, UpdateInput{FunctionName: "other"}); err != nil {
		t.Fatalf("moving to the freed pair: %v", err)
	}
	// And m's old pair (src, worker) is free too.
	h.create(CreateInput{EventSourceARN: src, FunctionName: "worker", Enabled: ptr(false)})
}
