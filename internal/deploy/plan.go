package deploy

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// Action is what deploying does to one resource.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
	None   Action = "none"
)

// Plan is what deploying an Application over a stack's previous state would
// change, in the order to apply it (see the package doc).
type Plan struct {
	Stack   string    `json:"stack"`
	Changes []*Change `json:"changes"`
}

// Change is one resource's part of a plan.
type Change struct {
	LogicalID string `json:"logicalId"`
	// ResourceType is Lamina's type; CFNType the CloudFormation type SAM
	// would create (empty for Lamina-only resources).
	ResourceType manifest.ResourceType `json:"resourceType"`
	CFNType      string                `json:"cfnType,omitempty"`
	Action       Action                `json:"action"`
	// Reason says why an update happens (or that a resource is new or
	// removed), for people; Changed lists the same for programs.
	Reason  string   `json:"reason,omitempty"`
	Changed []string `json:"changed,omitempty"`
	// Replace marks an update whose type changed: delete, then create.
	Replace bool `json:"replace,omitempty"`
	// PhysicalID is the deployed resource's id from the previous state
	// (updates, deletes and unchanged resources that have one).
	PhysicalID string `json:"physicalId,omitempty"`

	// Resource is the template's resource (nil for deletes); Previous its
	// state after the last deploy (nil for creates). The applier reads the
	// physical id to update or delete from Previous.
	Resource *manifest.Resource `json:"-"`
	Previous *ResourceState     `json:"-"`
	// CodeSha256 is the function's code hash given to ComputePlan, if any.
	CodeSha256 string `json:"-"`
}

// ComputePlan compares app with prev (nil: an empty stack). code maps a
// function's logical id to its package's CodeSha256; it is optional, and a
// function whose hash is unknown on either side is compared by its
// definition only. Plan.Stack is prev.Stack.
func ComputePlan(app *manifest.Application, prev *StackState, code map[string]string) (*Plan, error) {
	if app == nil {
		return nil, errors.New("compute plan: no application")
	}
	if prev == nil {
		prev = &StackState{}
	}
	p := &Plan{Stack: prev.Stack, Changes: []*Change{}}
	present := make(map[string]bool, len(app.Resources))
	for _, r := range app.Order() {
		present[r.LogicalID] = true
		p.Changes = append(p.Changes, change(r, prev.Resources[r.LogicalID], code[r.LogicalID]))
	}
	gone := map[string]bool{}
	for id := range prev.Resources {
		if !present[id] {
			gone[id] = true
		}
	}
	for _, id := range prev.deleteOrder(gone) {
		rs := prev.Resources[id]
		if rs == nil {
			return nil, fmt.Errorf("compute plan: previous state of %q is empty", id)
		}
		p.Changes = append(p.Changes, &Change{LogicalID: id, ResourceType: rs.Type, CFNType: rs.CFNType,
			Action: Delete, Reason: "removed from the template", PhysicalID: rs.PhysicalID, Previous: rs})
	}
	return p, nil
}

func change(r *manifest.Resource, prev *ResourceState, code string) *Change {
	c := &Change{LogicalID: r.LogicalID, ResourceType: r.Type, CFNType: r.CFNType, Resource: r, Previous: prev}
	if prev != nil {
		c.PhysicalID = prev.PhysicalID
	}
	if r.Type == manifest.TypeFunction {
		c.CodeSha256 = code
	}
	switch {
	case prev == nil:
		c.Action, c.Reason = Create, "new"
		return c
	case prev.Type != r.Type:
		c.Action, c.Replace = Update, true
		c.Changed = []string{"Type"}
		c.Reason = fmt.Sprintf("type %s → %s (replace)", prev.Type, r.Type)
		return c
	}
	var changed []string
	if prev.Digest != r.Digest() {
		changed = changedProperties(prev.Properties, propertyDigests(r.Properties))
		if !slices.Equal(prev.DependsOn, r.DependsOn) {
			changed = append(changed, "DependsOn")
		}
		if len(changed) == 0 {
			changed = append(changed, "definition")
		}
	}
	if c.CodeSha256 != "" && prev.CodeSha256 != "" && c.CodeSha256 != prev.CodeSha256 {
		changed = append(changed, "Code")
	}
	if len(changed) == 0 {
		c.Action = None
		return c
	}
	c.Action, c.Changed = Update, changed
	c.Reason = "changed: " + strings.Join(changed, ", ")
	return c
}

// changedProperties lists, sorted, the keys added, removed or changed.
func changedProperties(old, cur map[string]string) []string {
	var out []string
	for k, v := range cur {
		if old[k] != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := cur[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Counts returns how many changes have each action.
func (p *Plan) Counts() map[Action]int {
	n := map[Action]int{}
	for _, c := range p.Changes {
		n[c.Action]++
	}
	return n
}

// HasChanges reports whether applying the plan would change anything.
func (p *Plan) HasChanges() bool {
	n := p.Counts()
	return n[Create]+n[Update]+n[Delete] > 0
}

// Summary reads "3 to create, 1 to update, 0 to delete, 5 unchanged", or
// "no changes".
func (p *Plan) Summary() string {
	if !p.HasChanges() {
		return "no changes"
	}
	n := p.Counts()
	return fmt.Sprintf("%d to create, %d to update, %d to delete, %d unchanged", n[Create], n[Update], n[Delete], n[None])
}
