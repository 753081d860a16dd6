package async

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/store"
)

// t0 is the fake clock's start.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// call is one invocation the fake invoker saw, with the fake time it came.
type call struct {
	req invoke.Request
	at  time.Time
}

// fakeInvoker records every invocation and answers with behave (by
// function name; default: success echoing the payload).
type fakeInvoker struct {
	clk    *clock.Fake
	mu     sync.Mutex
	calls  []call
	behave map[string]func(ctx context.Context, n int, req invoke.Request) (*invoke.Response, error)
}

func (f *fakeInvoker) Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error) {
	f.mu.Lock()
	n := 0
	for _, c := range f.calls {
		if c.req.FunctionName == req.FunctionName {
			n++
		}
	}
	f.calls = append(f.calls, call{req: req, at: f.clk.Now()})
	b := f.behave[req.FunctionName]
	f.mu.Unlock()
	if b != nil {
		return b(ctx, n, req)
	}
	return ok(req.Payload), nil
}

func (f *fakeInvoker) set(name string, b func(ctx context.Context, n int, req invoke.Request) (*invoke.Response, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.behave[name] = b
}

// callsOf returns the invocations of function name, in order.
func (f *fakeInvoker) callsOf(name string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.req.FunctionName == name {
			out = append(out, c)
		}
	}
	return out
}

func ok(payload []byte) *invoke.Response {
	return &invoke.Response{StatusCode: 200, Payload: payload, ContentType: "application/json", ExecutedVersion: function.Latest}
}

const errDoc = `{"errorMessage":"boom","errorType":"Oops"}`

func functionError() *invoke.Response {
	return &invoke.Response{StatusCode: 200, Payload: []byte(errDoc), FunctionError: "Unhandled", ContentType: "application/json", ExecutedVersion: function.Latest}
}

func alwaysFail(context.Context, int, invoke.Request) (*invoke.Response, error) {
	return functionError(), nil
}

func throttled() error {
	return &fault.Error{Kind: fault.Throttled, Message: "Rate Exceeded.", Reason: "ConcurrentInvocationLimitExceeded"}
}

// recordingSender keeps what it is sent; fail makes it refuse.
type recordingSender struct {
	mu   sync.Mutex
	sent []sent
	fail bool
}

type sent struct {
	arn   string
	body  []byte
	attrs map[string]string
}

func (r *recordingSender) Send(ctx context.Context, arn string, body []byte, attrs map[string]string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("queue unavailable")
	}
	r.sent = append(r.sent, sent{arn, append([]byte(nil), body...), attrs})
	return nil
}

func (r *recordingSender) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.sent...)
}

// env is a real store, registry and dead-letter store, a fake invoker, a
// fake clock and a Service over them.
type env struct {
	t   *testing.T
	ctx context.Context
	st  store.Store
	reg *function.Service
	dl  *deadletter.Store
	clk *clock.Fake
	inv *fakeInvoker
	sqs *recordingSender
	svc *Service
}

func newEnv(t *testing.T, edit ...func(*Options)) *env {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := function.New(ctx, function.Options{Store: st, Logger: slog.New(slog.DiscardHandler),
		Limits: function.Limits{MaxAsyncRetryAttempts: 10, MaxEventAge: 86400}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.StartView(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	// The dead-letter store keeps its own (real) clock, so that the fake
	// one has no timer but the service's.
	dl, err := deadletter.Open(ctx, st, deadletter.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	e := &env{t: t, ctx: ctx, st: st, reg: reg, dl: dl, clk: clk, sqs: &recordingSender{},
		inv: &fakeInvoker{clk: clk, behave: map[string]func(context.Context, int, invoke.Request) (*invoke.Response, error){}}}
	e.svc = e.newService(edit...)
	return e
}

// newService opens a Service on the env's store (not started).
func (e *env) newService(edit ...func(*Options)) *Service {
	e.t.Helper()
	opts := Options{
		Store: e.st, Registry: e.reg, Invoker: e.inv, DeadLetters: e.dl,
		Senders: map[string]Sender{"sqs": e.sqs},
		Workers: 8, Clock: e.clk, Logger: slog.New(slog.DiscardHandler),
	}
	for _, ed := range edit {
		ed(&opts)
	}
	svc, err := New(e.ctx, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { svc.Close(context.Background()) })
	return svc
}

func (e *env) start() { e.svc.Start(e.ctx) }

func pyZip(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("app.py")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("def handler(e, c):\n    return e\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e *env) create(name string, edit ...func(*function.CreateInput)) {
	e.t.Helper()
	in := function.CreateInput{
		FunctionName: name,
		Config:       function.Config{Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::000000000000:role/r"},
		ZipFile:      pyZip(e.t),
	}
	for _, ed := range edit {
		ed(&in)
	}
	if _, err := e.reg.Create(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) config(name, qualifier string, u function.EventInvokeUpdate) {
	e.t.Helper()
	u.Replace = true
	if _, err := e.reg.PutEventInvokeConfig(e.ctx, name, qualifier, u); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) enqueue(req Request) string {
	e.t.Helper()
	id, err := e.svc.Enqueue(e.ctx, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// eventually waits (in real time, generously) until cond holds.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitCalls waits until function name was invoked n times.
func (e *env) waitCalls(name string, n int) []call {
	e.t.Helper()
	var calls []call
	e.eventually(name+" invoked "+itoa(n)+" times", func() bool {
		calls = e.inv.callsOf(name)
		return len(calls) >= n
	})
	return calls
}

// releaseNext waits until the service holds a retry due later than now
// and moves the fake clock to its due time, returning that time.
func (e *env) releaseNext(svc *Service) time.Time {
	e.t.Helper()
	var due time.Time
	e.eventually("a held retry", func() bool {
		due = svc.held.nextDue()
		return due.After(e.clk.Now())
	})
	e.clk.Set(due)
	return due
}

// deadLetters lists the dead-letter store's records for name.
func (e *env) deadLetters(name string) []deadletter.Record {
	e.t.Helper()
	recs, err := e.dl.List(e.ctx, deadletter.Filter{FunctionName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) waitDeadLetters(name string, n int) []deadletter.Record {
	e.t.Helper()
	var recs []deadletter.Record
	e.eventually(itoa(n)+" dead letters for "+name, func() bool {
		recs = e.deadLetters(name)
		return len(recs) >= n
	})
	return recs
}

// streamEmpty reports whether the async stream holds no message.
func (e *env) streamEmpty() bool {
	info, err := e.svc.stream.Info(e.ctx)
	return err == nil && info.Messages == 0
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func ptr[T any](v T) *T { return &v }

// wantFault checks that err is a *fault.Error of kind k whose message
// contains msg.
func wantFault(t testing.TB, err error, k fault.Kind, msg string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a fault.%v", err, err, k)
	}
	if fe.Kind != k {
		t.Fatalf("kind = %v (%q), want %v", fe.Kind, fe.Message, k)
	}
	if !strings.Contains(fe.Message, msg) {
		t.Fatalf("message = %q, want it to contain %q", fe.Message, msg)
	}
}

// decode unmarshals a JSON document into a generic map.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}
