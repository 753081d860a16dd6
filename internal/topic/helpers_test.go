package topic

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func quiet() *slog.Logger {
	if os.Getenv("TOPIC_TEST_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeQueues is the part of queue.API that topics use: Send, ARN and
// NameFromARN. Queues exist once named in exists (nil = every queue).
type fakeQueues struct {
	queue.API // nil: the other methods are not called

	mu     sync.Mutex
	exists map[string]bool
	sent   map[string][]queue.SendInput
	// hook, when set, runs before a send is recorded; an error fails it.
	hook func(ctx context.Context, name string) error
	// calls counts Send calls.
	calls int
}

func newFakeQueues(names ...string) *fakeQueues {
	f := &fakeQueues{sent: map[string][]queue.SendInput{}}
	if len(names) > 0 {
		f.exists = map[string]bool{}
		for _, n := range names {
			f.exists[n] = true
		}
	}
	return f
}

func (f *fakeQueues) ARN(name string) string { return "arn:aws:sqs:us-east-1:000000000000:" + name }

func (f *fakeQueues) NameFromARN(arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, "arn:aws:sqs:us-east-1:000000000000:")
	if !ok || name == "" {
		e := fault.New(fault.Invalid, "bad queue arn %q", arn)
		e.Reason = queue.CodeInvalidParameterValue
		return "", e
	}
	return name, nil
}

func (f *fakeQueues) Send(ctx context.Context, name string, msgs []queue.SendInput) ([]queue.SendResult, error) {
	f.mu.Lock()
	f.calls++
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, name); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.exists != nil && !f.exists[name] {
		e := fault.New(fault.NotFound, "The specified queue does not exist.")
		e.Reason = queue.CodeQueueDoesNotExist
		return nil, e
	}
	out := make([]queue.SendResult, len(msgs))
	for i, m := range msgs {
		f.sent[name] = append(f.sent[name], m)
		out[i] = queue.SendResult{ID: m.ID, MessageID: "m"}
	}
	return out, nil
}

func (f *fakeQueues) messages(name string) []queue.SendInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]queue.SendInput(nil), f.sent[name]...)
}

// fakeFunctions records events by function ARN; functions in missing are
// NotFound.
type fakeFunctions struct {
	mu      sync.Mutex
	events  map[string][][]byte
	missing map[string]bool
}

func (f *fakeFunctions) EnqueueEvent(ctx context.Context, arn string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.missing[arn] {
		return fault.New(fault.NotFound, "Function not found: %s", arn)
	}
	if f.events == nil {
		f.events = map[string][][]byte{}
	}
	f.events[arn] = append(f.events[arn], append([]byte(nil), payload...))
	return nil
}

func (f *fakeFunctions) of(arn string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.events[arn]...)
}

// fakeSink records dead letters.
type fakeSink struct {
	mu  sync.Mutex
	dls []DeadLetter
}

func (f *fakeSink) PutDeadLetter(ctx context.Context, dl DeadLetter) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dls = append(f.dls, dl)
	return nil
}

func (f *fakeSink) all() []DeadLetter {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]DeadLetter(nil), f.dls...)
}

type env struct {
	t     *testing.T
	st    store.Store
	clk   *clock.Fake
	q     *fakeQueues
	fn    *fakeFunctions
	sink  *fakeSink
	svc   *Service
	opts  Options
	fresh func(Options) *Service
}

// newEnv opens a store and a service with fakes; adjust changes the
// options before New.
func newEnv(t *testing.T, adjust func(*Options)) *env {
	t.Helper()
	e := &env{
		t:  t,
		st: openStore(t, t.TempDir()), clk: clock.NewFake(t0),
		q: newFakeQueues(), fn: &fakeFunctions{}, sink: &fakeSink{},
	}
	e.opts = Options{
		Store: e.st, Clock: e.clk, Logger: quiet(), Queues: e.q, Functions: e.fn, DeadLetters: e.sink,
		BaseURL: func() string { return "http://127.0.0.1:4566" },
	}
	if adjust != nil {
		adjust(&e.opts)
	}
	e.fresh = func(o Options) *Service {
		t.Helper()
		s, err := New(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	e.svc = e.fresh(e.opts)
	return e
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// s, p and l fail the test on err and return v (one per result type).
func (e *env) s(v string, err error) string {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) p(v PublishResult, err error) PublishResult {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) l2(v []string, err error) []string {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) l(v []Subscription, err error) []Subscription {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// reasonOf is the fault Reason of err ("" if none).
func reasonOf(err error) string {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return ""
	}
	return fe.Reason
}

const qarn = "arn:aws:sqs:us-east-1:000000000000:"
