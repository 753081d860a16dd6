package queue

import (
	"strings"
	"testing"
	"time"
)

func TestCreateQueueValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("dlq-std", nil)
	e.create("deny", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"denyAll"}`})
	cases := []struct {
		name  string
		queue string
		attrs map[string]string
		code  string
	}{
		{"empty name", "", nil, CodeInvalidParameterValue},
		{"bad char", "a.b", nil, CodeInvalidParameterValue},
		{"too long", strings.Repeat("a", 81), nil, CodeInvalidParameterValue},
		{"80 ok", strings.Repeat("a", 80), nil, ""},
		{"fifo name without attribute", "x.fifo", nil, CodeInvalidParameterValue},
		{"fifo attribute without suffix", "x", map[string]string{AttrFifoQueue: "true"}, CodeInvalidParameterValue},
		{"fifo ok", "x.fifo", map[string]string{AttrFifoQueue: "true"}, ""},
		{"unknown attribute", "u", map[string]string{"Bogus": "1"}, CodeInvalidAttributeName},
		{"fifo attribute on standard", "u", map[string]string{AttrContentBasedDeduplication: "true"}, CodeInvalidAttributeName},
		{"visibility too big", "u", map[string]string{AttrVisibilityTimeout: "43201"}, CodeInvalidAttributeValue},
		{"retention too small", "u", map[string]string{AttrMessageRetentionPeriod: "59"}, CodeInvalidAttributeValue},
		{"retention max", "u1", map[string]string{AttrMessageRetentionPeriod: "1209600"}, ""},
		{"delay too big", "u", map[string]string{AttrDelaySeconds: "901"}, CodeInvalidAttributeValue},
		{"size too small", "u", map[string]string{AttrMaximumMessageSize: "1023"}, CodeInvalidAttributeValue},
		{"wait too big", "u", map[string]string{AttrReceiveMessageWaitTimeSeconds: "21"}, CodeInvalidAttributeValue},
		{"not a number", "u", map[string]string{AttrDelaySeconds: "x"}, CodeInvalidAttributeValue},
		{"bad scope", "s.fifo", map[string]string{AttrFifoQueue: "true", AttrDeduplicationScope: "group"}, CodeInvalidAttributeValue},
		{"per group limit needs group scope", "s.fifo", map[string]string{AttrFifoQueue: "true", AttrFifoThroughputLimit: "perMessageGroupId"}, CodeInvalidAttributeValue},
		{"redrive bad json", "u", map[string]string{AttrRedrivePolicy: "{"}, CodeInvalidParameterValue},
		{"redrive count 0", "u", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq-std","maxReceiveCount":0}`}, CodeInvalidParameterValue},
		{"redrive count 1001", "u", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq-std","maxReceiveCount":1001}`}, CodeInvalidParameterValue},
		{"redrive missing dlq", "u", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":3}`}, CodeInvalidParameterValue},
		{"redrive other type", "t.fifo", map[string]string{AttrFifoQueue: "true", AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq-std","maxReceiveCount":3}`}, CodeInvalidParameterValue},
		{"redrive denied", "u", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:deny","maxReceiveCount":3}`}, CodeInvalidParameterValue},
		{"redrive ok", "u2", map[string]string{AttrRedrivePolicy: `{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq-std","maxReceiveCount":"3"}`}, ""},
		{"allow byQueue empty", "u", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"byQueue"}`}, CodeInvalidParameterValue},
		{"allow byQueue 11", "u", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"byQueue","sourceQueueArns":["1","2","3","4","5","6","7","8","9","10","11"]}`}, CodeInvalidParameterValue},
		{"allow bad permission", "u", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"some"}`}, CodeInvalidParameterValue},
		{"allow ok", "u3", map[string]string{AttrRedriveAllowPolicy: `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:u2"]}`}, ""},
	}
	for _, c := range cases {
		_, err := e.svc.CreateQueue(e.ctx, c.queue, c.attrs, nil)
		if codeOf(err) != c.code {
			t.Errorf("%s: got %v, want %q", c.name, err, c.code)
		}
	}
	// Idempotent create, and a conflicting one.
	e.create("idem", map[string]string{AttrVisibilityTimeout: "40"})
	if _, err := e.svc.CreateQueue(e.ctx, "idem", map[string]string{AttrVisibilityTimeout: "40"}, nil); err != nil {
		t.Errorf("same attributes: %v", err)
	}
	if _, err := e.svc.CreateQueue(e.ctx, "idem", map[string]string{AttrVisibilityTimeout: "41"}, nil); codeOf(err) != CodeQueueNameExists {
		t.Errorf("different attributes: %v", err)
	}
	if err := e.svc.SetAttributes(e.ctx, "idem", map[string]string{AttrFifoQueue: "true"}); codeOf(err) != CodeInvalidAttributeName {
		t.Errorf("changing FifoQueue: %v", err)
	}
	if _, err := e.svc.GetAttributes(e.ctx, "idem", []string{"Nope"}); codeOf(err) != CodeInvalidAttributeName {
		t.Errorf("unknown attribute name: %v", err)
	}
}

func TestDefaultAttributes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.clk.Advance(time.Hour)
	e.create("std", nil)
	e.create("f.fifo", map[string]string{AttrFifoQueue: "true"})
	got, err := e.svc.GetAttributes(e.ctx, "std", []string{AttrAll})
	if err != nil {
		t.Fatal(err)
	}
	ts := "1767326645"
	want := map[string]string{
		AttrDelaySeconds: "0", AttrMaximumMessageSize: "1048576", AttrMessageRetentionPeriod: "345600",
		AttrReceiveMessageWaitTimeSeconds: "0", AttrVisibilityTimeout: "30", AttrSqsManagedSseEnabled: "true",
		AttrQueueArn: "arn:aws:sqs:us-east-1:000000000000:std", AttrApproximateNumberOfMessages: "0",
		AttrApproximateNumberOfMessagesNotVisible: "0", AttrApproximateNumberOfMessagesDelayed: "0",
		AttrCreatedTimestamp: ts, AttrLastModifiedTimestamp: ts,
	}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	f, _ := e.svc.GetAttributes(e.ctx, "f.fifo", []string{AttrAll})
	for k, v := range map[string]string{AttrFifoQueue: "true", AttrContentBasedDeduplication: "false", AttrDeduplicationScope: "queue", AttrFifoThroughputLimit: "perQueue"} {
		if f[k] != v {
			t.Errorf("fifo %s = %q, want %q", k, f[k], v)
		}
	}
	if err := e.svc.TagQueue(e.ctx, "std", map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UntagQueue(e.ctx, "std", []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if tags, _ := e.svc.ListQueueTags(e.ctx, "std"); len(tags) != 1 || tags["b"] != "2" {
		t.Errorf("tags = %v", tags)
	}
	many := map[string]string{}
	for i := 0; i < 50; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	if err := e.svc.TagQueue(e.ctx, "std", many); codeOf(err) != CodeInvalidParameterValue {
		t.Errorf("51 tags: %v", err)
	}
	if names, _ := e.svc.ListQueues(e.ctx, ""); strings.Join(names, ",") != "f.fifo,std" {
		t.Errorf("list = %v", names)
	}
	if n, err := e.svc.NameFromARN("arn:aws:sqs:us-east-1:000000000000:std"); err != nil || n != "std" {
		t.Errorf("NameFromARN = %q %v", n, err)
	}
	if _, err := e.svc.NameFromARN("arn:aws:sqs:eu-west-1:000000000000:std"); codeOf(err) != CodeQueueDoesNotExist {
		t.Errorf("other region: %v", err)
	}
	if _, err := e.svc.NameFromARN("nope"); codeOf(err) != CodeInvalidParameterValue {
		t.Errorf("not an ARN: %v", err)
	}
}

func TestSendValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.create("v", map[string]string{AttrMaximumMessageSize: "1024"})
	e.create("v.fifo", map[string]string{AttrFifoQueue: "true"})
	attrs := func(n int) map[string]Attribute {
		m := map[string]Attribute{}
		for i := 0; i < n; i++ {
			m[strings.Repeat("a", i+1)] = Attribute{DataType: "String", StringValue: "x"}
		}
		return m
	}
	cases := []struct {
		name  string
		queue string
		in    SendInput
		code  string
	}{
		{"ok", "v", SendInput{Body: "hi"}, ""},
		{"empty body", "v", SendInput{}, CodeMissingParameter},
		{"bad char", "v", SendInput{Body: "a\x00b"}, CodeInvalidMessageContents},
		{"surrogate range ok", "v", SendInput{Body: "\U0001F600 \uE000"}, ""},
		{"invalid utf8", "v", SendInput{Body: "a\xffb"}, CodeInvalidMessageContents},
		{"fffe", "v", SendInput{Body: "\uFFFE"}, CodeInvalidMessageContents},
		{"too big", "v", SendInput{Body: strings.Repeat("x", 1025)}, CodeInvalidParameterValue},
		{"attrs count size", "v", SendInput{Body: strings.Repeat("x", 1020), Attributes: attrs(1)}, CodeInvalidParameterValue},
		{"10 attrs", "v", SendInput{Body: "x", Attributes: attrs(10)}, ""},
		{"11 attrs", "v", SendInput{Body: "x", Attributes: attrs(11)}, CodeInvalidParameterValue},
		{"aws. prefix", "v", SendInput{Body: "x", Attributes: map[string]Attribute{"AWS.x": {DataType: "String", StringValue: "v"}}}, CodeInvalidParameterValue},
		{"bad type", "v", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Text", StringValue: "v"}}}, CodeInvalidParameterValue},
		{"custom type", "v", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Number.int", StringValue: "12"}}}, ""},
		{"bad number", "v", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Number", StringValue: "1x"}}}, CodeInvalidParameterValue},
		{"empty binary", "v", SendInput{Body: "x", Attributes: map[string]Attribute{"a": {DataType: "Binary"}}}, CodeInvalidParameterValue},
		{"trace header", "v", SendInput{Body: "x", SystemAttributes: map[string]Attribute{SysAWSTraceHeader: {DataType: "String", StringValue: "Root=1"}}}, ""},
		{"other system attribute", "v", SendInput{Body: "x", SystemAttributes: map[string]Attribute{"Foo": {DataType: "String", StringValue: "1"}}}, CodeInvalidParameterValue},
		{"delay too big", "v", SendInput{Body: "x", Delay: 901 * time.Second, DelaySet: true}, CodeInvalidParameterValue},
		{"dedup on standard", "v", SendInput{Body: "x", DeduplicationID: "d"}, CodeInvalidParameterValue},
		{"fifo no group", "v.fifo", SendInput{Body: "x", DeduplicationID: "d"}, CodeMissingParameter},
		{"fifo no dedup", "v.fifo", SendInput{Body: "x", MessageGroupID: "g"}, CodeInvalidParameterValue},
		{"fifo delay", "v.fifo", SendInput{Body: "x", MessageGroupID: "g", DeduplicationID: "d", DelaySet: true}, CodeInvalidParameterValue},
		{"fifo bad group", "v.fifo", SendInput{Body: "x", MessageGroupID: "g g", DeduplicationID: "d"}, CodeInvalidParameterValue},
		{"fifo ok", "v.fifo", SendInput{Body: "x", MessageGroupID: "g", DeduplicationID: "d"}, ""},
	}
	for _, c := range cases {
		res, err := e.svc.Send(e.ctx, c.queue, []SendInput{c.in})
		if err != nil {
			t.Errorf("%s: call failed: %v", c.name, err)
			continue
		}
		if codeOf(res[0].Err) != c.code {
			t.Errorf("%s: got %v, want %q", c.name, res[0].Err, c.code)
		}
		if c.code == "" && res[0].MessageID == "" {
			t.Errorf("%s: no message id", c.name)
		}
	}
	if _, err := e.svc.Send(e.ctx, "missing", []SendInput{{Body: "x"}}); codeOf(err) != CodeQueueDoesNotExist {
		t.Errorf("missing queue: %v", err)
	}
	big := []SendInput{{Body: strings.Repeat("x", 600)}, {Body: strings.Repeat("x", 600)}}
	if _, err := e.svc.Send(e.ctx, "v", big); codeOf(err) != CodeBatchRequestTooLong {
		t.Errorf("batch too long: %v", err)
	}
	// Bad handles.
	for _, h := range []string{"", "garbage", "AaKfo-SDfvwVAAAAAAAAAAEAAAAAAAAAA9kDOMX"} {
		res, err := e.svc.Delete(e.ctx, "v", []DeleteEntry{{ReceiptHandle: h}})
		if err != nil || codeOf(res[0].Err) != CodeReceiptHandleIsInvalid {
			t.Errorf("handle %q: %v %v", h, err, res[0].Err)
		}
	}
	// A handle of another queue is invalid here.
	m := e.recv("v.fifo", 1)
	res, err := e.svc.Delete(e.ctx, "v", []DeleteEntry{{ReceiptHandle: m[0].ReceiptHandle}})
	if err != nil || codeOf(res[0].Err) != CodeReceiptHandleIsInvalid {
		t.Errorf("foreign handle: %v %v", err, res[0].Err)
	}
}
