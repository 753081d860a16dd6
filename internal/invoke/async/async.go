// Package async is the asynchronous half of invoke: Event invocations are
// validated, appended durably to a store stream and answered at once; async
// workers pull them and run them through the same invoke path as
// synchronous calls (as background work, which never takes the capacity
// kept for synchronous callers); failures are retried with AWS-like backoff
// within the function's event-invoke config; the outcome goes to the
// on-success / on-failure destination, the function's DeadLetterConfig or,
// failing all, the dead-letter store. Nothing that was acknowledged with a
// 202 is lost: every state change is a store write made before the message
// that carried the previous state is acknowledged.
//
// Files: async.go (types, Options, Enqueue), worker.go (consumers, holding
// events until their retry time, outcome handling), destination.go
// (destination records and Senders), redrive.go (re-enqueueing dead letters).
package async

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/store"
)

// MaxPayload is the default largest Event payload (1 MB, as AWS).
const MaxPayload = 1 << 20

// Invoker runs one invocation synchronously; *invoke.Service satisfies it.
// Workers call it with InvocationType RequestResponse and Background set.
type Invoker interface {
	Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error)
}

// Registry is what the async path needs of the function registry;
// *function.Service satisfies it.
type Registry interface {
	Snapshot(ctx context.Context, name string) (*function.Snapshot, error)
	ARN(name, qualifier string) string
}

// Sender delivers a record to destinations of one kind (by the ARN's
// service: "lambda", "sqs", "sns", "events"). Packages that own queues and
// topics provide their Sender to Options.Senders; the "lambda" one is built
// in (an Event invocation of the destination function).
type Sender interface {
	// Send delivers body to the destination arn. attrs are message
	// attributes (DeadLetterConfig deliveries carry RequestID, ErrorCode,
	// ErrorMessage); a Sender that has no notion of them ignores them.
	Send(ctx context.Context, arn string, body []byte, attrs map[string]string) error
}

// Options configure a Service.
type Options struct {
	Store    store.Store
	Registry Registry
	Invoker  Invoker
	// DeadLetters keeps what finally fails with nowhere else to go.
	DeadLetters *deadletter.Store
	// Senders by ARN service, added to the built-in "lambda" one.
	Senders map[string]Sender
	// MaxPayload bounds an Event payload (default MaxPayload).
	MaxPayload int
	// Workers is how many events run at once on this node (default 256).
	Workers int
	// RetryBase is the delay before the first retry after a function error
	// (default 1 min; then doubling, capped at RetryCap, default 5 min; AWS
	// waits ~1 then ~2 minutes).
	RetryBase, RetryCap time.Duration
	// ThrottleBase and ThrottleCap bound the backoff of events that could not
	// run for lack of capacity (default 1 s doubling to 5 min, as AWS);
	// those retries do not count as attempts.
	ThrottleBase, ThrottleCap time.Duration
	// Region and AccountID for ARNs (defaults us-east-1, 000000000000).
	Region    string
	AccountID string
	Clock     clock.Clock
	Logger    *slog.Logger
}

// Source says what produced an event, for destination and dead-letter records.
type Source struct {
	// Kind is deadletter.SourceAsync (the default), SourceSchedule, SourceRule
	// or SourceDestination.
	Kind string
	ARN  string
}

// DeliveryPolicy overrides how an event that cannot reach its target (the
// function is missing, or throttling lasts) is retried and where it goes
// then; schedules set it from their RetryPolicy and DeadLetterConfig.
type DeliveryPolicy struct {
	MaximumRetryAttempts     int
	MaximumEventAgeInSeconds int
	// DeadLetterArn receives the event when delivery finally fails ("" = the dead-letter store).
	DeadLetterArn string
}

// Request is one Event invocation.
type Request struct {
	// FunctionName is a name, name:qualifier or ARN, as invoke.Request.
	FunctionName string
	Qualifier    string
	Payload      []byte
	// Region the caller addressed ("" = Options.Region).
	Region string
	// RequestID ("" = a new UUID). When set it also deduplicates: a second
	// Enqueue with the same id within the store's duplicate window (2 min)
	// is stored once. Schedules use a deterministic id per firing.
	RequestID string
	TraceID   string
	Source    Source
	// AllowMissing enqueues even if the function does not exist (yet): the
	// worker then treats "not found" as a delivery failure under Policy.
	// Without it a missing function is fault.NotFound at once.
	AllowMissing bool
	// Policy overrides delivery retries (nil = the defaults).
	Policy *DeliveryPolicy
}

// Event is what the stream holds for one pending invocation (JSON).
type Event struct {
	RequestID    string          `json:"requestId"`
	FunctionName string          `json:"functionName"`
	Qualifier    string          `json:"qualifier,omitempty"`
	Region       string          `json:"region,omitempty"`
	Payload      json.RawMessage `json:"payload"`
	TraceID      string          `json:"traceId,omitempty"`
	Source       Source          `json:"source"`
	Policy       *DeliveryPolicy `json:"policy,omitempty"`
	// EnqueuedAt is when the event was first accepted; its age counts from here.
	EnqueuedAt time.Time `json:"enqueuedAt"`
	// Attempts counts function invocations made so far.
	Attempts int `json:"attempts"`
	// Throttles counts consecutive retries for lack of capacity (backoff exponent).
	Throttles int `json:"throttles,omitempty"`
	// NotBefore holds the event until then (a retry's backoff).
	NotBefore time.Time `json:"notBefore,omitempty"`
	// LastError describes the last failed attempt.
	LastErrorType    string          `json:"lastErrorType,omitempty"`
	LastErrorMessage string          `json:"lastErrorMessage,omitempty"`
	LastResponse     json.RawMessage `json:"lastResponse,omitempty"`
	LastAttempt      time.Time       `json:"lastAttempt,omitempty"`
}

// Stats are counters for benchmarks, tests and metrics.
type Stats struct {
	Enqueued, Succeeded, Failed, Retried, Throttled, DeadLettered, Pending int64
}

// The Service's methods (implemented in worker.go, redrive.go):
//
//	New(ctx, Options) (*Service, error)        opens the stream and consumer; does not start workers
//	(*Service).Start(ctx)                       starts the workers (they stop when ctx ends or on Close)
//	(*Service).Enqueue(ctx, Request) (string, error)  validates, appends, returns the request id
//	(*Service).EnqueueBatch(ctx, []Request) ([]string, error)  the same for many, with Stream.PublishBatch
//	(*Service).Redrive(ctx, deadletter.Filter) (int, error)  re-enqueues dead letters with a fresh attempt count, deleting each record once its event is stored
//	(*Service).Stats() Stats
//	(*Service).Close(ctx) error                 stops fetching, waits for running events (until ctx ends)
