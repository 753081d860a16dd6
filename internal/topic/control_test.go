package topic

import (
	"strings"
	"testing"
	"time"
)

func TestCreateTopicRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		code  string
	}{
		{"ok", nil, ""},
		{"ok", nil, ""}, // idempotent
		{"ok", map[string]string{AttrDisplayName: "other"}, CodeInvalidParameter},
		{"", nil, CodeInvalidParameter},
		{"bad name", nil, CodeInvalidParameter},
		{strings.Repeat("a", 257), nil, CodeInvalidParameter},
		{"a.fifo", nil, CodeInvalidParameter},
		{"plain", map[string]string{AttrFifoTopic: "true"}, CodeInvalidParameter},
		{"f.fifo", map[string]string{AttrFifoTopic: "true", AttrContentBasedDeduplication: "yes"}, CodeInvalidParameter},
		{"f.fifo", map[string]string{AttrFifoTopic: "true", AttrContentBasedDeduplication: "true"}, ""},
		{"std", map[string]string{AttrContentBasedDeduplication: "true"}, CodeInvalidParameter},
		{"std", map[string]string{"Bogus": "1"}, CodeInvalidParameter},
		{"std", map[string]string{AttrPolicy: "{"}, CodeInvalidParameter},
		{"std", map[string]string{AttrSignatureVersion: "3"}, CodeInvalidParameter},
		{"std", map[string]string{AttrDisplayName: strings.Repeat("d", 101)}, CodeInvalidParameter},
		{"std", map[string]string{AttrSignatureVersion: "2", AttrTracingConfig: "Active"}, ""},
	} {
		_, err := e.svc.CreateTopic(ctx, tc.name, tc.attrs, nil)
		if got := reasonOf(err); got != tc.code || (tc.code == "" && err != nil) {
			t.Errorf("CreateTopic(%.20q, %v) = %v, want code %q", tc.name, tc.attrs, err, tc.code)
		}
	}
	topics := e.l2(e.svc.ListTopics(ctx))
	if strings.Join(topics, ",") != "arn:aws:sns:us-east-1:000000000000:f.fifo,arn:aws:sns:us-east-1:000000000000:ok,arn:aws:sns:us-east-1:000000000000:std" {
		t.Errorf("ListTopics = %v", topics)
	}
	attrs, err := e.svc.GetTopicAttributes(ctx, "arn:aws:sns:us-east-1:000000000000:f.fifo")
	if err != nil || attrs[AttrFifoTopic] != "true" || attrs[AttrContentBasedDeduplication] != "true" || attrs[AttrOwner] != "000000000000" {
		t.Errorf("fifo attributes = %v, %v", attrs, err)
	}
	arn := "arn:aws:sns:us-east-1:000000000000:ok"
	if err := e.svc.SetTopicAttribute(ctx, arn, AttrFifoTopic, "true"); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("changing FifoTopic: %v", err)
	}
	if err := e.svc.SetTopicAttribute(ctx, arn, AttrDeliveryPolicy, `{"http":{"defaultHealthyRetryPolicy":{"numRetries":2}}}`); err != nil {
		t.Error(err)
	}
	attrs, _ = e.svc.GetTopicAttributes(ctx, arn)
	if !strings.Contains(attrs[AttrEffectiveDeliveryPolicy], `"numRetries":2`) {
		t.Errorf("EffectiveDeliveryPolicy = %s", attrs[AttrEffectiveDeliveryPolicy])
	}
	for _, bad := range []string{"arn:aws:sns:us-east-1:000000000000", "x", "arn:aws:sqs:us-east-1:000000000000:ok"} {
		if _, err := e.svc.GetTopicAttributes(ctx, bad); reasonOf(err) != CodeInvalidParameter {
			t.Errorf("GetTopicAttributes(%q) = %v", bad, err)
		}
	}
	for _, missing := range []string{"arn:aws:sns:us-east-1:000000000000:nope", "arn:aws:sns:eu-west-1:000000000000:ok"} {
		if _, err := e.svc.GetTopicAttributes(ctx, missing); reasonOf(err) != CodeNotFound {
			t.Errorf("GetTopicAttributes(%q) = %v", missing, err)
		}
	}
	if err := e.svc.DeleteTopic(ctx, "arn:aws:sns:us-east-1:000000000000:nope"); err != nil {
		t.Errorf("deleting a missing topic: %v", err)
	}
}

func TestSubscriptionRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "subs", nil, nil))
	for _, tc := range []struct {
		protocol, endpoint string
		attrs              map[string]string
		code               string
	}{
		{"sqs", qarn + "q", nil, ""},
		{"email", "a@b.c", nil, CodeInvalidParameter},
		{"", qarn + "q", nil, CodeInvalidParameter},
		{"sqs", "", nil, CodeInvalidParameter},
		{"sqs", "not-an-arn", nil, CodeInvalidParameter},
		{"sqs", qarn + "q.fifo", nil, CodeInvalidParameter},
		{"http", "https://example.com", nil, CodeInvalidParameter},
		{"lambda", "arn:aws:lambda:us-east-1:000000000000:layer:x", nil, CodeInvalidParameter},
		{"lambda", fnARN, map[string]string{SubAttrRawMessageDelivery: "true"}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{SubAttrFilterPolicy: `{"a":"notalist"}`}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{SubAttrFilterPolicyScope: "Everything"}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{SubAttrRedrivePolicy: `{"deadLetterTargetArn":"x"}`}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{SubAttrDeliveryPolicy: `{"healthyRetryPolicy":{"numRetries":1000}}`}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{"Nope": "1"}, CodeInvalidParameter},
		{"sqs", qarn + "r", map[string]string{SubAttrFilterPolicy: `{"a":{"b":["c"]}}`, SubAttrFilterPolicyScope: "MessageBody"}, ""},
	} {
		_, err := e.svc.Subscribe(ctx, arn, tc.protocol, tc.endpoint, tc.attrs, false)
		if got := reasonOf(err); got != tc.code || (tc.code == "" && err != nil) {
			t.Errorf("Subscribe(%s, %s, %v) = %v, want code %q", tc.protocol, tc.endpoint, tc.attrs, err, tc.code)
		}
	}
	first := e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"q", nil, false))
	if again := e.s(e.svc.Subscribe(ctx, arn, "SQS", qarn+"q", nil, false)); again != first {
		t.Errorf("same endpoint again = %s, want %s", again, first)
	}
	if _, err := e.svc.Subscribe(ctx, arn, "sqs", qarn+"q", map[string]string{SubAttrRawMessageDelivery: "true"}, false); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("same endpoint, other attributes: %v", err)
	}
	if err := e.svc.SetSubscriptionAttribute(ctx, first, SubAttrFilterPolicy, `[1]`); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("bad filter policy: %v", err)
	}
	if err := e.svc.SetSubscriptionAttribute(ctx, first, SubAttrRawMessageDelivery, "TRUE"); err != nil {
		t.Error(err)
	}
	attrs, err := e.svc.GetSubscriptionAttributes(ctx, first)
	if err != nil || attrs[SubAttrRawMessageDelivery] != "true" || attrs[SubAttrEndpoint] != qarn+"q" || attrs[SubAttrTopicArn] != arn {
		t.Errorf("attributes = %v, %v", attrs, err)
	}
	for arg, code := range map[string]string{
		"garbage":                CodeInvalidParameter,
		first + ":extra":         CodeInvalidParameter,
		arn + ":" + "no such id": CodeInvalidParameter,
		arn + ":0000-1111":       CodeNotFound,
	} {
		if _, err := e.svc.GetSubscriptionAttributes(ctx, arg); reasonOf(err) != code {
			t.Errorf("GetSubscriptionAttributes(%q) = %v, want %s", arg, err, code)
		}
	}
	tattrs, _ := e.svc.GetTopicAttributes(ctx, arn)
	if tattrs[AttrSubscriptionsConfirmed] != "2" || tattrs[AttrSubscriptionsPending] != "0" {
		t.Errorf("counts = %v / %v", tattrs[AttrSubscriptionsConfirmed], tattrs[AttrSubscriptionsPending])
	}
	// Deleting the topic deletes its subscriptions.
	if err := e.svc.DeleteTopic(ctx, arn); err != nil {
		t.Fatal(err)
	}
	if subs := e.l(e.svc.ListSubscriptions(ctx)); len(subs) != 0 {
		t.Errorf("subscriptions after DeleteTopic: %+v", subs)
	}
}

func TestPublishRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "pub", nil, nil))
	attr := func(kv ...string) map[string]Attribute {
		m := map[string]Attribute{}
		for i := 0; i+2 < len(kv)+1; i += 3 {
			m[kv[i]] = Attribute{DataType: kv[i+1], StringValue: kv[i+2]}
		}
		return m
	}
	many := map[string]Attribute{}
	for i := range 11 {
		many[string(rune('a'+i))] = Attribute{DataType: "String", StringValue: "v"}
	}
	for _, tc := range []struct {
		name string
		in   PublishInput
		ok   bool
	}{
		{"plain", PublishInput{Message: "m"}, true},
		{"empty", PublishInput{Message: ""}, false},
		{"subject ok", PublishInput{Message: "m", Subject: "Hello, world!"}, true},
		{"subject newline", PublishInput{Message: "m", Subject: "a\nb"}, false},
		{"subject long", PublishInput{Message: "m", Subject: strings.Repeat("s", 101)}, false},
		{"max size", PublishInput{Message: strings.Repeat("x", MaxMessageSize)}, true},
		{"size with attributes", PublishInput{Message: strings.Repeat("x", MaxMessageSize-3), Attributes: attr("k", "String", "vv")}, false},
		{"json ok", PublishInput{Message: `{"default":"d","sqs":"s"}`, MessageStructure: "json"}, true},
		{"json no default", PublishInput{Message: `{"sqs":"s"}`, MessageStructure: "json"}, false},
		{"json not json", PublishInput{Message: `nope`, MessageStructure: "json"}, false},
		{"json not strings", PublishInput{Message: `{"default":1}`, MessageStructure: "json"}, false},
		{"structure other", PublishInput{Message: "m", MessageStructure: "xml"}, false},
		{"11 attributes", PublishInput{Message: "m", Attributes: many}, false},
		{"number", PublishInput{Message: "m", Attributes: attr("n", "Number", "-1.5e3")}, true},
		{"not a number", PublishInput{Message: "m", Attributes: attr("n", "Number", "one")}, false},
		{"custom type", PublishInput{Message: "m", Attributes: attr("n", "String.uuid", "x")}, true},
		{"array", PublishInput{Message: "m", Attributes: attr("n", "String.Array", `["a",1,true,null]`)}, true},
		{"array of objects", PublishInput{Message: "m", Attributes: attr("n", "String.Array", `[{"a":1}]`)}, false},
		{"bad type", PublishInput{Message: "m", Attributes: attr("n", "Date", "x")}, false},
		{"empty value", PublishInput{Message: "m", Attributes: attr("n", "String", "")}, false},
		{"reserved name", PublishInput{Message: "m", Attributes: attr("AWS.x", "String", "v")}, false},
		{"bad name", PublishInput{Message: "m", Attributes: attr("a..b", "String", "v")}, false},
		{"binary", PublishInput{Message: "m", Attributes: map[string]Attribute{"b": {DataType: "Binary", BinaryValue: []byte{1}}}}, true},
		{"empty binary", PublishInput{Message: "m", Attributes: map[string]Attribute{"b": {DataType: "Binary"}}}, false},
		{"dedup on standard", PublishInput{Message: "m", DeduplicationID: "d"}, false},
	} {
		tc.in.TopicARN = arn
		_, err := e.svc.Publish(ctx, tc.in)
		if tc.ok != (err == nil) || (err != nil && reasonOf(err) != CodeInvalidParameter) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
	// MessageStructure json delivers each protocol its own message. (The
	// clock moves on so that the messages above, which may not be fanned
	// out yet, predate the subscriptions.)
	e.clk.Advance(time.Second)
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"s", map[string]string{SubAttrRawMessageDelivery: "true"}, false))
	e.s(e.svc.Subscribe(ctx, arn, "lambda", fnARN, nil, false))
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: `{"default":"d","sqs":"for queues"}`, MessageStructure: "json"}))
	waitFor(t, func() bool { return len(e.q.messages("s")) == 1 && len(e.fn.of(fnARN)) == 1 }, "deliveries")
	if b := e.q.messages("s")[0].Body; b != "for queues" {
		t.Errorf("sqs got %q", b)
	}
	if b := string(e.fn.of(fnARN)[0]); !strings.Contains(b, `"Message":"d"`) {
		t.Errorf("lambda got %s", b)
	}
}

func TestPublishBatchRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "batch.fifo", map[string]string{AttrFifoTopic: "true"}, nil))
	entry := func(id, msg, dedup string) PublishInput {
		return PublishInput{ID: id, Message: msg, MessageGroupID: "g", DeduplicationID: dedup}
	}
	for _, tc := range []struct {
		name    string
		entries []PublishInput
		code    string
	}{
		{"empty", nil, CodeEmptyBatchRequest},
		{"too many", make([]PublishInput, 11), CodeTooManyEntriesInBatch},
		{"bad id", []PublishInput{entry("a b", "m", "1")}, CodeInvalidBatchEntryID},
		{"same ids", []PublishInput{entry("a", "m", "1"), entry("a", "m", "2")}, CodeBatchEntryIdsNotDistinct},
		{"too long", []PublishInput{entry("a", strings.Repeat("x", MaxMessageSize), "1"), entry("b", "m", "2")}, CodeBatchRequestTooLong},
	} {
		if _, err := e.svc.PublishBatch(ctx, arn, tc.entries); reasonOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	res, err := e.svc.PublishBatch(ctx, arn, []PublishInput{
		entry("a", "one", "d1"), entry("b", "", "d2"), entry("c", "three", "d1"), {ID: "d", Message: "no group", DeduplicationID: "d4"}, entry("e", "five", "d5"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err == nil || res[2].Err != nil || res[3].Err == nil || res[4].Err != nil {
		t.Fatalf("results = %+v", res)
	}
	if res[2].MessageID != res[0].MessageID || res[4].SequenceNumber <= res[0].SequenceNumber {
		t.Errorf("dedup within the batch / sequence: %+v", res)
	}
	if res[0].ID != "a" || res[4].ID != "e" {
		t.Errorf("ids = %+v", res)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "tagged", nil, map[string]string{"a": "1"}))
	if err := e.svc.TagResource(ctx, arn, map[string]string{"b": "2", "a": "3"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UntagResource(ctx, arn, []string{"b", "zzz"}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.svc.ListTagsForResource(ctx, arn)
	if err != nil || len(tags) != 1 || tags["a"] != "3" {
		t.Errorf("tags = %v, %v", tags, err)
	}
	big := map[string]string{}
	for i := range MaxTags {
		big[strings.Repeat("k", i+1)] = "v"
	}
	if err := e.svc.TagResource(ctx, arn, big); reasonOf(err) != CodeTagLimitExceeded {
		t.Errorf("51 tags: %v", err)
	}
	if _, err := e.svc.ListTagsForResource(ctx, arn+"x"); reasonOf(err) != CodeResourceNotFound {
		t.Errorf("missing topic: %v", err)
	}
	if _, err := e.svc.CreateTopic(ctx, "tagged", nil, map[string]string{"a": "other"}); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("create with other tags: %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy{Attempts: 10, Immediate: 2, MinBackoff: time.Second, MaxBackoff: 5 * time.Second}
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := p.delay(i + 1); got != w {
			t.Errorf("delay(%d) = %v, want %v", i+1, got, w)
		}
	}
	q, err := parseDeliveryPolicy(`{"healthyRetryPolicy":{"numRetries":4,"numNoDelayRetries":0,"minDelayTarget":3,"maxDelayTarget":9}}`, p)
	if err != nil || q.Attempts != 5 || q.Immediate != 0 || q.MinBackoff != 3*time.Second || q.MaxBackoff != 9*time.Second {
		t.Errorf("parsed = %+v, %v", q, err)
	}
	for _, bad := range []string{`x`, `{"healthyRetryPolicy":{"minDelayTarget":0}}`, `{"healthyRetryPolicy":{"minDelayTarget":10,"maxDelayTarget":5}}`} {
		if _, err := parseDeliveryPolicy(bad, p); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
