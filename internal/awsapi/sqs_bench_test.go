package awsapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/awsapi"
)

// BenchmarkSQSJSONSendReceiveDelete measures the edge's own cost of the
// hot path (SendMessageBatch, ReceiveMessage, DeleteMessageBatch of ten
// messages in the JSON protocol) over the in-memory fake.
func BenchmarkSQSJSONSendReceiveDelete(b *testing.B) {
	fake := newFakeQueues()
	if _, err := fake.CreateQueue(context.Background(), "q", nil, nil); err != nil {
		b.Fatal(err)
	}
	h := awsapi.New(awsapi.Options{Queues: fake, Logger: quietLogger()})
	const qurl = `"QueueUrl":"http://localhost/000000000000/q"`
	var send strings.Builder
	send.WriteString(`{` + qurl + `,"Entries":[`)
	for i := range 10 {
		if i > 0 {
			send.WriteString(",")
		}
		send.WriteString(`{"Id":"e` + string(rune('0'+i)) + `","MessageBody":"` + strings.Repeat("x", 512) +
			`","MessageAttributes":{"k":{"DataType":"String","StringValue":"v"}}}`)
	}
	send.WriteString(`]}`)
	do := func(op, body string) []byte {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", op, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	b.ReportAllocs()
	for b.Loop() {
		do("SendMessageBatch", send.String())
		var recv struct {
			Messages []struct{ ReceiptHandle string }
		}
		if err := json.Unmarshal(do("ReceiveMessage", `{`+qurl+`,"MaxNumberOfMessages":10,"MessageAttributeNames":["All"]}`), &recv); err != nil {
			b.Fatal(err)
		}
		var del strings.Builder
		del.WriteString(`{` + qurl + `,"Entries":[`)
		for i, m := range recv.Messages {
			if i > 0 {
				del.WriteString(",")
			}
			del.WriteString(`{"Id":"d` + string(rune('0'+i)) + `","ReceiptHandle":"` + m.ReceiptHandle + `"}`)
		}
		del.WriteString(`]}`)
		do("DeleteMessageBatch", del.String())
	}
}
