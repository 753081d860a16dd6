package awsapi

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/lamina-dev/lamina/internal/schedule"
)

// JSON shapes of the EventBridge Scheduler API (restJson1, PascalCase
// members, timestamps as epoch seconds with a fraction, as
// aws-sdk-go-v2's serializers write and its deserializers read them).

// epochSeconds is a timestamp on the wire: a JSON number of seconds.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

func (t *epochSeconds) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		what := "value"
		if len(b) > 0 && b[0] == '"' {
			what = "string"
		}
		return &json.UnmarshalTypeError{Value: what, Type: reflect.TypeFor[float64]()}
	}
	sec := math.Floor(f)
	*t = epochSeconds(time.Unix(int64(sec), int64(math.Round((f-sec)*1e3))*int64(time.Millisecond)).UTC())
	return nil
}

func epochPtr(t *time.Time) *epochSeconds {
	if t == nil {
		return nil
	}
	e := epochSeconds(*t)
	return &e
}

func (t *epochSeconds) timePtr() *time.Time {
	if t == nil {
		return nil
	}
	v := time.Time(*t)
	return &v
}

type schedFlexibleWindow struct {
	Mode                   string `json:"Mode"`
	MaximumWindowInMinutes *int32 `json:"MaximumWindowInMinutes,omitempty"`
}

type schedRetryPolicy struct {
	MaximumEventAgeInSeconds *int32 `json:"MaximumEventAgeInSeconds,omitempty"`
	MaximumRetryAttempts     *int32 `json:"MaximumRetryAttempts,omitempty"`
}

type schedDeadLetter struct {
	Arn string `json:"Arn,omitempty"`
}

type schedTarget struct {
	Arn              string            `json:"Arn,omitempty"`
	RoleArn          string            `json:"RoleArn,omitempty"`
	Input            *string           `json:"Input,omitempty"`
	RetryPolicy      *schedRetryPolicy `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *schedDeadLetter  `json:"DeadLetterConfig,omitempty"`

	// The templated targets' parameters: recognised, and refused (Lamina
	// invokes Lambda functions only).
	EcsParameters               json.RawMessage `json:"EcsParameters,omitempty"`
	EventBridgeParameters       json.RawMessage `json:"EventBridgeParameters,omitempty"`
	KinesisParameters           json.RawMessage `json:"KinesisParameters,omitempty"`
	SageMakerPipelineParameters json.RawMessage `json:"SageMakerPipelineParameters,omitempty"`
	SqsParameters               json.RawMessage `json:"SqsParameters,omitempty"`
}

// scheduleRequest is the body of CreateSchedule and UpdateSchedule.
type scheduleRequest struct {
	ActionAfterCompletion      string               `json:"ActionAfterCompletion"`
	ClientToken                string               `json:"ClientToken"`
	Description                string               `json:"Description"`
	EndDate                    *epochSeconds        `json:"EndDate"`
	FlexibleTimeWindow         *schedFlexibleWindow `json:"FlexibleTimeWindow"`
	GroupName                  string               `json:"GroupName"`
	KmsKeyArn                  string               `json:"KmsKeyArn"`
	ScheduleExpression         string               `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string               `json:"ScheduleExpressionTimezone"`
	StartDate                  *epochSeconds        `json:"StartDate"`
	State                      string               `json:"State"`
	Target                     *schedTarget         `json:"Target"`
}

// input maps the request onto the service's input.
func (r *scheduleRequest) input(name string) (schedule.ScheduleInput, error) {
	in := schedule.ScheduleInput{
		Name:                       name,
		GroupName:                  r.GroupName,
		ScheduleExpression:         r.ScheduleExpression,
		ScheduleExpressionTimezone: r.ScheduleExpressionTimezone,
		Description:                r.Description,
		StartDate:                  r.StartDate.timePtr(),
		EndDate:                    r.EndDate.timePtr(),
		State:                      r.State,
		ActionAfterCompletion:      r.ActionAfterCompletion,
		KmsKeyArn:                  r.KmsKeyArn,
		ClientToken:                r.ClientToken,
	}
	if w := r.FlexibleTimeWindow; w != nil {
		in.FlexibleTimeWindow = &schedule.FlexibleTimeWindow{Mode: w.Mode, MaximumWindowInMinutes: w.MaximumWindowInMinutes}
	}
	if t := r.Target; t != nil {
		for _, m := range []struct {
			name string
			raw  json.RawMessage
		}{
			{"EcsParameters", t.EcsParameters}, {"EventBridgeParameters", t.EventBridgeParameters},
			{"KinesisParameters", t.KinesisParameters}, {"SageMakerPipelineParameters", t.SageMakerPipelineParameters},
			{"SqsParameters", t.SqsParameters},
		} {
			if len(m.raw) > 0 && string(m.raw) != "null" {
				return in, invalidParameter("Target.%s is not supported by Lamina yet.", m.name)
			}
		}
		in.Target = &schedule.ScheduleTarget{Arn: t.Arn, RoleArn: t.RoleArn, Input: t.Input}
		if p := t.RetryPolicy; p != nil {
			in.Target.RetryPolicy = &schedule.RetryPolicy{MaximumEventAgeInSeconds: p.MaximumEventAgeInSeconds, MaximumRetryAttempts: p.MaximumRetryAttempts}
		}
		if d := t.DeadLetterConfig; d != nil {
			in.Target.DeadLetterConfig = &schedule.DeadLetterConfig{Arn: d.Arn}
		}
	}
	return in, nil
}

type scheduleArnOutput struct {
	ScheduleArn string `json:"ScheduleArn"`
}

// scheduleOutput is GetSchedule's answer.
type scheduleOutput struct {
	ActionAfterCompletion      string              `json:"ActionAfterCompletion,omitempty"`
	Arn                        string              `json:"Arn"`
	CreationDate               epochSeconds        `json:"CreationDate"`
	Description                string              `json:"Description,omitempty"`
	EndDate                    *epochSeconds       `json:"EndDate,omitempty"`
	FlexibleTimeWindow         schedFlexibleWindow `json:"FlexibleTimeWindow"`
	GroupName                  string              `json:"GroupName"`
	KmsKeyArn                  string              `json:"KmsKeyArn,omitempty"`
	LastModificationDate       epochSeconds        `json:"LastModificationDate"`
	Name                       string              `json:"Name"`
	ScheduleExpression         string              `json:"ScheduleExpression"`
	ScheduleExpressionTimezone string              `json:"ScheduleExpressionTimezone,omitempty"`
	StartDate                  *epochSeconds       `json:"StartDate,omitempty"`
	State                      string              `json:"State"`
	Target                     schedTarget         `json:"Target"`
}

func toScheduleOutput(sc *schedule.Schedule) scheduleOutput {
	out := scheduleOutput{
		ActionAfterCompletion:      sc.ActionAfterCompletion,
		Arn:                        sc.Arn,
		CreationDate:               epochSeconds(sc.CreationDate),
		Description:                sc.Description,
		EndDate:                    epochPtr(sc.EndDate),
		FlexibleTimeWindow:         schedFlexibleWindow{Mode: sc.FlexibleTimeWindow.Mode, MaximumWindowInMinutes: sc.FlexibleTimeWindow.MaximumWindowInMinutes},
		GroupName:                  sc.GroupName,
		KmsKeyArn:                  sc.KmsKeyArn,
		LastModificationDate:       epochSeconds(sc.LastModificationDate),
		Name:                       sc.Name,
		ScheduleExpression:         sc.ScheduleExpression,
		ScheduleExpressionTimezone: sc.ScheduleExpressionTimezone,
		StartDate:                  epochPtr(sc.StartDate),
		State:                      sc.State,
		Target:                     schedTarget{Arn: sc.Target.Arn, RoleArn: sc.Target.RoleArn, Input: sc.Target.Input},
	}
	if p := sc.Target.RetryPolicy; p != nil {
		out.Target.RetryPolicy = &schedRetryPolicy{MaximumEventAgeInSeconds: p.MaximumEventAgeInSeconds, MaximumRetryAttempts: p.MaximumRetryAttempts}
	}
	if d := sc.Target.DeadLetterConfig; d != nil {
		out.Target.DeadLetterConfig = &schedDeadLetter{Arn: d.Arn}
	}
	return out
}

type scheduleSummary struct {
	Arn                  string       `json:"Arn"`
	CreationDate         epochSeconds `json:"CreationDate"`
	GroupName            string       `json:"GroupName"`
	LastModificationDate epochSeconds `json:"LastModificationDate"`
	Name                 string       `json:"Name"`
	State                string       `json:"State"`
	Target               struct {
		Arn string `json:"Arn"`
	} `json:"Target"`
}

type listSchedulesOutput struct {
	NextToken string            `json:"NextToken,omitempty"`
	Schedules []scheduleSummary `json:"Schedules"`
}

type scheduleGroupOutput struct {
	Arn                  string       `json:"Arn"`
	CreationDate         epochSeconds `json:"CreationDate"`
	LastModificationDate epochSeconds `json:"LastModificationDate"`
	Name                 string       `json:"Name"`
	State                string       `json:"State"`
}

func toGroupOutput(g *schedule.ScheduleGroup) scheduleGroupOutput {
	return scheduleGroupOutput{Arn: g.Arn, CreationDate: epochSeconds(g.CreationDate),
		LastModificationDate: epochSeconds(g.LastModificationDate), Name: g.Name, State: g.State}
}

type listScheduleGroupsOutput struct {
	NextToken      string                `json:"NextToken,omitempty"`
	ScheduleGroups []scheduleGroupOutput `json:"ScheduleGroups"`
}

type createScheduleGroupRequest struct {
	ClientToken string    `json:"ClientToken"`
	Tags        []wireTag `json:"Tags"`
}

type scheduleGroupArnOutput struct {
	ScheduleGroupArn string `json:"ScheduleGroupArn"`
}

// wireTag is a tag of the Scheduler and EventBridge APIs.
type wireTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func fromWireTags(tags []wireTag) []schedule.Tag {
	out := make([]schedule.Tag, len(tags))
	for i, t := range tags {
		out[i] = schedule.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func toWireTags(tags []schedule.Tag) []wireTag {
	out := make([]wireTag, len(tags))
	for i, t := range tags {
		out[i] = wireTag{Key: t.Key, Value: t.Value}
	}
	return out
}

type tagsRequest struct {
	Tags []wireTag `json:"Tags"`
}

type tagsOutput struct {
	Tags []wireTag `json:"Tags"`
}
