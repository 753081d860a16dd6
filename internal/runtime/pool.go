package runtime

import (
	"context"
	"errors"
)

// Pool runs function instances: it starts them on demand, hands each
// invocation to an idle warm instance of the same Spec.Key (one invocation at
// a time per instance), keeps provisioned ones started ahead of traffic,
// replaces failed ones and reaps idle ones. Concurrency limits are the
// caller's business (package invoke): the pool starts as many instances as
// there are concurrent invocations.
type Pool struct {
	opts Options
}

var errTODO = errors.New("runtime: not implemented yet")

// New prepares the work directory and starts the reaper.
func New(ctx context.Context, opts Options) (*Pool, error) {
	return &Pool{opts: opts}, errTODO
}

// Invoke runs inv on an instance of spec, starting one if none is idle.
// Function failures (errors the runtime posted, timeouts, crashes, init
// errors, oversize responses) are a Result with FunctionError set, not an
// error; an error means the platform could not run the function at all
// (for example the code could not be extracted or `python3` is missing),
// and is a *fault.Error where the caller can act on it.
func (p *Pool) Invoke(ctx context.Context, spec *Spec, inv *Invocation) (*Result, error) {
	return nil, errTODO
}

// SetProvisioned keeps n instances of spec started ahead of traffic
// (0 removes the reservation and lets them be reaped like others).
func (p *Pool) SetProvisioned(ctx context.Context, spec *Spec, n int) error {
	return errTODO
}

// Retire stops the idle instances of functionName whose Key is not current
// (keep reports whether a Key is still current); busy ones stop as soon as
// their invocation ends.
func (p *Pool) Retire(functionName string, keep func(key string) bool) {}

// Instances lists the live instances.
func (p *Pool) Instances() []InstanceInfo { return nil }

// Close stops every instance and waits for them to exit.
func (p *Pool) Close(ctx context.Context) error { return nil }
