package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// StackState is what a stack had after its last deploy. It is
// JSON-serialisable so the applier can store it.
type StackState struct {
	Stack string `json:"stack"`
	// Resources by logical id.
	Resources map[string]*ResourceState `json:"resources"`
	// Outputs are the template's outputs as resolved by the last deploy.
	Outputs []Output `json:"outputs,omitempty"`
	// Status is the last deploy's result: Deployed, Failed or Deleting;
	// Reason says why a deploy failed.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Template is the template's path as given to the last deploy and
	// Parameters its overrides, for `lamina stacks describe`.
	Template   string            `json:"template,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	// TemplateBody is the template's text as deployed, and
	// TemplateIncludes the AWS::Include snippets it read (by
	// manifest.IncludeKey), so that the next deploy can put updated
	// resources back as they were if it fails.
	TemplateBody     string            `json:"templateBody,omitempty"`
	TemplateIncludes map[string]string `json:"templateIncludes,omitempty"`
	UpdatedAt        time.Time         `json:"updatedAt,omitempty"`
}

// Stack statuses.
const (
	StatusDeployed = "Deployed"
	StatusFailed   = "Failed"
)

// Output is one resolved template output.
type Output struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	// Local is the same value rewritten to Lamina's local endpoints when
	// the template builds an AWS URL (https://{api}.execute-api...), else "".
	Local string `json:"local,omitempty"`
}

// ResourceState is one deployed resource.
type ResourceState struct {
	Type    manifest.ResourceType `json:"type"`
	CFNType string                `json:"cfnType,omitempty"`
	// Digest is manifest.Resource.Digest() at the last deploy.
	Digest string `json:"digest"`
	// Properties hashes each top-level property, so an update can say
	// which properties changed without storing the template.
	Properties map[string]string `json:"properties,omitempty"`
	// CodeSha256 is the function package's hash (functions only).
	CodeSha256 string `json:"codeSha256,omitempty"`
	// PhysicalID is what Ref returned (function name, queue URL, ...).
	PhysicalID string `json:"physicalId,omitempty"`
	// DependsOn is kept so removed resources are deleted in reverse
	// dependency order after the template no longer describes them.
	DependsOn []string `json:"dependsOn,omitempty"`
	// Attrs are the GetAtt attributes the provisioner reported.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Data is the provisioner's own bookkeeping (Outcome.Data).
	Data map[string]string `json:"data,omitempty"`
}

// NewState records app as deployed: each resource's digests, code hash from
// code (logical id → CodeSha256, optional) and no physical ids, which the
// applier fills in as it creates resources.
func NewState(stack string, app *manifest.Application, code map[string]string) *StackState {
	s := &StackState{Stack: stack, Resources: make(map[string]*ResourceState, len(app.Resources))}
	for _, r := range app.Resources {
		s.Resources[r.LogicalID] = stateOf(r, code[r.LogicalID])
	}
	return s
}

func stateOf(r *manifest.Resource, code string) *ResourceState {
	rs := &ResourceState{Type: r.Type, CFNType: r.CFNType, Digest: r.Digest(),
		Properties: propertyDigests(r.Properties), DependsOn: append([]string(nil), r.DependsOn...)}
	if r.Type == manifest.TypeFunction {
		rs.CodeSha256 = code
	}
	return rs
}

// propertyDigests hashes each top-level property of a Map value.
func propertyDigests(props *manifest.Value) map[string]string {
	if props == nil || props.Kind != manifest.Map || len(props.Fields) == 0 {
		return nil
	}
	out := make(map[string]string, len(props.Fields))
	for _, f := range props.Fields {
		out[f.Key] = hashJSON(f.Value.Interface())
	}
	return out
}

func hashJSON(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		// Interface() yields only JSON-encodable values; keep going with
		// the error text so the digest still differs from a valid one.
		raw = []byte(fmt.Sprint("error:", err))
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// deleteOrder returns ids (a subset of s.Resources) so that each comes
// before everything it depends on: reverse dependency order, ties broken by
// logical id.
func (s *StackState) deleteOrder(ids map[string]bool) []string {
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	done := map[string]bool{}
	var create []string
	var visit func(id string)
	visit = func(id string) {
		if done[id] {
			return
		}
		done[id] = true // set before recursing: a stored cycle must not loop
		if rs := s.Resources[id]; rs != nil {
			for _, d := range rs.DependsOn {
				if ids[d] {
					visit(d)
				}
			}
		}
		create = append(create, id)
	}
	for _, id := range sorted {
		visit(id)
	}
	for i, j := 0, len(create)-1; i < j; i, j = i+1, j-1 {
		create[i], create[j] = create[j], create[i]
	}
	return create
}
