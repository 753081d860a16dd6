// Package runtime runs function code: each instance is a sandboxed process
// that speaks the Lambda Runtime API to its own endpoint served here. It owns
// the instance lifecycle (starting, idle, invoking, dead), the pool of warm
// instances, resource limits, log capture and the embedded bootstraps for
// Python and Node handlers. It never links user code.
package runtime
