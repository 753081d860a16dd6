// Package queue is Lamina's SQS engine: standard and FIFO queues with
// visibility timeouts and receipt handles, delays, retention, long polling,
// message and system attributes, dead-letter redrive and message move
// tasks, deduplication, purge and tags. *Service implements API; the SQS
// wire protocols (internal/awsapi), event source mappings and topics use it.
//
// # Design
//
// Each queue is an in-memory state machine journaled in the store:
//
//   - Definitions (name, incarnation id, attributes, tags, timestamps) live
//     in the KV bucket "queues" under "q.<name>". Every creation gets a new
//     random incarnation id, so a queue created again after a delete never
//     sees its predecessor's journal or accepts its receipt handles.
//   - Each incarnation has a journal stream "queue_<id>" with two record
//     kinds: "queue_<id>.s", a send record holding a whole batch of messages
//     (one publish per SendMessageBatch), and "queue_<id>.d", a delete
//     record listing message keys (one publish per DeleteMessageBatch). A
//     message's key is its send record's sequence and its index in it.
//     Records use the binary codec in codec.go.
//   - Sends publish, wait for the store's confirmation, then insert into
//     memory. FIFO sends are serialised per queue (q.sendMu) so that order
//     and the deduplication check-then-publish are atomic.
//   - Receives, visibility changes, delays and retention work in memory
//     under the queue's mutex, which is never held across a store call. One
//     goroutine per queue owns a clock timer for delay, visibility and
//     retention expiries (all times come from the injected clock).
//   - Deletes check handles in memory, journal one delete record and then
//     forget the messages.
//   - Redrive: a message whose receive count has reached maxReceiveCount is
//     moved to the dead-letter queue when a receive would hand it out: it is
//     journaled into the DLQ (same MessageId, body, attributes and
//     SentTimestamp, plus DeadLetterQueueSourceArn; a FIFO message's
//     deduplication id becomes its MessageId, as in SQS) and then deleted
//     from the source. Message move tasks move ready messages back the same
//     way, as new messages (new MessageId and SentTimestamp, as in SQS).
//   - Compaction: everything in a journal below the oldest send record that
//     still has a live message is dead (a delete record only names messages
//     older than itself), so the compactor purges that prefix, at most once
//     a second after deletes. The journal's age limit is the retention
//     period plus a margin.
//
// # What survives a crash
//
// Every acknowledged send and delete. On start-up each journal is replayed:
// sends minus deletes, minus what retention has expired. Messages that were
// in flight are visible again (at least once), and in-memory state starts
// over: receive counts and first-receive times (so a poison message gets up
// to maxReceiveCount more receives before redrive), visibility changes,
// the 60-second purge rule, move tasks (a running task is forgotten and
// can be started again), and deduplication entries of messages whose send
// record was already compacted away (sends of live or recent messages are
// still deduplicated). A message moved to a dead-letter queue whose source
// delete failed may exist in both queues (logged).
//
// # Locking
//
// Lock order: Service.adminMu, then Service.mu, then queue.sendMu, then
// queue.mu, then moveTask.mu. No lock is held across a store call except
// adminMu (definition changes) and sendMu (FIFO order).
package queue
