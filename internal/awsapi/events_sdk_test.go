package awsapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/lamina-dev/lamina/internal/schedule"
)

// TestEventsSDK drives the EventBridge rules API through the real
// aws-sdk-go-v2 client: rules, targets, tags, and the errors users meet.
func TestEventsSDK(t *testing.T) {
	e := startSchedulerEdge(t, schedule.Limits{})
	ctx := t.Context()
	c := e.events
	const arn = "arn:aws:events:us-east-1:000000000000:rule/"

	defs := func() map[string]schedule.Definition {
		t.Helper()
		kv, err := e.st.KV(ctx, schedule.DefinitionsBucket)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := kv.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]schedule.Definition{}
		for _, en := range entries {
			var d schedule.Definition
			if err := json.Unmarshal(en.Value, &d); err != nil {
				t.Fatal(err)
			}
			out[en.Key] = d
		}
		return out
	}

	t.Run("PutRule and DescribeRule", func(t *testing.T) {
		out, err := c.PutRule(ctx, &eventbridge.PutRuleInput{
			Name: aws.String("every-5"), ScheduleExpression: aws.String("rate(5 minutes)"),
			Description: aws.String("tick"), RoleArn: aws.String(sdkRole),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.RuleArn) != arn+"every-5" {
			t.Errorf("RuleArn %q", aws.ToString(out.RuleArn))
		}
		if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("on-ec2"),
			EventPattern: aws.String(`{"source":["aws.ec2"]}`), State: types.RuleStateDisabled}); err != nil {
			t.Fatal(err)
		}
		got, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("every-5")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Arn) != arn+"every-5" || aws.ToString(got.Name) != "every-5" || aws.ToString(got.EventBusName) != "default" ||
			aws.ToString(got.ScheduleExpression) != "rate(5 minutes)" || got.State != types.RuleStateEnabled ||
			aws.ToString(got.Description) != "tick" || aws.ToString(got.RoleArn) != sdkRole || aws.ToString(got.CreatedBy) != "000000000000" ||
			got.EventPattern != nil {
			t.Errorf("DescribeRule = %+v", got)
		}
	})

	t.Run("PutTargets", func(t *testing.T) {
		out, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String("every-5"),
			Targets: []types.Target{
				{Id: aws.String("fn"), Arn: aws.String(sdkFn)},
				{Id: aws.String("fn-input"), Arn: aws.String(sdkFn), Input: aws.String(`{"k":"v"}`),
					RetryPolicy:      &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(0), MaximumEventAgeInSeconds: aws.Int32(60)},
					DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}},
				{Id: aws.String("queue"), Arn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s")},
				{Id: aws.String("xform"), Arn: aws.String(sdkFn), InputTransformer: &types.InputTransformer{InputTemplate: aws.String("<x>")}},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		failed := map[string]string{}
		for _, f := range out.FailedEntries {
			failed[aws.ToString(f.TargetId)] = aws.ToString(f.ErrorCode) + ": " + aws.ToString(f.ErrorMessage)
		}
		if out.FailedEntryCount != 2 || !strings.Contains(failed["queue"], "SNS topic targets only") ||
			!strings.Contains(failed["xform"], "InputTransformer is not supported") {
			t.Errorf("PutTargets failed entries: %d %v", out.FailedEntryCount, failed)
		}
		d := defs()
		fn, in := d["rule.default.every-5.fn"], d["rule.default.every-5.fn-input"]
		if len(d) != 2 || fn.Kind != schedule.KindRule || fn.Expression != "rate(5 minutes)" || !fn.Enabled || fn.Target.Input != nil ||
			fn.Target.MaximumRetryAttempts != 185 || in.Target.MaximumRetryAttempts != 0 || in.Target.MaximumEventAgeInSeconds != 60 ||
			aws.ToString(in.Target.Input) != `{"k":"v"}` || in.Target.DeadLetterArn == "" {
			t.Errorf("definitions %+v", d)
		}

		lt, err := c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("every-5")})
		if err != nil || len(lt.Targets) != 2 {
			t.Fatalf("ListTargetsByRule = %+v, %v", lt, err)
		}
		tg := lt.Targets[1]
		if aws.ToString(tg.Id) != "fn-input" || aws.ToString(tg.Input) != `{"k":"v"}` || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 0 ||
			aws.ToString(tg.DeadLetterConfig.Arn) != "arn:aws:sqs:us-east-1:000000000000:dlq" {
			t.Errorf("target %+v", tg)
		}
		if aws.ToInt32(lt.Targets[0].RetryPolicy.MaximumRetryAttempts) != 185 {
			t.Errorf("default retry policy %+v", lt.Targets[0].RetryPolicy)
		}
		names, err := c.ListRuleNamesByTarget(ctx, &eventbridge.ListRuleNamesByTargetInput{TargetArn: aws.String(sdkFn)})
		if err != nil || len(names.RuleNames) != 1 || names.RuleNames[0] != "every-5" {
			t.Errorf("ListRuleNamesByTarget = %+v, %v", names, err)
		}
	})

	t.Run("ListRules", func(t *testing.T) {
		var got []string
		in := &eventbridge.ListRulesInput{Limit: aws.Int32(1)}
		for {
			out, err := c.ListRules(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range out.Rules {
				got = append(got, aws.ToString(r.Name)+"/"+string(r.State)+"/"+aws.ToString(r.EventPattern))
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
		if want := `every-5/ENABLED/ on-ec2/DISABLED/{"source":["aws.ec2"]}`; strings.Join(got, " ") != want {
			t.Errorf("ListRules = %q, want %q", strings.Join(got, " "), want)
		}
	})

	t.Run("EnableRule and DisableRule", func(t *testing.T) {
		if _, err := c.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("every-5")}); err != nil {
			t.Fatal(err)
		}
		if d := defs()["rule.default.every-5.fn"]; d.Enabled {
			t.Error("DisableRule left the definition enabled")
		}
		if _, err := c.EnableRule(ctx, &eventbridge.EnableRuleInput{Name: aws.String("every-5")}); err != nil {
			t.Fatal(err)
		}
		got, _ := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("every-5")})
		if got.State != types.RuleStateEnabled || !defs()["rule.default.every-5.fn"].Enabled {
			t.Error("EnableRule did not enable")
		}
	})

	t.Run("tags", func(t *testing.T) {
		if _, err := c.TagResource(ctx, &eventbridge.TagResourceInput{ResourceARN: aws.String(arn + "every-5"),
			Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &eventbridge.UntagResourceInput{ResourceARN: aws.String(arn + "every-5"), TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ListTagsForResource(ctx, &eventbridge.ListTagsForResourceInput{ResourceARN: aws.String(arn + "every-5")})
		if err != nil || len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "env" || aws.ToString(out.Tags[0].Value) != "prod" {
			t.Errorf("ListTagsForResource = %+v, %v", out, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		var notFound *types.ResourceNotFoundException
		_, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nope")})
		if !errors.As(err, &notFound) || aws.ToString(notFound.Message) != "Rule nope does not exist on EventBus default." {
			t.Errorf("DescribeRule missing: %v", err)
		}
		if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"),
			Targets: []types.Target{{Id: aws.String("a"), Arn: aws.String(sdkFn)}}}); !errors.As(err, &notFound) {
			t.Errorf("PutTargets on a missing rule: %v", err)
		}
		if _, err := c.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String("custom")}); !errors.As(err, &notFound) {
			t.Errorf("custom event bus: %v", err)
		}
		var pattern *types.InvalidEventPatternException
		if _, err := c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("p"), EventPattern: aws.String(`{"source":"x"}`)}); !errors.As(err, &pattern) {
			t.Errorf("bad pattern: %v", err)
		}
		_, err = c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("s"), ScheduleExpression: aws.String("at(2030-01-01T00:00:00)")})
		if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "Parameter ScheduleExpression is not valid.") {
			t.Errorf("at() in a rule: %v", err)
		}
		_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("every-5")})
		if apiCode(err) != "ValidationException" || !strings.Contains(err.Error(), "Rule can't be deleted since it has targets.") {
			t.Errorf("DeleteRule with targets: %v", err)
		}
		var limit *types.LimitExceededException
		many := make([]types.Target, 4)
		for i := range many {
			many[i] = types.Target{Id: aws.String(string(rune('a' + i))), Arn: aws.String(sdkFn)}
		}
		if _, err := c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("every-5"), Targets: many}); !errors.As(err, &limit) {
			t.Errorf("a sixth target: %v", err)
		}
		_, err = c.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String("every-5"), Limit: aws.Int32(0)})
		if apiCode(err) != "ValidationException" {
			t.Errorf("Limit 0: %v", err)
		}
	})

	t.Run("wire shape of errors", func(t *testing.T) {
		for _, tc := range []struct {
			target, body string
			code         string
		}{
			{"AWSEvents.DescribeRule", `{"Name":"nope"}`, "ResourceNotFoundException"},
			{"AWSEvents.PutRule", `{"Name":`, "SerializationException"},
			{"AWSEvents.TestEventPattern", `{}`, "UnknownOperationException"},
		} {
			req, _ := http.NewRequest("POST", e.url+"/", strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]string
			if resp.StatusCode != 400 || json.Unmarshal(b, &body) != nil || body["__type"] != tc.code || body["message"] == "" ||
				resp.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("%s: %d %s", tc.target, resp.StatusCode, b)
			}
		}
	})

	t.Run("RemoveTargets and DeleteRule", func(t *testing.T) {
		out, err := c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("every-5"), Ids: []string{"fn-input", "never-was"}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("RemoveTargets = %+v, %v", out, err)
		}
		if d := defs(); len(d) != 1 {
			t.Errorf("definitions after RemoveTargets: %v", d)
		}
		if _, err := c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("every-5"), Force: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("every-5")}); err != nil {
			t.Errorf("deleting a deleted rule: %v", err)
		}
		if d := defs(); len(d) != 0 {
			t.Errorf("definitions after DeleteRule: %v", d)
		}
	})
}
