package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// ApplyOptions configure Apply.
type ApplyOptions struct {
	Provisioner Provisioner
	// Code holds each function's built package by logical id.
	Code map[string]*Code
	// Progress, when set, is told as each resource starts and ends.
	Progress func(Event)
	// Template and Parameters are recorded in the new state.
	Template   string
	Parameters map[string]string
	Clock      clock.Clock
}

// Phases of a progress Event.
const (
	PhaseStart      = "start"
	PhaseDone       = "done"
	PhaseFailed     = "failed"
	PhaseRollback   = "rollback"
	PhaseRolledBack = "rolled-back"
)

// Event is one step of Apply, for progress output.
type Event struct {
	LogicalID    string
	ResourceType manifest.ResourceType
	Action       Action
	Phase        string
	PhysicalID   string
	Duration     time.Duration
	Err          error
}

// ApplyError says which resource failed a deploy and what was undone.
type ApplyError struct {
	LogicalID    string
	ResourceType manifest.ResourceType
	Action       Action
	Err          error
	// RolledBack lists the resources this deploy created and then deleted
	// again; RollbackErrs the ones that could not be deleted.
	RolledBack   []string
	RollbackErrs []error
}

func (e *ApplyError) Error() string {
	msg := fmt.Sprintf("%s %s (%s) failed: %v", verb(e.Action), e.LogicalID, e.ResourceType, e.Err)
	if len(e.RolledBack) > 0 {
		msg += fmt.Sprintf("; rolled back %d created resource(s)", len(e.RolledBack))
	}
	if len(e.RollbackErrs) > 0 {
		msg += fmt.Sprintf("; %d could not be rolled back: %v", len(e.RollbackErrs), errors.Join(e.RollbackErrs...))
	}
	return msg
}

func (e *ApplyError) Unwrap() error { return e.Err }

func verb(a Action) string {
	switch a {
	case Create:
		return "creating"
	case Update:
		return "updating"
	case Delete:
		return "deleting"
	}
	return string(a)
}

// Apply makes plan real: creates and updates in plan order, then deletes,
// each through the provisioner, and returns the stack's new state with
// every resource's physical id, attributes and the resolved outputs.
//
// When a create or update fails, Apply stops, deletes again what this deploy
// created (newest first) and returns an *ApplyError with a state in which
// the resources not yet reached keep their previous state and the failed
// one is marked to be updated on the next deploy; deletes of removed
// resources have not started, so nothing the previous deploy had is gone.
// The caller stores the returned state either way.
func Apply(ctx context.Context, plan *Plan, app *manifest.Application, prev *StackState, opts ApplyOptions) (*StackState, error) {
	if plan == nil || app == nil || opts.Provisioner == nil {
		return nil, errors.New("apply: a plan, its application and a provisioner are required")
	}
	if prev == nil {
		prev = &StackState{Stack: plan.Stack}
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	a := &applier{plan: plan, app: app, prev: prev, opts: opts, clk: clk,
		next: &StackState{Stack: plan.Stack, Resources: map[string]*ResourceState{},
			Template: opts.Template, Parameters: opts.Parameters}}
	// Until a change is applied, every resource keeps its previous state.
	for id, rs := range prev.Resources {
		a.next.Resources[id] = cloneState(rs)
	}
	for _, c := range plan.Changes {
		if err := ctx.Err(); err != nil {
			return a.fail(ctx, c, err)
		}
		if err := a.apply(ctx, c); err != nil {
			return a.fail(ctx, c, err)
		}
	}
	outputs, err := ResolveOutputs(app, a.next)
	if err != nil {
		a.next.Status, a.next.Reason = StatusFailed, err.Error()
		a.next.UpdatedAt = clk.Now().UTC()
		return a.next, err
	}
	a.next.Outputs = outputs
	a.next.Status, a.next.Reason = StatusDeployed, ""
	a.next.UpdatedAt = clk.Now().UTC()
	return a.next, nil
}

type applier struct {
	plan    *Plan
	app     *manifest.Application
	prev    *StackState
	next    *StackState
	opts    ApplyOptions
	clk     clock.Clock
	created []string // logical ids created by this deploy, in order
}

func (a *applier) progress(e Event) {
	if a.opts.Progress != nil {
		a.opts.Progress(e)
	}
}

func (a *applier) apply(ctx context.Context, c *Change) error {
	if c.Action == None {
		return nil // the previous state is already in next
	}
	start := a.clk.Now()
	a.progress(Event{LogicalID: c.LogicalID, ResourceType: c.ResourceType, Action: c.Action, Phase: PhaseStart, PhysicalID: c.PhysicalID})
	physical, err := a.change(ctx, c)
	if err != nil {
		a.progress(Event{LogicalID: c.LogicalID, ResourceType: c.ResourceType, Action: c.Action, Phase: PhaseFailed, Err: err, Duration: a.clk.Now().Sub(start)})
		return err
	}
	a.progress(Event{LogicalID: c.LogicalID, ResourceType: c.ResourceType, Action: c.Action, Phase: PhaseDone, PhysicalID: physical, Duration: a.clk.Now().Sub(start)})
	return nil
}

// change applies one change and returns the resource's physical id.
func (a *applier) change(ctx context.Context, c *Change) (string, error) {
	switch c.Action {
	case Delete:
		if err := a.opts.Provisioner.Delete(ctx, &DeleteRequest{Stack: a.plan.Stack, LogicalID: c.LogicalID, State: c.Previous}); err != nil {
			return "", err
		}
		delete(a.next.Resources, c.LogicalID)
		return c.PhysicalID, nil
	case Create:
		return a.create(ctx, c)
	case Update:
		if c.Replace {
			if err := a.opts.Provisioner.Delete(ctx, &DeleteRequest{Stack: a.plan.Stack, LogicalID: c.LogicalID, State: c.Previous}); err != nil {
				return "", fmt.Errorf("replace: delete the old %s: %w", c.Previous.Type, err)
			}
			delete(a.next.Resources, c.LogicalID)
			return a.create(ctx, c)
		}
		out, err := a.opts.Provisioner.Update(ctx, a.request(c))
		if err != nil {
			return "", err
		}
		a.record(c, out)
		return out.PhysicalID, nil
	}
	return "", fmt.Errorf("unknown action %q", c.Action)
}

func (a *applier) create(ctx context.Context, c *Change) (string, error) {
	req := a.request(c)
	req.Previous, req.Changed = nil, nil
	out, err := a.opts.Provisioner.Create(ctx, req)
	if err != nil {
		return "", err
	}
	a.record(c, out)
	a.created = append(a.created, c.LogicalID)
	return out.PhysicalID, nil
}

func (a *applier) request(c *Change) *Request {
	return &Request{
		Stack: a.plan.Stack, Resource: c.Resource, Previous: c.Previous, Changed: c.Changed,
		App: a.app, Resolver: stateResolver{a.next}, Code: a.opts.Code[c.LogicalID],
		Deployed: func(id string) *ResourceState { return a.next.Resources[id] },
	}
}

func (a *applier) record(c *Change, out *Outcome) {
	if out == nil {
		out = &Outcome{}
	}
	code := c.CodeSha256
	if cd := a.opts.Code[c.LogicalID]; cd != nil && code == "" {
		code = cd.SHA256
	}
	rs := stateOf(c.Resource, code)
	rs.PhysicalID = out.PhysicalID
	rs.Attrs = maps.Clone(out.Attrs)
	rs.Data = maps.Clone(out.Data)
	a.next.Resources[c.LogicalID] = rs
}

// fail rolls back what this deploy created and returns the state to store.
func (a *applier) fail(ctx context.Context, c *Change, cause error) (*StackState, error) {
	ae := &ApplyError{LogicalID: c.LogicalID, ResourceType: c.ResourceType, Action: c.Action, Err: cause}
	if c.Action == Update {
		// It may be half changed: make the next deploy update it again.
		if rs := a.next.Resources[c.LogicalID]; rs != nil {
			rs.Digest = ""
		}
	}
	// Roll back with a context of its own: a cancelled deploy (Ctrl-C)
	// still removes what it created.
	rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for i := len(a.created) - 1; i >= 0; i-- {
		id := a.created[i]
		rs := a.next.Resources[id]
		if rs == nil {
			continue
		}
		a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseRollback, PhysicalID: rs.PhysicalID})
		if err := a.opts.Provisioner.Delete(rbCtx, &DeleteRequest{Stack: a.plan.Stack, LogicalID: id, State: rs}); err != nil {
			ae.RollbackErrs = append(ae.RollbackErrs, fmt.Errorf("%s: %w", id, err))
			a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseFailed, Err: err})
			continue
		}
		a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseRolledBack, PhysicalID: rs.PhysicalID})
		ae.RolledBack = append(ae.RolledBack, id)
		// A replaced resource's old version was deleted first: the next
		// deploy creates it again.
		delete(a.next.Resources, id)
	}
	a.next.Outputs = a.prev.Outputs
	a.next.Status, a.next.Reason = StatusFailed, ae.Error()
	a.next.UpdatedAt = a.clk.Now().UTC()
	return a.next, ae
}

func cloneState(rs *ResourceState) *ResourceState {
	c := *rs
	c.Properties = maps.Clone(rs.Properties)
	c.Attrs = maps.Clone(rs.Attrs)
	c.Data = maps.Clone(rs.Data)
	c.DependsOn = append([]string(nil), rs.DependsOn...)
	return &c
}

// stateResolver resolves references over a stack state: Ref is a
// resource's physical id, GetAtt one of its attributes.
type stateResolver struct{ s *StackState }

func (r stateResolver) Ref(id string) (string, bool) {
	rs := r.s.Resources[id]
	if rs == nil || rs.PhysicalID == "" {
		return "", false
	}
	return rs.PhysicalID, true
}

func (r stateResolver) GetAtt(id, attr string) (string, bool) {
	rs := r.s.Resources[id]
	if rs == nil {
		return "", false
	}
	v, ok := rs.Attrs[attr]
	return v, ok
}

// Resolver returns a manifest.Resolver over the stack's deployed resources.
func (s *StackState) Resolver() manifest.Resolver { return stateResolver{s} }
