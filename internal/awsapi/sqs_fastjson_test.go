package awsapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// Seeds for the decode tests and fuzzer: what aws-sdk-go-v2 sends, and
// variations on the edges of what the fast reader accepts.
var fastJSONSeeds = []struct {
	op   uint8 // 0 SendMessageBatch, 1 ReceiveMessage, 2 DeleteMessageBatch, 3 SendMessage, 4 DeleteMessage
	body string
	fast bool // whether the fast reader must accept it
}{
	{0, `{"Entries":[{"Id":"0","MessageBody":"{\"message\":\"hello\",\"caller\":3}"},{"Id":"1","MessageBody":"x"}],"QueueUrl":"http://127.0.0.1:1/000000000000/q"}`, true},
	{0, " {\n\t\"QueueUrl\" : \"u\" , \"Entries\" : [ { \"Id\" : \"a\" , \"MessageBody\" : \"\\u00e9\\ud83d\\ude00\\n\\/\" , \"DelaySeconds\" : -0 } ] }\r\n", true},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"é😀<&>","DelaySeconds":900,"MessageGroupId":"g","MessageDeduplicationId":"d","QueueUrl":"v",` +
		`"MessageAttributes":{"s":{"DataType":"String","StringValue":""},"b":{"DataType":"Binary","BinaryValue":"AAEC/w=="},"e":{"DataType":"Binary","BinaryValue":""},"s":{"DataType":"Number","StringValue":"1"}},` +
		`"MessageSystemAttributes":{"AWSTraceHeader":{"DataType":"String","StringValue":"Root=1"}}}]}`, true},
	{0, `{"QueueUrl":"u","Entries":[]}`, true},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"\ud800x\udc00\ud800\u0041\ud83d\ude00\uDBFF\uDFFF"}]}`, true},
	{0, "{\"QueueUrl\":\"u\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"\xff\xfe ok \xe2\x82\"}]}", true},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","MessageAttributes":{}}]}`, true},
	{3, `{"MessageBody":"x","QueueUrl":"u","DelaySeconds":3,"MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}`, true},
	{3, `{"MessageBody":"x","QueueUrl":"u","Id":"i"}`, true},
	{3, `{"MessageBody":"x","MessageBody":"y"}`, false},
	{4, `{"QueueUrl":"u","ReceiptHandle":"AQAAAAAAAAAB"}`, true},
	{4, `{"QueueUrl":"u","ReceiptHandle":1}`, false},
	// Declined: encoding/json decides.
	{0, `{"queueurl":"u","Entries":[]}`, false},
	{0, `{"QueueUrl":"u","QueueUrl":"v"}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":1.5}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":1e3}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":12345678901234567890}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","DelaySeconds":01}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":null}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","MessageAttributes":{"l":{"DataType":"String","StringListValues":["x"]}}}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x","MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"!!"}}}]}`, false},
	{0, `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"x\u12"}]}`, false},
	{0, "{\"QueueUrl\":\"u\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"x\ty\"}]}", false},
	{0, `{"QueueUrl":"u"}x`, false},
	{0, `{"QueueUrl":"u",}`, false},
	{0, `[]`, false},
	{0, ``, false},
	{1, `{"MaxNumberOfMessages":10,"QueueUrl":"http://127.0.0.1:1/000000000000/q"}`, true},
	{1, `{"QueueUrl":"u","MaxNumberOfMessages":10,"WaitTimeSeconds":20,"VisibilityTimeout":30,"AttributeNames":["All"],"MessageSystemAttributeNames":[],"MessageAttributeNames":["a.*","b"],"ReceiveRequestAttemptId":"r"}`, true},
	{1, `{"QueueUrl":"u","MaxNumberOfMessages":-12}`, true},
	{1, `{"QueueUrl":"u","MaxNumberOfMessages":"10"}`, false},
	{1, `{"QueueUrl":"u","AttributeNames":[null]}`, false},
	{1, `{"QueueUrl":"u","Unknown":1}`, false},
	{2, `{"Entries":[{"Id":"0","ReceiptHandle":"AQAAAAAAAAAB"},{"Id":"1","ReceiptHandle":"AQAAAAAAAAAC"}],"QueueUrl":"http://127.0.0.1:1/000000000000/q"}`, true},
	{2, `{"QueueUrl":"u","Entries":[{"Id":"0"},{}]}`, true},
	{2, `{"QueueUrl":"u","Entries":[{"Id":"0","Id":"1"}]}`, false},
	{2, `{"QueueUrl":"u","Entries":{}}`, false},
}

// fastDecodeTarget is a fresh input of the seed's operation.
func fastDecodeTarget(op uint8) any {
	switch op % 5 {
	case 0:
		return new(sqsSendBatchInput)
	case 1:
		return new(sqsReceiveInput)
	case 2:
		return new(sqsDeleteBatchInput)
	case 3:
		return new(sqsSendEntry)
	default:
		return new(sqsDeleteInput)
	}
}

// checkFastDecode asserts the fast reader's contract for body: when it
// accepts, encoding/json accepts too and decodes the same value; when it
// declines, the target is untouched.
func checkFastDecode(t *testing.T, op uint8, body []byte) bool {
	t.Helper()
	fast := fastDecodeTarget(op)
	ok := fastDecodeSQS(body, fast)
	if !ok {
		if !reflect.DeepEqual(fast, fastDecodeTarget(op)) {
			t.Fatalf("declined but wrote %+v", fast)
		}
		return false
	}
	slow := fastDecodeTarget(op)
	if err := unmarshalBody(body, slow); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json refused it: %v", body, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\nfast %#v\njson %#v", body, fast, slow)
	}
	return true
}

func TestSQSFastJSONDecode(t *testing.T) {
	for _, s := range fastJSONSeeds {
		if got := checkFastDecode(t, s.op, []byte(s.body)); got != s.fast {
			t.Errorf("%q: fast path accepted = %v, want %v", s.body, got, s.fast)
		}
	}
}

func TestSQSFastJSONDecodeValues(t *testing.T) {
	var in sqsSendBatchInput
	body := `{"QueueUrl":"u","Entries":[{"Id":"a","MessageBody":"\ud83d\ude00\"\\\/\b\f\n\r\t\u0041\ud800","DelaySeconds":-7,` +
		`"MessageAttributes":{"b":{"DataType":"Binary","BinaryValue":"AAEC"}}}]}`
	if !fastDecodeSQS([]byte(body), &in) {
		t.Fatal("declined")
	}
	e := in.Entries[0]
	if want := "😀\"\\/\b\f\n\r\tA\uFFFD"; e.MessageBody != want {
		t.Errorf("body = %q, want %q", e.MessageBody, want)
	}
	if e.DelaySeconds == nil || *e.DelaySeconds != -7 {
		t.Errorf("DelaySeconds = %v", e.DelaySeconds)
	}
	if got := e.MessageAttributes["b"].BinaryValue; !bytes.Equal(got, []byte{0, 1, 2}) {
		t.Errorf("binary = %v", got)
	}
}

// FuzzSQSFastJSONDecode: for any body, the fast reader either declines or
// decodes exactly what encoding/json decodes.
func FuzzSQSFastJSONDecode(f *testing.F) {
	for _, s := range fastJSONSeeds {
		f.Add(s.op, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		checkFastDecode(t, op, body)
	})
}

// fastEncodeOutputs builds outputs of every hot operation from the
// fuzzer's strings and bytes.
func fastEncodeOutputs(s1, s2 string, bin []byte, flag bool) []any {
	sp := s2
	attrs := sqsMessageAttrsMap{
		s1:  {DataType: "String", StringValue: &sp},
		s2:  {DataType: "Binary", BinaryValue: bin},
		"l": {DataType: s1, StringListValues: []string{s1, s2}, BinaryListValues: [][]byte{bin, nil}},
	}
	var failed []sqsBatchError
	if flag {
		failed = []sqsBatchError{{Id: s1, SenderFault: flag, Code: s2}, {Id: s2, Code: s1, Message: s2}}
	}
	return []any{
		nil,
		sqsSendBatchOutput{},
		sqsSendBatchOutput{
			Successful: []sqsSendResult{{Id: s1, MessageId: s2, MD5OfMessageBody: s1}, {MessageId: s1, MD5OfMessageAttributes: s2, MD5OfMessageSystemAttributes: s1, SequenceNumber: s2}},
			Failed:     failed,
		},
		sqsSendBatchOutput{Successful: []sqsSendResult{}, Failed: []sqsBatchError{}},
		sqsSendResult{MessageId: s1, MD5OfMessageBody: s2},
		sqsSendResult{Id: s2, MessageId: s1, MD5OfMessageBody: s2, MD5OfMessageAttributes: s1, MD5OfMessageSystemAttributes: s2, SequenceNumber: s1},
		sqsReceiveOutput{},
		sqsReceiveOutput{Messages: []sqsMessage{}},
		sqsReceiveOutput{Messages: []sqsMessage{
			{MessageId: s1, ReceiptHandle: s2, MD5OfBody: s1, Body: s2},
			{MessageId: s2, Body: s1, Attributes: sqsNameValueMap{s1: s2, s2: s1, "SentTimestamp": "1"}, MD5OfMessageAttributes: s1, MessageAttributes: attrs},
			{Attributes: sqsNameValueMap{}, MessageAttributes: sqsMessageAttrsMap{}},
		}},
		sqsDeleteBatchOutput{},
		sqsDeleteBatchOutput{Successful: []sqsIDEntry{{Id: s1}, {Id: s2}}, Failed: failed},
	}
}

func checkFastEncode(t *testing.T, out any) {
	t.Helper()
	got, ok := appendSQSOutput(nil, out)
	if !ok {
		t.Fatalf("%T not handled", out)
	}
	v := out
	if v == nil {
		v = struct{}{}
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%#v:\nfast %s\njson %s", out, got, want)
	}
}

func TestSQSFastJSONEncode(t *testing.T) {
	for _, c := range []struct{ s1, s2 string }{
		{"", ""},
		{"plain", "other"},
		{"<a&b>\"\\\x00\x1f\x7f\b\f\n\r\t", "\u2028\u2029é😀"},
		{"\xff\xfe", "a\xe2\x82b\xed\xa0\x80"},
		{strings.Repeat("x", 5000), "z"},
	} {
		for _, out := range fastEncodeOutputs(c.s1, c.s2, []byte(c.s2), true) {
			checkFastEncode(t, out)
		}
	}
	if _, ok := appendSQSOutput(nil, sqsQueueURLOutput{}); ok {
		t.Error("an output of another operation was handled")
	}
}

// FuzzSQSFastJSONEncode: the fast encoders write exactly json.Marshal's
// bytes.
func FuzzSQSFastJSONEncode(f *testing.F) {
	f.Add("a", "b", []byte{0, 1}, true)
	f.Add("<&>\u2028", "\xff\"\\\n", []byte{}, false)
	f.Add("é😀", "\x01", []byte(nil), true)
	f.Fuzz(func(t *testing.T, s1, s2 string, bin []byte, flag bool) {
		for _, out := range fastEncodeOutputs(s1, s2, bin, flag) {
			checkFastEncode(t, out)
		}
	})
}

// checkQueueName asserts that the message operations' queue URL shortcut
// answers as sqsQueueName does.
func checkQueueName(t *testing.T, a *API, raw string) {
	t.Helper()
	got, gotErr := a.messageQueueName(raw)
	want, wantErr := a.sqsQueueName(raw)
	if got != want || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("%q: got %q, %v; want %q, %v", raw, got, gotErr, want, wantErr)
	}
}

var queueNameSeeds = []string{
	"http://127.0.0.1:4566/000000000000/q",
	"https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo",
	"http://localhost/000000000000/a-b_c",
	"http://localhost/000000000001/q",
	"http://localhost/000000000000/q/x",
	"http://localhost/000000000000/",
	"http://localhost/000000000000/q%41",
	"http://localhost:/000000000000/q",
	"http://localhost:x/000000000000/q",
	"http://[::1]:80/000000000000/q",
	"http://user@localhost/000000000000/q",
	"http://localhost/000000000000/q?x=1",
	"http:///000000000000/q",
	"HTTP://localhost/000000000000/q",
	"/000000000000/q",
	"q",
	"",
}

func TestSQSMessageQueueName(t *testing.T) {
	a := New(Options{Logger: slog.New(slog.DiscardHandler)})
	for _, raw := range queueNameSeeds {
		checkQueueName(t, a, raw)
	}
	if name, err := a.messageQueueName(queueNameSeeds[0]); name != "q" || err != nil {
		t.Fatalf("got %q, %v", name, err)
	}
}

func FuzzSQSFastQueueName(f *testing.F) {
	for _, raw := range queueNameSeeds {
		f.Add(raw)
	}
	a := New(Options{Logger: slog.New(slog.DiscardHandler)})
	f.Fuzz(func(t *testing.T, raw string) {
		checkQueueName(t, a, raw)
	})
}
