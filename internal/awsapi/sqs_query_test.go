package awsapi_test

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsQuery posts a query-protocol form to path and returns the status and
// the body with its request id blanked.
func sqsQuery(t *testing.T, method, target, form string, header ...string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form)
	} else if form != "" {
		target += "?" + form
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("%s: Content-Type %q", form, ct)
	}
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Errorf("%s: no request id", form)
	}
	return resp.StatusCode, sqsRequestIDs.ReplaceAllString(string(b), "<RequestId>ID</RequestId>")
}

var sqsRequestIDs = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`)

const sqsNS = ` xmlns="http://queue.amazonaws.com/doc/2012-11-05/"`

// sqsOKXML is the success envelope of action around result ("-" for an
// empty Result element, "" for none).
func sqsOKXML(action, result string) string {
	if result == "-" {
		result = "<" + action + "Result></" + action + "Result>"
	} else if result != "" {
		result = "<" + action + "Result>" + result + "</" + action + "Result>"
	}
	return "<" + action + "Response" + sqsNS + ">" + result + "<ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></" + action + "Response>"
}

func sqsErrXML(typ, code string) *regexp.Regexp {
	return regexp.MustCompile("^<ErrorResponse" + regexp.QuoteMeta(sqsNS) + "><Error><Type>" + typ + "</Type><Code>" + regexp.QuoteMeta(code) +
		"</Code><Message>[^<]+</Message><Detail></Detail></Error><RequestId>ID</RequestId></ErrorResponse>$")
}

func TestSQSQueryProtocol(t *testing.T) {
	e := startSQSEdge(t)
	root := e.url + "/"
	q := e.url + "/000000000000/orders"
	post := func(form string) (int, string) { t.Helper(); return sqsQuery(t, http.MethodPost, root, form) }

	tests := []struct {
		name   string
		form   string
		status int
		want   string // exact body (request id blanked)
	}{
		{"CreateQueue", "Action=CreateQueue&Version=2012-11-05&QueueName=orders&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=40&Tag.1.Key=team&Tag.1.Value=a",
			200, sqsOKXML("CreateQueue", "<QueueUrl>"+q+"</QueueUrl>")},
		{"CreateQueue dlq", "Action=CreateQueue&QueueName=orders-dlq", 200, sqsOKXML("CreateQueue", "<QueueUrl>"+q+"-dlq</QueueUrl>")},
		{"GetQueueUrl", "Action=GetQueueUrl&QueueName=orders", 200, sqsOKXML("GetQueueUrl", "<QueueUrl>"+q+"</QueueUrl>")},
		{"ListQueues", "Action=ListQueues", 200, sqsOKXML("ListQueues", "<QueueUrl>"+q+"</QueueUrl><QueueUrl>"+q+"-dlq</QueueUrl>")},
		{"ListQueues paged", "Action=ListQueues&MaxResults=1", 200,
			sqsOKXML("ListQueues", "<QueueUrl>"+q+"</QueueUrl><NextToken>"+base64.RawURLEncoding.EncodeToString([]byte("orders"))+"</NextToken>")},
		{"ListQueues next page", "Action=ListQueues&MaxResults=1&NextToken=" + base64.RawURLEncoding.EncodeToString([]byte("orders")), 200,
			sqsOKXML("ListQueues", "<QueueUrl>"+q+"-dlq</QueueUrl>")},
		{"SetQueueAttributes", "Action=SetQueueAttributes&QueueUrl=" + url.QueryEscape(q) + "&Attribute.1.Name=RedrivePolicy&Attribute.1.Value=" +
			url.QueryEscape(`{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:orders-dlq","maxReceiveCount":"2"}`), 200, sqsOKXML("SetQueueAttributes", "")},
		{"GetQueueAttributes", "Action=GetQueueAttributes&QueueUrl=" + url.QueryEscape(q) + "&AttributeName.1=VisibilityTimeout&AttributeName.2=QueueArn", 200,
			sqsOKXML("GetQueueAttributes", "<Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:000000000000:orders</Value></Attribute>"+
				"<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>")},
		{"GetQueueAttributes none", "Action=GetQueueAttributes&QueueUrl=" + url.QueryEscape(q), 200, sqsOKXML("GetQueueAttributes", "-")},
		{"ListDeadLetterSourceQueues", "Action=ListDeadLetterSourceQueues&QueueUrl=" + url.QueryEscape(q+"-dlq"), 200,
			sqsOKXML("ListDeadLetterSourceQueues", "<QueueUrl>"+q+"</QueueUrl>")},
		{"TagQueue", "Action=TagQueue&QueueUrl=" + url.QueryEscape(q) + "&Tag.1.Key=env&Tag.1.Value=dev&Tag.2.Key=x&Tag.2.Value=y", 200, sqsOKXML("TagQueue", "")},
		{"UntagQueue", "Action=UntagQueue&QueueUrl=" + url.QueryEscape(q) + "&TagKey.1=x", 200, sqsOKXML("UntagQueue", "")},
		{"ListQueueTags", "Action=ListQueueTags&QueueUrl=" + url.QueryEscape(q), 200,
			sqsOKXML("ListQueueTags", "<Tag><Key>env</Key><Value>dev</Value></Tag><Tag><Key>team</Key><Value>a</Value></Tag>")},
		{"SendMessage", "Action=SendMessage&QueueUrl=" + url.QueryEscape(q) + "&MessageBody=hello+%3Cworld%3E" +
			"&MessageAttribute.1.Name=kind&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=order" +
			"&MessageAttribute.2.Name=blob&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAEC", 200,
			sqsOKXML("SendMessage", "<MessageId>00000000-0000-4000-8000-000000000001</MessageId><MD5OfMessageBody>"+sqsMD5Hex("hello <world>")+"</MD5OfMessageBody>"+
				"<MD5OfMessageAttributes>"+sqsMD5OfTwo()+"</MD5OfMessageAttributes>")},
		{"SendMessageBatch", "Action=SendMessageBatch&QueueUrl=" + url.QueryEscape(q) +
			"&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one" +
			"&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=x%00" +
			"&SendMessageBatchRequestEntry.3.Id=c&SendMessageBatchRequestEntry.3.MessageBody=two&SendMessageBatchRequestEntry.3.DelaySeconds=0", 200,
			sqsOKXML("SendMessageBatch", "<SendMessageBatchResultEntry><Id>a</Id><MessageId>00000000-0000-4000-8000-000000000002</MessageId><MD5OfMessageBody>"+sqsMD5Hex("one")+"</MD5OfMessageBody></SendMessageBatchResultEntry>"+
				"<SendMessageBatchResultEntry><Id>c</Id><MessageId>00000000-0000-4000-8000-000000000003</MessageId><MD5OfMessageBody>"+sqsMD5Hex("two")+"</MD5OfMessageBody></SendMessageBatchResultEntry>"+
				"<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>InvalidMessageContents</Code><Message>Invalid binary character &#39;#x0&#39; was found in the message body.</Message></BatchResultErrorEntry>")},
		{"ListMessageMoveTasks empty", "Action=ListMessageMoveTasks&SourceArn=arn:aws:sqs:us-east-1:000000000000:orders-dlq", 200, sqsOKXML("ListMessageMoveTasks", "-")},
		{"StartMessageMoveTask", "Action=StartMessageMoveTask&SourceArn=arn:aws:sqs:us-east-1:000000000000:orders-dlq", 200,
			sqsOKXML("StartMessageMoveTask", "<TaskHandle>task-1</TaskHandle>")},
		{"ListMessageMoveTasks", "Action=ListMessageMoveTasks&SourceArn=arn:aws:sqs:us-east-1:000000000000:orders-dlq&MaxResults=10", 200,
			sqsOKXML("ListMessageMoveTasks", "<ListMessageMoveTasksResultEntry><TaskHandle>task-1</TaskHandle><Status>RUNNING</Status>"+
				"<SourceArn>arn:aws:sqs:us-east-1:000000000000:orders-dlq</SourceArn><ApproximateNumberOfMessagesMoved>0</ApproximateNumberOfMessagesMoved>"+
				"<ApproximateNumberOfMessagesToMove>3</ApproximateNumberOfMessagesToMove><StartedTimestamp>1700000000123</StartedTimestamp></ListMessageMoveTasksResultEntry>")},
		{"CancelMessageMoveTask", "Action=CancelMessageMoveTask&TaskHandle=task-1", 200,
			sqsOKXML("CancelMessageMoveTask", "<ApproximateNumberOfMessagesMoved>1</ApproximateNumberOfMessagesMoved>")},
		{"AddPermission", "Action=AddPermission&QueueUrl=" + url.QueryEscape(q) + "&Label=l&AWSAccountId.1=123456789012&ActionName.1=SendMessage", 200, sqsOKXML("AddPermission", "")},
	}
	for _, tt := range tests {
		status, body := post(tt.form)
		if status != tt.status || body != tt.want {
			t.Errorf("%s: %d\n got %s\nwant %s", tt.name, status, body, tt.want)
		}
	}

	// Receive: XML shape of messages with attributes.
	status, body := post("Action=ReceiveMessage&QueueUrl=" + url.QueryEscape(q) + "&MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All")
	var recv struct {
		Messages []struct {
			MessageID, ReceiptHandle, MD5OfBody, Body string `xml:",any"`
		} `xml:"ReceiveMessageResult>Message"`
	}
	if status != 200 || xml.Unmarshal([]byte(body), &recv) != nil || len(recv.Messages) != 3 {
		t.Fatalf("ReceiveMessage: %d %s", status, body)
	}
	first := regexp.MustCompile(`^<ReceiveMessageResponse` + regexp.QuoteMeta(sqsNS) + `><ReceiveMessageResult><Message><MessageId>00000000-0000-4000-8000-000000000001</MessageId>` +
		`<ReceiptHandle>(rh-[^<]+)</ReceiptHandle><MD5OfBody>` + sqsMD5Hex("hello <world>") + `</MD5OfBody><Body>hello &lt;world&gt;</Body>` +
		`<Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute><Attribute><Name>SentTimestamp</Name><Value>1700000000000</Value></Attribute>` +
		`<MD5OfMessageAttributes>` + sqsMD5OfTwo() + `</MD5OfMessageAttributes>` +
		`<MessageAttribute><Name>blob</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>` +
		`<MessageAttribute><Name>kind</Name><Value><StringValue>order</StringValue><DataType>String</DataType></Value></MessageAttribute></Message>` +
		`<Message><MessageId>00000000-0000-4000-8000-000000000002</MessageId><ReceiptHandle>(rh-[^<]+)</ReceiptHandle>.*?</Message>` +
		`<Message><MessageId>00000000-0000-4000-8000-000000000003</MessageId><ReceiptHandle>(rh-[^<]+)</ReceiptHandle>`)
	m := first.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("ReceiveMessage body:\n%s", body)
	}
	handles := m[1:]

	// The same operations sent to the queue URL itself carry no QueueUrl.
	status, body = sqsQuery(t, http.MethodPost, q, "Action=ChangeMessageVisibilityBatch"+
		"&ChangeMessageVisibilityBatchRequestEntry.1.Id=v1&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle="+url.QueryEscape(handles[0])+
		"&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=0"+
		"&ChangeMessageVisibilityBatchRequestEntry.2.Id=v2&ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle=junk&ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout=5"+
		"&ChangeMessageVisibilityBatchRequestEntry.3.Id=v3&ChangeMessageVisibilityBatchRequestEntry.3.ReceiptHandle=junk")
	if want := sqsOKXML("ChangeMessageVisibilityBatch", "<ChangeMessageVisibilityBatchResultEntry><Id>v1</Id></ChangeMessageVisibilityBatchResultEntry>"+
		"<BatchResultErrorEntry><Id>v3</Id><SenderFault>true</SenderFault><Code>MissingParameter</Code><Message>The request must contain the parameter VisibilityTimeout.</Message></BatchResultErrorEntry>"+
		"<BatchResultErrorEntry><Id>v2</Id><SenderFault>true</SenderFault><Code>ReceiptHandleIsInvalid</Code><Message>The input receipt handle &#34;junk&#34; is not a valid receipt handle.</Message></BatchResultErrorEntry>"); status != 200 || body != want {
		t.Errorf("ChangeMessageVisibilityBatch to the queue URL: %d\n got %s\nwant %s", status, body, want)
	}
	status, body = sqsQuery(t, http.MethodPost, q, "Action=DeleteMessage&ReceiptHandle="+url.QueryEscape(handles[1]))
	if status != 200 || body != sqsOKXML("DeleteMessage", "") {
		t.Errorf("DeleteMessage to the queue URL: %d %s", status, body)
	}
	status, body = post("Action=DeleteMessageBatch&QueueUrl=" + url.QueryEscape(q) +
		"&DeleteMessageBatchRequestEntry.1.Id=d1&DeleteMessageBatchRequestEntry.1.ReceiptHandle=" + url.QueryEscape(handles[2]))
	if status != 200 || body != sqsOKXML("DeleteMessageBatch", "<DeleteMessageBatchResultEntry><Id>d1</Id></DeleteMessageBatchResultEntry>") {
		t.Errorf("DeleteMessageBatch: %d %s", status, body)
	}
	if n := len(e.fake.queues["orders"].msgs); n != 1 {
		t.Errorf("%d messages left, want 1", n)
	}

	// A GET with the parameters in the URL, as some tools send.
	status, body = sqsQuery(t, http.MethodGet, root, "Action=GetQueueUrl&QueueName=orders-dlq")
	if status != 200 || body != sqsOKXML("GetQueueUrl", "<QueueUrl>"+q+"-dlq</QueueUrl>") {
		t.Errorf("GET GetQueueUrl: %d %s", status, body)
	}
	status, body = sqsQuery(t, http.MethodGet, q, "Action=GetQueueAttributes&AttributeName.1=VisibilityTimeout")
	if status != 200 || body != sqsOKXML("GetQueueAttributes", "<Attribute><Name>VisibilityTimeout</Name><Value>40</Value></Attribute>") {
		t.Errorf("GET to the queue URL: %d %s", status, body)
	}

	errs := []struct {
		name   string
		target string
		form   string
		status int
		typ    string
		code   string
	}{
		{"no such queue", root, "Action=GetQueueUrl&QueueName=nope", 400, "Sender", "AWS.SimpleQueueService.NonExistentQueue"},
		{"no such queue by URL", e.url + "/000000000000/nope", "Action=PurgeQueue", 400, "Sender", "AWS.SimpleQueueService.NonExistentQueue"},
		{"other account", e.url + "/123456789012/orders", "Action=PurgeQueue", 400, "Sender", "AWS.SimpleQueueService.NonExistentQueue"},
		{"queue exists", root, "Action=CreateQueue&QueueName=orders&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5", 400, "Sender", "QueueAlreadyExists"},
		{"bad attribute", root, "Action=CreateQueue&QueueName=z&Attribute.1.Name=Bogus&Attribute.1.Value=5", 400, "Sender", "InvalidAttributeName"},
		{"attribute without name", root, "Action=CreateQueue&QueueName=z&Attribute.1.Value=5", 400, "Sender", "InvalidParameterValue"},
		{"missing QueueName", root, "Action=CreateQueue", 400, "Sender", "MissingParameter"},
		{"missing QueueUrl", root, "Action=PurgeQueue", 400, "Sender", "MissingParameter"},
		{"bad QueueUrl", root, "Action=PurgeQueue&QueueUrl=orders", 404, "Sender", "InvalidAddress"},
		{"empty batch", q, "Action=SendMessageBatch", 400, "Sender", "AWS.SimpleQueueService.EmptyBatchRequest"},
		{"ids not distinct", q, "Action=DeleteMessageBatch&DeleteMessageBatchRequestEntry.1.Id=a&DeleteMessageBatchRequestEntry.1.ReceiptHandle=h" +
			"&DeleteMessageBatchRequestEntry.2.Id=a&DeleteMessageBatchRequestEntry.2.ReceiptHandle=h", 400, "Sender", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
		{"bad entry id", q, "Action=SendMessageBatch&SendMessageBatchRequestEntry.1.Id=a.b&SendMessageBatchRequestEntry.1.MessageBody=x", 400, "Sender", "AWS.SimpleQueueService.InvalidBatchEntryId"},
		{"bad receipt handle", q, "Action=DeleteMessage&ReceiptHandle=junk", 404, "Sender", "ReceiptHandleIsInvalid"},
		{"not an integer", q, "Action=ReceiveMessage&WaitTimeSeconds=soon", 400, "Sender", "InvalidParameterValue"},
		{"bad base64", q, "Action=SendMessage&MessageBody=x&MessageAttribute.1.Name=b&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=%25", 400, "Sender", "InvalidParameterValue"},
		{"list attribute", q, "Action=SendMessage&MessageBody=x&MessageAttribute.1.Name=b&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringListValue.1=x", 400, "Sender", "InvalidParameterValue"},
		{"no such task", root, "Action=CancelMessageMoveTask&TaskHandle=zzz", 404, "Sender", "ResourceNotFoundException"},
		{"unknown action at queue URL", q, "Action=Publish", 400, "Sender", "InvalidAction"},
		{"no action", q, "QueueName=x", 400, "Sender", "MissingAction"},
		{"malformed", q, "Action=ListQueues&x=%zz", 400, "Sender", "MalformedQueryString"},
	}
	for _, tt := range errs {
		status, body := sqsQuery(t, http.MethodPost, tt.target, tt.form)
		if status != tt.status || !sqsErrXML(tt.typ, tt.code).MatchString(body) {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
	// An unknown action at POST / belongs to SQS when signed for it.
	status, body = sqsQuery(t, http.MethodPost, root, "Action=Explode&Version=2012-11-05",
		"Authorization", "AWS4-HMAC-SHA256 Credential=test/20240131/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0")
	if status != 400 || !sqsErrXML("Sender", "InvalidAction").MatchString(body) {
		t.Errorf("unknown action: %d %s", status, body)
	}
	if status, _ := post("Action=PurgeQueue&QueueUrl=" + url.QueryEscape(q)); status != 200 {
		t.Errorf("PurgeQueue: %d", status)
	}
	if status, body := post("Action=PurgeQueue&QueueUrl=" + url.QueryEscape(q)); status != 403 || !sqsErrXML("Sender", "AWS.SimpleQueueService.PurgeQueueInProgress").MatchString(body) {
		t.Errorf("second PurgeQueue: %d %s", status, body)
	}
	if status, body := post("Action=DeleteQueue&QueueUrl=" + url.QueryEscape(q)); status != 200 || body != sqsOKXML("DeleteQueue", "") {
		t.Errorf("DeleteQueue: %d %s", status, body)
	}
}

// sqsMD5OfTwo is the attribute digest of the kind/blob attributes sent above.
func sqsMD5OfTwo() string {
	return sqsRefAttrMD5(map[string]types.MessageAttributeValue{
		"kind": {DataType: aws.String("String"), StringValue: aws.String("order")},
		"blob": {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
	})
}
