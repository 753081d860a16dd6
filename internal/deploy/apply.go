package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
	// Template, TemplateBody, TemplateIncludes and Parameters are recorded
	// in the new state.
	Template         string
	TemplateBody     string
	TemplateIncludes map[string]string
	Parameters       map[string]string
	// Previous is the application the stack was last deployed from (its
	// state's TemplateBody, loaded). When set, a failed deploy also puts
	// the resources it updated back as they were; without it they keep
	// their new definition and the next deploy updates them again.
	Previous *manifest.Application
	Clock    clock.Clock
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
	// again; Restored the ones it updated and then put back as they were;
	// RollbackErrs what could not be undone.
	RolledBack   []string
	Restored     []string
	RollbackErrs []error
}

func (e *ApplyError) Error() string {
	msg := fmt.Sprintf("%s %s (%s) failed: %v", verb(e.Action), e.LogicalID, e.ResourceType, e.Err)
	if len(e.RolledBack) > 0 {
		msg += fmt.Sprintf("; rolled back %d created resource(s)", len(e.RolledBack))
	}
	if len(e.Restored) > 0 {
		msg += fmt.Sprintf("; restored %d updated resource(s)", len(e.Restored))
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
// When a create or update fails, Apply stops and undoes what this deploy
// did, newest first: what it created is deleted again and, when
// ApplyOptions.Previous is set, what it updated (the failed resource
// included) is updated back to its previous definition and code. It
// returns an *ApplyError with a state in which every resource is as
// deployed now; one that could not be put back is marked to be updated on
// the next deploy. Deletes of removed resources have not started, so
// nothing the previous deploy had is gone. The caller stores the returned
// state either way.
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
			Template: opts.Template, TemplateBody: opts.TemplateBody, TemplateIncludes: opts.TemplateIncludes,
			Parameters: opts.Parameters}}
	// Until a change is applied, every resource keeps its previous state.
	for id, rs := range prev.Resources {
		a.next.Resources[id] = cloneState(rs)
	}
	for i, c := range plan.Changes {
		if c.Action == Create || c.Action == Update {
			a.lastMutation = i
		}
	}
	for i, c := range plan.Changes {
		if err := ctx.Err(); err != nil {
			return a.fail(ctx, c, err)
		}
		a.step = i
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
	journal []done // what this deploy did, in order, to undo on failure
	// step is the index of the change being applied, lastMutation the
	// index of the last create or update of the plan.
	step, lastMutation int
}

// done is one step of the deploy as it can be undone.
type done struct {
	change *Change
	// created: undone by deleting the resource (and, for a replacement,
	// creating the previous one again). Otherwise an update in place,
	// undone by updating back to before (and code, when it was read back).
	created bool
	before  *ResourceState
	code    *Code
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
		step := done{change: c, before: cloneState(c.Previous)}
		if a.opts.Previous != nil && slices.Contains(c.Changed, "Code") && a.step < a.lastMutation {
			// Read the package back before it is replaced (best effort:
			// without it, a rollback restores the configuration only).
			// Not for the plan's last create or update: replacing a package
			// is all or nothing, so only a later failure needs the old one,
			// and a save of one function under `lamina up` stays fast.
			if cr, ok := a.opts.Provisioner.(CodeReader); ok {
				step.code, _ = cr.DeployedCode(ctx, c.Previous)
			}
		}
		// Journaled before the call: a failed update may be half applied.
		a.journal = append(a.journal, step)
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
	a.journal = append(a.journal, done{change: c, created: true, before: c.Previous})
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

// fail undoes what this deploy did and returns the state to store.
func (a *applier) fail(ctx context.Context, c *Change, cause error) (*StackState, error) {
	ae := &ApplyError{LogicalID: c.LogicalID, ResourceType: c.ResourceType, Action: c.Action, Err: cause}
	if c.Action == Update {
		// It may be half changed: unless it is put back below, make the
		// next deploy update it again.
		if rs := a.next.Resources[c.LogicalID]; rs != nil {
			rs.Digest = ""
		}
	}
	// Roll back with a context of its own: a cancelled deploy (Ctrl-C)
	// still undoes what it did.
	rbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for i := len(a.journal) - 1; i >= 0; i-- {
		if a.journal[i].created {
			a.undoCreate(rbCtx, a.journal[i], ae)
		} else {
			a.undoUpdate(rbCtx, a.journal[i], ae)
		}
	}
	a.next.Outputs = a.prev.Outputs
	a.next.Status, a.next.Reason = StatusFailed, ae.Error()
	a.next.UpdatedAt = a.clk.Now().UTC()
	return a.next, ae
}

// undoCreate deletes a resource this deploy created. A replacement's
// previous resource was deleted first: it is created again from the
// previous definition when there is one, else the next deploy creates it.
func (a *applier) undoCreate(ctx context.Context, step done, ae *ApplyError) {
	id := step.change.LogicalID
	rs := a.next.Resources[id]
	if rs == nil {
		return
	}
	a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseRollback, PhysicalID: rs.PhysicalID})
	if err := a.opts.Provisioner.Delete(ctx, &DeleteRequest{Stack: a.plan.Stack, LogicalID: id, State: rs}); err != nil {
		ae.RollbackErrs = append(ae.RollbackErrs, fmt.Errorf("%s: %w", id, err))
		a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseFailed, Err: err})
		return
	}
	a.progress(Event{LogicalID: id, ResourceType: rs.Type, Action: Delete, Phase: PhaseRolledBack, PhysicalID: rs.PhysicalID})
	ae.RolledBack = append(ae.RolledBack, id)
	delete(a.next.Resources, id)
	if step.before == nil || a.opts.Previous == nil {
		return
	}
	old := a.opts.Previous.Resource(id)
	if old == nil {
		return
	}
	a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Create, Phase: PhaseRollback})
	out, err := a.opts.Provisioner.Create(ctx, a.restoreRequest(old, nil, done{}))
	if err != nil {
		ae.RollbackErrs = append(ae.RollbackErrs, fmt.Errorf("%s: create the previous %s again: %w", id, old.Type, err))
		a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Create, Phase: PhaseFailed, Err: err})
		return
	}
	rs = cloneState(step.before)
	rs.PhysicalID, rs.Attrs, rs.Data = outcomeFields(out)
	// Its code is whatever the current build gave it: let the next deploy
	// compare again.
	rs.CodeSha256 = ""
	a.next.Resources[id] = rs
	ae.Restored = append(ae.Restored, id)
	a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Create, Phase: PhaseRolledBack, PhysicalID: rs.PhysicalID})
}

// undoUpdate updates a resource back to its previous definition (and its
// previous code, when it was read back). Without the previous application
// it stays as it is now.
func (a *applier) undoUpdate(ctx context.Context, step done, ae *ApplyError) {
	id := step.change.LogicalID
	if a.opts.Previous == nil {
		return
	}
	old := a.opts.Previous.Resource(id)
	cur := a.next.Resources[id]
	if old == nil || cur == nil {
		return
	}
	a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Update, Phase: PhaseRollback, PhysicalID: cur.PhysicalID})
	out, err := a.opts.Provisioner.Update(ctx, a.restoreRequest(old, cur, step))
	if err != nil {
		ae.RollbackErrs = append(ae.RollbackErrs, fmt.Errorf("%s: put back the previous definition: %w", id, err))
		a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Update, Phase: PhaseFailed, Err: err})
		cur.Digest = "" // the next deploy updates it again
		return
	}
	rs := cloneState(step.before)
	rs.PhysicalID, rs.Attrs, rs.Data = outcomeFields(out)
	if step.code == nil && slices.Contains(step.change.Changed, "Code") {
		// The configuration is back and the code was not read back: keep
		// the hash of what the state says runs now (the new package if
		// its update succeeded, else the old one), so that the next deploy
		// updates the code if it differs.
		rs.CodeSha256 = cur.CodeSha256
	}
	a.next.Resources[id] = rs
	ae.Restored = append(ae.Restored, id)
	a.progress(Event{LogicalID: id, ResourceType: old.Type, Action: Update, Phase: PhaseRolledBack, PhysicalID: rs.PhysicalID})
}

// restoreRequest asks for old (a resource of the previous application) to
// be made again over cur (nil: created anew).
func (a *applier) restoreRequest(old *manifest.Resource, cur *ResourceState, step done) *Request {
	req := &Request{
		Stack: a.plan.Stack, Resource: old, Previous: cur, App: a.opts.Previous, Resolver: stateResolver{a.next},
		Deployed: func(id string) *ResourceState { return a.next.Resources[id] },
	}
	if cur != nil {
		req.Changed, req.Code = step.change.Changed, step.code
	}
	return req
}

func outcomeFields(out *Outcome) (string, map[string]string, map[string]string) {
	if out == nil {
		return "", nil, nil
	}
	return out.PhysicalID, maps.Clone(out.Attrs), maps.Clone(out.Data)
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
