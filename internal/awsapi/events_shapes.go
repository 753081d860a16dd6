package awsapi

import (
	"encoding/json"

	"github.com/lamina-dev/lamina/internal/schedule"
)

// JSON shapes of the EventBridge rules API (awsJson1_1, PascalCase members).

type ruleRequest struct {
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName"`
}

type putRuleRequest struct {
	Name               string    `json:"Name"`
	EventBusName       string    `json:"EventBusName"`
	ScheduleExpression string    `json:"ScheduleExpression"`
	EventPattern       string    `json:"EventPattern"`
	State              string    `json:"State"`
	Description        string    `json:"Description"`
	RoleArn            string    `json:"RoleArn"`
	Tags               []wireTag `json:"Tags"`
}

type putRuleOutput struct {
	RuleArn string `json:"RuleArn"`
}

// eventsRule is a rule in DescribeRule's and ListRules' answers.
type eventsRule struct {
	Arn                string `json:"Arn"`
	CreatedBy          string `json:"CreatedBy,omitempty"`
	Description        string `json:"Description,omitempty"`
	EventBusName       string `json:"EventBusName"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ManagedBy          string `json:"ManagedBy,omitempty"`
	Name               string `json:"Name"`
	RoleArn            string `json:"RoleArn,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	State              string `json:"State"`
}

func toEventsRule(r *schedule.Rule) eventsRule {
	return eventsRule{Arn: r.Arn, Description: r.Description, EventBusName: r.EventBusName,
		EventPattern: r.EventPattern, Name: r.Name, RoleArn: r.RoleArn,
		ScheduleExpression: r.ScheduleExpression, State: r.State}
}

type listRulesRequest struct {
	EventBusName string `json:"EventBusName"`
	NamePrefix   string `json:"NamePrefix"`
	Limit        *int   `json:"Limit"`
	NextToken    string `json:"NextToken"`
}

type listRulesOutput struct {
	NextToken string       `json:"NextToken,omitempty"`
	Rules     []eventsRule `json:"Rules"`
}

type listRuleNamesByTargetRequest struct {
	EventBusName string `json:"EventBusName"`
	TargetArn    string `json:"TargetArn"`
	Limit        *int   `json:"Limit"`
	NextToken    string `json:"NextToken"`
}

type listRuleNamesByTargetOutput struct {
	NextToken string   `json:"NextToken,omitempty"`
	RuleNames []string `json:"RuleNames"`
}

type deleteRuleRequest struct {
	Name         string `json:"Name"`
	EventBusName string `json:"EventBusName"`
	Force        bool   `json:"Force"`
}

type eventsRetryPolicy struct {
	MaximumEventAgeInSeconds *int32 `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int32 `json:"MaximumRetryAttempts,omitempty"`
}

type eventsDeadLetter struct {
	Arn string `json:"Arn,omitempty"`
}

// eventsTarget is a rule target on the wire.
type eventsTarget struct {
	Id               string             `json:"Id"`
	Arn              string             `json:"Arn"`
	RoleArn          string             `json:"RoleArn,omitempty"`
	Input            *string            `json:"Input,omitempty"`
	InputPath        *string            `json:"InputPath,omitempty"`
	RetryPolicy      *eventsRetryPolicy `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *eventsDeadLetter  `json:"DeadLetterConfig,omitempty"`

	// Parameters of targets Lamina does not fire: recognised so that a
	// target using them is reported as failed rather than silently cut down.
	InputTransformer            json.RawMessage `json:"InputTransformer,omitempty"`
	AppSyncParameters           json.RawMessage `json:"AppSyncParameters,omitempty"`
	BatchParameters             json.RawMessage `json:"BatchParameters,omitempty"`
	EcsParameters               json.RawMessage `json:"EcsParameters,omitempty"`
	HttpParameters              json.RawMessage `json:"HttpParameters,omitempty"`
	KinesisParameters           json.RawMessage `json:"KinesisParameters,omitempty"`
	RedshiftDataParameters      json.RawMessage `json:"RedshiftDataParameters,omitempty"`
	RunCommandParameters        json.RawMessage `json:"RunCommandParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage `json:"SageMakerPipelineParameters,omitempty"`
	SqsParameters               json.RawMessage `json:"SqsParameters,omitempty"`
}

// unsupported names the first member Lamina does not implement ("" if none).
func (t *eventsTarget) unsupported() string {
	for _, m := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"InputTransformer", t.InputTransformer}, {"AppSyncParameters", t.AppSyncParameters},
		{"BatchParameters", t.BatchParameters}, {"EcsParameters", t.EcsParameters},
		{"HttpParameters", t.HttpParameters}, {"KinesisParameters", t.KinesisParameters},
		{"RedshiftDataParameters", t.RedshiftDataParameters}, {"RunCommandParameters", t.RunCommandParameters},
		{"SageMakerPipelineParameters", t.SageMakerPipelineParameters}, {"SqsParameters", t.SqsParameters},
	} {
		if len(m.raw) > 0 && string(m.raw) != "null" {
			return m.name
		}
	}
	return ""
}

func (t *eventsTarget) toService() schedule.RuleTarget {
	out := schedule.RuleTarget{ID: t.Id, Arn: t.Arn, RoleArn: t.RoleArn, Input: t.Input, InputPath: t.InputPath}
	if p := t.RetryPolicy; p != nil {
		out.RetryPolicy = &schedule.RetryPolicy{MaximumEventAgeInSeconds: p.MaximumEventAgeInSeconds, MaximumRetryAttempts: p.MaximumRetryAttempts}
	}
	if d := t.DeadLetterConfig; d != nil {
		out.DeadLetterConfig = &schedule.DeadLetterConfig{Arn: d.Arn}
	}
	return out
}

func toEventsTarget(t *schedule.RuleTarget) eventsTarget {
	out := eventsTarget{Id: t.ID, Arn: t.Arn, RoleArn: t.RoleArn, Input: t.Input, InputPath: t.InputPath}
	if p := t.RetryPolicy; p != nil {
		out.RetryPolicy = &eventsRetryPolicy{MaximumEventAgeInSeconds: p.MaximumEventAgeInSeconds, MaximumRetryAttempts: p.MaximumRetryAttempts}
	}
	if d := t.DeadLetterConfig; d != nil {
		out.DeadLetterConfig = &eventsDeadLetter{Arn: d.Arn}
	}
	return out
}

type putTargetsRequest struct {
	Rule         string         `json:"Rule"`
	EventBusName string         `json:"EventBusName"`
	Targets      []eventsTarget `json:"Targets"`
}

type removeTargetsRequest struct {
	Rule         string   `json:"Rule"`
	EventBusName string   `json:"EventBusName"`
	Ids          []string `json:"Ids"`
	Force        bool     `json:"Force"`
}

type failedEntry struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

type targetsResultOutput struct {
	FailedEntryCount int           `json:"FailedEntryCount"`
	FailedEntries    []failedEntry `json:"FailedEntries"`
}

type listTargetsByRuleRequest struct {
	Rule         string `json:"Rule"`
	EventBusName string `json:"EventBusName"`
	Limit        *int   `json:"Limit"`
	NextToken    string `json:"NextToken"`
}

type listTargetsByRuleOutput struct {
	NextToken string         `json:"NextToken,omitempty"`
	Targets   []eventsTarget `json:"Targets"`
}

type eventsTagRequest struct {
	ResourceARN string    `json:"ResourceARN"`
	Tags        []wireTag `json:"Tags"`
	TagKeys     []string  `json:"TagKeys"`
}
