package awsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/queue"
)

// sqsFuzzEdge is an edge over a fake holding queue "q" with one message.
func sqsFuzzEdge(t *testing.T) http.Handler {
	fake := newFakeQueues()
	ctx := context.Background()
	if _, err := fake.CreateQueue(ctx, "q", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Send(ctx, "q", []queue.SendInput{{Body: "m"}}); err != nil {
		t.Fatal(err)
	}
	return awsapi.New(awsapi.Options{Queues: fake, Logger: quietLogger()})
}

// serveSQSFuzz runs one request with a short deadline (long polls end with
// it, as with a client that goes away) and checks what every answer must
// be: a request id, and no 5xx, since the fake fails only with the
// service's error kinds.
func serveSQSFuzz(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	ctx, cancel := context.WithTimeout(req.Context(), 50*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code >= 500 {
		t.Fatalf("%s %s: status %d: %s", req.Method, req.URL, rec.Code, rec.Body.String())
	}
	if rec.Header().Get("x-amzn-RequestId") == "" && len(rec.Header()["x-amzn-RequestId"]) == 0 {
		t.Fatalf("no request id: %v", rec.Header())
	}
	return rec
}

var sqsFuzzOps = []string{
	"CreateQueue", "DeleteQueue", "GetQueueUrl", "ListQueues", "GetQueueAttributes", "SetQueueAttributes",
	"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
	"ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "PurgeQueue", "TagQueue", "UntagQueue",
	"ListQueueTags", "ListDeadLetterSourceQueues", "StartMessageMoveTask", "CancelMessageMoveTask",
	"ListMessageMoveTasks", "AddPermission", "RemovePermission", "Nope",
}

// FuzzSQSJSON feeds arbitrary JSON-protocol bodies to every operation.
func FuzzSQSJSON(f *testing.F) {
	const q = `"QueueUrl":"http://x/000000000000/q"`
	for _, s := range []struct {
		op   uint8
		body string
	}{
		{0, `{"QueueName":"a","Attributes":{"VisibilityTimeout":"1"},"tags":{"a":"b"}}`},
		{3, `{"MaxResults":1,"NextToken":"cQ"}`},
		{6, `{` + q + `,"MessageBody":"x","DelaySeconds":1,"MessageAttributes":{"a":{"DataType":"Binary","BinaryValue":"AA=="}}}`},
		{6, `{` + q + `,"MessageBody":"x","MessageAttributes":{"a":{"DataType":"String","StringListValues":["x"]}}}`},
		{7, `{` + q + `,"Entries":[{"Id":"a","MessageBody":"x"},{"Id":"a","MessageBody":"y"}]}`},
		{8, `{` + q + `,"MaxNumberOfMessages":10,"WaitTimeSeconds":1,"MessageAttributeNames":["All"],"AttributeNames":["All"]}`},
		{10, `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"rh-1"}]}`},
		{12, `{` + q + `,"Entries":[{"Id":"a","ReceiptHandle":"rh-1","VisibilityTimeout":-1}]}`},
		{18, `{"SourceArn":"arn:aws:sqs:us-east-1:000000000000:q","MaxNumberOfMessagesPerSecond":0}`},
		{4, `{"QueueUrl":"%zz"}`},
		{4, `[1,2]`},
		{6, `{"MessageBody":1}`},
	} {
		f.Add(s.op, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		h := sqsFuzzEdge(t)
		name := sqsFuzzOps[int(op)%len(sqsFuzzOps)]
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+name)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		rec := serveSQSFuzz(t, h, req)
		if rec.Code != http.StatusOK {
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Type == "" || e.Message == "" {
				t.Fatalf("%s: error body %q", name, rec.Body.String())
			}
		}
	})
}

// FuzzSQSQuery feeds arbitrary query-protocol forms, to POST / and to the
// queue URL, to the edge.
func FuzzSQSQuery(f *testing.F) {
	for _, s := range []struct {
		op   uint8
		path string
		form string
	}{
		{0, "/", "QueueName=a&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=3&Tag.1.Key=k&Tag.1.Value=v"},
		{6, "/000000000000/q", "MessageBody=x&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=AA%3D%3D"},
		{7, "/000000000000/q", "SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x&SendMessageBatchRequestEntry.01.Id=b"},
		{8, "/000000000000/q", "MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All&WaitTimeSeconds=1"},
		{10, "/000000000000/q", "DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=rh-1"},
		{12, "/000000000000/q", "ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=x"},
		{4, "/", "QueueUrl=http%3A%2F%2Fx%2F000000000000%2Fq&AttributeName.1=All"},
		{3, "/", "MaxResults=0"},
		{1, "/123456789012/q", ""},
		{23, "/", "x=%zz"},
	} {
		f.Add(s.op, s.path, []byte(s.form))
	}
	f.Fuzz(func(t *testing.T, op uint8, path string, form []byte) {
		if !strings.HasPrefix(path, "/") {
			return
		}
		u, err := url.ParseRequestURI(path)
		if err != nil {
			return
		}
		h := sqsFuzzEdge(t)
		name := sqsFuzzOps[int(op)%len(sqsFuzzOps)]
		body := append([]byte("Action="+name+"&"), form...)
		req := httptest.NewRequest(http.MethodPost, u.RequestURI(), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := serveSQSFuzz(t, h, req)
		if rec.Code != http.StatusOK && rec.Header().Get("Content-Type") == "text/xml" {
			var e struct {
				Code    string `xml:"Error>Code"`
				Message string `xml:"Error>Message"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("%s %s: error body %q", name, path, rec.Body.String())
			}
		}
	})
}
