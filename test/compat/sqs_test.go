package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// debianAWS is the AWS CLI whose SQS model still speaks the query protocol
// (Debian's 2.9); .ci/run installs it there.
const debianAWS = "/usr/bin/aws"

// sqsCLI runs `aws sqs ...` of one CLI binary against a platform.
type sqsCLI struct {
	t        *testing.T
	bin      string
	endpoint string
}

func (c sqsCLI) run(args ...string) (map[string]any, string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--endpoint-url", c.endpoint, "--output", "json", "sqs"}, args...)...)
	cmd.Env = awsEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var out map[string]any
	if stdout.Len() > 0 {
		if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
			c.t.Fatalf("aws sqs %s: output is not JSON: %v\n%s", args[0], jerr, stdout.String())
		}
	}
	return out, stderr.String(), err
}

func (c sqsCLI) must(args ...string) map[string]any {
	c.t.Helper()
	out, stderr, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("aws sqs %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// mustFail runs a command that must fail with code in its error output.
func (c sqsCLI) mustFail(code string, args ...string) {
	c.t.Helper()
	_, stderr, err := c.run(args...)
	if err == nil || !strings.Contains(stderr, code) {
		c.t.Errorf("aws sqs %s: err=%v stderr=%q, want %s", strings.Join(args, " "), err, stderr, code)
	}
}

func cliVersion(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeJSONFile(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "in.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return "file://" + p
}

// receiveAll receives until n messages are in hand (a receive may return
// fewer than are visible) or a receive comes back empty.
func receiveAll(c sqsCLI, url string, n int) []map[string]any {
	c.t.Helper()
	var msgs []map[string]any
	for len(msgs) < n {
		out := c.must("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
			"--attribute-names", "All", "--message-attribute-names", "All", "--wait-time-seconds", "1")
		got, _ := out["Messages"].([]any)
		if len(got) == 0 {
			break
		}
		for _, m := range got {
			msgs = append(msgs, m.(map[string]any))
		}
	}
	return msgs
}

// sqsCLIWalkthrough drives every SQS command the CLI has against p.
func sqsCLIWalkthrough(t *testing.T, c sqsCLI, prefix string, moveTasks bool) {
	created := c.must("create-queue", "--queue-name", prefix+"orders", "--attributes", "VisibilityTimeout=40", "--tags", "team=a")
	url, _ := created["QueueUrl"].(string)
	if url != c.endpoint+"/000000000000/"+prefix+"orders" {
		t.Fatalf("QueueUrl = %q", url)
	}
	dlqURL, _ := c.must("create-queue", "--queue-name", prefix+"orders-dlq")["QueueUrl"].(string)
	if got := c.must("get-queue-url", "--queue-name", prefix+"orders"); got["QueueUrl"] != url {
		t.Errorf("get-queue-url = %v", got)
	}
	if got := c.must("list-queues", "--queue-name-prefix", prefix+"orders"); len(got["QueueUrls"].([]any)) != 2 {
		t.Errorf("list-queues = %v", got)
	}
	c.must("set-queue-attributes", "--queue-url", url, "--attributes", writeJSONFile(t, map[string]string{
		"RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:` + prefix + `orders-dlq","maxReceiveCount":"3"}`,
	}))
	attrs, _ := c.must("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"].(map[string]any)
	if attrs["VisibilityTimeout"] != "40" || attrs["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:"+prefix+"orders" ||
		!strings.Contains(attrs["RedrivePolicy"].(string), prefix+"orders-dlq") {
		t.Errorf("attributes %v", attrs)
	}
	if got := c.must("list-dead-letter-source-queues", "--queue-url", dlqURL); len(got["queueUrls"].([]any)) != 1 {
		t.Errorf("list-dead-letter-source-queues = %v", got)
	}

	c.must("tag-queue", "--queue-url", url, "--tags", "env=dev")
	if tags, _ := c.must("list-queue-tags", "--queue-url", url)["Tags"].(map[string]any); tags["env"] != "dev" || tags["team"] != "a" {
		t.Errorf("tags %v", tags)
	}
	c.must("untag-queue", "--queue-url", url, "--tag-keys", "env")

	sent := c.must("send-message", "--queue-url", url, "--message-body", "hello <world> & ünïcode",
		"--message-attributes", `{"kind":{"DataType":"String","StringValue":"order"},"n":{"DataType":"Number","StringValue":"7"}}`)
	if sent["MessageId"] == "" || sent["MD5OfMessageBody"] == "" || sent["MD5OfMessageAttributes"] == nil {
		t.Errorf("send-message = %v", sent)
	}
	batch := c.must("send-message-batch", "--queue-url", url, "--entries", writeJSONFile(t, []map[string]any{
		{"Id": "a", "MessageBody": "one"},
		{"Id": "b", "MessageBody": "two", "MessageAttributes": map[string]any{"k": map[string]string{"DataType": "String", "StringValue": "v"}}},
	}))
	if ok, _ := batch["Successful"].([]any); len(ok) != 2 {
		t.Errorf("send-message-batch = %v", batch)
	}
	c.mustFail("BatchEntryIdsNotDistinct", "send-message-batch", "--queue-url", url, "--entries", writeJSONFile(t, []map[string]any{
		{"Id": "a", "MessageBody": "one"}, {"Id": "a", "MessageBody": "two"}}))

	msgs := receiveAll(c, url, 3)
	if len(msgs) != 3 {
		t.Fatalf("received %d messages, want 3: %v", len(msgs), msgs)
	}
	byBody := map[string]map[string]any{}
	for _, m := range msgs {
		byBody[m["Body"].(string)] = m
	}
	first := byBody["hello <world> & ünïcode"]
	if first == nil {
		t.Fatalf("messages %v", msgs)
	}
	ma, _ := first["MessageAttributes"].(map[string]any)
	kind, _ := ma["kind"].(map[string]any)
	sys, _ := first["Attributes"].(map[string]any)
	if kind["StringValue"] != "order" || kind["DataType"] != "String" || first["MD5OfBody"] != sent["MD5OfMessageBody"] ||
		first["MD5OfMessageAttributes"] != sent["MD5OfMessageAttributes"] || sys["ApproximateReceiveCount"] != "1" || sys["SentTimestamp"] == nil {
		t.Errorf("received %v", first)
	}

	// Make one visible again, delete the others one and two at a time.
	c.must("change-message-visibility", "--queue-url", url, "--receipt-handle", first["ReceiptHandle"].(string), "--visibility-timeout", "0")
	c.must("delete-message", "--queue-url", url, "--receipt-handle", byBody["one"]["ReceiptHandle"].(string))
	del := c.must("delete-message-batch", "--queue-url", url, "--entries", writeJSONFile(t, []map[string]string{
		{"Id": "x", "ReceiptHandle": byBody["two"]["ReceiptHandle"].(string)}}))
	if ok, _ := del["Successful"].([]any); len(ok) != 1 {
		t.Errorf("delete-message-batch = %v", del)
	}
	again := receiveAll(c, url, 1)
	if len(again) != 1 || again[0]["Body"] != "hello <world> & ünïcode" {
		t.Fatalf("after change-message-visibility: %v", again)
	}
	vis := c.must("change-message-visibility-batch", "--queue-url", url, "--entries", writeJSONFile(t, []map[string]any{
		{"Id": "v", "ReceiptHandle": again[0]["ReceiptHandle"], "VisibilityTimeout": 0}}))
	if ok, _ := vis["Successful"].([]any); len(ok) != 1 {
		t.Errorf("change-message-visibility-batch = %v", vis)
	}
	c.must("purge-queue", "--queue-url", url)
	if left := receiveAll(c, url, 1); len(left) != 0 {
		t.Errorf("after purge-queue: %v", left)
	}

	if moveTasks {
		// A message in the dead-letter queue to move back to its source.
		c.must("send-message", "--queue-url", dlqURL, "--message-body", "dead")
		dlqARN := "arn:aws:sqs:us-east-1:000000000000:" + prefix + "orders-dlq"
		started := c.must("start-message-move-task", "--source-arn", dlqARN, "--destination-arn", "arn:aws:sqs:us-east-1:000000000000:"+prefix+"orders")
		if started["TaskHandle"] == "" {
			t.Errorf("start-message-move-task = %v", started)
		}
		list := c.must("list-message-move-tasks", "--source-arn", dlqARN)
		if res, _ := list["Results"].([]any); len(res) != 1 || res[0].(map[string]any)["SourceArn"] != dlqARN {
			t.Errorf("list-message-move-tasks = %v", list)
		}
	}

	c.must("delete-queue", "--queue-url", url)
	c.mustFail("AWS.SimpleQueueService.NonExistentQueue", "get-queue-url", "--queue-name", prefix+"orders")
}

// TestSQSAWSCLI drives the SQS API with the AWS CLI: Debian's 2.9, which
// sends the query protocol, and the aws on PATH when it is another CLI
// (a newer one sends the JSON protocol).
func TestSQSAWSCLI(t *testing.T) {
	if _, err := os.Stat(debianAWS); err != nil {
		t.Fatalf("%s is missing; .ci/run installs Debian's awscli", debianAWS)
	}
	p := laminatest.Start(t)
	t.Run("query", func(t *testing.T) {
		t.Logf("%s: %s", debianAWS, cliVersion(t, debianAWS))
		// The 2.9 model predates message move tasks.
		sqsCLIWalkthrough(t, sqsCLI{t: t, bin: debianAWS, endpoint: p.Endpoint}, "q-", false)
	})
	other, err := exec.LookPath("aws")
	if err != nil {
		return
	}
	if real, err := filepath.EvalSymlinks(other); err == nil && real == debianAWS {
		t.Logf("the aws on PATH is %s: no second CLI to drive", debianAWS)
		return
	}
	t.Run("path", func(t *testing.T) {
		version := cliVersion(t, other)
		t.Logf("%s: %s", other, version)
		// Any CLI newer than Debian's has the message move task commands.
		moves := !strings.HasPrefix(version, "aws-cli/2.9.")
		sqsCLIWalkthrough(t, sqsCLI{t: t, bin: other, endpoint: p.Endpoint}, "j-", moves)
	})
}

// TestSQSBoto3 drives the SQS API with boto3 (JSON protocol for botocore
// 1.31.x and later).
func TestSQSBoto3(t *testing.T) {
	python := requireTool(t, "python3")
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Fatalf("boto3 is not installed for %s; .ci/run installs it", python)
	}
	p := laminatest.Start(t)
	cmd := exec.Command(python, "testdata/boto3_sqs.py", p.Endpoint)
	cmd.Env = awsEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 script failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 sqs ok") {
		t.Fatalf("boto3 script did not finish:\n%s", out)
	}
}

// TestSQSGoSDK drives the real queue service through aws-sdk-go-v2, whose
// SQS client checks the MD5 digests of what it sent: a digest the server
// computed differently fails the call.
func TestSQSGoSDK(t *testing.T) {
	p := laminatest.Start(t)
	ctx := t.Context()
	c := sqs.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(p.Endpoint)
		o.RetryMaxAttempts = 1
	})
	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("go-sdk")})
	if err != nil {
		t.Fatal(err)
	}
	url := created.QueueUrl
	attrs := map[string]sqstypes.MessageAttributeValue{
		"kind":  {DataType: aws.String("String"), StringValue: aws.String("order")},
		"n":     {DataType: aws.String("Number.int"), StringValue: aws.String("42")},
		"bytes": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 0xff, 7}},
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String("héllo\n\t<&>"), MessageAttributes: attrs,
		MessageSystemAttributes: map[string]sqstypes.MessageSystemAttributeValue{
			"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-5759e988-bd862e3fe1be46a994272793")}}})
	if err != nil {
		t.Fatal(err)
	}
	var entries []sqstypes.SendMessageBatchRequestEntry
	for i := range 10 {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String(fmt.Sprint("body ", i)), MessageAttributes: attrs})
	}
	batch, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
	if err != nil || len(batch.Successful) != 10 || len(batch.Failed) != 0 {
		t.Fatalf("SendMessageBatch = %+v, %v", batch, err)
	}
	var got []sqstypes.Message
	for len(got) < 11 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		got = append(got, out.Messages...)
	}
	if len(got) != 11 {
		t.Fatalf("received %d messages, want 11", len(got))
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	for i, m := range got {
		if aws.ToString(m.MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) || len(m.MessageAttributes) != 3 {
			t.Errorf("message %d: MD5OfMessageAttributes %s, want %s (%v)", i, aws.ToString(m.MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes), m.MessageAttributes)
		}
		if aws.ToString(m.MessageId) == aws.ToString(sent.MessageId) && (aws.ToString(m.Body) != "héllo\n\t<&>" || m.Attributes["AWSTraceHeader"] == "") {
			t.Errorf("first message %+v", m)
		}
		if i < 10 {
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if out, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: url, Entries: del}); err != nil || len(out.Successful) != 10 {
		t.Errorf("DeleteMessageBatch = %+v, %v", out, err)
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var missing *sqstypes.QueueDoesNotExist
	if !errors.As(err, &missing) || missing.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" {
		t.Errorf("GetQueueUrl of a missing queue: %v", err)
	}
}
