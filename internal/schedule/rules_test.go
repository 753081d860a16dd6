package schedule

import (
	"errors"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

const ruleArn = "arn:aws:events:us-east-1:000000000000:rule/"

func (e *env) putRule(t *testing.T, in PutRuleInput) *Rule {
	t.Helper()
	r, err := e.svc.PutRule(e.ctx, in)
	if err != nil {
		t.Fatalf("PutRule %s: %v", in.Name, err)
	}
	return r
}

func TestPutRuleValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		in     PutRuleInput
		kind   fault.Kind
		reason string
		msg    string
	}{
		{"bad name", PutRuleInput{Name: "a b", ScheduleExpression: "rate(1 minute)"}, fault.Invalid, "",
			`at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`},
		{"neither", PutRuleInput{Name: "r"}, fault.Invalid, "", "Parameter(s) EventPattern or ScheduleExpression must be specified."},
		{"bad expression", PutRuleInput{Name: "r", ScheduleExpression: "rate(1 minutes)"}, fault.Invalid, "", "Parameter ScheduleExpression is not valid."},
		{"at() in a rule", PutRuleInput{Name: "r", ScheduleExpression: "at(2026-03-02T00:00:00)"}, fault.Invalid, "", "Parameter ScheduleExpression is not valid."},
		{"state", PutRuleInput{Name: "r", ScheduleExpression: "rate(1 minute)", State: "ON"}, fault.Invalid, "", "enum value set"},
		{"bus", PutRuleInput{Name: "r", ScheduleExpression: "rate(1 minute)", EventBusName: "custom"}, fault.NotFound, "", "Event bus custom does not exist."},
		{"pattern not JSON", PutRuleInput{Name: "r", EventPattern: "{"}, fault.Invalid, ReasonInvalidEventPattern, "Event pattern is not valid."},
		{"pattern not object", PutRuleInput{Name: "r", EventPattern: `["a"]`}, fault.Invalid, ReasonInvalidEventPattern, "Filter is not an object"},
		{"pattern leaf", PutRuleInput{Name: "r", EventPattern: `{"source":"aws.ec2"}`}, fault.Invalid, ReasonInvalidEventPattern, `"source" must be an object or an array`},
		{"pattern empty", PutRuleInput{Name: "r", EventPattern: `{}`}, fault.Invalid, ReasonInvalidEventPattern, "Empty objects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.PutRule(e.ctx, tc.in)
			wantFault(t, err, tc.kind, tc.msg)
			var fe *fault.Error
			if errors.As(err, &fe); fe.Reason != tc.reason {
				t.Errorf("reason %q, want %q", fe.Reason, tc.reason)
			}
		})
	}
	// Seconds are a Lamina extension that rules accept too.
	if _, err := e.svc.PutRule(e.ctx, PutRuleInput{Name: "fast", ScheduleExpression: "rate(10 seconds)"}); err != nil {
		t.Errorf("rate(10 seconds): %v", err)
	}
	if _, err := e.svc.PutRule(e.ctx, PutRuleInput{Name: "p", EventPattern: `{"source":["aws.ec2"],"detail":{"state":["running",{"prefix":"st"}]}}`}); err != nil {
		t.Errorf("valid pattern: %v", err)
	}
}

func TestRuleLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.putRule(t, PutRuleInput{Name: "tick", ScheduleExpression: "rate(5 minutes)", Description: "d", Tags: []Tag{{"team", "a"}}})
	if r.Arn != ruleArn+"tick" || r.State != StateEnabled || r.EventBusName != DefaultEventBus {
		t.Fatalf("PutRule = %+v", r)
	}
	if len(e.defs(t)) != 0 {
		t.Fatal("a rule without targets has definitions")
	}

	failed, err := e.svc.PutTargets(e.ctx, "", "tick", []RuleTarget{
		{ID: "t1", Arn: testFn},
		{ID: "t2", Arn: testFn + ":live", Input: ptr(`{"k":1}`), RetryPolicy: &RetryPolicy{MaximumRetryAttempts: ptr(int32(2))},
			DeadLetterConfig: &DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:000000000000:dlq"}},
		{ID: "q", Arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s"},
		{ID: "path", Arn: testFn, InputPath: ptr("$.detail")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 || failed[0].TargetID != "q" || failed[1].TargetID != "path" ||
		!strings.Contains(failed[0].ErrorMessage, "SNS topic targets only") || failed[0].ErrorCode != "ValidationException" {
		t.Fatalf("failed entries %+v", failed)
	}
	defs := e.defs(t)
	d1, d2 := defs["rule.default.tick.t1"], defs["rule.default.tick.t2"]
	if len(defs) != 2 || d1.Kind != KindRule || d1.ARN != ruleArn+"tick" || d1.Group != "default" || d1.TargetID != "t1" ||
		d1.Expression != "rate(5 minutes)" || d1.Timezone != "" || !d1.Anchor.Equal(testStart) || !d1.Enabled ||
		d1.Target.Input != nil || d1.Target.MaximumRetryAttempts != 185 || d1.Target.MaximumEventAgeInSeconds != 86400 {
		t.Fatalf("definitions %+v", defs)
	}
	if *d2.Target.Input != `{"k":1}` || d2.Target.MaximumRetryAttempts != 2 || d2.Target.DeadLetterArn == "" || d2.Target.Arn != testFn+":live" {
		t.Errorf("t2 definition %+v", d2)
	}

	// PutRule again replaces the rule but keeps its targets; only the
	// definitions whose content changed get a new revision.
	e.putRule(t, PutRuleInput{Name: "tick", ScheduleExpression: "rate(5 minutes)", Description: "new"})
	if got := e.defs(t); got["rule.default.tick.t1"].Revision != d1.Revision {
		t.Errorf("unchanged definition rewritten: %d -> %d", d1.Revision, got["rule.default.tick.t1"].Revision)
	}
	got, err := e.svc.DescribeRule(e.ctx, "default", "tick")
	if err != nil || got.Description != "new" || len(got.Targets) != 2 || got.Tags["team"] != "a" {
		t.Fatalf("DescribeRule = %+v, %v", got, err)
	}

	if err := e.svc.DisableRule(e.ctx, "", "tick"); err != nil {
		t.Fatal(err)
	}
	for k, d := range e.defs(t) {
		if d.Enabled || d.Revision <= d1.Revision {
			t.Errorf("%s after DisableRule: %+v", k, d)
		}
	}
	if err := e.svc.EnableRule(e.ctx, "", "tick"); err != nil {
		t.Fatal(err)
	}
	if !e.defs(t)["rule.default.tick.t1"].Enabled {
		t.Error("EnableRule left the definition disabled")
	}

	// Replacing a target by Id; the limit of 5 targets.
	if _, err := e.svc.PutTargets(e.ctx, "", "tick", []RuleTarget{{ID: "t1", Arn: testFn, Input: ptr(`"x"`)}}); err != nil {
		t.Fatal(err)
	}
	if d := e.defs(t)["rule.default.tick.t1"]; d.Target.Input == nil || *d.Target.Input != `"x"` {
		t.Errorf("replaced target %+v", d.Target)
	}
	_, err = e.svc.PutTargets(e.ctx, "", "tick", []RuleTarget{{ID: "a", Arn: testFn}, {ID: "b", Arn: testFn}, {ID: "c", Arn: testFn}, {ID: "d", Arn: testFn}})
	wantFault(t, err, fault.Conflict, "at most 5 targets")
	var fe *fault.Error
	if errors.As(err, &fe); fe.Reason != ReasonLimitExceeded {
		t.Errorf("limit reason %q", fe.Reason)
	}

	targets, next, err := e.svc.ListTargetsByRule(e.ctx, "", "tick", 1, "")
	if err != nil || len(targets) != 1 || targets[0].ID != "t1" || next == "" {
		t.Fatalf("ListTargetsByRule page 1: %+v %q %v", targets, next, err)
	}
	targets, next, _ = e.svc.ListTargetsByRule(e.ctx, "", "tick", 1, next)
	if len(targets) != 1 || targets[0].ID != "t2" || next != "" {
		t.Fatalf("ListTargetsByRule page 2: %+v %q", targets, next)
	}
	names, _, err := e.svc.ListRuleNamesByTarget(e.ctx, "", testFn, 0, "")
	if err != nil || len(names) != 1 || names[0] != "tick" {
		t.Errorf("ListRuleNamesByTarget = %v, %v", names, err)
	}

	wantFault(t, e.svc.DeleteRule(e.ctx, "", "tick", false), fault.Invalid, "Rule can't be deleted since it has targets.")
	if _, err := e.svc.RemoveTargets(e.ctx, "", "tick", []string{"t2", "nope"}); err != nil {
		t.Fatal(err)
	}
	if defs := e.defs(t); len(defs) != 1 {
		t.Errorf("definitions after RemoveTargets: %v", defs)
	}
	if err := e.svc.DeleteRule(e.ctx, "", "tick", true); err != nil {
		t.Fatalf("forced DeleteRule: %v", err)
	}
	if defs := e.defs(t); len(defs) != 0 {
		t.Errorf("definitions after DeleteRule: %v", defs)
	}
	_, err = e.svc.DescribeRule(e.ctx, "", "tick")
	wantFault(t, err, fault.NotFound, "Rule tick does not exist on EventBus default.")
	if err := e.svc.DeleteRule(e.ctx, "", "tick", false); err != nil {
		t.Errorf("deleting a missing rule: %v", err)
	}
	_, err = e.svc.PutTargets(e.ctx, "", "tick", []RuleTarget{{ID: "t1", Arn: testFn}})
	wantFault(t, err, fault.NotFound, "does not exist")
}

func TestPutTargetsValidation(t *testing.T) {
	e := newEnv(t)
	e.putRule(t, PutRuleInput{Name: "r", ScheduleExpression: "cron(0 12 * * ? *)"})
	tests := []struct {
		name    string
		targets []RuleTarget
		msg     string
	}{
		{"none", nil, "between 1 and 10"},
		{"eleven", make([]RuleTarget, 11), "between 1 and 10"},
		{"bad id", []RuleTarget{{ID: "a b", Arn: testFn}}, "targets.1.member.id"},
		{"no arn", []RuleTarget{{ID: "a"}}, "targets.1.member.arn"},
		{"input and path", []RuleTarget{{ID: "a", Arn: testFn, Input: ptr("{}"), InputPath: ptr("$")}}, "only one of Input, InputPath"},
		{"input not JSON", []RuleTarget{{ID: "a", Arn: testFn, Input: ptr("hello")}}, "well-formed JSON"},
		{"input too long", []RuleTarget{{ID: "a", Arn: testFn, Input: ptr(`"` + strings.Repeat("x", 8192) + `"`)}}, "less than or equal to 8192"},
		{"retry", []RuleTarget{{ID: "a", Arn: testFn, RetryPolicy: &RetryPolicy{MaximumEventAgeInSeconds: ptr(int32(90000))}}}, "retryPolicy.maximumEventAgeInSeconds"},
		{"duplicate", []RuleTarget{{ID: "a", Arn: testFn}, {ID: "a", Arn: testFn}}, "more than once"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.PutTargets(e.ctx, "", "r", tc.targets)
			wantFault(t, err, fault.Invalid, tc.msg)
		})
	}
	if len(e.defs(t)) != 0 {
		t.Error("refused targets left definitions")
	}
}

func TestPatternRulesAndTags(t *testing.T) {
	e := newEnv(t)
	e.putRule(t, PutRuleInput{Name: "on-ec2", EventPattern: `{"source":["aws.ec2"]}`, State: StateDisabled})
	if _, err := e.svc.PutTargets(e.ctx, "", "on-ec2", []RuleTarget{{ID: "t", Arn: testFn}}); err != nil {
		t.Fatal(err)
	}
	if defs := e.defs(t); len(defs) != 0 {
		t.Errorf("an event pattern rule has definitions: %v", defs)
	}
	e.putRule(t, PutRuleInput{Name: "b-sched", ScheduleExpression: "rate(1 day)"})
	e.putRule(t, PutRuleInput{Name: "b-other", ScheduleExpression: "rate(2 days)"})
	rules, next, err := e.svc.ListRules(e.ctx, "", "b-", 1, "")
	if err != nil || len(rules) != 1 || rules[0].Name != "b-other" || next == "" {
		t.Fatalf("ListRules page 1: %v %q %v", rules, next, err)
	}
	rules, next, _ = e.svc.ListRules(e.ctx, "arn:aws:events:us-east-1:000000000000:event-bus/default", "b-", 1, next)
	if len(rules) != 1 || rules[0].Name != "b-sched" || next != "" {
		t.Fatalf("ListRules page 2: %v %q", rules, next)
	}

	arn := ruleArn + "on-ec2"
	if err := e.svc.TagRule(e.ctx, arn, []Tag{{"k", "v"}, {"e", ""}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UntagRule(e.ctx, arn, []string{"e"}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.svc.ListRuleTags(e.ctx, arn)
	if err != nil || len(tags) != 1 || tags[0] != (Tag{"k", "v"}) {
		t.Errorf("tags %v, %v", tags, err)
	}
	_, err = e.svc.ListRuleTags(e.ctx, ruleArn+"nope")
	wantFault(t, err, fault.NotFound, "Rule nope does not exist")
	_, err = e.svc.ListRuleTags(e.ctx, "arn:aws:events:eu-west-1:000000000000:rule/on-ec2")
	wantFault(t, err, fault.NotFound, "does not exist")
}

func TestRuleLimit(t *testing.T) {
	small := newEnv(t, func(o *Options) { o.Limits.MaxRules = 1 })
	small.putRule(t, PutRuleInput{Name: "one", ScheduleExpression: "rate(1 day)"})
	small.putRule(t, PutRuleInput{Name: "one", ScheduleExpression: "rate(2 days)"}) // an update is not a new rule
	_, err := small.svc.PutRule(small.ctx, PutRuleInput{Name: "two", ScheduleExpression: "rate(1 day)"})
	wantFault(t, err, fault.Conflict, "maximum number allowed")
}
