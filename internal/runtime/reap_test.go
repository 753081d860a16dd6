package runtime

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
)

// fakeClock is a clock.Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	f.waiters = append(f.waiters, fakeWaiter{f.now.Add(d), c})
	return c
}

func (f *fakeClock) NewTimer(d time.Duration) clock.Timer { panic("not used by the pool") }

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.at.After(f.now) {
			w.c <- f.now
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

// TestReapFakeClock: reaping follows Options.Clock, not the wall clock.
func TestReapFakeClock(t *testing.T) {
	t.Parallel()
	fc := newFakeClock()
	p, _ := newTestPool(t, Options{Clock: fc, KeepWarm: time.Hour})
	spec := goSpec(t, "fakeclock", nil)
	pid := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`))
	fc.Advance(30 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if processGone(pid) {
		t.Fatal("reaped before KeepWarm")
	}
	if i := instancesOf(p, spec.Key); len(i) != 1 || !i[0].LastUsed.Equal(fc.Now().Add(-30*time.Minute)) {
		t.Errorf("instances %+v", i)
	}
	for range 3 {
		fc.Advance(15 * time.Minute)
		time.Sleep(20 * time.Millisecond)
	}
	eventually(t, 5*time.Second, "the instance to be reaped", func() bool { return processGone(pid) })
}

// TestSignalAfterReap: once its process is reaped an instance forgets the
// pid, so a late kill (the graceful or init-error AfterFunc) cannot reach a
// process group that reused it.
func TestSignalAfterReap(t *testing.T) {
	t.Parallel()
	_, in := bareInstance(t, nil)
	proc, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "sleep 30"},
		&os.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true}})
	if err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	in.proc, in.pid = proc, proc.Pid
	in.mu.Unlock()
	in.signal(false)
	in.wait()
	in.mu.Lock()
	pid := in.pid
	in.mu.Unlock()
	if pid != 0 {
		t.Fatalf("pid %d kept after the process was reaped", pid)
	}
	in.signal(false) // a no-op now
	in.signal(true)
}
