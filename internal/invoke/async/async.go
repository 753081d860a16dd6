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
// (destination records and Senders), redrive.go (re-enqueueing dead letters),
// codec.go (a fast JSON codec for Event, the layer's largest own cost).
package async

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
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
	// MaxHeld bounds the fetched events this node holds until their retry
	// time (default 20,000). The consumer's MaxAckPending is MaxHeld plus
	// twice Workers (running and prefetched events), so held retries keep
	// new events from being fetched only once that many are held; the
	// bound is shared by every node pulling from the stream.
	MaxHeld int
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
	// Deliveries counts retries because the function could not be found
	// (only with a Policy).
	Deliveries int `json:"deliveries,omitempty"`
	// NotBefore holds the event until then (a retry's backoff).
	NotBefore time.Time `json:"notBefore,omitempty"`
	// LastError describes the last failed attempt.
	LastErrorType    string          `json:"lastErrorType,omitempty"`
	LastErrorMessage string          `json:"lastErrorMessage,omitempty"`
	LastResponse     json.RawMessage `json:"lastResponse,omitempty"`
	LastAttempt      time.Time       `json:"lastAttempt,omitempty"`
	// LastStatusCode is the status of the last attempt as the Invoke API
	// would have answered it (200 for a function error, 429 throttled,
	// 404 not found, 500 a platform failure); LastExecutedVersion and
	// LastFunctionError are from the last function response.
	LastStatusCode      int    `json:"lastStatusCode,omitempty"`
	LastExecutedVersion string `json:"lastExecutedVersion,omitempty"`
	LastFunctionError   string `json:"lastFunctionError,omitempty"`
}

// Stats are counters for benchmarks, tests and metrics.
//
// Enqueued counts events accepted by this Service; Succeeded and Failed
// final outcomes (Failed whatever the failure went to); Retried retries
// after a function error, Throttled retries for lack of capacity (or a
// platform failure or, with a Policy, a missing function); DeadLettered
// records written to the dead-letter store; Pending the events this node
// holds now (running, waiting for a worker or for their retry time).
type Stats struct {
	Enqueued, Succeeded, Failed, Retried, Throttled, DeadLettered, Pending int64
}

// Where events live in the store.
const (
	// StreamName is the stream of pending events (a work queue).
	StreamName = "ASYNC"
	// SubjectPrefix + function name is the subject of a function's events.
	SubjectPrefix = "lamina.async."
	// ConsumerName is the durable consumer every node's workers share.
	ConsumerName = "async-workers"
)

// Enqueue validates req, appends its event durably and returns the request
// id once the store has confirmed the write. A missing function (unless
// AllowMissing) or qualifier is fault.NotFound at once; a payload over
// MaxPayload is fault.TooLarge, one that is not JSON fault.InvalidContent.
func (s *Service) Enqueue(ctx context.Context, req Request) (string, error) {
	ev, data, err := s.prepare(ctx, req)
	if err != nil {
		return "", err
	}
	if _, err := s.stream.Publish(ctx, SubjectPrefix+ev.FunctionName, data, &store.PublishOptions{MsgID: ev.RequestID}); err != nil {
		return "", fmt.Errorf("async: enqueue %s for %s: %w", ev.RequestID, ev.FunctionName, err)
	}
	s.stats.enqueued.Add(1)
	return ev.RequestID, nil
}

// EnqueueBatch is Enqueue for many requests, written with one pipelined
// Stream.PublishBatch. ids[i] is the request id of reqs[i] once it is
// stored, "" when it was refused or its write failed; err joins those
// failures (each naming its index), nil when every event was stored.
func (s *Service) EnqueueBatch(ctx context.Context, reqs []Request) ([]string, error) {
	ids := make([]string, len(reqs))
	msgs := make([]store.BatchMessage, 0, len(reqs))
	index := make([]int, 0, len(reqs)) // msgs[j] is reqs[index[j]]
	var errs []error
	for i, req := range reqs {
		ev, data, err := s.prepare(ctx, req)
		if err != nil {
			errs = append(errs, fmt.Errorf("event %d: %w", i, err))
			continue
		}
		ids[i] = ev.RequestID
		msgs = append(msgs, store.BatchMessage{
			Subject: SubjectPrefix + ev.FunctionName,
			Data:    data,
			Opts:    &store.PublishOptions{MsgID: ev.RequestID},
		})
		index = append(index, i)
	}
	seqs, err := s.stream.PublishBatch(ctx, msgs)
	stored := 0
	for j, i := range index {
		if j < len(seqs) && seqs[j] != 0 {
			stored++
			continue
		}
		ids[i] = ""
	}
	s.stats.enqueued.Add(int64(stored))
	if err != nil {
		errs = append(errs, fmt.Errorf("async: enqueue batch: %d of %d events not stored: %w", len(msgs)-stored, len(msgs), err))
	}
	return ids, errors.Join(errs...)
}

// prepare validates req and returns its event and the event's encoding.
func (s *Service) prepare(ctx context.Context, req Request) (*Event, []byte, error) {
	name, qualifier, err := s.ref(req)
	if err != nil {
		return nil, nil, err
	}
	if len(req.Payload) > s.opts.MaxPayload {
		return nil, nil, ErrTooLarge(len(req.Payload), s.opts.MaxPayload)
	}
	payload, err := invoke.CheckPayload(req.Payload)
	if err != nil {
		return nil, nil, err
	}
	if p := req.Policy; p != nil && (p.MaximumRetryAttempts < 0 || p.MaximumEventAgeInSeconds < 0) {
		return nil, nil, fault.New(fault.Invalid, "The delivery policy's MaximumRetryAttempts and MaximumEventAgeInSeconds must not be negative.")
	}
	if !req.AllowMissing {
		snap, err := s.reg.Snapshot(ctx, name)
		if err != nil {
			if fault.Is(err, fault.NotFound) {
				return nil, nil, fault.New(fault.NotFound, "Function not found: %s", s.reg.ARN(name, qualifier))
			}
			return nil, nil, err
		}
		if _, _, err := snap.Resolve(ctx, qualifier); err != nil {
			return nil, nil, err
		}
	}
	ev := &Event{
		RequestID:    req.RequestID,
		FunctionName: name,
		Qualifier:    qualifier,
		Region:       req.Region,
		Payload:      payload,
		TraceID:      req.TraceID,
		Source:       req.Source,
		Policy:       req.Policy,
		EnqueuedAt:   s.clock.Now().UTC(),
	}
	if ev.RequestID == "" {
		ev.RequestID = uuid.NewString()
	}
	if ev.Source.Kind == "" {
		ev.Source.Kind = deadletter.SourceAsync
	}
	data, err := encodeEvent(make([]byte, 0, 256+len(payload)), ev)
	if err != nil {
		return nil, nil, fmt.Errorf("async: encode event: %w", err)
	}
	return ev, data, nil
}

// ErrTooLarge is AWS's error for an Event payload over the limit.
func ErrTooLarge(size, limit int) error {
	return fault.New(fault.TooLarge, "%d byte payload is too large for the Event invocation type (limit %d bytes)", size, limit)
}

// ref parses the function name and merges its qualifier with the Qualifier
// parameter, as the synchronous path does.
func (s *Service) ref(req Request) (name, qualifier string, err error) {
	region := req.Region
	if region == "" {
		region = s.opts.Region
	}
	return invoke.ParseTarget(req.FunctionName, req.Qualifier, region, s.opts.AccountID)
}
