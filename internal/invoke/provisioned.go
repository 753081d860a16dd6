package invoke

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/runtime"
)

// Provisioned-concurrency statuses, as AWS.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusReady      = "READY"
	StatusFailed     = "FAILED"
)

// ProvisionedStatus is a provisioned-concurrency setting and how far the
// pool has got applying it.
type ProvisionedStatus struct {
	FunctionName string
	Qualifier    string
	Requested    int
	// Allocated counts the provisioned instances started or starting;
	// Available those ready to take an invocation.
	Allocated    int
	Available    int
	Status       string
	StatusReason string
	LastModified time.Time
}

// worker follows registry changes in the background: for each changed
// function it applies provisioned concurrency (pool.SetProvisioned) and then
// retires the instances whose code or configuration is no longer current
// (pool.Retire). Changes are coalesced by function name.
//
// Lock order: provMu, then the pool's own locks. mu only guards pending.
type worker struct {
	s      *Service
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}

	mu      sync.Mutex
	pending map[string]bool

	// provMu serialises applying provisioned concurrency (the worker, and
	// Put/Delete which apply at once so they can report the outcome) and
	// guards applied.
	provMu sync.Mutex
	// applied is what was asked of the pool: function → Spec.Key → setting.
	applied map[string]map[string]*appliedSetting
}

type appliedSetting struct {
	spec *runtime.Spec
	n    int
	err  error
}

func (w *worker) init(ctx context.Context, s *Service) {
	w.s = s
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	w.done = make(chan struct{})
	w.kick = make(chan struct{}, 1)
	w.pending = map[string]bool{}
	w.applied = map[string]map[string]*appliedSetting{}
	go w.run()
}

// queue asks the worker to look at function name again (never blocks).
func (w *worker) queue(name string) {
	w.mu.Lock()
	w.pending[name] = true
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *worker) run() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.kick:
		}
		w.mu.Lock()
		names := w.pending
		w.pending = map[string]bool{}
		w.mu.Unlock()
		for name := range names {
			if w.ctx.Err() != nil {
				return
			}
			w.s.follow(w.ctx, name)
		}
	}
}

func (w *worker) stop() {
	w.cancel()
	<-w.done
}

// follow brings the pool in step with function name as the registry has it now.
func (s *Service) follow(ctx context.Context, name string) {
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		if !fault.Is(err, fault.NotFound) {
			s.log.Warn("invoke: reading a changed function", "function", name, "err", err)
			return
		}
		snap = nil
	}
	s.work.provMu.Lock()
	s.reconcile(ctx, name, snap)
	s.work.provMu.Unlock()
	s.pool.Retire(name, snap.Current)
}

// share is a part of a provisioned setting that falls on one version.
type share struct {
	t *function.Target
	n int
}

// shares splits n provisioned instances for qualifier over the versions it
// runs: an alias with routing weights splits them in proportion.
func shares(ctx context.Context, snap *function.Snapshot, qualifier string, n int) ([]share, error) {
	t, alias, err := snap.Resolve(ctx, qualifier)
	if err != nil {
		return nil, err
	}
	if alias == nil || len(alias.AdditionalVersionWeights) == 0 {
		return []share{{t, n}}, nil
	}
	var out []share
	rest := n
	for v, w := range alias.AdditionalVersionWeights {
		k := min(rest, int(math.Round(float64(n)*w)))
		if k <= 0 {
			continue
		}
		tv, err := snap.Version(ctx, v)
		if err != nil {
			return nil, err
		}
		out = append(out, share{tv, k})
		rest -= k
	}
	if rest > 0 {
		out = append(out, share{t, rest})
	}
	return out, nil
}

// reconcile asks the pool for the provisioned instances snap's settings
// call for, and releases those it no longer does. Caller holds provMu.
func (s *Service) reconcile(ctx context.Context, name string, snap *function.Snapshot) {
	type want struct {
		spec *runtime.Spec
		n    int
	}
	desired := map[string]*want{}
	if snap != nil && len(snap.Provisioned) > 0 {
		st := s.state(name)
		for q, c := range snap.Provisioned {
			parts, err := shares(ctx, snap, q, c.Requested)
			if err != nil {
				s.log.Warn("invoke: provisioned concurrency names no version", "function", name, "qualifier", q, "err", err)
				continue
			}
			for _, p := range parts {
				if d := desired[p.t.Key]; d != nil {
					d.n += p.n
					continue
				}
				desired[p.t.Key] = &want{spec: s.spec(st, p.t), n: p.n}
			}
		}
	}
	cur := s.work.applied[name]
	if cur == nil {
		cur = map[string]*appliedSetting{}
	}
	for key, a := range cur {
		if desired[key] != nil {
			continue
		}
		if err := s.setProvisioned(ctx, a.spec, 0); err != nil {
			s.log.Warn("invoke: releasing provisioned instances", "function", name, "key", key, "err", err)
		}
		delete(cur, key)
	}
	for key, d := range desired {
		if a := cur[key]; a != nil && a.n == d.n && a.err == nil {
			continue
		}
		err := s.setProvisioned(ctx, d.spec, d.n)
		if err != nil {
			s.log.Warn("invoke: starting provisioned instances", "function", name, "version", d.spec.Version, "n", d.n, "err", err)
		}
		cur[key] = &appliedSetting{spec: d.spec, n: d.n, err: err}
	}
	if len(cur) == 0 {
		delete(s.work.applied, name)
	} else {
		s.work.applied[name] = cur
	}
}

func (s *Service) setProvisioned(ctx context.Context, spec *runtime.Spec, n int) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ProvisionTimeout)
	defer cancel()
	return s.pool.SetProvisioned(ctx, spec, n)
}

// status reports how far setting c of snap is applied. Caller holds provMu.
func (s *Service) status(ctx context.Context, snap *function.Snapshot, c function.ProvisionedConfig, instances []runtime.InstanceInfo) ProvisionedStatus {
	out := ProvisionedStatus{
		FunctionName: snap.Name,
		Qualifier:    c.Qualifier,
		Requested:    c.Requested,
		LastModified: c.LastModified,
	}
	parts, err := shares(ctx, snap, c.Qualifier, c.Requested)
	if err != nil {
		out.Status, out.StatusReason = StatusFailed, "The qualifier names no version that can run."
		return out
	}
	keys := map[string]bool{}
	var failed error
	for _, p := range parts {
		keys[p.t.Key] = true
		if a := s.work.applied[snap.Name][p.t.Key]; a != nil && a.err != nil {
			failed = a.err
		}
	}
	for _, in := range instances {
		if !in.Provisioned || !keys[in.Key] {
			continue
		}
		switch in.State {
		case "idle", "invoking":
			out.Allocated++
			out.Available++
		case "starting":
			out.Allocated++
		}
	}
	out.Allocated = min(out.Allocated, out.Requested)
	out.Available = min(out.Available, out.Requested)
	switch {
	case failed != nil:
		out.Status = StatusFailed
		out.StatusReason = "The provisioned instances could not be started; the server's log has the cause."
		var fe *fault.Error
		if errors.As(failed, &fe) && fe.Kind != fault.Internal {
			out.StatusReason = fe.Message
		}
	case out.Available >= out.Requested:
		out.Status = StatusReady
	default:
		out.Status = StatusInProgress
	}
	return out
}

// PutProvisioned stores a provisioned-concurrency setting for qualifier (a
// published version or an alias) and starts the instances before it
// returns, within Options.ProvisionTimeout: the status is READY when they
// all started, FAILED with a reason when they could not.
func (s *Service) PutProvisioned(ctx context.Context, name, qualifier string, n int) (ProvisionedStatus, error) {
	c, err := s.reg.PutProvisioned(ctx, name, qualifier, n)
	if err != nil {
		return ProvisionedStatus{}, err
	}
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		return ProvisionedStatus{}, err
	}
	s.work.provMu.Lock()
	defer s.work.provMu.Unlock()
	s.reconcile(context.WithoutCancel(ctx), name, snap)
	if cur, ok := snap.Provisioned[qualifier]; ok {
		c = cur
	}
	return s.status(ctx, snap, c, s.pool.Instances()), nil
}

// GetProvisioned reports the setting of qualifier. One that is not set is
// a fault.NotFound wrapping function.ErrNoProvisionedConfig.
func (s *Service) GetProvisioned(ctx context.Context, name, qualifier string) (ProvisionedStatus, error) {
	c, err := s.reg.GetProvisioned(ctx, name, qualifier)
	if err != nil {
		return ProvisionedStatus{}, err
	}
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		return ProvisionedStatus{}, err
	}
	s.work.provMu.Lock()
	defer s.work.provMu.Unlock()
	return s.status(ctx, snap, c, s.pool.Instances()), nil
}

// ListProvisioned reports the function's settings sorted by qualifier; the
// string is the next page's marker ("" = last page).
func (s *Service) ListProvisioned(ctx context.Context, name string, page function.Page) ([]ProvisionedStatus, string, error) {
	cs, next, err := s.reg.ListProvisioned(ctx, name, page)
	if err != nil {
		return nil, "", err
	}
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		return nil, "", err
	}
	instances := s.pool.Instances()
	s.work.provMu.Lock()
	defer s.work.provMu.Unlock()
	out := make([]ProvisionedStatus, 0, len(cs))
	for _, c := range cs {
		out = append(out, s.status(ctx, snap, c, instances))
	}
	return out, next, nil
}

// DeleteProvisioned removes the setting of qualifier and releases its
// instances to be reaped like any other.
func (s *Service) DeleteProvisioned(ctx context.Context, name, qualifier string) error {
	if err := s.reg.DeleteProvisioned(ctx, name, qualifier); err != nil {
		return err
	}
	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		return err
	}
	s.work.provMu.Lock()
	defer s.work.provMu.Unlock()
	s.reconcile(context.WithoutCancel(ctx), name, snap)
	return nil
}
