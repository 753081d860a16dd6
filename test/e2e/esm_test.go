package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// esmMessages is how many messages TestQueuePoison sends: 10,000 by
// default, LAMINA_E2E_ESM_MESSAGES to change it.
func esmMessages(t *testing.T) int {
	n := 10000
	if s := os.Getenv("LAMINA_E2E_ESM_MESSAGES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 20 {
			t.Fatalf("LAMINA_E2E_ESM_MESSAGES=%q: want a number ≥ 20", s)
		}
		n = v
	}
	return n
}

// TestQueuePoison is the poison-message scenario: a queue with a redrive
// policy holds thousands of messages of which ten are poison; a real Go
// function behind an event source mapping with ReportBatchItemFailures
// reports those ten as failed items. Every good message must be processed,
// the ten must end in the dead-letter queue after maxReceiveCount
// deliveries, and the source queue must drain: one poison message never
// stalls a queue.
func TestQueuePoison(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real function over thousands of messages")
	}
	total := esmMessages(t)
	const poison = 10
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lc := lambda.NewFromConfig(p.AWSConfig())
	qc := sqs.NewFromConfig(p.AWSConfig())

	dlq, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("poison-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqARN := queueARN(ctx, t, qc, dlq.QueueUrl)
	src, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String("poison-src"),
		Attributes: map[string]string{
			"VisibilityTimeout": "2",
			"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"2"}`, dlqARN),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srcARN := queueARN(ctx, t, qc, src.QueueUrl)

	// Thousands of good messages with the poison ones spread among them.
	bodies := make([]string, total)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("good-%d", i)
	}
	for i := 0; i < poison; i++ {
		j := (i*total)/poison + total/(2*poison)
		bodies[j] = fmt.Sprintf("poison-%d", i)
	}
	sendAll(ctx, t, qc, src.QueueUrl, bodies)

	out := filepath.Join(recordDir(t), "processed")
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("sqs-worker"),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: gofnZip(t)},
		Timeout:      aws.Int32(2),
		Environment:  &types.Environment{Variables: map[string]string{"SQS_BATCH": out}},
	}); err != nil {
		t.Fatal(err)
	}
	m, err := lc.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName:                   aws.String("sqs-worker"),
		EventSourceArn:                 aws.String(srcARN),
		BatchSize:                      aws.Int32(100),
		MaximumBatchingWindowInSeconds: aws.Int32(1),
		FunctionResponseTypes:          []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures},
		ScalingConfig:                  &types.ScalingConfig{MaximumConcurrency: aws.Int32(10)},
	})
	if err != nil {
		t.Fatal(err)
	}

	// Every good message processed (at least once), none of the poison.
	good := total - poison
	deadline := time.Now().Add(2 * time.Minute)
	var seen map[string]bool
	for {
		seen = map[string]bool{}
		for _, l := range readLines(out) {
			seen[l] = true
		}
		if len(seen) >= good || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(seen) != good {
		t.Fatalf("%d distinct good messages processed, want %d", len(seen), good)
	}
	for b := range seen {
		if !strings.HasPrefix(b, "good-") {
			t.Fatalf("processed %q", b)
		}
	}

	// The ten poison messages end in the DLQ and the source drains.
	for {
		src := queueCounts(ctx, t, qc, src.QueueUrl)
		dead := queueCounts(ctx, t, qc, dlq.QueueUrl)
		if src == [3]int{} && dead[0] == poison {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("source counts %v (visible, in flight, delayed), DLQ %v; want the source empty and %d in the DLQ", src, dead, poison)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dead := map[string]bool{}
	for len(dead) < poison {
		got, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) == 0 {
			break
		}
		for _, msg := range got.Messages {
			dead[aws.ToString(msg.Body)] = true
		}
	}
	if len(dead) != poison {
		t.Fatalf("DLQ holds %v", dead)
	}
	for b := range dead {
		if !strings.HasPrefix(b, "poison-") {
			t.Errorf("DLQ holds %q", b)
		}
	}
	got, err := lc.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: m.UUID})
	if err != nil || aws.ToString(got.State) != "Enabled" || aws.ToString(got.LastProcessingResult) != "OK" {
		t.Errorf("mapping after the run: %+v, %v", got, err)
	}
}

func queueARN(ctx context.Context, t *testing.T, qc *sqs.Client, url *string) string {
	t.Helper()
	out, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Attributes["QueueArn"]
}

// queueCounts is (visible, in flight, delayed).
func queueCounts(ctx context.Context, t *testing.T, qc *sqs.Client, url *string) [3]int {
	t.Helper()
	out, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: url,
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		}})
	if err != nil {
		t.Fatal(err)
	}
	var c [3]int
	for i, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
		c[i], _ = strconv.Atoi(out.Attributes[k])
	}
	return c
}

// sendAll sends bodies with SendMessageBatch from a few senders.
func sendAll(ctx context.Context, t *testing.T, qc *sqs.Client, url *string, bodies []string) {
	t.Helper()
	const senders = 4
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			for from := s * 10; from < len(bodies); from += senders * 10 {
				var entries []sqstypes.SendMessageBatchRequestEntry
				for i := from; i < min(from+10, len(bodies)); i++ {
					entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])})
				}
				out, err := qc.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: url, Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = fmt.Errorf("send failed: %+v", out.Failed[0])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(s)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
