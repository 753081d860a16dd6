package esm

import (
	"context"
	"time"
)

// Mapping states, as Lambda reports them.
const (
	StateCreating  = "Creating"
	StateEnabling  = "Enabling"
	StateEnabled   = "Enabled"
	StateDisabling = "Disabling"
	StateDisabled  = "Disabled"
	StateUpdating  = "Updating"
	StateDeleting  = "Deleting"
)

// Limits and defaults for SQS sources (Lambda's documented values).
const (
	DefaultBatchSize        = 10
	MaxBatchSize            = 10000
	MaxBatchSizeFIFO        = 10
	MaxBatchingWindow       = 300 * time.Second
	MinMaximumConcurrency   = 2
	MaxMaximumConcurrency   = 1000
	ReportBatchItemFailures = "ReportBatchItemFailures"
)

// Filter is one FilterCriteria pattern (JSON text).
type Filter struct {
	Pattern string
}

// Mapping is an event source mapping as the Lambda API shows it.
type Mapping struct {
	UUID string
	// EventSourceARN is the queue's ARN.
	EventSourceARN string
	// FunctionARN is the function's ARN, qualified when the mapping names
	// a version or alias.
	FunctionARN string
	BatchSize   int
	// MaximumBatchingWindow is MaximumBatchingWindowInSeconds.
	MaximumBatchingWindow time.Duration
	FunctionResponseTypes []string
	// MaximumConcurrency is ScalingConfig.MaximumConcurrency (0 = unset).
	MaximumConcurrency    int
	Filters               []Filter
	State                 string
	StateTransitionReason string
	LastModified          time.Time
	LastProcessingResult  string
}

// CreateInput is CreateEventSourceMapping's input. Pointers distinguish
// "not given" (AWS default) from a zero value.
type CreateInput struct {
	UUID                  string // "" = a new one (tests and SAM deploys may fix it)
	EventSourceARN        string
	FunctionName          string // name, name:qualifier or ARN
	Enabled               *bool
	BatchSize             *int
	MaximumBatchingWindow *time.Duration
	FunctionResponseTypes []string
	MaximumConcurrency    *int
	Filters               []Filter
}

// UpdateInput is UpdateEventSourceMapping's input; nil fields keep their
// value. Filters, when FiltersSet, replace the filters (empty = none). A
// MaximumConcurrency of 0 removes the limit (an empty ScalingConfig).
type UpdateInput struct {
	FunctionName          string
	Enabled               *bool
	BatchSize             *int
	MaximumBatchingWindow *time.Duration
	FunctionResponseTypes *[]string
	MaximumConcurrency    *int
	Filters               []Filter
	FiltersSet            bool
}

// API is what the Lambda wire API and SAM deploys need of event source
// mappings; *Service implements it. Errors are *fault.Error: NotFound for
// a missing mapping, function or queue; Invalid with Lambda's messages;
// Conflict (Reason "ResourceConflictException") for a second mapping of
// the same queue and function.
type API interface {
	Create(ctx context.Context, in CreateInput) (Mapping, error)
	Get(ctx context.Context, uuid string) (Mapping, error)
	// List filters by function (name or ARN) and/or source ARN ("" = any),
	// sorted by UUID.
	List(ctx context.Context, functionName, sourceARN string) ([]Mapping, error)
	Update(ctx context.Context, uuid string, in UpdateInput) (Mapping, error)
	// Delete removes the mapping and returns it in state Deleting.
	Delete(ctx context.Context, uuid string) (Mapping, error)
}
