package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	t   testing.TB
	ctx context.Context
	dir string
	st  store.Store
	clk *clock.Fake
	svc *Service
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, dir: t.TempDir(), clk: clock.NewFake(epoch)}
	e.open()
	t.Cleanup(func() {
		e.svc.Close()
		e.st.Close()
	})
	return e
}

func (e *env) open() { e.open2(e.clk) }

func (e *env) open2(clk clock.Clock) {
	e.t.Helper()
	st, err := store.Open(e.ctx, store.Config{DataDir: e.dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := New(e.ctx, Options{Store: st, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		e.t.Fatal(err)
	}
	e.st, e.svc = st, svc
}

// restart closes the service and the store and opens both again on the
// same data directory.
func (e *env) restart() {
	e.t.Helper()
	e.svc.Close()
	if err := e.st.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) create(name string, attrs map[string]string) {
	e.t.Helper()
	if _, err := e.svc.CreateQueue(e.ctx, name, attrs, nil); err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
}

func (e *env) send(name string, bodies ...string) []SendResult {
	e.t.Helper()
	in := make([]SendInput, len(bodies))
	for i, b := range bodies {
		in[i] = SendInput{ID: fmt.Sprint(i), Body: b}
	}
	return e.sendIn(name, in...)
}

func (e *env) sendIn(name string, in ...SendInput) []SendResult {
	e.t.Helper()
	res, err := e.svc.Send(e.ctx, name, in)
	if err != nil {
		e.t.Fatalf("send: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			e.t.Fatalf("send entry %s: %v", r.ID, r.Err)
		}
	}
	return res
}

func (e *env) recv(name string, max int) []Message {
	e.t.Helper()
	msgs, err := e.svc.Receive(e.ctx, name, ReceiveInput{Max: max, WaitSet: true, SystemAttributeNames: []string{"All"}, AttributeNames: []string{"All"}})
	if err != nil {
		e.t.Fatalf("receive: %v", err)
	}
	return msgs
}

func (e *env) del(name string, msgs ...Message) {
	e.t.Helper()
	entries := make([]DeleteEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = DeleteEntry{ID: fmt.Sprint(i), ReceiptHandle: m.ReceiptHandle}
	}
	res, err := e.svc.Delete(e.ctx, name, entries)
	if err != nil {
		e.t.Fatalf("delete: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			e.t.Fatalf("delete entry %s: %v", r.ID, r.Err)
		}
	}
}

func (e *env) counts(name string) Counts {
	e.t.Helper()
	c, err := e.svc.Counts(e.ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// advance moves the fake clock and waits until the queue's timer
// goroutine has applied what came due.
func (e *env) advance(d time.Duration) {
	e.clk.Advance(d)
	now := e.clk.Now()
	e.eventually("timers applied", func() bool {
		e.svc.mu.RLock()
		defer e.svc.mu.RUnlock()
		for _, q := range e.svc.queues {
			q.mu.Lock()
			next, ok := q.nextDeadline()
			q.mu.Unlock()
			if ok && !next.After(now) {
				return false
			}
		}
		return true
	})
}

func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitReceivers waits until n receivers block on queue name.
func (e *env) waitReceivers(name string, n int) {
	e.t.Helper()
	q, err := e.svc.queue(name)
	if err != nil {
		e.t.Fatal(err)
	}
	e.eventually("receivers waiting", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.waiting >= n
	})
}

func codeOf(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Reason
	}
	if err == nil {
		return ""
	}
	return "non-fault: " + err.Error()
}
