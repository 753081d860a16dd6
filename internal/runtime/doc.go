// Package runtime runs function code: each instance is a sandboxed process
// that speaks the Lambda Runtime API to its own endpoint served here. It owns
// the instance lifecycle (starting, idle, invoking, dead), the pool of warm
// instances, resource limits, log capture and the embedded bootstraps for
// Python and Node handlers (langboot/). It never links user code.
//
// Files, one concern each:
//
//	pool.go        Pool: New, Prepare, Invoke, SetProvisioned, Retire, Instances, Close; the reaper
//	state.go       the instance state machine and its transition table
//	instance.go    an instance: handing out events, results, timeouts, death
//	runtimeapi.go  the Runtime API: a small HTTP/1.1 server over instance.go; Extensions/Telemetry stubs
//	errors.go      the catalogue of Runtime API refusals and platform-generated function errors
//	logs.go        stdout/stderr capture, request attribution, START/END/REPORT, log tails
//	sandbox.go     sandbox layout, environment (spec A.8), rlimits
//	spawn.go       process creation from dedicated threads (Pdeathsig, cgroup v1 slots)
//	cgroup.go      memory limits, peak usage and OOM detection (cgroup v2, else v1)
//	codecache.go   one read-only extracted copy of each package
//
// # Paths of an invocation
//
// Pool.Invoke pops the most recently used idle instance of the Spec.Key
// (LIFO) and assigns it the event, or starts an instance with the event
// assigned. The instance's /next handler (parked in a channel select) hands
// the event out; the /response or /error handler records the result, puts
// the instance back on the idle stack and wakes the caller. No goroutine is
// started per invocation and nothing touches the disk. An instance that dies
// before handing out an event assigned to it after a previous invocation
// (aws-lambda-go exits after reporting a panic) gives the event back and
// Invoke tries another instance; other instances never notice.
//
// # Concurrency invariants
//
//   - Lock order: Pool.mu → instance.mu → instance.lmu. Nothing takes
//     Pool.mu while holding instance.mu, nor instance.mu while holding lmu.
//   - Pool.mu guards the groups, the instance set and each instance's
//     provisioned, onIdle, removed and lastUsed fields.
//   - instance.mu guards the lifecycle fields (state, parked, pending, cur,
//     timers, init error, killedFor); every state change follows the
//     transition table of state.go, except death, which is always allowed.
//   - instance.lmu guards log attribution (reqID, tail) and the log streams'
//     buffers; the stdout/stderr reader goroutines and the end-of-invocation
//     drain serialize on it.
//   - A call is answered exactly once per attempt (call.finished).
//   - An instance is on its group's idle stack only in state idle or
//     responded with no event pending.
//   - Goroutines: per pool the reaper, the spawner threads and (cgroup v1)
//     the migrator; per instance the process waiter, two log readers and the
//     Runtime API's accept loop and one goroutine per connection (one, as a
//     rule: runtimes keep their connection alive). Close ends them all and
//     waits for every process to be reaped.
//
// # Time
//
// KeepWarm, reaping and InstanceInfo times come from Options.Clock. Function
// deadlines and the init timeout are wall-clock timers: the function's
// process sees the real time (Lambda-Runtime-Deadline-Ms is epoch millis).
package runtime
