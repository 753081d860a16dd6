package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/topic"
)

// startMessagingEdge serves an edge with the real queue and topic
// services, the parts `lamina queues` and `lamina topics` talk to.
func startMessagingEdge(t *testing.T) (string, *queue.Service) {
	t.Helper()
	ctx, st, quiet := openTestStore(t)
	qs, err := queue.New(ctx, queue.Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qs.Close() })
	var srv *httptest.Server
	ts, err := topic.New(ctx, topic.Options{Store: st, Logger: quiet, Queues: qs, BaseURL: func() string { return srv.URL }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	srv = httptest.NewServer(awsapi.New(awsapi.Options{Queues: qs, Topics: ts, Logger: quiet}))
	t.Cleanup(srv.Close)
	return srv.URL, qs
}

func TestQueuesAndTopicsCommands(t *testing.T) {
	endpoint, qs := startMessagingEdge(t)
	ctx := t.Context()
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append([]string{"--endpoint", endpoint}, args...)...)
	}
	must := func(args ...string) string {
		t.Helper()
		out, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("lamina %q: %v\n%s", args, err, stderr)
		}
		return out
	}

	if _, stderr, err := run("queues", "list"); err != nil || !strings.Contains(stderr, "no queues") {
		t.Fatalf("empty list: %q %v", stderr, err)
	}
	if _, err := qs.CreateQueue(ctx, "jobs-dlq", nil, nil); err != nil {
		t.Fatal(err)
	}
	redrive := `{"deadLetterTargetArn":"` + qs.ARN("jobs-dlq") + `","maxReceiveCount":"1"}`
	if _, err := qs.CreateQueue(ctx, "jobs", map[string]string{queue.AttrRedrivePolicy: redrive}, nil); err != nil {
		t.Fatal(err)
	}

	// send: one message with attributes, then 25 copies in batches.
	id := strings.TrimSpace(must("queues", "send", "jobs", "--body", `{"n":1}`, "--attr", "source=cli", "--attr", "prio:Number=3"))
	if len(id) < 30 {
		t.Fatalf("send printed %q, want a message id", id)
	}
	// receive --output json shows the attributes; with --visibility 0s the
	// message is visible again at once.
	out := must("queues", "receive", "jobs", "--output", "json", "--visibility", "0s")
	var got struct {
		Messages []struct {
			MessageId         string
			Body              string
			MessageAttributes map[string]struct{ StringValue, DataType string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Messages) != 1 || got.Messages[0].MessageId != id ||
		got.Messages[0].MessageAttributes["prio"].DataType != "Number" || got.Messages[0].MessageAttributes["source"].StringValue != "cli" {
		t.Fatalf("receive json: %s (%v)", out, err)
	}
	// Received once already with maxReceiveCount 1: the next receive moves
	// it to the dead-letter queue instead of returning it.
	if _, stderr, err := run("queues", "receive", "jobs", "--wait", "1s"); err != nil || !strings.Contains(stderr, "no messages") {
		t.Fatalf("receive of a message over maxReceiveCount: %q %v", stderr, err)
	}
	if c, _ := qs.Counts(ctx, "jobs-dlq"); c.Visible != 1 {
		t.Fatalf("DLQ counts %+v, want the first message", c)
	}
	if out := must("queues", "send", "jobs", "--body", "copy", "--count", "25"); !strings.Contains(out, "sent 25 messages to jobs") {
		t.Errorf("send --count: %q", out)
	}
	out = must("queues", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "jobs ") || !strings.Contains(lines[1], "25") ||
		!strings.Contains(lines[1], "jobs-dlq (after 1 receives)") || !strings.HasPrefix(lines[2], "jobs-dlq") {
		t.Fatalf("list:\n%s", out)
	}

	// --delete deletes what it prints.
	out = must("queues", "receive", "jobs", "--max", "10", "--delete")
	if strings.Count(out, "copy") != 10 {
		t.Fatalf("receive --delete:\n%s", out)
	}
	if c, _ := qs.Counts(ctx, "jobs"); c.Visible != 15 || c.NotVisible != 0 {
		t.Fatalf("jobs after receive --delete: %+v, want 15 visible", c)
	}

	// redrive moves it back and reports progress.
	out, stderr, err := run("queues", "redrive", "jobs-dlq")
	if err != nil || !strings.Contains(out, "moved 1 messages from jobs-dlq") || !strings.Contains(stderr, "moved") {
		t.Fatalf("redrive: %q %q %v", out, stderr, err)
	}
	if c, _ := qs.Counts(ctx, "jobs"); c.Visible != 16 {
		t.Errorf("jobs after redrive: %+v, want 15 copies and the redriven message", c)
	}
	if out := must("queues", "purge", "jobs"); !strings.Contains(out, "purged jobs") {
		t.Errorf("purge: %q", out)
	}
	if c, _ := qs.Counts(ctx, "jobs"); c.Visible != 0 {
		t.Errorf("jobs after purge: %+v", c)
	}

	// Errors are the user's, in words.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"queues", "send", "nope", "--body", "x"}, `no queue named "nope"`},
		{[]string{"queues", "receive", "jobs", "--max", "11"}, "--max must be between 1 and 10"},
		{[]string{"queues", "send", "jobs", "--body", "x", "--attr", "novalue"}, "want NAME=VALUE"},
		{[]string{"queues", "redrive", "jobs"}, "must be configured as a Dead Letter Queue"},
		{[]string{"topics", "publish", "missing", "--message", "x"}, `no topic named "missing"`},
	} {
		_, stderr, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error()+stderr, tc.want) {
			t.Errorf("lamina %q: err %v, stderr %q; want %q", tc.args, err, stderr, tc.want)
		}
	}

	// topics: list with subscriptions, publish reaches the subscribed queue.
	if _, stderr, err := run("topics", "list"); err != nil || !strings.Contains(stderr, "no topics") {
		t.Fatalf("empty topics list: %q %v", stderr, err)
	}
	if _, err := qs.CreateQueue(ctx, "audit", nil, nil); err != nil {
		t.Fatal(err)
	}
	client := sns.New(sns.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	created, err := client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: created.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(qs.ARN("audit"))}); err != nil {
		t.Fatal(err)
	}
	out = must("topics", "list")
	if !strings.Contains(out, "events") || !strings.Contains(out, "sqs:"+qs.ARN("audit")) {
		t.Fatalf("topics list:\n%s", out)
	}
	msgID := strings.TrimSpace(must("topics", "publish", "events", "--message", "hello", "--attr", "kind=order"))
	if len(msgID) < 30 {
		t.Fatalf("publish printed %q", msgID)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := qs.Receive(ctx, "audit", queue.ReceiveInput{Max: 1, Wait: time.Second, WaitSet: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 1 {
			if !strings.Contains(msgs[0].Body, `"Message":"hello"`) || !strings.Contains(msgs[0].Body, msgID) {
				t.Fatalf("delivered %s", msgs[0].Body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the published message never reached the subscribed queue")
		}
	}
}
