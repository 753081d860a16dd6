package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestSchedulesFireQueuesAndTopics fires a schedule into a queue directly,
// and another into a topic whose queue subscription receives it; a
// schedule on a queue that does not exist leaves dead letters rather than
// stopping the others.
func TestSchedulesFireQueuesAndTopics(t *testing.T) {
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	qc, tc, sch := sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg), scheduler.NewFromConfig(cfg)

	direct, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ticks")})
	if err != nil {
		t.Fatal(err)
	}
	fanned, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fanned")})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := tc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ticks")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint:   aws.String(queueARN(ctx, t, qc, fanned.QueueUrl)),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}
	create := func(name, arn, input string) {
		t.Helper()
		if _, err := sch.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name:               aws.String(name),
			ScheduleExpression: aws.String("rate(1 second)"),
			FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
			Target: &schtypes.Target{Arn: aws.String(arn), RoleArn: aws.String("arn:aws:iam::000000000000:role/scheduler"),
				Input: aws.String(input)},
		}); err != nil {
			t.Fatalf("create schedule %s: %v", name, err)
		}
	}
	create("missing-queue", "arn:aws:sqs:us-east-1:000000000000:nowhere", `{"to":"nowhere"}`)
	create("to-queue", queueARN(ctx, t, qc, direct.QueueUrl), `{"to":"queue","at":"<aws.scheduler.scheduled-time>"}`)
	create("to-topic", aws.ToString(topic.TopicArn), `{"to":"topic"}`)

	receive := func(url *string, want string) {
		t.Helper()
		for got := 0; got < 2; {
			out, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 5, MaxNumberOfMessages: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.Messages {
				if !strings.Contains(aws.ToString(m.Body), want) {
					t.Fatalf("message %q, want one containing %q", aws.ToString(m.Body), want)
				}
				got++
			}
			if ctx.Err() != nil {
				t.Fatalf("fewer than 2 firings reached %s", aws.ToString(url))
			}
		}
	}
	receive(direct.QueueUrl, `"to":"queue","at":"20`)
	receive(fanned.QueueUrl, `{"to":"topic"}`)

	// The firings to the missing queue are dead letters.
	deadline := time.Now().Add(10 * time.Second)
	for {
		dl := listDeadLetters(t, p.Endpoint, "")
		found := false
		for _, r := range dl.DeadLetters {
			if strings.Contains(r.FunctionName, "nowhere") && strings.Contains(string(r.Payload), "nowhere") {
				found = true
			}
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter for the missing queue: %+v", dl)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
