// Package topic owns SNS-like topics: topics and their attributes and tags,
// subscriptions (lambda, sqs, http, https) with filter policies, raw
// delivery, redrive and delivery policies, and the durable fan-out of
// published messages to every matching subscription.
//
// State lives in the store: topics, subscriptions, FIFO deduplication
// records and the signing key in the KV bucket "topics"; published
// messages and pending HTTP deliveries in the work-queue stream "SNS".
//
// Paths of a message:
//
//	Publish ──> SNS stream, subject lamina.sns.pub.<topic>   (answer after the store confirms)
//	fan-out workers (consumer sns-fanout), per confirmed, matching subscription:
//	  sqs    ──> queue.API Send                                 (durable hand-off)
//	  lambda ──> FunctionQueue.EnqueueEvent                      (durable hand-off)
//	  http/s ──> SNS stream, subject lamina.sns.http.<topic>    (one record per delivery)
//	then the publish record is acknowledged.
//	HTTP workers (consumer sns-http) POST each delivery; a failure publishes
//	the next attempt (with its NotBefore) before acknowledging the current
//	one; exhaustion goes to the subscription's RedrivePolicy queue or the
//	DeadLetters sink.
//
// Every hand-off is stored before the message that carried it is
// acknowledged, so a crash repeats work (duplicates) but loses none.
//
// Goroutines (all started by New, all stopped and awaited by Close): one
// fan-out fetch loop feeding Options.Workers fan-out workers (records of
// one FIFO topic always to the same worker, so they are handed on in
// order); one HTTP fetch loop starting up to Options.HTTPWorkers delivery
// goroutines; one sweeper of expired FIFO deduplication records. State is
// only in the store; the service's own memory is a cache of compiled
// filter policies.
//
// Time: NotBefore of HTTP retries, dedup windows and timestamps follow
// Options.Clock; store heartbeats and redelivery delays of failed
// fan-outs run on real time, as the store keeps AckWait on the wall clock.
//
// Files: service.go (Options, New, Close), keys.go (store layout, ARNs),
// topics.go, subscriptions.go, tags.go (the control operations),
// validate.go (SNS's input rules), publish.go (Publish, PublishBatch, FIFO
// deduplication), fanout.go (the fan-out workers), envelope.go (delivery
// shapes), sign.go (message signatures), http.go (HTTP/S delivery and its
// retries), deadletter.go (final failures).
package topic
