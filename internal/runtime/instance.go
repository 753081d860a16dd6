package runtime

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/lamina-dev/lamina/internal/telemetry"
)

// An instance is one sandboxed process of one function version and the
// Runtime API endpoint it talks to. Its lifecycle is the state machine of
// state.go; the Runtime API adapter (runtimeapi.go) calls next, beginResult,
// endResult and initError, the pool calls assign, withdraw and kill, and the
// goroutine that waits for the process calls die.
//
// Concurrency: lock order is Pool.mu → instance.mu → instance.lmu; no
// method takes Pool.mu while holding instance.mu. mu guards the lifecycle
// fields, lmu the log attribution (see logs.go). The goroutines an instance
// owns: the process waiter, two log readers, the HTTP server's accept loop
// and its connections. None is started per invocation.
type instance struct {
	id      string
	pool    *Pool
	grp     *group
	spec    *Spec // the group's copy
	version string
	stream  string // AWS_LAMBDA_LOG_STREAM_NAME
	memMB   int
	sink    telemetry.LogSink

	// Set before the process starts, read-only afterwards.
	provisionedStart bool
	cpus             []int // pinned to (nil: all); released at cleanup
	api              *apiServer
	addr             string // host:port of the Runtime API
	tmpDir           string
	cgp              atomic.Pointer[cgroup] // nil without a memory cgroup (yet)
	initEnd          sync.Once              // Pool.initializing was decremented
	streams          [2]*logStream
	started          time.Time // monotonic, for InitDuration
	startedAt        time.Time // Pool clock, for InstanceInfo

	proc   *os.Process // nil until started (and in tests of the API alone)
	pid    int
	status *os.File // /proc/<pid>/status when there is no cgroup

	ready    chan struct{} // closed at the first /next
	dead     chan struct{} // closed when the instance stops taking work
	deadOnce sync.Once
	dieOnce  sync.Once
	wake     chan struct{} // a pending event for the parked /next
	peak     atomic.Int64  // last peak memory reading (MB)

	mu          sync.Mutex
	state       state
	parked      chan struct{} // closed to dismiss the /next that is waiting (nil: none)
	pending     *call         // assigned, not yet handed out
	pendingCold bool          // pending was assigned when the instance was created
	cur         *call         // the event handed out last
	seq         uint64
	timer       *time.Timer // the function deadline of cur
	initTimer   *time.Timer
	initDur     time.Duration
	initErr     []byte // the /init/error document
	initErrType string
	killedFor   string // why the platform stopped it ("" while it may work)
	deathReason string // how the process ended, for provisioned start errors
	extensions  bool
	invocations int

	lmu   sync.Mutex
	reqID string
	tail  *[]byte

	// Guarded by Pool.mu.
	provisioned bool
	onIdle      bool
	removed     bool
	lastUsed    time.Time
}

// call is one invocation on its way through the pool. done receives one
// token per attempt: either res is set, or retry asks the pool to try
// another instance (this one died before the event was handed out).
type call struct {
	inv      *Invocation
	id       string
	done     chan struct{}
	finished atomic.Bool // an attempt's result was sent
	res      *Result
	retry    bool

	// Set when the event is handed out (under instance.mu).
	cold     bool
	initDur  time.Duration
	start    time.Time
	deadline time.Time // zero: none
	timeout  float64   // seconds, for the timeout message
	tail     []byte
}

func (c *call) complete(res *Result) bool {
	if !c.finished.CompareAndSwap(false, true) {
		return false
	}
	c.res, c.retry = res, false
	c.done <- struct{}{}
	return true
}

func (c *call) requeue() {
	if !c.finished.CompareAndSwap(false, true) {
		return
	}
	c.res, c.retry = nil, true
	c.done <- struct{}{}
}

// goneLocked reports that the instance takes no more work.
func (in *instance) goneLocked() bool {
	return in.killedFor != "" || in.state == stDead || in.state == stInitFailed
}

func (in *instance) closeDead() { in.deadOnce.Do(func() { close(in.dead) }) }

// assign makes c the instance's next event. cold marks the call that the
// instance was started for. It fails when the instance is dying or busy.
func (in *instance) assign(c *call, cold bool) bool {
	in.mu.Lock()
	ok := in.pending == nil && !in.goneLocked() &&
		(in.state == stIdle || in.state == stResponded || (cold && in.state == stStarting))
	if ok {
		in.pending, in.pendingCold = c, cold
	}
	in.mu.Unlock()
	if ok {
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
	return ok
}

// withdraw takes c back if it was not handed out yet.
func (in *instance) withdraw(c *call) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.pending != c {
		return false
	}
	in.pending = nil
	return true
}

// next serves GET /runtime/invocation/next: it marks the end of init (first
// call) or of the previous invocation, then waits for an event. A newer
// /next (the runtime reconnected) takes over from one already waiting, which
// then returns nil, nil, as it does when gone is closed.
func (in *instance) next(gone <-chan struct{}) (*call, *apiError) {
	in.mu.Lock()
	if in.goneLocked() {
		in.mu.Unlock()
		return nil, errInstanceGone
	}
	to := in.state.next(evNext)
	if to == noTransition {
		err := errTransition(in.state, evNext)
		in.mu.Unlock()
		return nil, err
	}
	first := in.state == stStarting
	in.state = to
	if first {
		in.initDur = time.Since(in.started)
		in.pool.initEnded(in)
		if in.initTimer != nil {
			in.initTimer.Stop()
		}
		close(in.ready)
		if in.pending == nil {
			// Started ahead of traffic (or its caller gave up): it joins the
			// idle instances now.
			in.mu.Unlock()
			in.pool.release(in)
			in.mu.Lock()
		}
	}
	mine := make(chan struct{})
	for {
		if in.goneLocked() || in.state != stIdle {
			in.mu.Unlock()
			return nil, errInstanceGone
		}
		if c := in.pending; c != nil {
			if in.parked != nil && in.parked != mine {
				close(in.parked)
			}
			in.parked = nil
			in.deliverLocked(c)
			in.mu.Unlock()
			in.beginLogs(c)
			return c, nil
		}
		if in.parked != mine {
			if in.parked != nil {
				close(in.parked) // the older poll gives way
			}
			in.parked = mine
		}
		in.mu.Unlock()
		select {
		case <-in.wake:
		case <-in.dead:
		case <-mine:
			return nil, nil
		case <-gone:
			in.mu.Lock()
			if in.parked == mine {
				in.parked = nil
			}
			in.mu.Unlock()
			return nil, nil
		}
		in.mu.Lock()
		select {
		case <-mine: // taken over while waking up
			in.mu.Unlock()
			return nil, nil
		default:
		}
	}
}

// deliverLocked hands out the pending event: idle → invoking.
func (in *instance) deliverLocked(c *call) {
	in.pending = nil
	in.state = in.state.next(evDeliver)
	in.cur = c
	in.seq++
	c.start = time.Now()
	c.cold = in.pendingCold
	if c.cold {
		c.initDur = in.initDur
	}
	dl := c.inv.Deadline
	switch {
	case dl.IsZero() && in.spec.Timeout > 0:
		dl = c.start.Add(in.spec.Timeout)
	case !dl.IsZero() && c.cold:
		// The caller's deadline was computed before the instance existed;
		// the function's time starts after init, as on Lambda.
		dl = dl.Add(c.initDur)
	}
	c.deadline = dl
	c.timeout = in.spec.Timeout.Seconds()
	if c.timeout <= 0 && !dl.IsZero() {
		c.timeout = dl.Sub(c.start).Seconds()
	}
	if !dl.IsZero() {
		d := dl.Sub(c.start)
		if in.timer == nil {
			in.timer = time.AfterFunc(d, in.onTimeout)
		} else {
			in.timer.Reset(d)
		}
	}
}

// deadlineMillis is the Lambda-Runtime-Deadline-Ms of c (far ahead when
// the function has no timeout).
func (c *call) deadlineMillis() int64 {
	if c.deadline.IsZero() {
		return c.start.Add(10 * 365 * 24 * time.Hour).UnixMilli()
	}
	return c.deadline.UnixMilli()
}

// beginResult starts a POST .../{id}/response or /error: invoking → responding.
func (in *instance) beginResult(id string) (*call, *apiError) {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.cur
	if c == nil || c.id != id {
		return nil, errInvalidRequestID
	}
	to := in.state.next(evResult)
	if to == noTransition {
		return nil, errTransition(in.state, evResult)
	}
	in.state = to
	if in.timer != nil {
		in.timer.Stop()
	}
	return c, nil
}

// abortResult undoes beginResult when the body could not be read: the
// runtime may post again.
func (in *instance) abortResult(c *call) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state != stResponding || in.cur != c {
		return
	}
	in.state = stInvoking
	if !c.deadline.IsZero() && in.timer != nil {
		in.timer.Reset(time.Until(c.deadline))
	}
}

// resultDone records that c has its result: responding → responded. It
// reports false if the instance was killed meanwhile (die answers the
// caller then).
func (in *instance) resultDone(c *call, res *Result) bool {
	in.mu.Lock()
	if in.state != stResponding || in.cur != c {
		in.mu.Unlock()
		return false
	}
	in.state = in.state.next(evResultDone)
	in.invocations++
	in.mu.Unlock()
	res.Duration = time.Since(c.start)
	if c.cold {
		res.InitDuration = c.initDur
	}
	res.MaxMemoryUsedMB = in.peakMB()
	return true
}

// deliverResult writes the closing log lines, puts the instance back in
// the pool and answers the caller. The instance goes back before the caller
// is told, so that the caller's next invocation finds it warm.
func (in *instance) deliverResult(c *call, res *Result) {
	if c.inv.WantLogTail {
		in.endLogs(c, res, "")
		in.pool.release(in)
		c.complete(res)
		return
	}
	in.pool.release(in)
	c.complete(res)
	in.endLogs(c, res, "")
}

// endResult is resultDone and deliverResult.
func (in *instance) endResult(c *call, res *Result) {
	if in.resultDone(c, res) {
		in.deliverResult(c, res)
	}
}

// initError serves POST /runtime/init/error. The runtime should exit next;
// it is killed if it does not.
func (in *instance) initError(errType string, doc []byte) *apiError {
	in.mu.Lock()
	to := in.state.next(evInitError)
	if to == noTransition || in.killedFor != "" {
		err := errTransition(in.state, evInitError)
		in.mu.Unlock()
		return err
	}
	in.state = to
	if errType == "" {
		errType = errorTypeOf(doc)
	}
	if len(doc) == 0 {
		doc = errorDoc(errType, "")
	}
	in.initErr, in.initErrType = doc, errType
	if in.initTimer != nil {
		in.initTimer.Stop()
	}
	in.mu.Unlock()
	time.AfterFunc(200*time.Millisecond, func() { in.kill("init error", false) })
	return nil
}

// registerExtension notes that an extension registered: the instance is
// then stopped with SIGTERM before SIGKILL, as on Lambda.
func (in *instance) registerExtension() {
	in.mu.Lock()
	in.extensions = true
	in.mu.Unlock()
}

// onTimeout fires at the deadline of the current invocation.
func (in *instance) onTimeout() {
	in.mu.Lock()
	c := in.cur
	if in.state != stInvoking || c == nil || c.deadline.IsZero() {
		in.mu.Unlock()
		return
	}
	if early := time.Until(c.deadline); early > 0 { // fired for an earlier invocation
		in.timer.Reset(early)
		in.mu.Unlock()
		return
	}
	in.state = in.state.next(evTimeout)
	in.killedFor = "timeout"
	in.mu.Unlock()
	in.closeDead()
	in.signal(false)

	msg := timeoutMessage(c.id, c.timeout)
	res := &Result{
		Payload:       errorDoc(typeTimedOut, msg),
		FunctionError: "Unhandled",
		ErrorType:     typeTimedOut,
		Duration:      time.Since(c.start),
	}
	if c.cold {
		res.InitDuration = c.initDur
	}
	res.MaxMemoryUsedMB = in.peakMB()
	ts := in.pool.clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	in.endLogs(c, res, "timeout", ts+" "+c.id+" Task timed out after "+strconv.FormatFloat(c.timeout, 'f', 2, 64)+" seconds")
	in.pool.remove(in)
	c.complete(res)
}

// onInitTimeout fires when the runtime has not called /next within the
// init timeout.
func (in *instance) onInitTimeout() {
	in.mu.Lock()
	if in.state != stStarting || in.killedFor != "" {
		in.mu.Unlock()
		return
	}
	in.killedFor = "init timeout"
	in.mu.Unlock()
	in.closeDead()
	in.signal(false)
}

// kill stops the instance for reason; graceful gives a runtime with
// extensions SIGTERM and 500 ms before SIGKILL. The process waiter finishes
// the work (die).
func (in *instance) kill(reason string, graceful bool) {
	in.mu.Lock()
	if in.killedFor == "" {
		in.killedFor = reason
	}
	graceful = graceful && in.extensions
	in.mu.Unlock()
	in.closeDead()
	in.signal(graceful)
}

// signal kills the process group (and whatever else is in the cgroup). It
// does nothing once the process is reaped (pid 0): its pid, and so its
// process group id, may then belong to another process, e.g. a newer
// instance. The kill happens under in.mu, which wait holds while it clears
// the pid, and wait clears it before it reaps, so a signal sent here
// always reaches the instance's own group, kept alive by its zombie leader.
func (in *instance) signal(graceful bool) {
	in.mu.Lock()
	pid := in.pid
	if pid <= 0 {
		in.mu.Unlock()
		return
	}
	if graceful {
		syscall.Kill(-pid, syscall.SIGTERM)
		in.mu.Unlock()
		time.AfterFunc(500*time.Millisecond, func() { in.signal(false) })
		return
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	in.mu.Unlock()
	if cg := in.cgp.Load(); cg != nil {
		cg.killAll()
	}
}

// wait reaps the process and finishes the instance.
func (in *instance) wait() {
	// Wait for the exit without reaping: the zombie keeps its pid and
	// process group id from being reused while the stragglers of the group
	// are killed and the pid is cleared for signal.
	waitExited(in.proc.Pid)
	in.mu.Lock()
	syscall.Kill(-in.pid, syscall.SIGKILL) // stragglers of its process group
	in.pid = 0
	in.mu.Unlock()
	st, err := in.proc.Wait()
	if cg := in.cgp.Load(); cg != nil {
		cg.killAll()
	}
	how := "unknown"
	switch {
	case st != nil:
		how = st.String() // "exit status 3", "signal: killed"
	case err != nil:
		how = err.Error()
	}
	in.die(how)
}

// die finishes an instance whose process is gone (how: "exit status 3"):
// it answers the invocation in progress (Runtime.ExitError or
// Runtime.OutOfMemory), fails the event it was started for if it never
// finished init (with the /init/error document if one was posted), hands a
// not-yet-delivered event back to the pool, and cleans up.
func (in *instance) die(how string) { in.dieOnce.Do(func() { in.finish(how) }) }

func (in *instance) finish(how string) {
	in.mu.Lock()
	prev := in.state
	in.state = stDead
	in.deathReason = how
	var cur *call
	if prev == stInvoking || prev == stResponding {
		cur = in.cur
	}
	pend, cold := in.pending, in.pendingCold
	in.pending = nil
	initErr, initErrType, killedFor := in.initErr, in.initErrType, in.killedFor
	if in.timer != nil {
		in.timer.Stop()
	}
	if in.initTimer != nil {
		in.initTimer.Stop()
	}
	in.mu.Unlock()
	in.pool.initEnded(in)
	in.closeDead()
	in.waitLogs(100 * time.Millisecond)
	cg := in.cgp.Load()
	oom := cg != nil && cg.oomKilled()
	in.peakMB()

	errType := typeExitError
	if oom {
		errType = typeOutOfMemory
	}
	if cur != nil {
		msg := exitMessage(cur.id, how)
		res := &Result{Payload: errorDoc(errType, msg), FunctionError: "Unhandled", ErrorType: errType,
			Duration: time.Since(cur.start), MaxMemoryUsedMB: int(in.peak.Load())}
		if cur.cold {
			res.InitDuration = cur.initDur
		}
		in.endLogs(cur, res, errType, msg, errType)
		cur.complete(res)
	}
	if pend != nil {
		if cold && killedFor != "closed" && (prev == stStarting || prev == stInitFailed) {
			in.failInit(pend, how, errType, initErr, initErrType, killedFor)
		} else {
			pend.requeue()
		}
	}
	in.pool.remove(in)
	in.cleanup()
}

// failInit answers the event an instance was started for when init failed.
func (in *instance) failInit(c *call, how, errType string, initErr []byte, initErrType, killedFor string) {
	c.start = time.Now()
	res := &Result{FunctionError: "Unhandled", InitDuration: time.Since(in.started), MaxMemoryUsedMB: int(in.peak.Load())}
	var lines []string
	switch {
	case initErr != nil:
		res.Payload, res.ErrorType = initErr, initErrType
	case killedFor == "init timeout":
		msg := timeoutMessage(c.id, in.pool.initTimeout.Seconds())
		res.Payload, res.ErrorType = errorDoc(typeTimedOut, msg), typeTimedOut
		lines = []string{msg}
	default:
		msg := exitMessage(c.id, how)
		res.Payload, res.ErrorType = errorDoc(errType, msg), errType
		lines = []string{msg, errType}
	}
	in.beginLogs(c)
	in.endLogs(c, res, res.ErrorType, lines...)
	c.complete(res)
}

// cleanup releases what the instance held once its process is gone.
func (in *instance) cleanup() {
	if in.api != nil {
		in.api.close()
	}
	in.lmu.Lock()
	for _, s := range in.streams {
		if s != nil {
			s.eof = true
			s.file.Close()
		}
	}
	in.lmu.Unlock()
	if in.status != nil {
		in.status.Close()
	}
	if in.tmpDir != "" {
		os.RemoveAll(in.tmpDir)
	}
	in.mu.Lock() // a late cgroup migration (pool.migrate) checks the state under mu
	cg := in.cgp.Swap(nil)
	in.mu.Unlock()
	if cg != nil {
		cg.remove()
	}
	in.pool.cpus.release(in.cpus)
	in.pool.wg.Done()
}

// peakMB reads the instance's peak memory use (cgroup, else the process's
// VmHWM) and remembers it for after the process is gone.
func (in *instance) peakMB() int {
	var mb int
	switch cg := in.cgp.Load(); {
	case cg != nil:
		mb = cg.peakMB()
	case in.status != nil:
		mb = procPeakMB(in.status)
	}
	if mb > 0 {
		in.peak.Store(int64(mb))
		return mb
	}
	return int(in.peak.Load())
}

// procPeakMB parses VmHWM from /proc/<pid>/status.
func procPeakMB(f *os.File) int {
	var buf [2048]byte
	n, _ := f.ReadAt(buf[:], 0)
	b := buf[:n]
	i := bytes.Index(b, []byte("VmHWM:"))
	if i < 0 {
		return 0
	}
	b = b[i+len("VmHWM:"):]
	if j := bytes.IndexByte(b, '\n'); j >= 0 {
		b = b[:j]
	}
	b = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(b), []byte("kB")))
	kb, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return int((kb + 1023) / 1024)
}

// info describes the instance (Pool.mu held).
func (in *instance) infoLocked() InstanceInfo {
	in.mu.Lock()
	defer in.mu.Unlock()
	st := in.state.public()
	if in.killedFor != "" {
		st = "dead"
	}
	return InstanceInfo{
		ID: in.id, Key: in.grp.key, FunctionName: in.spec.FunctionName, Version: in.version,
		State: st, PID: in.pid, Provisioned: in.provisioned, Invocations: in.invocations,
		Started: in.startedAt, LastUsed: in.lastUsed,
	}
}

// checkInvariants reports a broken lifecycle invariant (tests and fuzzing).
func (in *instance) checkInvariants() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.state >= numStates:
		return "invalid state " + strconv.Itoa(int(in.state))
	case (in.state == stInvoking || in.state == stResponding) && in.cur == nil:
		return in.state.String() + " without an invocation"
	case in.pending != nil && (in.state == stInvoking || in.state == stResponding):
		return "an event pending while " + in.state.String()
	case in.parked != nil && in.state != stIdle && !in.goneLocked():
		return "a parked /next while " + in.state.String()
	}
	return ""
}

// waitExited blocks until the child pid has exited, leaving it a zombie
// (waitid with WNOWAIT); it returns early if it cannot wait, and the caller's
// Wait reaps.
func waitExited(pid int) {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if e != syscall.EINTR {
			return
		}
	}
}
