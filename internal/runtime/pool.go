package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/runtime/langboot"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// Pool runs function instances: it starts them on demand, hands each
// invocation to an idle warm instance of the same Spec.Key (one invocation at
// a time per instance), keeps provisioned ones started ahead of traffic,
// replaces failed ones and reaps idle ones. Concurrency limits are the
// caller's business (package invoke): the pool starts as many instances as
// there are concurrent invocations.
//
// Concurrency: mu guards groups, instances and every instance's pool fields
// (provisioned, onIdle, removed, lastUsed); it is taken before any
// instance.mu, never after. The goroutines the pool owns: the reaper, and
// per instance those listed on instance.
type Pool struct {
	opts        Options
	clock       clock.Clock
	log         *slog.Logger
	sink        telemetry.LogSink
	layout      layout
	code        *codeCache
	cg          *cgroups
	spawner     *spawner
	cpus        *cpuPlacer // nil: instances share every CPU
	dropUser    bool
	keepWarm    time.Duration
	initTimeout time.Duration
	maxResponse int64

	// initializing counts instances between process start and their first
	// /next (or death); cgroup v1 migrations wait until it is 0 (spawn.go).
	initializing atomic.Int32
	migrations   chan *instance

	ctx    context.Context // ends at Close; for work the pool starts itself
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per instance until its cleanup is done
	reaped chan struct{}  // closed when the reaper returns
	warned sync.Map       // warnings logged once

	mu        sync.Mutex
	groups    map[string]*group
	instances map[*instance]struct{}
	closed    bool
}

// group is the instances of one Spec.Key.
type group struct {
	key         string
	spec        Spec
	arn         string      // unqualified function ARN, when the caller gives none
	idle        []*instance // LIFO: the most recently used first, for warm caches
	all         map[*instance]struct{}
	provisioned int // wanted
	retired     bool
}

// Defaults.
const (
	DefaultKeepWarm        = 10 * time.Minute
	DefaultInitTimeout     = 10 * time.Second
	DefaultMaxResponseSize = 6291556
	defaultMemoryMB        = 128
	defaultEphemeralMB     = 512
	maxAttempts            = 8
)

// New prepares the work directory and starts the reaper.
func New(ctx context.Context, opts Options) (*Pool, error) {
	if opts.Dir == "" {
		return nil, errors.New("runtime: Options.Dir is required")
	}
	p := &Pool{
		opts:        opts,
		clock:       opts.Clock,
		log:         opts.Logger,
		sink:        opts.Logs,
		keepWarm:    opts.KeepWarm,
		initTimeout: opts.InitTimeout,
		maxResponse: opts.MaxResponseSize,
		dropUser:    os.Geteuid() == 0,
		groups:      map[string]*group{},
		instances:   map[*instance]struct{}{},
		reaped:      make(chan struct{}),
	}
	if p.clock == nil {
		p.clock = clock.Real{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.keepWarm <= 0 {
		p.keepWarm = DefaultKeepWarm
	}
	if p.initTimeout <= 0 {
		p.initTimeout = DefaultInitTimeout
	}
	if p.maxResponse <= 0 {
		p.maxResponse = DefaultMaxResponseSize
	}
	if _, err := openDevNull(); err != nil {
		return nil, err
	}
	l, err := chooseLayout(opts.Dir, p.dropUser)
	if err != nil {
		return nil, fmt.Errorf("runtime: preparing %s: %w", opts.Dir, err)
	}
	p.layout = l
	p.code = newCodeCache(l.codeDir())
	cg, why := setupCgroups(cgroupPrefix + strconv.Itoa(os.Getpid()) + "-" + randomHex(4))
	p.cg = cg
	p.spawner = newSpawner(cg, &p.initializing)
	if !opts.SharedCPUs {
		p.cpus = newCPUPlacer()
	}
	p.logLimits(why)
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go p.reaper()
	if cg != nil && cg.version == cgroupV1 {
		p.migrations = make(chan *instance, 1024)
		go p.migrator()
	}
	return p, nil
}

// logLimits says once which limits instances run under.
func (p *Pool) logLimits(cgroupProblem string) {
	user := "unchanged (Lamina is not root)"
	if p.dropUser {
		user = fmt.Sprintf("nobody (uid %d)", sandboxUID)
	}
	cpus := "all of Lamina's, shared"
	if p.cpus != nil {
		cpus = fmt.Sprintf("one per %d MB of MemorySize (at least one), pinned", mbPerVCPU)
	}
	attrs := []any{
		"user", user,
		"cpus", cpus,
		"rlimits", fmt.Sprintf("nofile=%d, fsize=EphemeralStorage, core=0", limitNoFile),
		"sandbox", p.layout.root,
	}
	if p.cg != nil {
		p.log.Info("runtime: instance limits", append(attrs, "memory", "MemorySize enforced by "+p.cg.describe())...)
		return
	}
	p.log.Warn("runtime: instance limits (no memory limit: no usable memory cgroup)",
		append(attrs, "memory", "not enforced; Max Memory Used is the process's peak RSS", "reason", cgroupProblem)...)
}

// Prepare extracts spec's code into the code cache ahead of its first
// invocation (when a function is created, its code updated or a version
// published), so that the first invocation is a process start and nothing
// more: extracting a few MB of package takes tens of milliseconds.
func (p *Pool) Prepare(ctx context.Context, spec *Spec) error {
	if spec == nil {
		return fault.New(fault.Invalid, "runtime: Prepare needs a spec")
	}
	_, err := p.code.get(ctx, spec)
	return err
}

// Invoke runs inv on an instance of spec, starting one if none is idle.
// Function failures (errors the runtime posted, timeouts, crashes, init
// errors, oversize responses) are a Result with FunctionError set, not an
// error; an error means the platform could not run the function at all
// (for example the code could not be extracted or `python3` is missing),
// and is a *fault.Error where the caller can act on it.
//
// If ctx ends before the event reached the function, the event is not run;
// after that, the invocation runs to its end (as on Lambda) and Invoke
// returns ctx.Err() at once.
func (p *Pool) Invoke(ctx context.Context, spec *Spec, inv *Invocation) (*Result, error) {
	if spec == nil || inv == nil || spec.Key == "" {
		return nil, fault.New(fault.Invalid, "runtime: an invocation needs a spec with a Key")
	}
	c := &call{inv: inv, id: inv.RequestID, done: make(chan struct{}, 1)}
	if c.id == "" {
		c.id = newUUID()
	}
	for range maxAttempts {
		in, res, err := p.acquire(ctx, spec, c)
		if err != nil {
			return nil, err
		}
		if res != nil {
			return res, nil
		}
		select {
		case <-c.done:
			if !c.retry {
				return c.res, nil
			}
			c.finished.Store(false)
		case <-ctx.Done():
			if in.withdraw(c) {
				p.release(in)
			}
			return nil, ctx.Err()
		}
	}
	return nil, fault.New(fault.Internal, "runtime: %s: instances kept failing before the event reached one", spec.FunctionName)
}

// acquire assigns c to an idle instance of spec, or starts one for it. A
// non-nil Result is a function error from starting it (such as a missing
// bootstrap).
func (p *Pool) acquire(ctx context.Context, spec *Spec, c *call) (*instance, *Result, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, nil, errClosed
	}
	g := p.groupLocked(spec)
	for n := len(g.idle); n > 0; n = len(g.idle) {
		in := g.idle[n-1]
		g.idle[n-1] = nil
		g.idle = g.idle[:n-1]
		in.onIdle = false
		if in.assign(c, false) {
			p.mu.Unlock()
			return in, nil, nil
		}
	}
	in := p.newInstanceLocked(g, false)
	in.assign(c, true)
	p.mu.Unlock()
	if res, err := p.start(ctx, in); err != nil || res != nil {
		if res != nil {
			p.writeStartFailure(in, c, res)
		}
		return nil, res, err
	}
	return in, nil, nil
}

func (p *Pool) groupLocked(spec *Spec) *group {
	g := p.groups[spec.Key]
	if g == nil {
		g = &group{key: spec.Key, spec: *spec, all: map[*instance]struct{}{}}
		region, account := spec.Region, spec.AccountID
		if region == "" {
			region = "us-east-1"
		}
		if account == "" {
			account = "000000000000"
		}
		g.arn = "arn:aws:lambda:" + region + ":" + account + ":function:" + spec.FunctionName
		p.groups[spec.Key] = g
	}
	return g
}

// newInstanceLocked registers a not yet started instance of g.
func (p *Pool) newInstanceLocked(g *group, provisioned bool) *instance {
	spec := &g.spec
	version := spec.Version
	if version == "" {
		version = "$LATEST"
	}
	memMB := spec.MemoryMB
	if memMB <= 0 {
		memMB = defaultMemoryMB
	}
	now := p.clock.Now()
	in := &instance{
		id:               randomHex(8),
		pool:             p,
		grp:              g,
		spec:             spec,
		version:          version,
		memMB:            memMB,
		sink:             p.sink,
		provisionedStart: provisioned,
		provisioned:      provisioned,
		startedAt:        now,
		lastUsed:         now,
		ready:            make(chan struct{}),
		dead:             make(chan struct{}),
		wake:             make(chan struct{}, 1),
	}
	in.stream = now.UTC().Format("2006/01/02") + "/[" + version + "]" + randomHex(16)
	g.all[in] = struct{}{}
	p.instances[in] = struct{}{}
	p.wg.Add(1)
	return in
}

// start starts in's process. A non-nil Result is a function error
// (Runtime.InvalidEntrypoint); an error a platform failure. Either way the
// instance is gone afterwards.
func (p *Pool) start(ctx context.Context, in *instance) (res *Result, err error) {
	spec := in.spec
	var files []*os.File // the child's ends, closed once it has them
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if err != nil || res != nil {
			in.mu.Lock()
			in.state = stDead
			in.mu.Unlock()
			in.closeDead()
			p.remove(in)
			in.cleanup()
		}
	}()
	codeDir, err := p.code.get(ctx, spec)
	if err != nil {
		return nil, err
	}
	argv, asRoot, err := p.command(spec, codeDir)
	var ee *entrypointError
	if errors.As(err, &ee) {
		return &Result{FunctionError: "Unhandled", ErrorType: typeInvalidEntrypoint, Payload: []byte(ee.msg)}, nil
	}
	if err != nil {
		return nil, err
	}
	if in.api, err = newAPIServer(in); err != nil {
		return nil, err
	}
	in.addr = in.api.addr()

	in.tmpDir = filepath.Join(p.layout.tmpDir(), in.id)
	if err := os.Mkdir(in.tmpDir, 0o700); err != nil {
		return nil, err
	}
	drop := p.dropUser && !asRoot
	if drop {
		if err := os.Chown(in.tmpDir, sandboxUID, sandboxGID); err != nil {
			return nil, err
		}
	}
	var cgv2 *cgroup
	if p.cg != nil && p.cg.version == cgroupV2 {
		if cgv2, err = p.cg.create(in.id, in.memMB); err != nil {
			p.warnOnce("cgroup", "runtime: cannot create a memory cgroup; this instance runs without a memory limit", "error", err)
			cgv2, err = nil, nil
		}
		in.cgp.Store(cgv2)
	}
	for i := range in.streams {
		s, w, err := newLogPipe(in)
		if err != nil {
			return nil, err
		}
		in.streams[i] = s
		files = append(files, w)
	}
	initType := "on-demand"
	if in.provisionedStart {
		initType = "provisioned-concurrency"
	}
	env := append(baseEnv(spec, codeDir, p.layout.runtimeDir(), p.opts.EndpointURL, in.memMB),
		"AWS_LAMBDA_LOG_STREAM_NAME="+in.stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE="+initType,
		"AWS_LAMBDA_RUNTIME_API="+in.addr,
		"TMPDIR="+in.tmpDir,
	)
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if drop {
		sys.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxGID, Groups: []uint32{}}
	}
	if cgv2 != nil {
		sys.UseCgroupFD, sys.CgroupFD = true, cgv2.fd
	}
	attr := &os.ProcAttr{Dir: codeDir, Env: env, Files: []*os.File{devNull, files[0], files[1]}, Sys: sys}

	in.started = time.Now()
	p.initializing.Add(1)
	in.cpus = p.cpus.place(in.memMB)
	req := spawnRequest{argv0: argv[0], argv: argv, attr: attr, memMB: in.memMB, cpus: in.cpus,
		limits: instanceRlimits(ephemeralMB(spec)), uid: -1, gid: -1}
	if drop {
		req.uid, req.gid = sandboxUID, sandboxGID
	}
	sr := p.spawner.spawn(req)
	proc, err := sr.proc, sr.err
	if err != nil {
		p.initEnded(in)
		if function.IsProvidedRuntime(spec.Runtime) || spec.Runtime == "go1.x" {
			detail := err.Error()
			if errors.Is(err, os.ErrNotExist) {
				detail = "Couldn't find valid bootstrap(s): [" + argv[0] + "]"
			}
			return &Result{FunctionError: "Unhandled", ErrorType: typeInvalidEntrypoint, Payload: []byte(detail)}, nil
		}
		return nil, fault.Wrap(fault.Internal, err, "runtime: starting %s", spec.FunctionName)
	}
	in.mu.Lock()
	in.proc, in.pid = proc, proc.Pid
	killed := in.killedFor != ""
	if in.state == stStarting && in.initTimer == nil {
		in.initTimer = time.AfterFunc(p.initTimeout, in.onInitTimeout)
	}
	in.mu.Unlock()
	if f, err := os.Open("/proc/" + strconv.Itoa(proc.Pid) + "/status"); err == nil {
		in.status = f // peak memory until (or without) a cgroup
	}
	if sr.cgroupDir != "" {
		cg, err := p.cg.adopt(sr.cgroupDir)
		if err != nil {
			p.warnOnce("cgroup-adopt", "runtime: cannot open an instance's memory cgroup", "error", err)
		}
		in.cgp.Store(cg)
	} else if p.cg != nil && p.cg.version == cgroupV1 {
		p.migrateLater(in) // no slot was ready
	}
	if sr.limitErr != nil {
		p.warnOnce("rlimit", "runtime: cannot set the resource limits of instances", "error", sr.limitErr)
	}
	// Served from here on, after every field above is set: the runtime's
	// connection waits in the listen queue until then.
	go in.api.serve()
	for _, s := range in.streams {
		go s.run()
	}
	go in.wait()
	if killed { // Close or Retire came while it was starting
		in.signal(false)
	}
	return nil, nil
}

func ephemeralMB(spec *Spec) int {
	if spec.EphemeralStorage > 0 {
		return spec.EphemeralStorage
	}
	return defaultEphemeralMB
}

// entrypointError is a start failure that is the function's
// (Runtime.InvalidEntrypoint), not the platform's.
type entrypointError struct{ msg string }

func (e *entrypointError) Error() string { return e.msg }

// command is the argv that starts an instance of spec. asRoot asks to keep
// Lamina's user because the interpreter is out of the sandbox user's reach,
// which only Options.AllowRoot permits: otherwise such a runtime fails with
// an *entrypointError.
func (p *Pool) command(spec *Spec, codeDir string) (argv []string, asRoot bool, err error) {
	switch {
	case function.IsProvidedRuntime(spec.Runtime):
		return []string{filepath.Join(codeDir, "bootstrap")}, false, nil
	case spec.Runtime == "go1.x":
		h := spec.Handler
		if h == "" || filepath.IsAbs(h) || !filepath.IsLocal(h) {
			return nil, false, fault.New(fault.Invalid, "runtime: the go1.x handler %q must name an executable in the package", h)
		}
		return []string{filepath.Join(codeDir, h)}, false, nil
	case langboot.Supported(spec.Runtime):
		var argv []string
		var err error
		if p.dropUser {
			// Instances run as nobody: an interpreter nobody can run.
			argv, err = langboot.CommandAllUsers(spec.Runtime, p.layout.root)
			if errors.Is(err, langboot.ErrInterpreterMissing) {
				if interp, rerr := langboot.Resolve(spec.Runtime); rerr == nil {
					// There is one, but only for Lamina's user (e.g. pyenv
					// under a 0700 /root): never run user code as root
					// unless the operator said so.
					if !p.opts.AllowRoot {
						return nil, false, &entrypointError{msg: fmt.Sprintf(
							"Lamina cannot start %s: the interpreter %s cannot be run by the sandbox user (uid %d) and no interpreter every user can run was found on PATH; install one (e.g. /usr/bin/%s) or set AllowRoot to run functions as Lamina's user",
							spec.Runtime, interp.Path, sandboxUID, filepath.Base(interp.Path))}
					}
					p.warnOnce("interp:"+interp.Path, "runtime: the interpreter cannot be run by the sandbox user; with AllowRoot its instances keep Lamina's user",
						"interpreter", interp.Path, "uid", sandboxUID)
					argv, err = langboot.Command(spec.Runtime, p.layout.root)
					asRoot = err == nil
				}
			}
		} else {
			argv, err = langboot.Command(spec.Runtime, p.layout.root)
		}
		if err != nil {
			if errors.Is(err, langboot.ErrInterpreterMissing) || errors.Is(err, langboot.ErrUnsupportedRuntime) {
				return nil, false, fault.Wrap(fault.Unsupported, err, "%s", err.Error())
			}
			return nil, false, fault.Wrap(fault.Internal, err, "runtime: preparing the %s bootstrap", spec.Runtime)
		}
		return argv, asRoot, nil
	}
	return nil, false, fault.New(fault.Unsupported, "The runtime %s is not supported by Lamina.", spec.Runtime)
}

// writeStartFailure logs the lines of an invocation whose instance could not
// start at all.
func (p *Pool) writeStartFailure(in *instance, c *call, res *Result) {
	msg := "RequestId: " + c.id + " Error: " + string(res.Payload)
	res.Payload = errorDoc(res.ErrorType, msg)
	c.start = time.Now()
	in.beginLogs(c)
	in.endLogs(c, res, res.ErrorType, msg, res.ErrorType)
}

// release puts an instance that finished init or an invocation back on its
// group's idle stack, or stops it if its group was retired.
func (p *Pool) release(in *instance) {
	p.mu.Lock()
	if in.removed || in.onIdle {
		p.mu.Unlock()
		return
	}
	if p.closed || in.grp.retired {
		p.mu.Unlock()
		in.kill("retired", true)
		return
	}
	in.mu.Lock()
	ok := !in.goneLocked() && in.pending == nil && (in.state == stIdle || in.state == stResponded)
	in.mu.Unlock()
	if ok {
		in.onIdle = true
		in.lastUsed = p.clock.Now()
		in.grp.idle = append(in.grp.idle, in)
	}
	p.mu.Unlock()
}

// remove forgets a dead instance; a provisioned one is replaced.
func (p *Pool) remove(in *instance) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if in.removed {
		return
	}
	in.removed = true
	g := in.grp
	delete(g.all, in)
	delete(p.instances, in)
	if in.onIdle {
		in.onIdle = false
		for i, x := range g.idle {
			if x == in {
				g.idle = append(g.idle[:i], g.idle[i+1:]...)
				break
			}
		}
	}
	if in.provisioned && !p.closed && !g.retired && g.provisioned > 0 {
		select {
		case <-in.ready: // it had been working: replace it now (a failing init waits for the reaper)
			go p.topUp(g)
		default:
		}
	}
	if len(g.all) == 0 && g.provisioned == 0 && p.groups[g.key] == g {
		delete(p.groups, g.key)
	}
}

// SetProvisioned keeps n instances of spec started ahead of traffic
// (0 removes the reservation and lets them be reaped like others). It
// returns when they have finished init, or with the first failure.
func (p *Pool) SetProvisioned(ctx context.Context, spec *Spec, n int) error {
	if spec == nil || spec.Key == "" || n < 0 {
		return fault.New(fault.Invalid, "runtime: SetProvisioned needs a spec with a Key and n >= 0")
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errClosed
	}
	g := p.groupLocked(spec)
	g.provisioned = n
	p.mu.Unlock()
	started := p.topUp(g)
	return p.awaitReady(ctx, started)
}

// topUp starts the provisioned instances g lacks and returns them.
func (p *Pool) topUp(g *group) []*instance {
	p.mu.Lock()
	if p.closed || g.retired {
		p.mu.Unlock()
		return nil
	}
	have := 0
	for in := range g.all {
		if in.provisioned {
			in.mu.Lock()
			gone := in.goneLocked()
			in.mu.Unlock()
			if gone {
				continue
			}
			have++
			if have > g.provisioned {
				in.provisioned = false // an ordinary instance from now on
			}
		}
	}
	var ins []*instance
	for ; have < g.provisioned; have++ {
		ins = append(ins, p.newInstanceLocked(g, true))
	}
	p.mu.Unlock()
	for _, in := range ins {
		if res, err := p.start(p.ctx, in); err != nil || res != nil {
			if err == nil {
				err = errors.New(string(res.Payload))
			}
			p.log.Error("runtime: starting a provisioned instance", "function", g.spec.FunctionName, "key", g.key, "error", err)
		}
	}
	return ins
}

// awaitReady waits for instances to finish init.
func (p *Pool) awaitReady(ctx context.Context, ins []*instance) error {
	for _, in := range ins {
		select {
		case <-in.ready:
		case <-in.dead:
			in.mu.Lock()
			why := in.deathReason
			if in.initErr != nil {
				why = string(in.initErr)
			}
			in.mu.Unlock()
			select {
			case <-in.ready:
				continue
			default:
			}
			if why == "" {
				why = "it stopped"
			}
			return fault.New(fault.Invalid, "runtime: a provisioned instance of %s failed to initialize: %s", in.spec.FunctionName, why)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Retire stops the idle instances of functionName whose Key is not current
// (keep reports whether a Key is still current); busy ones stop as soon as
// their invocation ends.
func (p *Pool) Retire(functionName string, keep func(key string) bool) {
	var stop []*instance
	p.mu.Lock()
	for key, g := range p.groups {
		if g.spec.FunctionName != functionName || keep(key) {
			continue
		}
		g.retired = true
		g.provisioned = 0
		delete(p.groups, key)
		for _, in := range g.idle {
			in.onIdle = false
			stop = append(stop, in)
		}
		g.idle = nil
	}
	p.mu.Unlock()
	for _, in := range stop {
		in.kill("retired", true)
	}
}

// Instances lists the live instances.
func (p *Pool) Instances() []InstanceInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]InstanceInfo, 0, len(p.instances))
	for in := range p.instances {
		out = append(out, in.infoLocked())
	}
	return out
}

// Close stops every instance and waits for them to exit.
func (p *Pool) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	all := make([]*instance, 0, len(p.instances))
	for in := range p.instances {
		all = append(all, in)
	}
	for _, g := range p.groups {
		g.idle = nil
	}
	p.mu.Unlock()
	p.cancel()
	for _, in := range all {
		in.kill("closed", false)
	}
	done := make(chan struct{})
	go func() {
		p.wg.Wait()
		<-p.reaped
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.spawner.close()
	p.cg.close()
	if p.layout.temporary {
		removeTree(p.layout.root)
	}
	return nil
}

// reaper stops instances idle for longer than KeepWarm and restores
// provisioned instances that failed.
func (p *Pool) reaper() {
	defer close(p.reaped)
	interval := p.keepWarm / 4
	interval = min(max(interval, 10*time.Millisecond), 30*time.Second)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.clock.After(interval):
		}
		p.reap()
	}
}

func (p *Pool) reap() {
	now := p.clock.Now()
	var stop []*instance
	var short []*group
	p.mu.Lock()
	for _, g := range p.groups {
		kept := g.idle[:0]
		for _, in := range g.idle {
			if !in.provisioned && now.Sub(in.lastUsed) >= p.keepWarm {
				in.onIdle = false
				stop = append(stop, in)
				continue
			}
			kept = append(kept, in)
		}
		clear(g.idle[len(kept):])
		g.idle = kept
		if g.provisioned > 0 {
			n := 0
			for in := range g.all {
				if in.provisioned {
					n++
				}
			}
			if n < g.provisioned {
				short = append(short, g)
			}
		}
	}
	p.mu.Unlock()
	for _, in := range stop {
		in.kill("reaped", true)
	}
	for _, g := range short {
		go p.topUp(g)
	}
}

// initEnded notes that in finished init (or died trying), once.
func (p *Pool) initEnded(in *instance) {
	in.initEnd.Do(func() { p.initializing.Add(-1) })
}

// quiet reports that no instance is initializing: cgroup v1 migrations
// stall every fork and thread creation on the machine for an RCU grace
// period, so they are put off until then.
func (p *Pool) quiet() bool { return p.initializing.Load() == 0 }

// migrateLater queues an instance started outside any cgroup (v1) for a
// move into its own when the pool is quiet. Its memory so far stays
// charged to Lamina.
func (p *Pool) migrateLater(in *instance) {
	select {
	case p.migrations <- in:
	default:
		p.warnOnce("cgroup-queue", "runtime: too many instances waiting for their memory cgroup; some run without a memory limit")
	}
}

// migrator moves queued instances into their cgroups, in batches that
// share one grace period.
func (p *Pool) migrator() {
	for {
		var batch []*instance
		select {
		case <-p.ctx.Done():
			return
		case in := <-p.migrations:
			batch = append(batch, in)
		}
		for !p.quiet() {
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	drain:
		for {
			select {
			case in := <-p.migrations:
				batch = append(batch, in)
			default:
				break drain
			}
		}
		for _, in := range batch {
			p.migrate(in)
		}
	}
}

func (p *Pool) migrate(in *instance) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.state == stDead {
		return
	}
	cg, err := p.cg.create(in.id, in.memMB)
	if err == nil {
		if err = cg.add(in.pid); err != nil {
			cg.remove()
		}
	}
	if err != nil {
		p.warnOnce("cgroup-add", "runtime: cannot move an instance into its memory cgroup", "error", err)
		return
	}
	in.cgp.Store(cg)
}

func (p *Pool) warnOnce(key, msg string, args ...any) {
	if _, loaded := p.warned.LoadOrStore(key, true); !loaded {
		p.log.Warn(msg, args...)
	}
}
