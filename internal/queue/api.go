package queue

import "context"

// API is what the edges (the SQS wire protocols, the CLI's server side),
// event source mappings and topics need of the queue service; *Service
// implements it. Queues are named by their name (one account, one region);
// ARN and NameFromARN convert.
type API interface {
	// CreateQueue creates name with attrs and tags. Creating an existing
	// queue with the same attributes returns it (idempotent, as SQS);
	// with different ones it fails with CodeQueueNameExists. A name ending
	// in ".fifo" requires FifoQueue=true and vice versa.
	CreateQueue(ctx context.Context, name string, attrs, tags map[string]string) (QueueInfo, error)
	// GetQueue describes name, or fails with CodeQueueDoesNotExist.
	GetQueue(ctx context.Context, name string) (QueueInfo, error)
	// DeleteQueue removes name and its messages.
	DeleteQueue(ctx context.Context, name string) error
	// ListQueues lists queue names starting with prefix, sorted.
	ListQueues(ctx context.Context, prefix string) ([]string, error)
	// GetAttributes returns the named attributes ("All" = every one,
	// including the read-only ones); an unknown name fails with
	// CodeInvalidAttributeName.
	GetAttributes(ctx context.Context, name string, names []string) (map[string]string, error)
	// SetAttributes validates and sets attrs (FifoQueue cannot change).
	SetAttributes(ctx context.Context, name string, attrs map[string]string) error
	TagQueue(ctx context.Context, name string, tags map[string]string) error
	UntagQueue(ctx context.Context, name string, keys []string) error
	ListQueueTags(ctx context.Context, name string) (map[string]string, error)
	// PurgeQueue deletes every message; a second purge within 60 seconds
	// fails with CodePurgeQueueInProgress.
	PurgeQueue(ctx context.Context, name string) error
	// ListDeadLetterSourceQueues lists the queues whose RedrivePolicy
	// targets name.
	ListDeadLetterSourceQueues(ctx context.Context, name string) ([]string, error)
	// Counts reports the queue's message counts.
	Counts(ctx context.Context, name string) (Counts, error)

	// Send stores msgs durably (the call returns once the store has
	// confirmed them) and returns one result per input, in order. A
	// missing queue fails the whole call; an invalid entry fails only
	// its own result.
	Send(ctx context.Context, name string, msgs []SendInput) ([]SendResult, error)
	// Receive returns up to in.Max messages, waiting up to the wait time
	// for the first one; an ended ctx returns what it has (nil, nil when
	// nothing) rather than an error.
	Receive(ctx context.Context, name string, in ReceiveInput) ([]Message, error)
	// Delete deletes by receipt handle, durably; one result per handle.
	Delete(ctx context.Context, name string, entries []DeleteEntry) ([]EntryResult, error)
	// ChangeVisibility sets the visibility timeout of in-flight messages.
	ChangeVisibility(ctx context.Context, name string, changes []VisibilityChange) ([]EntryResult, error)

	// StartMoveTask moves messages from a dead-letter queue (sourceARN) to
	// destARN ("" = each message's original source queue).
	StartMoveTask(ctx context.Context, sourceARN, destARN string, maxPerSecond int) (string, error)
	// CancelMoveTask cancels a running task and returns how many messages
	// it had moved.
	CancelMoveTask(ctx context.Context, taskHandle string) (int64, error)
	// ListMoveTasks lists the most recent tasks of sourceARN, newest first.
	ListMoveTasks(ctx context.Context, sourceARN string, max int) ([]MoveTask, error)

	// ARN is the ARN of queue name; NameFromARN the reverse (failing with
	// CodeInvalidParameterValue / CodeQueueDoesNotExist as SQS does).
	ARN(name string) string
	NameFromARN(arn string) (string, error)
}
