package function

import (
	"context"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// EventInvokeConfig is how asynchronous invocations of one qualifier of a
// function are retried and where their outcome goes (AWS's
// FunctionEventInvokeConfig). The registry stores it in the function's
// document; package invoke/async reads it from the Snapshot.
//
// Nil pointers mean "not set": AWS's defaults apply (2 retries, 6 hours).
type EventInvokeConfig struct {
	// Qualifier is $LATEST, a version number or an alias name (never "").
	Qualifier string `json:"qualifier"`
	// MaximumRetryAttempts is 0-2 as AWS, more when Limits allow it.
	MaximumRetryAttempts *int `json:"maximumRetryAttempts,omitempty"`
	// MaximumEventAgeInSeconds is 60-21600 as AWS, more when Limits allow it.
	MaximumEventAgeInSeconds *int `json:"maximumEventAgeInSeconds,omitempty"`
	// OnSuccess and OnFailure are destination ARNs ("" = none).
	OnSuccess    string    `json:"onSuccess,omitempty"`
	OnFailure    string    `json:"onFailure,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// EventInvokeUpdate is the body of Put (Replace = true: fields left nil are
// cleared) or Update (Replace = false: fields left nil are kept) of an
// EventInvokeConfig. A destination set to "" clears it.
type EventInvokeUpdate struct {
	Replace                  bool
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	OnSuccess                *string
	OnFailure                *string
}

// Defaults for asynchronous invocation, as AWS.
const (
	DefaultAsyncRetryAttempts = 2
	DefaultMaxEventAge        = 21600 // seconds (6 hours)
	MinMaxEventAge            = 60
)

// EventInvokeFor returns the config that applies to an invocation of
// qualifier ("" = $LATEST): the one set for exactly that qualifier, or nil.
func (s *Snapshot) EventInvokeFor(qualifier string) *EventInvokeConfig {
	if qualifier == "" {
		qualifier = Latest
	}
	if c, ok := s.EventInvoke[qualifier]; ok {
		return &c
	}
	return nil
}

// PutEventInvokeConfig creates or changes the config of name at qualifier
// ("" = $LATEST). The qualifier must exist. Values are validated against
// Limits (MaxAsyncRetryAttempts, MaxEventAge) with AWS's messages;
// destinations must be ARNs of a supported kind (lambda, sqs, sns, events).
// Update (u.Replace = false) of a missing config is fault.NotFound, as AWS.
func (s *Service) PutEventInvokeConfig(ctx context.Context, name, qualifier string, u EventInvokeUpdate) (EventInvokeConfig, error) {
	return EventInvokeConfig{}, fault.New(fault.Unsupported, "not implemented")
}

// GetEventInvokeConfig returns the config of name at qualifier, or
// fault.NotFound ("The function <arn> doesn't have an EventInvokeConfig").
func (s *Service) GetEventInvokeConfig(ctx context.Context, name, qualifier string) (EventInvokeConfig, error) {
	return EventInvokeConfig{}, fault.New(fault.Unsupported, "not implemented")
}

// ListEventInvokeConfigs pages through name's configs (MaxItems 1-50).
func (s *Service) ListEventInvokeConfigs(ctx context.Context, name string, page Page) ([]EventInvokeConfig, string, error) {
	return nil, "", fault.New(fault.Unsupported, "not implemented")
}

// DeleteEventInvokeConfig removes the config (fault.NotFound when absent).
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error {
	return fault.New(fault.Unsupported, "not implemented")
}
