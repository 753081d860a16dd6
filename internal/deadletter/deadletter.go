// Package deadletter keeps the events that Lamina could not deliver: every
// asynchronous invocation that finally failed and had no on-failure
// destination, every schedule firing that exhausted its retry policy, every
// destination delivery that itself failed. Nothing is dropped: a record
// stays until it is redriven, purged or older than the retention (default
// 14 days). Records live in a store KV bucket, one key per record
// ("<function>.<id>"), so listing by function is a prefix scan.
package deadletter

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Sources of a record.
const (
	SourceAsync       = "async"       // an Event invocation
	SourceSchedule    = "schedule"    // an EventBridge Scheduler schedule
	SourceRule        = "rule"        // an EventBridge rule target
	SourceDestination = "destination" // a destination record that could not be delivered
)

// Conditions, as AWS's destination records name them.
const (
	RetriesExhausted = "RetriesExhausted"
	EventAgeExceeded = "EventAgeExceeded"
	// DeliveryFailed: the target (function, destination) could not be reached.
	DeliveryFailed = "DeliveryFailed"
)

// Record is one dead letter.
type Record struct {
	// ID is unique and sorts by FailedAt (set by Put when empty).
	ID     string `json:"id"`
	Source string `json:"source"`
	// SourceARN names the schedule or rule, when Source is one.
	SourceARN string `json:"sourceArn,omitempty"`
	// FunctionName and Qualifier are the target the event was for; redrive
	// sends it there again.
	FunctionName string `json:"functionName"`
	Qualifier    string `json:"qualifier,omitempty"`
	FunctionARN  string `json:"functionArn,omitempty"`
	Region       string `json:"region,omitempty"`
	// RequestID is the original invocation's request id.
	RequestID string `json:"requestId"`
	// Payload is the original event (JSON).
	Payload json.RawMessage `json:"payload"`
	// Condition is RetriesExhausted, EventAgeExceeded or DeliveryFailed.
	Condition string `json:"condition"`
	// ErrorType and ErrorMessage describe the last failure; Response is the
	// function's error document, when it returned one.
	ErrorType    string          `json:"errorType,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Response     json.RawMessage `json:"response,omitempty"`
	// Attempts counts the function invocations made (throttles not included).
	Attempts int `json:"attempts"`
	// Destination is the configured target that could not take the record
	// (an on-failure destination or DeadLetterConfig ARN), if any.
	Destination string    `json:"destination,omitempty"`
	EnqueuedAt  time.Time `json:"enqueuedAt"`
	LastAttempt time.Time `json:"lastAttempt,omitempty"`
	FailedAt    time.Time `json:"failedAt"`
}

// Filter selects records.
type Filter struct {
	// FunctionName restricts to one target function ("" = all).
	FunctionName string
	// IDs restrict to these records (none = all that match).
	IDs []string
	// Limit bounds the result (0 = no bound).
	Limit int
}

// Options configure a Store.
type Options struct {
	// Retention is how long a record is kept (default 14 days).
	Retention time.Duration
	// SweepInterval is how often expired records are removed (default 1 h).
	SweepInterval time.Duration
	Clock         clock.Clock
}

// DefaultRetention is how long records are kept unless configured.
const DefaultRetention = 14 * 24 * time.Hour

// Store is the dead-letter store. Safe for concurrent use.
type Store struct {
	kv   store.KV
	opts Options
}

// Open opens (creating) the dead-letter bucket and starts the retention
// sweeper, which stops when ctx ends.
func Open(ctx context.Context, st store.Store, opts Options) (*Store, error) {
	return nil, fault.New(fault.Unsupported, "not implemented")
}

// Put stores r durably (returns after the store confirmed), filling ID
// and FailedAt when empty.
func (s *Store) Put(ctx context.Context, r *Record) error {
	return fault.New(fault.Unsupported, "not implemented")
}

// List returns the records that f selects, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	return nil, fault.New(fault.Unsupported, "not implemented")
}

// Get returns one record, or fault.NotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	return nil, fault.New(fault.Unsupported, "not implemented")
}

// Delete removes one record (missing is not an error).
func (s *Store) Delete(ctx context.Context, id string) error {
	return fault.New(fault.Unsupported, "not implemented")
}

// Purge removes the records that f selects and reports how many.
func (s *Store) Purge(ctx context.Context, f Filter) (int, error) {
	return 0, fault.New(fault.Unsupported, "not implemented")
}

// Count reports how many records are kept for function name ("" = all).
func (s *Store) Count(ctx context.Context, name string) (int, error) {
	return 0, fault.New(fault.Unsupported, "not implemented")
}
