package awsapi

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestQueryParse(t *testing.T) {
	const form = "application/x-www-form-urlencoded; charset=utf-8" // what botocore sends
	for _, tc := range []struct {
		name                string
		method, target      string
		contentType, body   string
		limit               int64
		wantAction, wantVer string
		wantParam           [2]string // a parameter and its expected value
		wantKind            fault.Kind
		wantReason          string
	}{
		{name: "SNS POST form", method: "POST", target: "/", contentType: form,
			body:       "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=hi+there",
			wantAction: "Publish", wantVer: "2010-03-31", wantParam: [2]string{"Message", "hi there"}},
		{name: "SQS legacy POST to the queue path", method: "POST", target: "/000000000000/q", contentType: "application/x-www-form-urlencoded",
			body:       "Action=SendMessage&Version=2012-11-05&MessageBody=%7B%22a%22%3A1%7D",
			wantAction: "SendMessage", wantVer: "2012-11-05", wantParam: [2]string{"MessageBody", `{"a":1}`}},
		{name: "GET query string", method: "GET", target: "/?Action=ListQueues&Version=2012-11-05&QueueNamePrefix=a",
			wantAction: "ListQueues", wantVer: "2012-11-05", wantParam: [2]string{"QueueNamePrefix", "a"}},
		{name: "POST with Action only in the URL", method: "POST", target: "/?Action=ListTopics", contentType: form, body: "Version=2010-03-31",
			wantAction: "ListTopics", wantVer: "2010-03-31"},
		{name: "body wins over URL", method: "POST", target: "/?Action=DeleteTopic&X=url", contentType: form, body: "Action=ListTopics&X=body",
			wantAction: "ListTopics", wantParam: [2]string{"X", "body"}},
		{name: "no content type read as form", method: "POST", target: "/", body: "Action=ListTopics",
			wantAction: "ListTopics"},
		{name: "media type case-insensitive", method: "POST", target: "/", contentType: "Application/X-WWW-Form-Urlencoded", body: "Action=ListTopics",
			wantAction: "ListTopics"},
		{name: "missing Action", method: "POST", target: "/", contentType: form, body: "Version=2010-03-31&TopicArn=x",
			wantKind: fault.Invalid, wantReason: QueryCodeMissingAction},
		{name: "empty Action", method: "POST", target: "/", contentType: form, body: "Action=&Version=1",
			wantKind: fault.Invalid, wantReason: QueryCodeMissingAction},
		{name: "empty body", method: "POST", target: "/", contentType: form,
			wantKind: fault.Invalid, wantReason: QueryCodeMissingAction},
		{name: "GET without Action", method: "GET", target: "/?Version=1",
			wantKind: fault.Invalid, wantReason: QueryCodeMissingAction},
		{name: "JSON body", method: "POST", target: "/", contentType: "application/x-amz-json-1.0", body: `{"Action":"x"}`,
			wantKind: fault.InvalidContent},
		{name: "bad content type", method: "POST", target: "/", contentType: ";;", body: "Action=x",
			wantKind: fault.InvalidContent},
		{name: "bad escape", method: "POST", target: "/", contentType: form, body: "Action=Publish&Message=%zz",
			wantKind: fault.InvalidContent, wantReason: QueryCodeMalformedQueryString},
		{name: "semicolon separator", method: "POST", target: "/", contentType: form, body: "Action=Publish;Message=x",
			wantKind: fault.InvalidContent, wantReason: QueryCodeMalformedQueryString},
		{name: "bad escape in URL", method: "GET", target: "/?Action=%zz",
			wantKind: fault.InvalidContent, wantReason: QueryCodeMalformedQueryString},
		{name: "over the limit", method: "POST", target: "/", contentType: form, body: "Action=Publish&Message=" + strings.Repeat("x", 100), limit: 64,
			wantKind: fault.TooLarge},
		{name: "exactly the limit", method: "POST", target: "/", contentType: form, body: "Action=Publish&M=" + strings.Repeat("x", 47), limit: 64,
			wantAction: "Publish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 20
			}
			action, version, params, err := ParseQuery(r, limit)
			if tc.wantAction == "" {
				var fe *fault.Error
				if !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a *fault.Error", err)
				}
				if fe.Kind != tc.wantKind || fe.Reason != tc.wantReason {
					t.Errorf("err kind/reason = %v/%q, want %v/%q (%v)", fe.Kind, fe.Reason, tc.wantKind, tc.wantReason, err)
				}
				if action != "" || params != nil {
					t.Errorf("error with results: %q %v", action, params)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if action != tc.wantAction || version != tc.wantVer {
				t.Errorf("action, version = %q, %q; want %q, %q", action, version, tc.wantAction, tc.wantVer)
			}
			if k := tc.wantParam[0]; k != "" && params.Get(k) != tc.wantParam[1] {
				t.Errorf("%s = %q, want %q", k, params.Get(k), tc.wantParam[1])
			}
		})
	}
}

// The edge wraps bodies in http.MaxBytesReader; its error must read as
// TooLarge too.
func TestQueryParseMaxBytesReader(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=Publish&Message="+strings.Repeat("x", 100)))
	r.Header.Set("Content-Type", contentTypeForm)
	r.Body = http.MaxBytesReader(w, r.Body, 32)
	_, _, _, err := ParseQuery(r, 1<<20)
	if fault.KindOf(err) != fault.TooLarge {
		t.Errorf("err = %v, want TooLarge", err)
	}
}

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestQueryList(t *testing.T) {
	for _, tc := range []struct {
		name, query, prefix string
		want                []string
	}{
		// botocore, flattened list with a member name (SQS ReceiveMessage).
		{"SQS flattened", "AttributeName.1=All&AttributeName.2=SentTimestamp&MessageAttributeName.1=x", "AttributeName", []string{"All", "SentTimestamp"}},
		// botocore, non-flattened list (SNS, and Smithy's awsQuery default).
		{"member form", "AttributeNames.member.1=All&AttributeNames.member.2=Policy", "AttributeNames.member", []string{"All", "Policy"}},
		{"index order, not text order", "TagKey.10=j&TagKey.2=b&TagKey.1=a", "TagKey", []string{"a", "b", "j"}},
		{"sparse indices keep every element", "TagKey.1=a&TagKey.3=c", "TagKey", []string{"a", "c"}},
		// botocore sends an empty list as "Name=".
		{"empty list", "AttributeNames=", "AttributeName", nil},
		{"empty element kept", "AttributeName.1=&AttributeName.2=x", "AttributeName", []string{"", "x"}},
		{"non-canonical indices ignored", "A.0=z&A.01=y&A.-1=w&A.x=v&A.1=a&A.99999999999=o", "A", []string{"a"}},
		{"longer prefix not matched", "AttributeNameX.1=no&AttributeName.1=yes", "AttributeName", []string{"yes"}},
		{"structure members are not elements", "E.1.Id=a&E.2=b", "E", []string{"b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := QueryList(mustQuery(t, tc.query), tc.prefix); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQueryMembers(t *testing.T) {
	// SendMessageBatch as botocore serialises it for the query-era SQS model.
	q := mustQuery(t, "Action=SendMessageBatch&QueueUrl=u"+
		"&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two"+
		"&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one"+
		"&SendMessageBatchRequestEntry.1.DelaySeconds=5"+
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k"+
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"+
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v"+
		"&SendMessageBatchRequestEntry.3=bare")
	got := QueryMembers(q, "SendMessageBatchRequestEntry")
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2: %v", len(got), got)
	}
	if got[0].Get("Id") != "a" || got[0].Get("MessageBody") != "one" || got[0].Get("DelaySeconds") != "5" {
		t.Errorf("entry 1 = %v", got[0])
	}
	if got[1].Get("Id") != "b" || got[1].Get("MessageBody") != "two" || len(got[1]) != 2 {
		t.Errorf("entry 2 = %v", got[1])
	}
	attrs, err := QueryMessageAttributes(got[0], "MessageAttribute")
	if err != nil || len(attrs) != 1 || *attrs["k"].StringValue != "v" {
		t.Errorf("nested attributes = %v, %v", attrs, err)
	}
	// SNS PublishBatch spelling.
	sns := QueryMembers(mustQuery(t, "PublishBatchRequestEntries.member.1.Id=x&PublishBatchRequestEntries.member.1.Message=m"), "PublishBatchRequestEntries.member")
	if len(sns) != 1 || sns[0].Get("Id") != "x" || sns[0].Get("Message") != "m" {
		t.Errorf("SNS entries = %v", sns)
	}
	if QueryMembers(url.Values{}, "X") != nil {
		t.Error("no entries should be nil")
	}
}

func TestQueryMap(t *testing.T) {
	for _, tc := range []struct {
		name, query, prefix, key, value string
		want                            map[string]string
		wantErr                         bool
	}{
		{"SQS queue attributes", "Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Attribute.2.Name=DelaySeconds&Attribute.2.Value=0",
			"Attribute", "Name", "Value", map[string]string{"VisibilityTimeout": "40", "DelaySeconds": "0"}, false},
		{"SQS tags", "Tag.1.Key=team&Tag.1.Value=core", "Tag", "Key", "Value", map[string]string{"team": "core"}, false},
		{"SNS attributes", "Attributes.entry.1.key=DisplayName&Attributes.entry.1.value=Hi&Attributes.entry.2.key=Policy&Attributes.entry.2.value=",
			"Attributes.entry", "key", "value", map[string]string{"DisplayName": "Hi", "Policy": ""}, false},
		{"missing value is empty", "Attribute.1.Name=Policy", "Attribute", "Name", "Value", map[string]string{"Policy": ""}, false},
		{"none", "Action=X", "Attribute", "Name", "Value", nil, false},
		{"missing key", "Attribute.1.Value=40", "Attribute", "Name", "Value", nil, true},
		{"duplicate key", "Attribute.1.Name=A&Attribute.1.Value=1&Attribute.2.Name=A&Attribute.2.Value=2", "Attribute", "Name", "Value", nil, true},
		{"key spelling is exact", "Attributes.entry.1.Key=A&Attributes.entry.1.Value=1", "Attributes.entry", "key", "value", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := QueryMap(mustQuery(t, tc.query), tc.prefix, tc.key, tc.value)
			if tc.wantErr {
				if fault.KindOf(err) != fault.Invalid {
					t.Errorf("err = %v, want Invalid", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestQueryMessageAttributes(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name, query, prefix string
		want                map[string]MessageAttributeValue
		wantErr             bool
	}{
		{"SQS SendMessage", "MessageAttribute.1.Name=City&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=Any+City" +
			"&MessageAttribute.2.Name=Img&MessageAttribute.2.Value.DataType=Binary.png&MessageAttribute.2.Value.BinaryValue=" + url.QueryEscape(b64([]byte{0xfb, 0xff})),
			"MessageAttribute", map[string]MessageAttributeValue{
				"City": {DataType: "String", StringValue: strp("Any City")},
				"Img":  {DataType: "Binary.png", BinaryValue: []byte{0xfb, 0xff}},
			}, false},
		{"SQS system attribute", "MessageSystemAttribute.1.Name=AWSTraceHeader&MessageSystemAttribute.1.Value.DataType=String&MessageSystemAttribute.1.Value.StringValue=Root%3D1",
			"MessageSystemAttribute", map[string]MessageAttributeValue{"AWSTraceHeader": {DataType: "String", StringValue: strp("Root=1")}}, false},
		{"SNS Publish", "MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Number.float&MessageAttributes.entry.1.Value.StringValue=1.5",
			"MessageAttributes.entry", map[string]MessageAttributeValue{"n": {DataType: "Number.float", StringValue: strp("1.5")}}, false},
		{"lists", "MessageAttribute.1.Name=l&MessageAttribute.1.Value.DataType=String.Array" +
			"&MessageAttribute.1.Value.StringListValue.2=b&MessageAttribute.1.Value.StringListValue.1=a" +
			"&MessageAttribute.1.Value.BinaryListValue.1=" + url.QueryEscape(b64([]byte("x"))),
			"MessageAttribute", map[string]MessageAttributeValue{"l": {DataType: "String.Array", StringListValues: []string{"a", "b"}, BinaryListValues: [][]byte{[]byte("x")}}}, false},
		{"empty string and empty binary kept", "MessageAttribute.1.Name=s&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=" +
			"&MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=",
			"MessageAttribute", map[string]MessageAttributeValue{"s": {DataType: "String", StringValue: strp("")}, "b": {DataType: "Binary", BinaryValue: []byte{}}}, false},
		{"no value member", "MessageAttribute.1.Name=n&MessageAttribute.1.Value.DataType=String",
			"MessageAttribute", map[string]MessageAttributeValue{"n": {DataType: "String"}}, false},
		{"none", "Action=SendMessage&MessageBody=x", "MessageAttribute", nil, false},
		{"missing name", "MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v", "MessageAttribute", nil, true},
		{"duplicate name", "MessageAttribute.1.Name=a&MessageAttribute.2.Name=a", "MessageAttribute", nil, true},
		{"bad base64", "MessageAttribute.1.Name=b&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=!!", "MessageAttribute", nil, true},
		{"bad base64 in list", "MessageAttribute.1.Name=b&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryListValue.1=%25", "MessageAttribute", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := QueryMessageAttributes(mustQuery(t, tc.query), tc.prefix)
			if tc.wantErr {
				if fault.KindOf(err) != fault.Invalid {
					t.Errorf("err = %v, want Invalid", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, %v\nwant %#v", got, err, tc.want)
			}
		})
	}
}

// A SendMessage as botocore writes it for the query-era model, with AWS's
// documentation example attributes: what the parser reads must hash to the
// published digest, end to end.
func TestQueryMessageAttributesDigestEndToEnd(t *testing.T) {
	body := "Action=SendMessage&Version=2012-11-05&QueueUrl=http%3A%2F%2Flocalhost%2F000000000000%2Fq&MessageBody=test"
	for i, a := range [][3]string{
		{"City", "String", "Any City"}, {"PostalCode", "String", "99065"}, {"PricePerGallon", "Number", "1.99"},
		{"Region", "String", "WA"}, {"SellerName", "String", "Example Store"},
	} {
		p := "&MessageAttribute." + strconv.Itoa(i+1)
		body += p + ".Name=" + url.QueryEscape(a[0]) + p + ".Value.DataType=" + a[1] + p + ".Value.StringValue=" + url.QueryEscape(a[2])
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _, params, err := ParseQuery(r, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := QueryMessageAttributes(params, "MessageAttribute")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := MD5OfMessageAttributes(attrs), "10809b55e3d9b22c17220b7dbaf283ef"; got != want {
		t.Errorf("attributes digest = %s, want %s", got, want)
	}
	if got, want := MD5OfBody(params.Get("MessageBody")), "098f6bcd4621d373cade4e832627b4f6"; got != want {
		t.Errorf("body digest = %s, want %s", got, want)
	}
}

func TestQueryWriteResponse(t *testing.T) {
	type publishResult struct {
		MessageID string `xml:"MessageId"`
	}
	type getAttrsResult struct {
		XMLName    xml.Name         `xml:"Ignored"` // replaced by the Result name
		Attributes []QueryNameValue `xml:"Attribute"`
	}
	type topicAttrsResult struct {
		Attributes QueryEntryMap
	}
	type listTopicsResult struct {
		Topics []struct {
			TopicArn string
		} `xml:"Topics>member"`
	}
	type receiveResult struct {
		Messages []struct {
			Body             string
			MessageAttribute []QueryMessageAttribute
		} `xml:"Message"`
	}
	var recv receiveResult
	recv.Messages = append(recv.Messages, struct {
		Body             string
		MessageAttribute []QueryMessageAttribute
	}{"a&b", QueryMessageAttributeList(map[string]MessageAttributeValue{
		"z": {DataType: "Binary", BinaryValue: []byte{1}},
		"a": {DataType: "String", StringValue: strp("v")},
	})})
	var topics listTopicsResult
	topics.Topics = append(topics.Topics, struct{ TopicArn string }{"arn:1"}, struct{ TopicArn string }{"arn:2"})

	for _, tc := range []struct {
		name, action, ns string
		result           any
		want             string
	}{
		{"SNS Publish", "Publish", SNSQueryNamespace, publishResult{"m-1"},
			`<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>` +
				`<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`},
		{"no output", "DeleteQueue", SQSQueryNamespace, nil,
			`<DeleteQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></DeleteQueueResponse>`},
		{"SQS flattened attributes, sorted", "GetQueueAttributes", SQSQueryNamespace,
			getAttrsResult{Attributes: QueryNameValues(map[string]string{"VisibilityTimeout": "30", "DelaySeconds": "0"})},
			`<GetQueueAttributesResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><GetQueueAttributesResult>` +
				`<Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>` +
				`</GetQueueAttributesResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetQueueAttributesResponse>`},
		{"SNS entry map, sorted", "GetTopicAttributes", SNSQueryNamespace,
			topicAttrsResult{QueryEntryMap{"TopicArn": "arn", "DisplayName": "d<"}},
			`<GetTopicAttributesResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><GetTopicAttributesResult><Attributes>` +
				`<entry><key>DisplayName</key><value>d&lt;</value></entry><entry><key>TopicArn</key><value>arn</value></entry>` +
				`</Attributes></GetTopicAttributesResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetTopicAttributesResponse>`},
		{"SNS member list", "ListTopics", SNSQueryNamespace, topics,
			`<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics><member><TopicArn>arn:1</TopicArn></member>` +
				`<member><TopicArn>arn:2</TopicArn></member></Topics></ListTopicsResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListTopicsResponse>`},
		{"SQS message attributes", "ReceiveMessage", SQSQueryNamespace, recv,
			`<ReceiveMessageResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><ReceiveMessageResult><Message><Body>a&amp;b</Body>` +
				`<MessageAttribute><Name>a</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute>` +
				`<MessageAttribute><Name>z</Name><Value><BinaryValue>AQ==</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>` +
				`</Message></ReceiveMessageResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ReceiveMessageResponse>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := WriteQueryResponse(w, tc.action, tc.ns, "r-1", tc.result); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/xml" {
				t.Errorf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if got := w.Body.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", cl, w.Body.Len())
			}
		})
	}
}

func TestQueryWriteResponseMarshalError(t *testing.T) {
	w := httptest.NewRecorder()
	err := WriteQueryResponse(w, "X", SNSQueryNamespace, "r", map[string]string{"a": "b"})
	if err == nil {
		t.Fatal("a map result should not marshal")
	}
	if w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("wrote a response on failure: %q %v", w.Body.String(), w.Header())
	}
}

func TestQueryWriteError(t *testing.T) {
	for _, tc := range []struct {
		name, ns, typ, code, msg string
		status                   int
		want                     string
	}{
		{"SQS has Detail", SQSQueryNamespace, "Sender", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.", 400,
			`<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>` +
				`<Message>The specified queue does not exist.</Message><Detail></Detail></Error><RequestId>r-2</RequestId></ErrorResponse>`},
		{"SNS has none", SNSQueryNamespace, "Sender", "NotFound", "Topic does not exist", 404,
			`<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code>` +
				`<Message>Topic does not exist</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`},
		{"no namespace, escaped", "", "Receiver", "InternalError", `a<b & "c"`, 500,
			`<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>a&lt;b &amp; &#34;c&#34;</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			WriteQueryError(w, tc.status, tc.ns, tc.typ, tc.code, tc.msg, "r-2")
			if w.Code != tc.status || w.Header().Get("Content-Type") != "text/xml" {
				t.Errorf("status %d, content type %q", w.Code, w.Header().Get("Content-Type"))
			}
			if got := w.Body.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			// Read back the way query clients do (botocore, aws-sdk-go's
			// query error unmarshaler): Error/Code, Error/Message, RequestId.
			var doc struct {
				Error struct {
					Type, Code, Message string
				}
				RequestID string `xml:"RequestId"`
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Error.Code != tc.code || doc.Error.Message != tc.msg || doc.Error.Type != tc.typ || doc.RequestID != "r-2" {
				t.Errorf("read back %+v", doc)
			}
		})
	}
}

// FuzzParseQuery throws arbitrary methods, query strings, content types and
// bodies at ParseQuery: it must never panic, must only fail with the fault
// kinds the query edges map, must refuse every request without an Action,
// and a success must report exactly the Action and Version it read.
func FuzzParseQuery(f *testing.F) {
	const limit = 256
	for _, s := range []struct {
		post               bool
		rawQuery, ct, body string
	}{
		{true, "", "application/x-www-form-urlencoded; charset=utf-8", "Action=Publish&Version=2010-03-31&Message=x"},
		{true, "Action=ListQueues", "", ""},
		{false, "Action=ListQueues&Version=2012-11-05", "", ""},
		{true, "", "application/json", `{"Action":"x"}`},
		{true, "", "application/x-www-form-urlencoded", "Version=1&MessageAttribute.1.Name=a"},
		{true, "", "application/x-www-form-urlencoded", "Action=%zz"},
		{true, "", "text/plain; charset=\"", "Action=x"},
		{true, "", "application/x-www-form-urlencoded", "Action=a;b"},
		{true, "", "", strings.Repeat("Action=x&", 40)},
	} {
		f.Add(s.post, s.rawQuery, s.ct, s.body)
	}
	f.Fuzz(func(t *testing.T, post bool, rawQuery, ct, body string) {
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		r := &http.Request{
			Method: method,
			URL:    &url.URL{Path: "/", RawQuery: rawQuery},
			Header: http.Header{},
			Body:   http.NoBody,
		}
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if post {
			r.Body = io.NopCloser(strings.NewReader(body))
		}
		action, version, params, err := ParseQuery(r, limit)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *fault.Error", err)
			}
			switch fe.Kind {
			case fault.Invalid:
				if fe.Reason != QueryCodeMissingAction {
					t.Fatalf("Invalid without MissingAction: %v", err)
				}
			case fault.InvalidContent, fault.TooLarge:
			default:
				t.Fatalf("unexpected kind %v: %v", fe.Kind, err)
			}
			if fe.Kind == fault.TooLarge && (!post || len(body) <= limit) {
				t.Fatalf("TooLarge for a %d-byte body: %v", len(body), err)
			}
			if action != "" || version != "" || params != nil {
				t.Fatal("results returned with an error")
			}
			return
		}
		if action == "" || params.Get("Action") != action || params.Get("Version") != version {
			t.Fatalf("action %q version %q, params %v", action, version, params)
		}
		if post && len(body) > limit {
			t.Fatalf("accepted a %d-byte body over the %d limit", len(body), limit)
		}
		// The Action came from somewhere: the body or the URL.
		fromURL, _ := url.ParseQuery(rawQuery)
		fromBody, _ := url.ParseQuery(body)
		if fromURL.Get("Action") == "" && (!post || fromBody.Get("Action") == "") {
			t.Fatalf("Action %q from nowhere", action)
		}
	})
}

// FuzzQueryMessageAttributes decodes arbitrary forms under both services'
// prefixes: no panic, only Invalid errors, and whatever decodes re-encodes
// (as botocore would) to the same attributes and the same digest.
func FuzzQueryMessageAttributes(f *testing.F) {
	for _, s := range []string{
		"MessageAttribute.1.Name=City&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=Any+City",
		"MessageAttributes.entry.1.Name=n&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=AP8%3D",
		"MessageAttribute.1.Name=l&MessageAttribute.1.Value.StringListValue.1=a&MessageAttribute.1.Value.BinaryListValue.2=AQ%3D%3D",
		"MessageAttribute.1.Name=a&MessageAttribute.2.Name=a",
		"MessageAttribute.01.Name=x&MessageAttribute.1.Value.StringValue=",
		"MessageAttribute.3=bare&MessageAttribute.1.Value.BinaryValue=%%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		params, _ := url.ParseQuery(query) // partial results are fine input too
		for _, prefix := range []string{"MessageAttribute", "MessageAttributes.entry"} {
			attrs, err := QueryMessageAttributes(params, prefix)
			if err != nil {
				if fault.KindOf(err) != fault.Invalid || attrs != nil {
					t.Fatalf("%s: err %v (kind %v), attrs %v", prefix, err, fault.KindOf(err), attrs)
				}
				continue
			}
			sum := MD5OfMessageAttributes(attrs)
			if (sum == "") != (len(attrs) == 0) || (sum != "" && len(sum) != 32) {
				t.Fatalf("digest %q for %d attributes", sum, len(attrs))
			}
			again, err := QueryMessageAttributes(encodeAttributes(attrs, prefix), prefix)
			if err != nil {
				t.Fatalf("re-encoded attributes fail: %v", err)
			}
			if !reflect.DeepEqual(again, attrs) {
				t.Fatalf("round trip:\n%#v\n%#v", attrs, again)
			}
			if MD5OfMessageAttributes(again) != sum {
				t.Fatal("digest changed over a round trip")
			}
		}
	})
}

// encodeAttributes writes attrs the way botocore serialises them.
func encodeAttributes(attrs map[string]MessageAttributeValue, prefix string) url.Values {
	out := url.Values{}
	i := 0
	for name, v := range attrs {
		i++
		p := prefix + "." + strconv.Itoa(i) + "."
		out.Set(p+"Name", name)
		if v.DataType != "" {
			out.Set(p+"Value.DataType", v.DataType)
		}
		if v.StringValue != nil {
			out.Set(p+"Value.StringValue", *v.StringValue)
		}
		if v.BinaryValue != nil {
			out.Set(p+"Value.BinaryValue", base64.StdEncoding.EncodeToString(v.BinaryValue))
		}
		for j, s := range v.StringListValues {
			out.Set(p+"Value.StringListValue."+strconv.Itoa(j+1), s)
		}
		for j, b := range v.BinaryListValues {
			out.Set(p+"Value.BinaryListValue."+strconv.Itoa(j+1), base64.StdEncoding.EncodeToString(b))
		}
	}
	return out
}
