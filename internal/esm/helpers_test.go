package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fakeFunctions knows functions by name, with a timeout each.
type fakeFunctions struct {
	timeouts map[string]time.Duration
}

func (f *fakeFunctions) Resolve(ctx context.Context, name string) (Function, error) {
	ref, err := function.ParseRef(name)
	if err != nil {
		return Function{}, err
	}
	timeout, ok := f.timeouts[ref.Name]
	if !ok {
		return Function{}, fault.New(fault.NotFound, "Function not found: %s", function.ARN("us-east-1", "000000000000", ref.Name, ref.Qualifier))
	}
	return Function{ARN: function.ARN("us-east-1", "000000000000", ref.Name, ref.Qualifier), Timeout: timeout}, nil
}

// batch is one invocation the fake invoker saw.
type batch struct {
	function string
	event    events.SQSEvent
	raw      []byte
}

// fakeInvoker records every batch and answers with behave (default:
// success, null payload). It counts concurrent invocations.
type fakeInvoker struct {
	mu       sync.Mutex
	batches  []batch
	inFlight int
	peak     int
	behave   func(b batch) (*invoke.Response, error)
	// calls is signalled after each invocation.
	calls chan struct{}
}

func newFakeInvoker() *fakeInvoker { return &fakeInvoker{calls: make(chan struct{}, 100000)} }

func (f *fakeInvoker) Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error) {
	if !req.Background || !req.PayloadIsJSON {
		return nil, fmt.Errorf("request not marked Background and PayloadIsJSON: %+v", req)
	}
	b := batch{function: req.FunctionName, raw: req.Payload}
	if err := json.Unmarshal(req.Payload, &b.event); err != nil {
		return nil, fmt.Errorf("payload is not an SQS event: %w", err)
	}
	f.mu.Lock()
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	behave := f.behave
	f.mu.Unlock()
	var resp *invoke.Response
	var err error
	if behave != nil {
		resp, err = behave(b)
	} else {
		resp = &invoke.Response{StatusCode: 200, Payload: []byte("null")}
	}
	f.mu.Lock()
	f.inFlight--
	if err == nil {
		f.batches = append(f.batches, b)
	}
	f.mu.Unlock()
	f.calls <- struct{}{}
	return resp, err
}

func (f *fakeInvoker) setBehave(fn func(b batch) (*invoke.Response, error)) {
	f.mu.Lock()
	f.behave = fn
	f.mu.Unlock()
}

func (f *fakeInvoker) snapshot() []batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]batch(nil), f.batches...)
}

func (f *fakeInvoker) peakInFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak
}

// bodies returns every record body delivered so far, with its count.
func (f *fakeInvoker) bodies() map[string]int {
	out := map[string]int{}
	for _, b := range f.snapshot() {
		for _, r := range b.event.Records {
			out[r.Body]++
		}
	}
	return out
}

// harness is a real store and queue service with an esm Service over them.
type harness struct {
	t      *testing.T
	st     store.Store
	queues *queue.Service
	inv    *fakeInvoker
	fns    *fakeFunctions
	svc    *Service
	opts   Options
}

func newHarness(t *testing.T, tune func(*Options)) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	qs, err := queue.New(ctx, queue.Options{Store: st, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qs.Close() })
	h := &harness{t: t, st: st, queues: qs, inv: newFakeInvoker(),
		fns: &fakeFunctions{timeouts: map[string]time.Duration{"worker": 3 * time.Second, "other": 3 * time.Second, "slow": 60 * time.Second, "quick": 0}}}
	h.opts = Options{
		Store: st, Queues: qs, Invoker: h.inv, Functions: h.fns, Logger: quiet(),
		PollWait: time.Second, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond,
	}
	if tune != nil {
		tune(&h.opts)
	}
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	svc, err := New(h.t.Context(), h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
	h.t.Cleanup(svc.Close)
}

// queue creates a queue and returns its ARN.
func (h *harness) queue(name string, attrs map[string]string) string {
	h.t.Helper()
	info, err := h.queues.CreateQueue(h.t.Context(), name, attrs, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return info.ARN
}

// send sends bodies to the queue (in batches of 10, as the wire would).
func (h *harness) send(name string, bodies ...string) {
	h.t.Helper()
	for len(bodies) > 0 {
		n := min(len(bodies), 10)
		in := make([]queue.SendInput, n)
		for i, b := range bodies[:n] {
			in[i] = queue.SendInput{ID: fmt.Sprint(i), Body: b}
		}
		res, err := h.queues.Send(h.t.Context(), name, in)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				h.t.Fatal(r.Err)
			}
		}
		bodies = bodies[n:]
	}
}

func (h *harness) create(in CreateInput) Mapping {
	h.t.Helper()
	m, err := h.svc.Create(h.t.Context(), in)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// eventually polls cond (in real time) until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) counts(name string) queue.Counts {
	h.t.Helper()
	c, err := h.queues.Counts(h.t.Context(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) drained(name string) func() bool {
	return func() bool {
		c := h.counts(name)
		return c.Visible == 0 && c.NotVisible == 0 && c.Delayed == 0
	}
}

func bodiesN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func wantFault(t *testing.T, err error, kind fault.Kind, contains string) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("error %v: want a %v fault", err, kind)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q: want it to contain %q", err, contains)
	}
}

func errorsAs(err error, target **fault.Error) bool { return errors.As(err, target) }
