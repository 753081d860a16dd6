package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/topic"
)

// snsQueues is the part of queue.API topics use (Send, NameFromARN),
// recording what each queue was sent.
type snsQueues struct {
	queue.API
	mu   sync.Mutex
	sent map[string][]queue.SendInput
}

const snsQueueARN = "arn:aws:sqs:us-east-1:000000000000:"

func (f *snsQueues) NameFromARN(arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, snsQueueARN)
	if !ok || name == "" {
		return "", fault.New(fault.Invalid, "not a queue ARN")
	}
	return name, nil
}

func (f *snsQueues) Send(ctx context.Context, name string, msgs []queue.SendInput) ([]queue.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent[name] = append(f.sent[name], msgs...)
	return make([]queue.SendResult, len(msgs)), nil
}

func (f *snsQueues) of(name string) []queue.SendInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]queue.SendInput(nil), f.sent[name]...)
}

type snsEdge struct {
	url    string
	client *sns.Client
	queues *snsQueues
	svc    *topic.Service
}

// startSNSEdge serves the edge with a real topic service on an embedded
// store, whose URLs point back at the edge.
func startSNSEdge(t *testing.T) *snsEdge {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &snsEdge{queues: &snsQueues{sent: map[string][]queue.SendInput{}}}
	svc, err := topic.New(ctx, topic.Options{
		Store: st, Logger: quietLogger(), Queues: e.queues,
		BaseURL: func() string { return e.url },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	e.svc = svc
	e.url = serveEdge(t, awsapi.Options{Topics: svc, Logger: quietLogger()})
	e.client = sns.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""),
	}, func(o *sns.Options) { o.BaseEndpoint = aws.String(e.url) })
	return e
}

// snsWantErr checks that err is the typed SNS error T.
func snsWantErr[T error](t *testing.T, what string, err error) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Errorf("%s: err = %v (%T), want %T", what, err, err, target)
	}
}

func TestSNSSDKTopics(t *testing.T) {
	e := startSNSEdge(t)
	ctx := t.Context()
	c := e.client

	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{
		Name:       aws.String("orders"),
		Attributes: map[string]string{"DisplayName": "Orders"},
		Tags:       []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.TopicArn)
	if arn != "arn:aws:sns:us-east-1:000000000000:orders" {
		t.Fatalf("TopicArn = %s", arn)
	}
	again, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orders")})
	if err != nil || aws.ToString(again.TopicArn) != arn {
		t.Errorf("CreateTopic again = %v, %v", again, err)
	}
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name")})
	snsWantErr[*types.InvalidParameterException](t, "bad name", err)
	_, err = c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("x.fifo")})
	snsWantErr[*types.InvalidParameterException](t, "fifo name without FifoTopic", err)

	attrs, err := c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	if attrs.Attributes["DisplayName"] != "Orders" || attrs.Attributes["TopicArn"] != arn || attrs.Attributes["SubscriptionsConfirmed"] != "0" {
		t.Errorf("attributes = %v", attrs.Attributes)
	}
	if _, err := c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &arn, AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("New")}); err != nil {
		t.Fatal(err)
	}
	attrs, _ = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	if attrs.Attributes["DisplayName"] != "New" {
		t.Errorf("DisplayName = %q", attrs.Attributes["DisplayName"])
	}
	_, err = c.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: &arn, AttributeName: aws.String("Nope"), AttributeValue: aws.String("x")})
	snsWantErr[*types.InvalidParameterException](t, "unknown attribute", err)
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:us-east-1:000000000000:missing")})
	snsWantErr[*types.NotFoundException](t, "missing topic", err)
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("not-an-arn")})
	snsWantErr[*types.InvalidParameterException](t, "bad arn", err)

	// Tags.
	if _, err := c.TagResource(ctx, &sns.TagResourceInput{ResourceArn: &arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sns.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: &arn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" || aws.ToString(tags.Tags[0].Value) != "dev" {
		t.Errorf("tags = %+v, %v", tags, err)
	}
	_, err = c.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:sns:us-east-1:000000000000:missing")})
	snsWantErr[*types.ResourceNotFoundException](t, "tags of a missing topic", err)

	// Paging: 105 topics in all are two pages.
	for i := range 104 {
		if _, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + time.Duration(i).String())}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	pager := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	pages := 0
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tp := range page.Topics {
			all = append(all, aws.ToString(tp.TopicArn))
		}
	}
	if pages != 2 || len(all) != 105 {
		t.Errorf("ListTopics: %d pages, %d topics", pages, len(all))
	}
	_, err = c.ListTopics(ctx, &sns.ListTopicsInput{NextToken: aws.String("garbage!")})
	snsWantErr[*types.InvalidParameterException](t, "bad NextToken", err)

	if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: &arn})
	snsWantErr[*types.NotFoundException](t, "deleted topic", err)
}

func TestSNSSDKSubscriptionsAndPublish(t *testing.T) {
	e := startSNSEdge(t)
	ctx := t.Context()
	c := e.client
	arn := snsCreate(t, c, &sns.CreateTopicInput{Name: aws.String("t")})

	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &arn, Protocol: aws.String("sqs"), Endpoint: aws.String(snsQueueARN + "q"),
		Attributes: map[string]string{"RawMessageDelivery": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	subARN := aws.ToString(sub.SubscriptionArn)
	if !strings.HasPrefix(subARN, arn+":") {
		t.Fatalf("SubscriptionArn = %s", subARN)
	}
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &arn, Protocol: aws.String("carrier-pigeon"), Endpoint: aws.String("x")})
	snsWantErr[*types.InvalidParameterException](t, "bad protocol", err)
	_, err = c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &arn, Protocol: aws.String("sqs"), Endpoint: aws.String(snsQueueARN + "f"),
		Attributes: map[string]string{"FilterPolicy": `{"a":`}})
	snsWantErr[*types.InvalidParameterException](t, "bad filter policy", err)

	// An HTTP subscriber confirms by opening the SubscribeURL (a GET on the edge).
	confirmations := make(chan map[string]string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("x-amz-sns-message-type") == "SubscriptionConfirmation" {
			var m map[string]string
			_ = json.Unmarshal(b, &m)
			confirmations <- m
		}
	}))
	defer hook.Close()
	hs, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &arn, Protocol: aws.String("http"), Endpoint: aws.String(hook.URL)})
	if err != nil || aws.ToString(hs.SubscriptionArn) != "pending confirmation" {
		t.Fatalf("Subscribe http = %v, %v", hs, err)
	}
	var conf map[string]string
	select {
	case conf = <-confirmations:
	case <-time.After(20 * time.Second):
		t.Fatal("no confirmation request")
	}
	if !strings.HasPrefix(conf["SubscribeURL"], e.url+"/?Action=ConfirmSubscription") {
		t.Fatalf("SubscribeURL = %q", conf["SubscribeURL"])
	}
	resp, err := http.Get(conf["SubscribeURL"])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<ConfirmSubscriptionResult><SubscriptionArn>"+arn+":") {
		t.Fatalf("GET SubscribeURL: %d %s", resp.StatusCode, body)
	}
	cs, err := c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: &arn, Token: aws.String(conf["Token"])})
	if err != nil || !strings.HasPrefix(aws.ToString(cs.SubscriptionArn), arn+":") {
		t.Errorf("ConfirmSubscription = %v, %v", cs, err)
	}
	_, err = c.ConfirmSubscription(ctx, &sns.ConfirmSubscriptionInput{TopicArn: &arn, Token: aws.String("nope")})
	snsWantErr[*types.InvalidParameterException](t, "bad token", err)

	ls, err := c.ListSubscriptions(ctx, &sns.ListSubscriptionsInput{})
	if err != nil || len(ls.Subscriptions) != 2 {
		t.Fatalf("ListSubscriptions = %+v, %v", ls, err)
	}
	lt, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: &arn})
	if err != nil || len(lt.Subscriptions) != 2 {
		t.Fatalf("ListSubscriptionsByTopic = %+v, %v", lt, err)
	}
	for _, s := range lt.Subscriptions {
		if aws.ToString(s.SubscriptionArn) == "pending confirmation" || aws.ToString(s.Owner) != "000000000000" {
			t.Errorf("subscription = %+v", s)
		}
	}
	_, err = c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn + "x")})
	snsWantErr[*types.NotFoundException](t, "subscriptions of a missing topic", err)

	if _, err := c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: &subARN,
		AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"kind":["a"]}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: &subARN,
		AttributeName: aws.String("RawMessageDelivery"), AttributeValue: aws.String("maybe")})
	snsWantErr[*types.InvalidParameterException](t, "bad RawMessageDelivery", err)
	sa, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &subARN})
	if err != nil || sa.Attributes["FilterPolicy"] != `{"kind":["a"]}` || sa.Attributes["Protocol"] != "sqs" || sa.Attributes["PendingConfirmation"] != "false" {
		t.Errorf("subscription attributes = %v, %v", sa, err)
	}

	// Publish with attributes: only the matching message reaches the queue.
	if _, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &arn, Message: aws.String("skip"),
		MessageAttributes: map[string]types.MessageAttributeValue{"kind": {DataType: aws.String("String"), StringValue: aws.String("b")}}}); err != nil {
		t.Fatal(err)
	}
	pub, err := c.Publish(ctx, &sns.PublishInput{TargetArn: &arn, Message: aws.String("take"), Subject: aws.String("s"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"kind": {DataType: aws.String("String"), StringValue: aws.String("a")},
			"n":    {DataType: aws.String("Number"), StringValue: aws.String("1.5")},
			"bin":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1}},
		}})
	if err != nil || aws.ToString(pub.MessageId) == "" {
		t.Fatalf("Publish = %v, %v", pub, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(e.queues.of("q")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	got := e.queues.of("q")
	if len(got) != 1 {
		t.Fatalf("queue got %d messages", len(got))
	}
	var env struct {
		MessageId, Message, Subject string
		MessageAttributes           map[string]struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(got[0].Body), &env); err != nil {
		t.Fatal(err)
	}
	if env.MessageId != aws.ToString(pub.MessageId) || env.Message != "take" || env.Subject != "s" ||
		env.MessageAttributes["n"].Value != "1.5" || env.MessageAttributes["bin"].Value != "AAE=" {
		t.Errorf("envelope = %+v", env)
	}

	for _, tc := range []struct {
		name string
		in   *sns.PublishInput
	}{
		{"empty message", &sns.PublishInput{TopicArn: &arn, Message: aws.String("")}},
		{"long subject", &sns.PublishInput{TopicArn: &arn, Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 101))}},
		{"structure without default", &sns.PublishInput{TopicArn: &arn, Message: aws.String(`{"sqs":"x"}`), MessageStructure: aws.String("json")}},
		{"too long", &sns.PublishInput{TopicArn: &arn, Message: aws.String(strings.Repeat("x", 256*1024+1))}},
		{"no target", &sns.PublishInput{Message: aws.String("m")}},
		{"attribute without value", &sns.PublishInput{TopicArn: &arn, Message: aws.String("m"),
			MessageAttributes: map[string]types.MessageAttributeValue{"a": {DataType: aws.String("String")}}}},
	} {
		_, err := c.Publish(ctx, tc.in)
		snsWantErr[*types.InvalidParameterException](t, tc.name, err)
	}
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn + "x"), Message: aws.String("m")})
	snsWantErr[*types.NotFoundException](t, "publish to a missing topic", err)

	// PublishBatch.
	pb, err := c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: []types.PublishBatchRequestEntry{
		{Id: aws.String("a"), Message: aws.String("one")},
		{Id: aws.String("b"), Message: aws.String("")},
		{Id: aws.String("c"), Message: aws.String("three")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pb.Successful) != 2 || len(pb.Failed) != 1 || aws.ToString(pb.Failed[0].Id) != "b" ||
		aws.ToString(pb.Failed[0].Code) != "InvalidParameter" || !pb.Failed[0].SenderFault {
		t.Errorf("PublishBatch = %+v", pb)
	}
	entries := func(ids ...string) []types.PublishBatchRequestEntry {
		var out []types.PublishBatchRequestEntry
		for _, id := range ids {
			out = append(out, types.PublishBatchRequestEntry{Id: aws.String(id), Message: aws.String("m")})
		}
		return out
	}
	_, err = c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: entries("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")})
	snsWantErr[*types.TooManyEntriesInBatchRequestException](t, "11 entries", err)
	_, err = c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: entries("x", "x")})
	snsWantErr[*types.BatchEntryIdsNotDistinctException](t, "same ids", err)
	_, err = c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: entries("bad id")})
	snsWantErr[*types.InvalidBatchEntryIdException](t, "bad id", err)
	_, err = c.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: &arn, PublishBatchRequestEntries: []types.PublishBatchRequestEntry{}})
	snsWantErr[*types.EmptyBatchRequestException](t, "no entries", err)

	// FIFO: sequence numbers.
	fifo := snsCreate(t, c, &sns.CreateTopicInput{Name: aws.String("f.fifo"),
		Attributes: map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"}})
	fp, err := c.Publish(ctx, &sns.PublishInput{TopicArn: &fifo, Message: aws.String("m"), MessageGroupId: aws.String("g")})
	if err != nil || len(aws.ToString(fp.SequenceNumber)) != 20 {
		t.Errorf("FIFO Publish = %+v, %v", fp, err)
	}

	if _, err := c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &subARN}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: &subARN})
	snsWantErr[*types.NotFoundException](t, "unsubscribe twice", err)
	_, err = c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: &subARN})
	snsWantErr[*types.NotFoundException](t, "attributes of a deleted subscription", err)
}

// snsCreate creates a topic and returns its ARN.
func snsCreate(t *testing.T, c *sns.Client, in *sns.CreateTopicInput) string {
	t.Helper()
	out, err := c.CreateTopic(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.TopicArn)
}
