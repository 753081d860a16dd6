package runtime

import (
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lamina-dev/lamina/internal/affinity"
)

// spawner starts instance processes from a few goroutines locked to their
// OS threads, for two reasons:
//
//   - Pdeathsig fires when the *thread* that forked the child exits, and the
//     Go runtime ends a thread when a goroutine locked to it returns, so a
//     child forked from an arbitrary goroutine could be killed at random.
//     These threads live until the pool is closed.
//   - With cgroup v1 a child can only be born in a cgroup if the thread that
//     forks it is in that cgroup, and moving a thread between cgroups costs
//     a RCU grace period (5-10 ms here). So each thread waits in a fresh
//     empty cgroup (a "slot"); a cold start sets the slot's memory limit,
//     forks the child into it and hands the slot over to the instance, and
//     the thread moves into a new slot after answering, off the cold start's
//     path. (cgroup v2 clones straight into the instance's cgroup.)
type spawner struct {
	reqs  chan spawnRequest
	cg    *cgroups    // v1 slots when non-nil
	quiet func() bool // no instance is initializing (migrations stall them)
	wg    sync.WaitGroup
}

// spawnRequest asks a spawner thread to start a process.
type spawnRequest struct {
	argv0 string
	argv  []string
	attr  *os.ProcAttr
	memMB int // the limit of the slot the child is born in
	// cpus the child is pinned to (nil: all).
	cpus []int
	// limits are applied to the child, which runs as uid:gid (-1: Lamina's).
	limits   []rlimit
	uid, gid int
	done     chan spawnResult
}

type spawnResult struct {
	proc *os.Process
	err  error
	// limitErr is a failure to apply the rlimits.
	limitErr error
	// cgroupDir is the v1 cgroup the child was born in ("" if none); the
	// instance owns it from now on.
	cgroupDir string
}

const spawnThreads = 4

func newSpawner(cg *cgroups, initializing *atomic.Int32) *spawner {
	s := &spawner{reqs: make(chan spawnRequest), quiet: func() bool { return initializing.Load() == 0 }}
	if cg != nil && cg.version == cgroupV1 {
		s.cg = cg
	}
	s.wg.Add(spawnThreads)
	for range spawnThreads {
		go s.thread()
	}
	return s
}

func (s *spawner) spawn(r spawnRequest) spawnResult {
	r.done = make(chan spawnResult, 1)
	s.reqs <- r
	return <-r.done
}

// close stops the threads (after the pool's instances are gone).
func (s *spawner) close() {
	close(s.reqs)
	s.wg.Wait()
}

func (s *spawner) thread() {
	defer s.wg.Done()
	goruntime.LockOSThread()
	if syscall.Gettid() == os.Getpid() {
		// This is the main thread. It must not join an instance's cgroup:
		// in cgroup v1 the OOM killer considers a process through its
		// leader thread. Keep it busy until a replacement has a thread of
		// its own, then give it back.
		s.wg.Add(1)
		started := make(chan struct{})
		go func() {
			goruntime.LockOSThread()
			close(started)
			s.thread()
		}()
		<-started
		goruntime.UnlockOSThread()
		return
	}
	tid := []byte(strconv.Itoa(syscall.Gettid()))
	slot := s.newSlot(tid)
	var retry *time.Timer
	var nextTry time.Time // after a failure to make a slot
	for {
		var wait <-chan time.Time
		if s.cg != nil && slot == "" {
			// Refill the slot when no instance is initializing (the move
			// would slow their start); meanwhile spawn without one.
			if s.quiet() && time.Now().After(nextTry) {
				if slot = s.newSlot(tid); slot == "" {
					nextTry = time.Now().Add(time.Second)
				}
				continue
			}
			if retry == nil {
				retry = time.NewTimer(5 * time.Millisecond)
			} else {
				retry.Reset(5 * time.Millisecond)
			}
			wait = retry.C
		}
		select {
		case r, ok := <-s.reqs:
			if !ok {
				goto closed
			}
			res := spawnResult{}
			inSlot := slot != "" && setMemoryLimitV1(slot, r.memMB) == nil
			// The child inherits this (locked) thread's CPUs. Pinning is
			// best effort: unpinned, the child shares every CPU.
			restore, pinErr := affinity.PinThread(r.cpus)
			res.proc, res.err = os.StartProcess(r.argv0, r.argv, r.attr)
			if pinErr == nil {
				restore()
			}
			fit := true
			if res.err == nil {
				if inSlot {
					res.cgroupDir, slot = slot, ""
				}
				fit, res.limitErr = applyRlimits(res.proc.Pid, r.limits, r.uid, r.gid)
			}
			r.done <- res
			if !fit {
				// Its credentials could not be restored: a replacement takes
				// over, and this thread stays parked for good (were it to
				// end, Pdeathsig would kill the children it started).
				s.wg.Add(1)
				go s.thread()
				s.wg.Done()
				select {}
			}
		case <-wait:
		}
	}
closed:
	if s.cg != nil {
		// Leave the last cgroup (an unused slot, or one handed to an
		// instance) so that it can be removed.
		os.WriteFile(filepath.Join(s.cg.home, "tasks"), tid, 0)
		if slot != "" {
			os.Remove(slot)
		}
	}
	// The goroutine returns still locked: the runtime ends the thread, the
	// right fate for a thread whose cgroup membership was changed.
}

// newSlot makes a fresh cgroup and moves the calling thread into it.
func (s *spawner) newSlot(tid []byte) string {
	if s.cg == nil {
		return ""
	}
	dir := filepath.Join(s.cg.parent, "i-"+randomHex(8))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return ""
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks"), tid, 0); err != nil {
		os.Remove(dir)
		return ""
	}
	return dir
}
