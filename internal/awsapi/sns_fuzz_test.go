package awsapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/topic"
)

// FuzzSNSQuery throws arbitrary form bodies at the SNS query API, backed by
// a real topic service, and checks that every answer is well formed: no
// panic, never a 500 (the service fails only with fault kinds for bad
// input), and XML in SNS's namespace.
func FuzzSNSQuery(f *testing.F) {
	const arn = "arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At"
	for _, s := range []string{
		"Action=CreateTopic&Name=t",
		"Action=CreateTopic&Name=f.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true&Tags.member.1.Key=a&Tags.member.1.Value=b",
		"Action=CreateTopic&Name=t&Attributes.entry.1.key=DisplayName",
		"Action=ListTopics&NextToken=MTA",
		"Action=GetTopicAttributes&TopicArn=" + arn,
		"Action=SetTopicAttributes&TopicArn=" + arn + "&AttributeName=DeliveryPolicy&AttributeValue=%7B%22http%22%3A1%7D",
		"Action=Subscribe&TopicArn=" + arn + "&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Aq&Attributes.entry.1.key=FilterPolicy&Attributes.entry.1.value=%7B%22a%22%3A%5B1%5D%7D",
		"Action=Subscribe&TopicArn=" + arn + "&Protocol=http&Endpoint=http%3A%2F%2F127.0.0.1%3A1%2F&ReturnSubscriptionArn=true",
		"Action=ConfirmSubscription&TopicArn=" + arn + "&Token=abc",
		"Action=Unsubscribe&SubscriptionArn=" + arn + "%3A1234",
		"Action=ListSubscriptions",
		"Action=ListSubscriptionsByTopic&TopicArn=" + arn,
		"Action=GetSubscriptionAttributes&SubscriptionArn=" + arn + "%3Aab-cd",
		"Action=SetSubscriptionAttributes&SubscriptionArn=" + arn + "%3Aab&AttributeName=RawMessageDelivery&AttributeValue=true",
		"Action=Publish&TopicArn=" + arn + "&Message=hi&MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=1e400",
		"Action=Publish&TargetArn=" + arn + "&Message=%7B%7D&MessageStructure=json",
		"Action=Publish&TopicArn=" + arn + "&Message=x&MessageAttributes.entry.1.Name=b&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=%%%",
		"Action=PublishBatch&TopicArn=" + arn + "&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.1.Message=m&PublishBatchRequestEntries.member.2.Id=a",
		"Action=TagResource&ResourceArn=" + arn + "&Tags.member.1.Key=k",
		"Action=UntagResource&ResourceArn=" + arn + "&TagKeys.member.1=k",
		"Action=ListTagsForResource&ResourceArn=" + arn,
		"Action=DeleteTopic&TopicArn=" + arn,
		"Action=Nope",
		"Version=2010-03-31",
		"Action=Publish&%zz",
	} {
		f.Add(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: f.TempDir(), Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	svc, err := topic.New(ctx, topic.Options{Store: st, Logger: quietLogger(), Queues: &snsQueues{sent: map[string][]queue.SendInput{}}})
	if err != nil {
		f.Fatal(err)
	}
	defer svc.Close()
	h := awsapi.New(awsapi.Options{Topics: svc, Logger: quietLogger()})
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240131/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=0")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body.String())
		}
		if !strings.Contains(w.Body.String(), awsapi.SNSQueryNamespace) {
			t.Fatalf("answer to %q is not an SNS document: %s", body, w.Body.String())
		}
	})
}
