package awsapi_test

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/awsapi"
)

// sqsEdge is an edge serving SQS over a fake queue service.
type sqsEdge struct {
	url  string // http://127.0.0.1:port
	port string
	fake *fakeQueues
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func startSQSEdge(t *testing.T) *sqsEdge {
	t.Helper()
	fake := newFakeQueues()
	srv := httptest.NewServer(awsapi.New(awsapi.Options{Queues: fake, Logger: quietLogger()}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	addr := "127.0.0.1:" + port
	var d net.Dialer
	return &sqsEdge{
		url: srv.URL, port: port, fake: fake,
		// Every host name reaches the test server, as *.localhost would
		// where the resolver maps it to loopback.
		dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
}

// client is an SDK client whose requests go to endpoint (any host: the
// dialer sends them all to the test server).
func (e *sqsEdge) client(endpoint string) *sqs.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:  &http.Client{Transport: &http.Transport{DialContext: e.dial}},
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.RetryMaxAttempts = 1
	})
}

// sqsRefAttrMD5 is an independent rendering of AWS's message attribute digest
// for string and binary values, to check the edge's against.
func sqsRefAttrMD5(attrs map[string]types.MessageAttributeValue) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	slices.Sort(names)
	h := md5.New()
	put := func(b []byte) {
		_ = binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	for _, n := range names {
		v := attrs[n]
		put([]byte(n))
		put([]byte(aws.ToString(v.DataType)))
		if v.StringValue != nil {
			h.Write([]byte{1})
			put([]byte(*v.StringValue))
		} else {
			h.Write([]byte{2})
			put(v.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sqsMD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wantAPIError checks err's code (ErrorCode(), what AWS's query code is)
// and that errors.As finds the typed error target points to.
func wantAPIError[T error](t *testing.T, what string, err error, code string) {
	t.Helper()
	var typed T
	if !errors.As(err, &typed) {
		t.Errorf("%s: error %v (%T), want %T", what, err, err, typed)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("%s: error %v, want code %s", what, err, code)
	}
}

func TestSQSSDK(t *testing.T) {
	e := startSQSEdge(t)
	ctx := t.Context()
	base := "http://sqs.us-east-1.localhost:" + e.port
	c := e.client(base)

	created, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName:  aws.String("orders"),
		Attributes: map[string]string{"VisibilityTimeout": "40"},
		Tags:       map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	qurl := aws.ToString(created.QueueUrl)
	if qurl != base+"/000000000000/orders" {
		t.Fatalf("QueueUrl %q", qurl)
	}
	if got := e.fake.queues["orders"]; got == nil || got.attrs["VisibilityTimeout"] != "40" || got.tags["team"] != "a" {
		t.Fatalf("queue as created: %+v", got)
	}
	for _, n := range []string{"orders-dlq", "other"} {
		if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(n)}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("queue URL forms", func(t *testing.T) {
		// The URL answered follows the host the client used...
		plain := e.client("http://localhost:" + e.port)
		got, err := plain.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
		if err != nil || aws.ToString(got.QueueUrl) != "http://localhost:"+e.port+"/000000000000/orders" {
			t.Fatalf("GetQueueUrl = %v, %v", aws.ToString(got.QueueUrl), err)
		}
		// ...and any host names the same queue.
		for _, u := range []string{qurl, aws.ToString(got.QueueUrl), "https://sqs.eu-west-1.amazonaws.com/000000000000/orders", "/000000000000/orders"} {
			if _, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u)}); err != nil {
				t.Errorf("QueueUrl %s: %v", u, err)
			}
		}
		_, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(base + "/123456789012/orders")})
		wantAPIError[*types.QueueDoesNotExist](t, "other account", err, "AWS.SimpleQueueService.NonExistentQueue")
		_, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String("orders")})
		wantAPIError[*types.InvalidAddress](t, "bare name", err, "InvalidAddress")
		_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders"), QueueOwnerAWSAccountId: aws.String("123456789012")})
		wantAPIError[*types.QueueDoesNotExist](t, "GetQueueUrl of another owner", err, "AWS.SimpleQueueService.NonExistentQueue")
	})

	t.Run("ListQueues", func(t *testing.T) {
		all, err := c.ListQueues(ctx, &sqs.ListQueuesInput{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{base + "/000000000000/orders", base + "/000000000000/orders-dlq", base + "/000000000000/other"}
		if !slices.Equal(all.QueueUrls, want) || all.NextToken != nil {
			t.Errorf("ListQueues = %v, %v", all.QueueUrls, all.NextToken)
		}
		pre, err := c.ListQueues(ctx, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("ord")})
		if err != nil || len(pre.QueueUrls) != 2 {
			t.Errorf("prefix: %v, %v", pre, err)
		}
		var paged []string
		p := sqs.NewListQueuesPaginator(c, &sqs.ListQueuesInput{MaxResults: aws.Int32(2)})
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			paged = append(paged, out.QueueUrls...)
		}
		if pages != 2 || !slices.Equal(paged, want) {
			t.Errorf("paged in %d: %v", pages, paged)
		}
		_, err = c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
		wantAPIError[*smithy.GenericAPIError](t, "MaxResults 1001", err, "InvalidParameterValue")
		_, err = c.ListQueues(ctx, &sqs.ListQueuesInput{MaxResults: aws.Int32(1), NextToken: aws.String("%%%")})
		wantAPIError[*smithy.GenericAPIError](t, "bad token", err, "InvalidParameterValue")
	})

	t.Run("attributes", func(t *testing.T) {
		if _, err := c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qurl),
			Attributes: map[string]string{"DelaySeconds": "0", "RedrivePolicy": `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"3"}`}}); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout, types.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Attributes) != 2 || got.Attributes["VisibilityTimeout"] != "40" || got.Attributes["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:orders" {
			t.Errorf("attributes %v", got.Attributes)
		}
		all, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{"All"}})
		if err != nil || all.Attributes["DelaySeconds"] != "0" {
			t.Errorf("All: %v, %v", all, err)
		}
		_, err = c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(qurl), AttributeNames: []types.QueueAttributeName{"Bogus"}})
		wantAPIError[*types.InvalidAttributeName](t, "unknown attribute", err, "InvalidAttributeName")
		_, err = c.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(qurl), Attributes: map[string]string{"VisibilityTimeout": "-1"}})
		wantAPIError[*types.InvalidAttributeValue](t, "bad value", err, "InvalidAttributeValue")
		_, err = c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders"), Attributes: map[string]string{"VisibilityTimeout": "5"}})
		wantAPIError[*types.QueueNameExists](t, "create with other attributes", err, "QueueAlreadyExists")
		dl, err := c.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(base + "/000000000000/orders-dlq")})
		if err != nil || !slices.Equal(dl.QueueUrls, []string{qurl}) {
			t.Errorf("ListDeadLetterSourceQueues = %v, %v", dl, err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		if _, err := c.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(qurl), Tags: map[string]string{"env": "dev", "x": "y"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: aws.String(qurl), TagKeys: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
		got, err := c.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(qurl)})
		if err != nil || len(got.Tags) != 2 || got.Tags["env"] != "dev" || got.Tags["team"] != "a" {
			t.Errorf("ListQueueTags = %v, %v", got, err)
		}
	})

	t.Run("messages", func(t *testing.T) {
		attrs := map[string]types.MessageAttributeValue{
			"kind":  {DataType: aws.String("String"), StringValue: aws.String("order")},
			"count": {DataType: aws.String("Number.int"), StringValue: aws.String("3")},
			"blob":  {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		}
		sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(qurl), MessageBody: aws.String("héllo <&>"), MessageAttributes: attrs,
			MessageSystemAttributes: map[string]types.MessageSystemAttributeValue{
				"AWSTraceHeader": {DataType: aws.String("String"), StringValue: aws.String("Root=1-abc")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(sent.MD5OfMessageBody) != sqsMD5Hex("héllo <&>") || aws.ToString(sent.MD5OfMessageAttributes) != sqsRefAttrMD5(attrs) ||
			aws.ToString(sent.MessageId) == "" || sent.MD5OfMessageSystemAttributes == nil || sent.SequenceNumber != nil {
			t.Errorf("SendMessage = %+v", sent)
		}
		if got := e.fake.queues["orders"].msgs[0]; got.attrs["blob"].DataType != "Binary" || string(got.attrs["blob"].BinaryValue) != "\x00\x01\x02" ||
			got.attrs["count"].StringValue != "3" || got.sys["AWSTraceHeader"].StringValue != "Root=1-abc" {
			t.Errorf("stored %+v", got)
		}

		batch, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("one"), DelaySeconds: 0},
			{Id: aws.String("b"), MessageBody: aws.String("bad\x00")},
			{Id: aws.String("c"), MessageBody: aws.String("three"), MessageAttributes: map[string]types.MessageAttributeValue{
				"k": {DataType: aws.String("String"), StringValue: aws.String("v")}}},
			{Id: aws.String("d"), MessageBody: aws.String("four"), MessageAttributes: map[string]types.MessageAttributeValue{
				"k": {DataType: aws.String("Date"), StringValue: aws.String("v")}}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Successful) != 2 || aws.ToString(batch.Successful[0].Id) != "a" || aws.ToString(batch.Successful[1].Id) != "c" ||
			aws.ToString(batch.Successful[1].MD5OfMessageAttributes) == "" {
			t.Errorf("Successful %+v", batch.Successful)
		}
		failed := map[string]types.BatchResultErrorEntry{}
		for _, f := range batch.Failed {
			failed[aws.ToString(f.Id)] = f
		}
		if f := failed["b"]; aws.ToString(f.Code) != "InvalidMessageContents" || !f.SenderFault || aws.ToString(f.Message) == "" {
			t.Errorf("Failed b %+v", f)
		}
		if f := failed["d"]; aws.ToString(f.Code) != "InvalidParameterValue" {
			t.Errorf("Failed d %+v", f)
		}

		got, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(qurl), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60,
			MessageAttributeNames:       []string{"kind", "blob"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			AttributeNames:              []types.QueueAttributeName{"SentTimestamp"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Messages) != 3 {
			t.Fatalf("received %d messages", len(got.Messages))
		}
		m := got.Messages[0]
		want := map[string]types.MessageAttributeValue{"kind": attrs["kind"], "blob": attrs["blob"]}
		if aws.ToString(m.Body) != "héllo <&>" || aws.ToString(m.MD5OfBody) != sqsMD5Hex("héllo <&>") || len(m.MessageAttributes) != 2 ||
			aws.ToString(m.MessageAttributes["kind"].StringValue) != "order" || string(m.MessageAttributes["blob"].BinaryValue) != "\x00\x01\x02" ||
			aws.ToString(m.MD5OfMessageAttributes) != sqsRefAttrMD5(want) ||
			m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] != "1700000000000" {
			t.Errorf("message %+v", m)
		}
		if got.Messages[1].MD5OfMessageAttributes != nil || got.Messages[1].MessageAttributes != nil {
			t.Errorf("a message without attributes has %+v", got.Messages[1])
		}
		lr := e.fake.lastReceive
		if lr.Max != 10 || !lr.WaitSet || lr.Visibility.Seconds() != 60 || !lr.VisibilitySet ||
			!slices.Equal(lr.SystemAttributeNames, []string{"ApproximateReceiveCount", "SentTimestamp"}) {
			t.Errorf("ReceiveInput %+v", lr)
		}

		// Visibility, one and batched.
		if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(qurl),
			ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
		_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(qurl), ReceiptHandle: aws.String("junk"), VisibilityTimeout: 5})
		wantAPIError[*types.ReceiptHandleIsInvalid](t, "bad handle", err, "ReceiptHandleIsInvalid")
		vb, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(qurl),
			Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
				{Id: aws.String("ok"), ReceiptHandle: got.Messages[1].ReceiptHandle, VisibilityTimeout: 30},
				{Id: aws.String("gone"), ReceiptHandle: aws.String("rh-0-none"), VisibilityTimeout: 30},
			}})
		if err != nil || len(vb.Successful) != 1 || len(vb.Failed) != 1 || aws.ToString(vb.Failed[0].Code) != "AWS.SimpleQueueService.MessageNotInflight" {
			t.Errorf("ChangeMessageVisibilityBatch = %+v, %v", vb, err)
		}
		_, err = c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(qurl), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 43201})
		wantAPIError[*smithy.GenericAPIError](t, "visibility over 12 h", err, "InvalidParameterValue")

		// Delete, one and batched.
		if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(qurl), ReceiptHandle: got.Messages[2].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		db, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("1"), ReceiptHandle: got.Messages[1].ReceiptHandle},
			{Id: aws.String("2"), ReceiptHandle: aws.String("junk")},
		}})
		if err != nil || len(db.Successful) != 1 || aws.ToString(db.Successful[0].Id) != "1" || len(db.Failed) != 1 || aws.ToString(db.Failed[0].Code) != "ReceiptHandleIsInvalid" {
			t.Errorf("DeleteMessageBatch = %+v, %v", db, err)
		}
		if n := len(e.fake.queues["orders"].msgs); n != 1 {
			t.Errorf("%d messages left, want 1", n)
		}
	})

	t.Run("batch rules", func(t *testing.T) {
		var eleven []types.SendMessageBatchRequestEntry
		for i := range 11 {
			eleven = append(eleven, types.SendMessageBatchRequestEntry{Id: aws.String(string(rune('a' + i))), MessageBody: aws.String("x")})
		}
		_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: eleven})
		wantAPIError[*types.TooManyEntriesInBatchRequest](t, "11 entries", err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
		_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.SendMessageBatchRequestEntry{}})
		wantAPIError[*types.EmptyBatchRequest](t, "no entries", err, "AWS.SimpleQueueService.EmptyBatchRequest")
		_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("x"), ReceiptHandle: aws.String("h")}, {Id: aws.String("x"), ReceiptHandle: aws.String("h")}}})
		wantAPIError[*types.BatchEntryIdsNotDistinct](t, "duplicate ids", err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
		_, err = c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(qurl), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("no spaces"), ReceiptHandle: aws.String("h")}}})
		wantAPIError[*types.InvalidBatchEntryId](t, "bad id", err, "AWS.SimpleQueueService.InvalidBatchEntryId")
		big := strings.Repeat("x", 300<<10)
		_, err = c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(qurl), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("1"), MessageBody: aws.String(big)}, {Id: aws.String("2"), MessageBody: aws.String(big)},
			{Id: aws.String("3"), MessageBody: aws.String(big)}, {Id: aws.String("4"), MessageBody: aws.String(big)}}})
		wantAPIError[*types.BatchRequestTooLong](t, "1.2 MiB batch", err, "AWS.SimpleQueueService.BatchRequestTooLong")
		_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), MaxNumberOfMessages: 11})
		wantAPIError[*smithy.GenericAPIError](t, "receive 11", err, "InvalidParameterValue")
		_, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(qurl), WaitTimeSeconds: 21})
		wantAPIError[*smithy.GenericAPIError](t, "wait 21", err, "InvalidParameterValue")
		_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("")})
		wantAPIError[*smithy.GenericAPIError](t, "empty body", err, "MissingParameter")
	})

	t.Run("purge", func(t *testing.T) {
		if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
			t.Fatal(err)
		}
		_, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(qurl)})
		wantAPIError[*types.PurgeQueueInProgress](t, "second purge", err, "AWS.SimpleQueueService.PurgeQueueInProgress")
	})

	t.Run("move tasks", func(t *testing.T) {
		src := "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
		started, err := c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), MaxNumberOfMessagesPerSecond: aws.Int32(10)})
		if err != nil || aws.ToString(started.TaskHandle) != "task-1" {
			t.Fatalf("StartMessageMoveTask = %+v, %v", started, err)
		}
		list, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(10)})
		if err != nil || len(list.Results) != 1 {
			t.Fatalf("ListMessageMoveTasks = %+v, %v", list, err)
		}
		r := list.Results[0]
		if aws.ToString(r.TaskHandle) != "task-1" || aws.ToString(r.Status) != "RUNNING" || aws.ToString(r.SourceArn) != src ||
			aws.ToInt32(r.MaxNumberOfMessagesPerSecond) != 10 || aws.ToInt64(r.ApproximateNumberOfMessagesToMove) != 3 || r.StartedTimestamp != 1700000000123 {
			t.Errorf("task %+v", r)
		}
		moved, err := c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("task-1")})
		if err != nil || moved.ApproximateNumberOfMessagesMoved != 1 {
			t.Errorf("CancelMessageMoveTask = %+v, %v", moved, err)
		}
		_, err = c.CancelMessageMoveTask(ctx, &sqs.CancelMessageMoveTaskInput{TaskHandle: aws.String("task-1")})
		wantAPIError[*types.ResourceNotFoundException](t, "cancel twice", err, "ResourceNotFoundException")
		_, err = c.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src), MaxNumberOfMessagesPerSecond: aws.Int32(501)})
		wantAPIError[*smithy.GenericAPIError](t, "rate 501", err, "InvalidParameterValue")
	})

	t.Run("permissions and delete", func(t *testing.T) {
		if _, err := c.AddPermission(ctx, &sqs.AddPermissionInput{QueueUrl: aws.String(qurl), Label: aws.String("l"),
			AWSAccountIds: []string{"123456789012"}, Actions: []string{"SendMessage"}}); err != nil {
			t.Errorf("AddPermission: %v", err)
		}
		if _, err := c.RemovePermission(ctx, &sqs.RemovePermissionInput{QueueUrl: aws.String(qurl), Label: aws.String("l")}); err != nil {
			t.Errorf("RemovePermission: %v", err)
		}
		if _, err := c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(qurl)}); err != nil {
			t.Fatal(err)
		}
		_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
		wantAPIError[*types.QueueDoesNotExist](t, "deleted queue", err, "AWS.SimpleQueueService.NonExistentQueue")
		_, err = c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(qurl), MessageBody: aws.String("x")})
		wantAPIError[*types.QueueDoesNotExist](t, "send to deleted queue", err, "AWS.SimpleQueueService.NonExistentQueue")
	})
}

// TestSQSReceiveEndsWithClient checks that a long poll ends when the
// client goes away rather than holding the service for its full wait.
func TestSQSReceiveEndsWithClient(t *testing.T) {
	e := startSQSEdge(t)
	c := e.client(e.url)
	ctx := t.Context()
	if _, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("idle")}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.ReceiveMessage(short, &sqs.ReceiveMessageInput{QueueUrl: aws.String(e.url + "/000000000000/idle"), WaitTimeSeconds: 20})
		done <- err
	}()
	for e.fake.polling.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled receive: %v", err)
	}
	// The server's poll ends well before its 20 s wait.
	deadline := time.Now().Add(10 * time.Second)
	for e.fake.polling.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the long poll outlived its client")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
