// Package esm owns event source mappings from queues to functions: their
// definitions (Lambda's CreateEventSourceMapping family, validated with
// Lambda's rules and messages, kept in the store so that they survive a
// restart), and the pollers that move messages from a queue into
// synchronous invocations with the SQS event shape, deleting what the
// function processed and leaving the rest to the queue's visibility
// timeout and redrive policy.
//
// Files: api.go (the contract the edges use), service.go (the Service, its
// options and the watcher that keeps one runner per enabled mapping in step
// with the store), definition.go (what is stored), control.go and
// validate.go (the control operations), runner.go (one mapping's pollers
// and their scaling), batch.go (collecting a batch, invoking, deleting),
// record.go (the SQS record JSON and its digests).
//
// Concurrency: Service.mu guards Service.runners only; a runner's pollers
// share nothing but atomics. The in-flight invocations of a mapping are at
// most its pollers, which are at most its maximum concurrency.
package esm
