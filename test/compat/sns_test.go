package compat

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestAWSCLISNS drives topics with the AWS CLI (v1, SNS's query protocol):
// a queue subscribed to a topic receives what is published, in SNS's
// envelope.
func TestAWSCLISNS(t *testing.T) {
	p := laminatest.Start(t)
	cli := awsCLI{t: t, aws: requireTool(t, "aws"), endpoint: p.Endpoint}

	topicARN, _ := cli.must("sns", "create-topic", "--name", "orders",
		"--attributes", "DisplayName=Orders", "--tags", "Key=team,Value=a")["TopicArn"].(string)
	if topicARN != "arn:aws:sns:us-east-1:000000000000:orders" {
		t.Fatalf("TopicArn = %q", topicARN)
	}
	attrs := cli.must("sns", "get-topic-attributes", "--topic-arn", topicARN)
	if field(attrs, "Attributes", "DisplayName") != "Orders" {
		t.Errorf("get-topic-attributes = %v", attrs)
	}

	queueURL, _ := cli.must("sqs", "create-queue", "--queue-name", "inbox")["QueueUrl"].(string)
	qattrs := cli.must("sqs", "get-queue-attributes", "--queue-url", queueURL, "--attribute-names", "QueueArn")
	queueARN, _ := field(qattrs, "Attributes", "QueueArn").(string)
	if queueARN == "" {
		t.Fatalf("no QueueArn: %v", qattrs)
	}

	subARN, _ := cli.must("sns", "subscribe", "--topic-arn", topicARN, "--protocol", "sqs",
		"--notification-endpoint", queueARN, "--return-subscription-arn")["SubscriptionArn"].(string)
	if !strings.HasPrefix(subARN, topicARN+":") {
		t.Fatalf("SubscriptionArn = %q", subARN)
	}
	cli.fails("InvalidParameter", "sns", "subscribe", "--topic-arn", topicARN, "--protocol", "smoke-signal", "--notification-endpoint", "x")

	msgID, _ := cli.must("sns", "publish", "--topic-arn", topicARN, "--message", "hello from the CLI",
		"--subject", "greeting", "--message-attributes", `{"kind":{"DataType":"String","StringValue":"order"}}`)["MessageId"].(string)
	if msgID == "" {
		t.Fatal("publish returned no MessageId")
	}
	cli.fails("NotFound", "sns", "publish", "--topic-arn", topicARN+"-missing", "--message", "x")

	got := cli.must("sqs", "receive-message", "--queue-url", queueURL, "--wait-time-seconds", "10")
	msgs, _ := got["Messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("receive-message = %v", got)
	}
	body, _ := field(msgs[0].(map[string]any), "Body").(string)
	var env map[string]any
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("body is not an SNS envelope: %v\n%s", err, body)
	}
	if env["Type"] != "Notification" || env["MessageId"] != msgID || env["TopicArn"] != topicARN ||
		env["Message"] != "hello from the CLI" || env["Subject"] != "greeting" ||
		field(env, "MessageAttributes", "kind", "Value") != "order" {
		t.Errorf("envelope = %v", env)
	}

	subs := cli.must("sns", "list-subscriptions")
	list, _ := subs["Subscriptions"].([]any)
	if len(list) != 1 || field(list[0].(map[string]any), "SubscriptionArn") != subARN || field(list[0].(map[string]any), "Endpoint") != queueARN {
		t.Errorf("list-subscriptions = %v", subs)
	}
	byTopic := cli.must("sns", "list-subscriptions-by-topic", "--topic-arn", topicARN)
	if l, _ := byTopic["Subscriptions"].([]any); len(l) != 1 {
		t.Errorf("list-subscriptions-by-topic = %v", byTopic)
	}
	cli.must("sns", "unsubscribe", "--subscription-arn", subARN)
	if l, _ := cli.must("sns", "list-subscriptions")["Subscriptions"].([]any); len(l) != 0 {
		t.Errorf("subscriptions after unsubscribe: %v", l)
	}
	cli.must("sns", "delete-topic", "--topic-arn", topicARN)
	if l, _ := cli.must("sns", "list-topics")["Topics"].([]any); len(l) != 0 {
		t.Errorf("topics after delete-topic: %v", l)
	}
	cli.fails("NotFound", "sns", "get-topic-attributes", "--topic-arn", topicARN)
}
