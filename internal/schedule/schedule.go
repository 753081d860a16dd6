// Package schedule owns time-based triggers: EventBridge Scheduler
// schedules (with groups) and EventBridge rules with a ScheduleExpression,
// their expressions (rate, cron, at: package schedule/expr), and the engine
// that fires them on time (package schedule/engine). This package holds the
// definitions and the Scheduler/rules service that writes them. Definitions live in store KV buckets; the
// engine follows them with a watch, keeps each schedule's firing state in
// the store so that a restart neither skips nor repeats a firing, and runs
// on one node at a time (a store lease).
//
// Firing hands a Firing to a Target (in `lamina serve`, an async Event
// invocation of the target function); the package knows nothing else of
// functions.
package schedule

import (
	"context"
	"encoding/json"
	"time"
)

// Kinds of Definition.
const (
	KindSchedule = "schedule" // EventBridge Scheduler
	KindRule     = "rule"     // EventBridge rule target
)

// Definition is one thing the engine fires: a Scheduler schedule, or one
// target of a scheduled EventBridge rule. The service keeps definitions in
// the KV bucket DefinitionsBucket under DefinitionKey; the engine watches it.
type Definition struct {
	Kind string `json:"kind"`
	// ARN is the schedule's ARN, or the rule's ARN for a rule target.
	ARN string `json:"arn"`
	// Group is the schedule group, or the event bus of a rule.
	Group string `json:"group"`
	// Name is the schedule or rule name; TargetID the rule target's Id.
	Name     string `json:"name"`
	TargetID string `json:"targetId,omitempty"`

	Expression string `json:"expression"`
	Timezone   string `json:"timezone,omitempty"`
	// StartDate and EndDate bound firings (zero = unbounded).
	StartDate time.Time `json:"startDate,omitempty"`
	EndDate   time.Time `json:"endDate,omitempty"`
	// Anchor is the origin of a rate() expression (creation time or StartDate).
	Anchor time.Time `json:"anchor"`
	// Enabled is State == ENABLED.
	Enabled bool `json:"enabled"`
	// FlexibleWindow is FlexibleTimeWindow.MaximumWindowInMinutes (0 = OFF).
	FlexibleWindow time.Duration `json:"flexibleWindow,omitempty"`
	// DeleteAfterCompletion is ActionAfterCompletion == DELETE.
	DeleteAfterCompletion bool `json:"deleteAfterCompletion,omitempty"`

	Target TargetSpec `json:"target"`
	// Revision counts changes of the definition (a changed expression
	// restarts its firing sequence).
	Revision int64 `json:"revision"`
}

// TargetSpec is what a firing invokes.
type TargetSpec struct {
	// Arn is the target (a Lambda function ARN for now).
	Arn string `json:"arn"`
	// Input is sent verbatim (Scheduler: with <aws.scheduler.*> placeholders
	// substituted); for a rule target without Input, the engine builds the
	// "Scheduled Event" envelope.
	Input *string `json:"input,omitempty"`
	// MaximumRetryAttempts (0-185, default 185) and MaximumEventAgeInSeconds
	// (60-86400, default 86400) of the target's RetryPolicy.
	MaximumRetryAttempts     int    `json:"maximumRetryAttempts"`
	MaximumEventAgeInSeconds int    `json:"maximumEventAgeInSeconds"`
	DeadLetterArn            string `json:"deadLetterArn,omitempty"`
}

// Store layout shared by the service and the engine.
const (
	// DefinitionsBucket holds Definitions by DefinitionKey.
	DefinitionsBucket = "schedule-definitions"
	// StateBucket holds each definition's firing state by the same key.
	StateBucket = "schedule-state"
	// LeaseName is the engine's lease (in the "leases" table).
	LeaseName = "schedule-engine"
)

// DefinitionKey is the KV key of a definition:
// "schedule.<group>.<name>" or "rule.<bus>.<rule>.<targetId>".
// Names are [0-9a-zA-Z-_.]; dots in names are escaped as "_2E" by KeyPart.
func DefinitionKey(d *Definition) string {
	if d.Kind == KindRule {
		return "rule." + KeyPart(d.Group) + "." + KeyPart(d.Name) + "." + KeyPart(d.TargetID)
	}
	return "schedule." + KeyPart(d.Group) + "." + KeyPart(d.Name)
}

// KeyPart escapes a name for use as one KV key token.
func KeyPart(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			out = append(out, c)
		default:
			const hex = "0123456789ABCDEF"
			out = append(out, '_', hex[c>>4], hex[c&15])
		}
	}
	return string(out)
}

// Firing is one due occurrence of a Definition.
type Firing struct {
	Definition *Definition
	// ScheduledTime is the occurrence's due time (before any flexible-window delay).
	ScheduledTime time.Time
	// ID is deterministic per definition and occurrence (so a repeated
	// firing after a crash is recognised as the same one): use it as the
	// request id.
	ID string
	// Payload is what the target receives (Input with placeholders
	// substituted, or the Scheduled Event envelope).
	Payload json.RawMessage
}

// Target receives firings, in batches of those due at the same moment. Fire
// must make every firing durable before it returns (for Lambda targets: an
// async Event enqueue with the firing's ID as request id, AllowMissing, and
// the definition's retry policy and dead-letter ARN); an error means some
// could not be stored, and the engine fires the batch again shortly (the
// IDs make the repeat harmless).
type Target interface {
	Fire(ctx context.Context, f []Firing) error
}
