package deploy

import (
	"context"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// Provisioner makes plan changes real, one resource at a time, by calling
// Lamina's services (in practice through their AWS APIs). Apply calls it
// in plan order and keeps the stack state; the provisioner keeps nothing.
//
// Errors should say what was refused and why (the service's message); Apply
// adds the logical id and type.
type Provisioner interface {
	// Create makes the resource and returns its physical id and attributes.
	Create(ctx context.Context, req *Request) (*Outcome, error)
	// Update changes an existing resource (req.Previous) to match
	// req.Resource. It returns the (possibly new) physical id and attributes.
	Update(ctx context.Context, req *Request) (*Outcome, error)
	// Delete removes a resource the stack no longer has (or rolls back one
	// this deploy created). A resource that is already gone is not an error.
	Delete(ctx context.Context, req *DeleteRequest) error
}

// CodeReader is an optional Provisioner interface: it reads back the
// package a deployed function runs, so that a failed deploy can put back
// the code it replaced.
type CodeReader interface {
	DeployedCode(ctx context.Context, rs *ResourceState) (*Code, error)
}

// Request is one create or update.
type Request struct {
	Stack string
	// Resource is the template's resource: Spec and Properties may hold
	// references; resolve them with Resolver.
	Resource *manifest.Resource
	// Previous is the resource's state after the last deploy (updates only).
	Previous *ResourceState
	// Changed lists what differs from Previous (updates only): top-level
	// property names, "Code", "DependsOn" or "definition".
	Changed []string
	// App is the whole application, for resources that read their
	// neighbours' specs (a route reads its function's alias).
	App *manifest.Application
	// Resolver knows the physical ids and attributes of every resource
	// deployed so far in this run, unchanged ones included.
	Resolver manifest.Resolver
	// Deployed returns the state of an already deployed resource of this
	// stack (including its provisioner Data), or nil.
	Deployed func(logicalID string) *ResourceState
	// Code is a function's built package (functions only).
	Code *Code
}

// Code is a function's deployment package.
type Code struct {
	Zip    []byte
	SHA256 string // base64, as Lambda's CodeSha256
}

// Outcome is what a create or update produced.
type Outcome struct {
	// PhysicalID is what Ref returns: a function name, queue URL, topic
	// ARN, API id, alias ARN, ...
	PhysicalID string
	// Attrs are the resource's GetAtt attributes by name (Arn, QueueName,
	// ApiEndpoint, FunctionUrl, ...).
	Attrs map[string]string
	// Data is the provisioner's own bookkeeping kept in the stack state
	// (ids of sub-objects such as a route's integration id), returned to
	// it in ResourceState.Data on later updates and deletes.
	Data map[string]string
}

// DeleteRequest is one delete.
type DeleteRequest struct {
	Stack     string
	LogicalID string
	State     *ResourceState
}

// StateStore keeps stack states between deploys. Revisions make saves
// compare-and-set, so two deploys of one stack cannot interleave silently.
type StateStore interface {
	// Load returns the stack's state and its revision; a stack never
	// deployed is (nil, 0, nil).
	Load(ctx context.Context, stack string) (*StackState, uint64, error)
	// Save stores the state if the stored revision is still rev (0: the
	// stack must not exist yet) and returns the new revision.
	Save(ctx context.Context, s *StackState, rev uint64) (uint64, error)
	// List returns every stack's state, sorted by name.
	List(ctx context.Context) ([]*StackState, error)
	// Delete removes the stack's state if its revision is still rev.
	Delete(ctx context.Context, stack string, rev uint64) error
}
