package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

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
// refuses, after changing the Jobs queue and (in the test) the function's
// code: the deploy must fail on the schedule, delete the new queue and put
// the queue and the function back as they were.
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
        Arn: !GetAtt Greeter.Arn
        RoleArn: arn:aws:iam::000000000000:role/scheduler
        Input: !Sub '{"queue": "${Extra}"}'
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
	writeCode := func(version int) {
		src := fmt.Sprintf("import os\ndef handler(event, context):\n    return {'jobs': os.environ['JOBS_URL'], 'version': %d}\n", version)
		if err := os.WriteFile(filepath.Join(dir, "greeter", "app.py"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCode(1)
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
	v2 = strings.Replace(v2, "    Type: AWS::SQS::Queue\n  Greeter:", "    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeout: 45\n  Greeter:", 1)
	write(v2)
	writeCode(2)
	_, errOut, err := runCLI(t, "deploy", "-t", tmpl, "--endpoint", p.Endpoint)
	if err == nil {
		t.Fatal("a deploy with an invalid schedule succeeded")
	}
	for _, want := range []string{"Broken", "Schedule", "ValidationException", "out of range", "rolled back 1", "restored 2"} {
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
	// The function runs its previous code again, and the queue has its
	// previous visibility timeout.
	if got := invoke(); got != before || !strings.Contains(got, `"version": 1`) {
		t.Errorf("function answers %s after the failed deploy, %s before", got, before)
	}
	attrs, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queues.QueueUrls[0]), AttributeNames: []sqstypes.QueueAttributeName{"VisibilityTimeout"}})
	if err != nil || attrs.Attributes["VisibilityTimeout"] != "30" {
		t.Errorf("queue after the failed deploy: %v %v (want VisibilityTimeout 30)", attrs, err)
	}
	if !strings.Contains(errOut, "rollback Greeter") || !strings.Contains(errOut, "rollback Jobs") {
		t.Errorf("no rollback progress for the updated resources:\n%s", errOut)
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
	if s.TemplateBody == "" {
		t.Error("the state does not keep the template's text")
	}

	// Fixed: the next deploy creates what was missing.
	write(strings.Replace(v2, "cron(99 * * * ? *)", "rate(1 hour)", 1))
	if _, errOut, err := runCLI(t, "deploy", "-t", tmpl, "--endpoint", p.Endpoint); err != nil {
		t.Fatalf("fixed deploy: %v\n%s", err, errOut)
	} else if !strings.Contains(errOut, "2 to create") || !strings.Contains(errOut, "2 to update") {
		t.Errorf("fixed deploy plan:\n%s", errOut)
	}
	if got := invoke(); !strings.Contains(got, `"version": 2`) {
		t.Errorf("after the fixed deploy the function answers %s", got)
	}
	out, _, _ = runCLI(t, "stacks", "list", "--endpoint", p.Endpoint)
	if !strings.Contains(out, "greet") || !strings.Contains(out, "Deployed") {
		t.Errorf("stacks list:\n%s", out)
	}
}

// A failed deploy puts an updated resource back as the previous deploy
// defined it even when that definition came from an AWS::Include snippet
// whose file has changed since: the snippets are kept with the stack.
func TestDeployFailureRestoresIncludedDefinitions(t *testing.T) {
	p := laminatest.Start(t)
	dir := filepath.Join(t.TempDir(), "inc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const tmpl = `Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      Fn::Transform: {Name: AWS::Include, Parameters: {Location: jobs.yaml}}
`
	write("template.yaml", tmpl)
	write("jobs.yaml", "VisibilityTimeout: 40\n")
	if _, errOut, err := runCLI(t, "deploy", "-t", filepath.Join(dir, "template.yaml"), "--endpoint", p.Endpoint); err != nil {
		t.Fatalf("first deploy: %v\n%s", err, errOut)
	}
	write("jobs.yaml", "VisibilityTimeout: 50\n")
	write("template.yaml", tmpl+`  Broken:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: cron(99 * * * ? *)
      FlexibleTimeWindow: {Mode: "OFF"}
      Target:
        Arn: !GetAtt Jobs.Arn
        RoleArn: arn:aws:iam::000000000000:role/scheduler
`)
	_, errOut, err := runCLI(t, "deploy", "-t", filepath.Join(dir, "template.yaml"), "--endpoint", p.Endpoint)
	if err == nil || !strings.Contains(err.Error(), "restored 1") {
		t.Fatalf("deploy with a broken schedule: %v\n%s", err, errOut)
	}
	qc := sqs.NewFromConfig(p.AWSConfig())
	url, err := qc.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("inc-Jobs")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := qc.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{"VisibilityTimeout"}})
	if err != nil || attrs.Attributes["VisibilityTimeout"] != "40" {
		t.Errorf("queue after the failed deploy: %v %v (want the included 40, not the file's new 50)", attrs, err)
	}
}
