package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestAsyncDestinationsToQueuesAndTopics sends async invocation outcomes
// to a queue (on failure), to a topic that fans out to a queue (on
// success), and a function's DeadLetterConfig to a queue, and checks the
// records AWS's shapes and attributes.
func TestAsyncDestinationsToQueuesAndTopics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions")
	}
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	lc, qc, tc := lambda.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)

	newQueue := func(name string) (*string, string) {
		t.Helper()
		q, err := qc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		return q.QueueUrl, queueARN(ctx, t, qc, q.QueueUrl)
	}
	failedURL, failedARN := newQueue("failures")
	okURL, okARN := newQueue("successes")
	dlqURL, dlqARN := newQueue("fn-dlq")
	topic, err := tc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("outcomes")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(okARN), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	code := gofnZip(t)
	create := func(name string, dlq string) {
		t.Helper()
		in := &lambda.CreateFunctionInput{
			FunctionName: aws.String(name), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
			Role: aws.String("arn:aws:iam::000000000000:role/e2e"), Code: &types.FunctionCode{ZipFile: code},
		}
		if dlq != "" {
			in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(dlq)}
		}
		if _, err := lc.CreateFunction(ctx, in); err != nil {
			t.Fatal(err)
		}
		eic := &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), MaximumRetryAttempts: aws.Int32(0)}
		if dlq == "" {
			eic.DestinationConfig = &types.DestinationConfig{
				OnSuccess: &types.OnSuccess{Destination: topic.TopicArn},
				OnFailure: &types.OnFailure{Destination: aws.String(failedARN)},
			}
		}
		if _, err := lc.PutFunctionEventInvokeConfig(ctx, eic); err != nil {
			t.Fatal(err)
		}
	}
	create("with-destinations", "")
	create("with-dlq", dlqARN)
	invoke := func(name, payload string) {
		t.Helper()
		if _, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), InvocationType: types.InvocationTypeEvent,
			Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	invoke("with-destinations", `{"op":"echo","message":"fine"}`)
	invoke("with-destinations", `{"op":"error","message":"bad"}`)
	invoke("with-dlq", `{"op":"error","message":"lost"}`)

	receiveOne := func(url *string) sqstypes.Message {
		t.Helper()
		for ctx.Err() == nil {
			out, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: url, WaitTimeSeconds: 5,
				MessageAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 1 {
				return out.Messages[0]
			}
		}
		t.Fatalf("nothing arrived in %s", aws.ToString(url))
		return sqstypes.Message{}
	}
	type record struct {
		RequestContext struct {
			Condition   string `json:"condition"`
			FunctionArn string `json:"functionArn"`
		} `json:"requestContext"`
		RequestPayload  json.RawMessage `json:"requestPayload"`
		ResponseContext struct {
			FunctionError string `json:"functionError"`
		} `json:"responseContext"`
		ResponsePayload json.RawMessage `json:"responsePayload"`
	}
	var failed, ok record
	if err := json.Unmarshal([]byte(aws.ToString(receiveOne(failedURL).Body)), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.RequestContext.Condition != "RetriesExhausted" || failed.ResponseContext.FunctionError != "Unhandled" ||
		string(failed.RequestPayload) != `{"op":"error","message":"bad"}` {
		t.Errorf("on-failure record %+v", failed)
	}
	if err := json.Unmarshal([]byte(aws.ToString(receiveOne(okURL).Body)), &ok); err != nil {
		t.Fatal(err)
	}
	if ok.RequestContext.Condition != "Success" || string(ok.RequestPayload) != `{"op":"echo","message":"fine"}` {
		t.Errorf("on-success record %+v", ok)
	}
	m := receiveOne(dlqURL)
	if aws.ToString(m.Body) != `{"op":"error","message":"lost"}` || aws.ToString(m.MessageAttributes["ErrorCode"].StringValue) == "" ||
		aws.ToString(m.MessageAttributes["RequestID"].StringValue) == "" {
		t.Errorf("DeadLetterConfig message %q %v", aws.ToString(m.Body), m.MessageAttributes)
	}
}
