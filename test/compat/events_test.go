package compat

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// awsCLI runs the AWS CLI against one platform.
type awsCLI struct {
	t        *testing.T
	aws      string
	endpoint string
}

// run runs `aws <service> <args...>` and returns its JSON output (nil when
// there is none), its stderr and its exit error.
func (c awsCLI) run(service string, args ...string) (map[string]any, string, error) {
	c.t.Helper()
	cmd := exec.Command(c.aws, append([]string{"--endpoint-url", c.endpoint, "--output", "json", service}, args...)...)
	cmd.Env = awsEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if len(bytes.TrimSpace(stdout.Bytes())) > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			c.t.Fatalf("aws %s %s: output is not JSON: %v\n%s", service, args[0], jerr, stdout.String())
		}
	}
	return out, stderr.String(), err
}

// must runs the command and fails the test if it fails.
func (c awsCLI) must(service string, args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.run(service, args...)
	if err != nil {
		c.t.Fatalf("aws %s %s: %v\n%s", service, strings.Join(args, " "), err, stderr)
	}
	return out
}

// fails runs the command and checks that it fails with the error code
// ("" = any error).
func (c awsCLI) fails(code, service string, args ...string) {
	c.t.Helper()
	out, stderr, err := c.run(service, args...)
	if err == nil || code != "" && !strings.Contains(stderr, "("+code+")") {
		c.t.Errorf("aws %s %s: err=%v stdout=%v stderr=%q, want %s", service, strings.Join(args, " "), err, out, stderr, code)
	}
}

// field walks nested objects: field(m, "Target", "Arn").
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// isTimestamp reports whether v is a timestamp as the CLI v1 prints one:
// the wire's epoch seconds as they came, or an ISO 8601 string.
func isTimestamp(v any) bool {
	switch x := v.(type) {
	case float64:
		return x > 1e9 && x < 1e11
	case string:
		return len(x) >= 19 && x[4] == '-' && x[10] == 'T'
	}
	return false
}

// TestAWSCLIEvents drives asynchronous invocation, event-invoke configs,
// EventBridge Scheduler and EventBridge rules with the AWS CLI.
func TestAWSCLIEvents(t *testing.T) {
	aws := requireTool(t, "aws")
	p := laminatest.Start(t)
	zipPath := writeZip(t)
	cli := awsCLI{t: t, aws: aws, endpoint: p.Endpoint}

	const role = "arn:aws:iam::000000000000:role/lamina"
	const fnArn = "arn:aws:lambda:us-east-1:000000000000:function:async-fn"
	const dlqArn = "arn:aws:lambda:us-east-1:000000000000:function:on-failure"
	for _, name := range []string{"async-fn", "on-failure"} {
		cli.must("lambda", "create-function", "--function-name", name, "--runtime", "provided.al2023",
			"--role", role, "--handler", "bootstrap", "--zip-file", "fileb://"+zipPath)
		cli.must("lambda", "wait", "function-active-v2", "--function-name", name)
	}

	t.Run("InvokeEvent", func(t *testing.T) {
		cli := awsCLI{t: t, aws: aws, endpoint: p.Endpoint}
		outFile := filepath.Join(t.TempDir(), "out.json")
		out := cli.must("lambda", "invoke", "--function-name", "async-fn", "--invocation-type", "Event",
			"--payload", "{}", outFile)
		if sc, _ := out["StatusCode"].(float64); sc != 202 {
			t.Errorf("invoke --invocation-type Event: StatusCode = %v, want 202 (%v)", out["StatusCode"], out)
		}
		if _, ok := out["FunctionError"]; ok {
			t.Errorf("invoke --invocation-type Event: FunctionError in %v", out)
		}
		cli.fails("ResourceNotFoundException", "lambda", "invoke", "--function-name", "missing-fn",
			"--invocation-type", "Event", "--payload", "{}", filepath.Join(t.TempDir(), "missing.json"))
	})

	t.Run("EventInvokeConfig", func(t *testing.T) {
		cli := awsCLI{t: t, aws: aws, endpoint: p.Endpoint}
		put := cli.must("lambda", "put-function-event-invoke-config", "--function-name", "async-fn",
			"--maximum-retry-attempts", "1", "--maximum-event-age-in-seconds", "120")
		if put["FunctionArn"] != fnArn+":$LATEST" {
			t.Errorf("put FunctionArn = %v, want %s:$LATEST", put["FunctionArn"], fnArn)
		}
		if put["MaximumRetryAttempts"] != 1.0 || put["MaximumEventAgeInSeconds"] != 120.0 {
			t.Errorf("put = %v, want MaximumRetryAttempts 1, MaximumEventAgeInSeconds 120", put)
		}
		if !isTimestamp(put["LastModified"]) {
			t.Errorf("put LastModified = %#v, want a timestamp", put["LastModified"])
		}

		got := cli.must("lambda", "get-function-event-invoke-config", "--function-name", "async-fn")
		if got["MaximumRetryAttempts"] != 1.0 || got["MaximumEventAgeInSeconds"] != 120.0 || got["FunctionArn"] != fnArn+":$LATEST" {
			t.Errorf("get = %v", got)
		}

		upd := cli.must("lambda", "update-function-event-invoke-config", "--function-name", "async-fn",
			"--destination-config", `{"OnFailure":{"Destination":"`+dlqArn+`"}}`)
		if d := field(upd, "DestinationConfig", "OnFailure", "Destination"); d != dlqArn {
			t.Errorf("update OnFailure = %v, want %s (%v)", d, dlqArn, upd)
		}
		if upd["MaximumRetryAttempts"] != 1.0 || upd["MaximumEventAgeInSeconds"] != 120.0 {
			t.Errorf("update dropped the retry settings: %v", upd)
		}

		list := cli.must("lambda", "list-function-event-invoke-configs", "--function-name", "async-fn")
		cfgs, _ := list["FunctionEventInvokeConfigs"].([]any)
		if len(cfgs) != 1 {
			t.Fatalf("list: %d configs, want 1: %v", len(cfgs), list)
		}
		if c, _ := cfgs[0].(map[string]any); field(c, "DestinationConfig", "OnFailure", "Destination") != dlqArn || c["FunctionArn"] != fnArn+":$LATEST" {
			t.Errorf("list[0] = %v", c)
		}

		cli.fails("InvalidParameterValueException", "lambda", "put-function-event-invoke-config",
			"--function-name", "async-fn", "--maximum-retry-attempts", "5")

		cli.must("lambda", "delete-function-event-invoke-config", "--function-name", "async-fn")
		cli.fails("ResourceNotFoundException", "lambda", "get-function-event-invoke-config", "--function-name", "async-fn")
		if list := cli.must("lambda", "list-function-event-invoke-configs", "--function-name", "async-fn"); len(list["FunctionEventInvokeConfigs"].([]any)) != 0 {
			t.Errorf("list after delete: %v", list)
		}
	})

	t.Run("Scheduler", func(t *testing.T) {
		cli := awsCLI{t: t, aws: aws, endpoint: p.Endpoint}
		const schedArn = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s1"
		target := "Arn=" + fnArn + ",RoleArn=arn:aws:iam::000000000000:role/x"
		created := cli.must("scheduler", "create-schedule", "--name", "s1", "--schedule-expression", "rate(5 minutes)",
			"--flexible-time-window", "Mode=OFF", "--target", target)
		if created["ScheduleArn"] != schedArn {
			t.Errorf("create-schedule ScheduleArn = %v, want %s", created["ScheduleArn"], schedArn)
		}
		cli.fails("ConflictException", "scheduler", "create-schedule", "--name", "s1", "--schedule-expression", "rate(5 minutes)",
			"--flexible-time-window", "Mode=OFF", "--target", target)

		got := cli.must("scheduler", "get-schedule", "--name", "s1")
		for k, want := range map[string]any{
			"Arn": schedArn, "Name": "s1", "GroupName": "default", "State": "ENABLED",
			"ScheduleExpression": "rate(5 minutes)",
		} {
			if got[k] != want {
				t.Errorf("get-schedule %s = %v, want %v", k, got[k], want)
			}
		}
		if field(got, "Target", "Arn") != fnArn || field(got, "Target", "RoleArn") != "arn:aws:iam::000000000000:role/x" {
			t.Errorf("get-schedule Target = %v", got["Target"])
		}
		// AWS's defaults for what the command left out.
		if got["ActionAfterCompletion"] != "NONE" || field(got, "Target", "RetryPolicy", "MaximumRetryAttempts") != 185.0 ||
			field(got, "Target", "RetryPolicy", "MaximumEventAgeInSeconds") != 86400.0 {
			t.Errorf("get-schedule ActionAfterCompletion = %v, Target.RetryPolicy = %v, want NONE and 185/86400",
				got["ActionAfterCompletion"], field(got, "Target", "RetryPolicy"))
		}
		if field(got, "FlexibleTimeWindow", "Mode") != "OFF" {
			t.Errorf("get-schedule FlexibleTimeWindow = %v", got["FlexibleTimeWindow"])
		}
		if !isTimestamp(got["CreationDate"]) || !isTimestamp(got["LastModificationDate"]) {
			t.Errorf("get-schedule CreationDate = %#v, LastModificationDate = %#v, want timestamps", got["CreationDate"], got["LastModificationDate"])
		}

		list := cli.must("scheduler", "list-schedules")
		scheds, _ := list["Schedules"].([]any)
		if len(scheds) != 1 {
			t.Fatalf("list-schedules: %d schedules, want 1: %v", len(scheds), list)
		}
		if s, _ := scheds[0].(map[string]any); s["Name"] != "s1" || s["Arn"] != schedArn || s["State"] != "ENABLED" || field(s, "Target", "Arn") != fnArn {
			t.Errorf("list-schedules[0] = %v", s)
		}

		upd := cli.must("scheduler", "update-schedule", "--name", "s1", "--schedule-expression", "cron(0 12 * * ? *)",
			"--schedule-expression-timezone", "Europe/Berlin", "--state", "DISABLED",
			"--flexible-time-window", "Mode=FLEXIBLE,MaximumWindowInMinutes=10", "--target", target)
		if upd["ScheduleArn"] != schedArn {
			t.Errorf("update-schedule ScheduleArn = %v", upd["ScheduleArn"])
		}
		got = cli.must("scheduler", "get-schedule", "--name", "s1", "--group-name", "default")
		if got["ScheduleExpression"] != "cron(0 12 * * ? *)" || got["ScheduleExpressionTimezone"] != "Europe/Berlin" ||
			got["State"] != "DISABLED" || field(got, "FlexibleTimeWindow", "MaximumWindowInMinutes") != 10.0 {
			t.Errorf("get-schedule after update = %v", got)
		}
		if list := cli.must("scheduler", "list-schedules", "--state", "ENABLED"); len(list["Schedules"].([]any)) != 0 {
			t.Errorf("list-schedules --state ENABLED after disabling: %v", list)
		}

		// Groups.
		g := cli.must("scheduler", "create-schedule-group", "--name", "g1")
		if g["ScheduleGroupArn"] != "arn:aws:scheduler:us-east-1:000000000000:schedule-group/g1" {
			t.Errorf("create-schedule-group ScheduleGroupArn = %v", g["ScheduleGroupArn"])
		}
		groups := cli.must("scheduler", "list-schedule-groups")
		names := map[string]bool{}
		gl, _ := groups["ScheduleGroups"].([]any)
		for _, x := range gl {
			gm, _ := x.(map[string]any)
			names[gm["Name"].(string)] = true
			if gm["State"] != "ACTIVE" || !isTimestamp(gm["CreationDate"]) {
				t.Errorf("list-schedule-groups entry = %v", gm)
			}
		}
		if !names["default"] || !names["g1"] {
			t.Errorf("list-schedule-groups = %v, want default and g1", groups)
		}
		cli.must("scheduler", "create-schedule", "--name", "in-g1", "--group-name", "g1",
			"--schedule-expression", "rate(1 hour)", "--flexible-time-window", "Mode=OFF", "--target", target)
		if l := cli.must("scheduler", "list-schedules", "--group-name", "g1"); len(l["Schedules"].([]any)) != 1 {
			t.Errorf("list-schedules --group-name g1 = %v, want in-g1", l)
		}
		cli.must("scheduler", "delete-schedule-group", "--name", "g1")
		// AWS refuses to delete the default group; its docs name no error code.
		cli.fails("", "scheduler", "delete-schedule-group", "--name", "default")

		// Both day fields set.
		cli.fails("ValidationException", "scheduler", "create-schedule", "--name", "bad", "--schedule-expression", "cron(0 0 * * * *)",
			"--flexible-time-window", "Mode=OFF", "--target", target)
		cli.fails("ResourceNotFoundException", "scheduler", "get-schedule", "--name", "bad")

		cli.must("scheduler", "delete-schedule", "--name", "s1")
		cli.fails("ResourceNotFoundException", "scheduler", "get-schedule", "--name", "s1")
		cli.fails("ResourceNotFoundException", "scheduler", "delete-schedule", "--name", "s1")
	})

	t.Run("Rules", func(t *testing.T) {
		cli := awsCLI{t: t, aws: aws, endpoint: p.Endpoint}
		const ruleArn = "arn:aws:events:us-east-1:000000000000:rule/r1"
		put := cli.must("events", "put-rule", "--name", "r1", "--schedule-expression", "rate(5 minutes)")
		if put["RuleArn"] != ruleArn {
			t.Errorf("put-rule RuleArn = %v, want %s", put["RuleArn"], ruleArn)
		}
		pt := cli.must("events", "put-targets", "--rule", "r1", "--targets", "Id=t1,Arn="+fnArn)
		if pt["FailedEntryCount"] != 0.0 {
			t.Errorf("put-targets = %v, want FailedEntryCount 0", pt)
		}
		lt := cli.must("events", "list-targets-by-rule", "--rule", "r1")
		targets, _ := lt["Targets"].([]any)
		if len(targets) != 1 {
			t.Fatalf("list-targets-by-rule: %v, want one target", lt)
		}
		if tg, _ := targets[0].(map[string]any); tg["Id"] != "t1" || tg["Arn"] != fnArn {
			t.Errorf("list-targets-by-rule[0] = %v", tg)
		}

		d := cli.must("events", "describe-rule", "--name", "r1")
		for k, want := range map[string]any{
			"Name": "r1", "Arn": ruleArn, "State": "ENABLED", "ScheduleExpression": "rate(5 minutes)", "EventBusName": "default",
		} {
			if d[k] != want {
				t.Errorf("describe-rule %s = %v, want %v", k, d[k], want)
			}
		}
		cli.must("events", "disable-rule", "--name", "r1")
		if d := cli.must("events", "describe-rule", "--name", "r1"); d["State"] != "DISABLED" {
			t.Errorf("describe-rule after disable-rule: State = %v", d["State"])
		}
		cli.must("events", "enable-rule", "--name", "r1")
		if d := cli.must("events", "describe-rule", "--name", "r1"); d["State"] != "ENABLED" {
			t.Errorf("describe-rule after enable-rule: State = %v", d["State"])
		}

		lr := cli.must("events", "list-rules")
		rules, _ := lr["Rules"].([]any)
		if len(rules) != 1 {
			t.Fatalf("list-rules: %v, want r1", lr)
		}
		if r, _ := rules[0].(map[string]any); r["Name"] != "r1" || r["Arn"] != ruleArn || r["State"] != "ENABLED" {
			t.Errorf("list-rules[0] = %v", r)
		}
		if byTarget := cli.must("events", "list-rule-names-by-target", "--target-arn", fnArn); len(byTarget["RuleNames"].([]any)) != 1 {
			t.Errorf("list-rule-names-by-target = %v, want [r1]", byTarget)
		}

		cli.fails("ValidationException", "events", "delete-rule", "--name", "r1")
		rt := cli.must("events", "remove-targets", "--rule", "r1", "--ids", "t1")
		if rt["FailedEntryCount"] != 0.0 {
			t.Errorf("remove-targets = %v, want FailedEntryCount 0", rt)
		}
		cli.must("events", "delete-rule", "--name", "r1")
		cli.fails("ResourceNotFoundException", "events", "describe-rule", "--name", "r1")
		if lr := cli.must("events", "list-rules"); len(lr["Rules"].([]any)) != 0 {
			t.Errorf("list-rules after delete-rule = %v", lr)
		}
	})
}

// TestBoto3Events drives the same APIs with boto3.
func TestBoto3Events(t *testing.T) {
	python := requireTool(t, "python3")
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Fatalf("boto3 is not installed for %s; .ci/run installs it", python)
	}
	p := laminatest.Start(t)
	cmd := exec.Command(python, "testdata/boto3_events.py", p.Endpoint, writeZip(t))
	cmd.Env = awsEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 events script failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 events ok") {
		t.Fatalf("boto3 events script did not finish:\n%s", out)
	}
}
