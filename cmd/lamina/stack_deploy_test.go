package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

const failingV1 = `Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: greeter
      Runtime: python3.12
      Handler: app.handler
      Environment:
        Variables:
          JOBS_URL: !Ref Jobs
Outputs:
  JobsUrl:
    Value: !Ref Jobs
`

// failingV2 adds a queue and a schedule whose expression the service
// refuses: the deploy must fail on the schedule and undo the new queue.
const failingV2 = failingV1 + `  Extra:
    Value: !Ref Extra
`

const failingV2Resources = `  Extra:
    Type: AWS::SQS::Queue
  Broken:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(99 * * * ? *)
      FlexibleTimeWindow:
        Mode: "OFF"
      Target:
        Arn: !GetAtt Extra.Arn
        RoleArn: arn:aws:iam::000000000000:role/scheduler
`

// TestDeployFailureKeepsThePreviousStack: a deploy that fails on one
// resource names it and the service's reason, removes what it created, and
// leaves the stack's earlier resources working; the state says Failed, and
// fixing the template lets the next deploy finish.
func TestDeployFailureKeepsThePreviousStack(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed (.ci/run installs it)")
	}
	p := laminatest.Start(t)
	dir := filepath.Join(t.TempDir(), "greet")
	if err := os.MkdirAll(filepath.Join(dir, "greeter"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "greeter", "app.py"), []byte("import os\ndef handler(event, context):\n    return {'jobs': os.environ['JOBS_URL']}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "template.yaml")
	write := func(body string) {
		if err := os.WriteFile(tmpl, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	lc, qc := lambda.NewFromConfig(p.AWSConfig()), sqs.NewFromConfig(p.AWSConfig())
	invoke := func() string {
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("greet-Greeter")})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke: %v %s", err, out.Payload)
		}
		return string(out.Payload)
	}

	write(failingV1)
	if _, errOut, err := runCLI(t, "deploy", "-t", tmpl, "--endpoint", p.Endpoint); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, errOut)
	}
	before := invoke()

	v2 := strings.Replace(failingV2, "Outputs:\n", failingV2Resources+"Outputs:\n", 1)
	write(v2)
	_, errOut, err := runCLI(t, "deploy", "-t", tmpl, "--endpoint", p.Endpoint)
	if err == nil {
		t.Fatal("a deploy with an invalid schedule succeeded")
	}
	for _, want := range []string{"Broken", "Schedule", "ValidationException", "out of range", "rolled back 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "RequestID") {
		t.Errorf("error carries the SDK's request details: %v", err)
	}
	if !strings.Contains(errOut, "rollback Extra") {
		t.Errorf("no rollback progress:\n%s", errOut)
	}
	queues, _ := qc.ListQueues(ctx, &sqs.ListQueuesInput{})
	if len(queues.QueueUrls) != 1 || !strings.HasSuffix(queues.QueueUrls[0], "/greet-Jobs") {
		t.Errorf("queues after the failed deploy: %v", queues.QueueUrls)
	}
	if got := invoke(); got != before {
		t.Errorf("function answers %s after the failed deploy, %s before", got, before)
	}
	out, _, err := runCLI(t, "stacks", "describe", "greet", "--endpoint", p.Endpoint, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var s deploy.StackState
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	if s.Status != deploy.StatusFailed || !strings.Contains(s.Reason, "Broken") || s.Resources["Greeter"] == nil || s.Resources["Extra"] != nil {
		t.Errorf("state after failure: status %s reason %q resources %d", s.Status, s.Reason, len(s.Resources))
	}

	// Fixed: the next deploy creates what was missing.
	write(strings.Replace(v2, "cron(99 * * * ? *)", "rate(1 hour)", 1))
	if _, errOut, err := runCLI(t, "deploy", "-t", tmpl, "--endpoint", p.Endpoint); err != nil {
		t.Fatalf("fixed deploy: %v\n%s", err, errOut)
	} else if !strings.Contains(errOut, "2 to create") {
		t.Errorf("fixed deploy plan:\n%s", errOut)
	}
	out, _, _ = runCLI(t, "stacks", "list", "--endpoint", p.Endpoint)
	if !strings.Contains(out, "greet") || !strings.Contains(out, "Deployed") {
		t.Errorf("stacks list:\n%s", out)
	}
}
