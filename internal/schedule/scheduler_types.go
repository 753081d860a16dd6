package schedule

import "time"

// The Scheduler and rules resources as the APIs describe them. The service
// keeps them in its own bucket (APIBucket) in this shape; the edge maps them
// onto the wire.

// Values of the enumerations.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
	// RuleStateEnabledWithCloudTrail is a rule state that counts as enabled.
	RuleStateEnabledWithCloudTrail = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"

	GroupStateActive   = "ACTIVE"
	GroupStateDeleting = "DELETING"

	ModeOff      = "OFF"
	ModeFlexible = "FLEXIBLE"

	ActionNone   = "NONE"
	ActionDelete = "DELETE"

	// DefaultGroup is the schedule group that always exists.
	DefaultGroup = "default"
	// DefaultEventBus is the only event bus (there is no event bus API yet).
	DefaultEventBus = "default"
)

// Default retry policy of a Scheduler target and of a rule target.
const (
	DefaultMaximumRetryAttempts     = 185
	DefaultMaximumEventAgeInSeconds = 86400
)

// Reasons refine a *fault.Error where the APIs have a more specific
// exception than its Kind.
const (
	// ReasonLimitExceeded (Kind Conflict): a quota would be exceeded
	// (Scheduler ServiceQuotaExceededException, EventBridge LimitExceededException).
	ReasonLimitExceeded = "LimitExceeded"
	// ReasonInvalidEventPattern (Kind Invalid): EventBridge InvalidEventPatternException.
	ReasonInvalidEventPattern = "InvalidEventPattern"
)

// Tag is one resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// FlexibleTimeWindow is a schedule's FlexibleTimeWindow.
type FlexibleTimeWindow struct {
	Mode string `json:"mode"`
	// MaximumWindowInMinutes is set only in FLEXIBLE mode.
	MaximumWindowInMinutes *int32 `json:"maximumWindowInMinutes,omitempty"`
}

// RetryPolicy of a target; stored schedules and rule targets always have
// both members (defaults filled in).
type RetryPolicy struct {
	MaximumEventAgeInSeconds *int32 `json:"maximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int32 `json:"maximumRetryAttempts,omitempty"`
}

// DeadLetterConfig names the dead-letter queue of a target.
type DeadLetterConfig struct {
	Arn string `json:"arn"`
}

// ScheduleTarget is a schedule's Target.
type ScheduleTarget struct {
	Arn              string            `json:"arn"`
	RoleArn          string            `json:"roleArn"`
	Input            *string           `json:"input,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"retryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"deadLetterConfig,omitempty"`
}

// ScheduleInput is the request of CreateSchedule and UpdateSchedule (which
// replaces every member, as AWS's does).
type ScheduleInput struct {
	Name                       string
	GroupName                  string // "" = default
	ScheduleExpression         string
	ScheduleExpressionTimezone string
	Description                string
	StartDate, EndDate         *time.Time
	State                      string // "" = ENABLED
	ActionAfterCompletion      string // "" = NONE
	FlexibleTimeWindow         *FlexibleTimeWindow
	Target                     *ScheduleTarget
	KmsKeyArn                  string
	ClientToken                string
}

// Schedule is a stored schedule.
type Schedule struct {
	Name                       string             `json:"name"`
	GroupName                  string             `json:"groupName"`
	Arn                        string             `json:"arn"`
	ScheduleExpression         string             `json:"scheduleExpression"`
	ScheduleExpressionTimezone string             `json:"scheduleExpressionTimezone,omitempty"`
	Description                string             `json:"description,omitempty"`
	StartDate                  *time.Time         `json:"startDate,omitempty"`
	EndDate                    *time.Time         `json:"endDate,omitempty"`
	State                      string             `json:"state"`
	ActionAfterCompletion      string             `json:"actionAfterCompletion"`
	FlexibleTimeWindow         FlexibleTimeWindow `json:"flexibleTimeWindow"`
	Target                     ScheduleTarget     `json:"target"`
	KmsKeyArn                  string             `json:"kmsKeyArn,omitempty"`
	CreationDate               time.Time          `json:"creationDate"`
	LastModificationDate       time.Time          `json:"lastModificationDate"`
	// ClientToken of the creating request, so that a retried create answers
	// as the first one did.
	ClientToken string `json:"clientToken,omitempty"`
	// Revision is the record's store revision (also the Revision of its
	// Definition): it grows with every write, across deletion and re-creation.
	Revision uint64 `json:"-"`
}

// ListSchedulesInput filters and pages ListSchedules.
type ListSchedulesInput struct {
	GroupName  string
	NamePrefix string
	State      string
	MaxResults int // 0 = 100
	NextToken  string
}

// ScheduleGroup is a stored schedule group.
type ScheduleGroup struct {
	Name                 string            `json:"name"`
	Arn                  string            `json:"arn"`
	State                string            `json:"state"`
	CreationDate         time.Time         `json:"creationDate"`
	LastModificationDate time.Time         `json:"lastModificationDate"`
	Tags                 map[string]string `json:"tags,omitempty"`
	ClientToken          string            `json:"clientToken,omitempty"`
	Revision             uint64            `json:"-"`
}

// PutRuleInput is the request of PutRule (create, or replace all but the
// targets and tags of an existing rule).
type PutRuleInput struct {
	Name               string
	EventBusName       string // name or ARN; "" = default
	ScheduleExpression string
	EventPattern       string
	State              string // "" = ENABLED
	Description        string
	RoleArn            string
	Tags               []Tag
}

// RuleTarget is one target of a rule.
type RuleTarget struct {
	ID               string            `json:"id"`
	Arn              string            `json:"arn"`
	RoleArn          string            `json:"roleArn,omitempty"`
	Input            *string           `json:"input,omitempty"`
	InputPath        *string           `json:"inputPath,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"retryPolicy,omitempty"`
	DeadLetterConfig *DeadLetterConfig `json:"deadLetterConfig,omitempty"`
}

// Rule is a stored EventBridge rule with its targets.
type Rule struct {
	Name               string            `json:"name"`
	Arn                string            `json:"arn"`
	EventBusName       string            `json:"eventBusName"`
	ScheduleExpression string            `json:"scheduleExpression,omitempty"`
	EventPattern       string            `json:"eventPattern,omitempty"`
	State              string            `json:"state"`
	Description        string            `json:"description,omitempty"`
	RoleArn            string            `json:"roleArn,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Targets            []RuleTarget      `json:"targets,omitempty"`
	// CreationDate anchors the rule's rate() expression.
	CreationDate time.Time `json:"creationDate"`
	Revision     uint64    `json:"-"`
}

// FailedEntry is one target PutTargets or RemoveTargets could not apply.
type FailedEntry struct {
	TargetID     string
	ErrorCode    string
	ErrorMessage string
}
