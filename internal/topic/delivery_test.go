package topic

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // verifying SignatureVersion 1
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/queue"
)

const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:f1"

// TestFanOutFilters: one topic, three queues and a function, with filter
// policies of both scopes; each gets exactly the messages that match.
func TestFanOutFilters(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "orders", nil, nil))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"all", nil, false))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"red", map[string]string{SubAttrFilterPolicy: `{"color":["red"]}`}, false))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"orders", map[string]string{
		SubAttrFilterPolicy: `{"kind":["order"]}`, SubAttrFilterPolicyScope: "MessageBody"}, false))
	fsub := e.s(e.svc.Subscribe(ctx, arn, "lambda", fnARN, map[string]string{SubAttrFilterPolicy: `{"price":[{"numeric":[">",10]}]}`}, false))

	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: `{"kind":"order"}`, Attributes: map[string]Attribute{
		"color": {DataType: "String", StringValue: "red"}, "price": {DataType: "Number", StringValue: "5"}}}))
	second := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "plain", Subject: "hello", Attributes: map[string]Attribute{
		"color": {DataType: "String", StringValue: "blue"}, "price": {DataType: "Number", StringValue: "20"}}}))

	waitFor(t, func() bool { return len(e.q.messages("all")) == 2 && len(e.fn.of(fnARN)) == 1 }, "deliveries")
	// Give wrong deliveries, if any, the time to show.
	waitFor(t, func() bool { return len(e.q.messages("red")) >= 1 && len(e.q.messages("orders")) >= 1 }, "filtered deliveries")
	time.Sleep(200 * time.Millisecond)

	bodies := func(name string) []string {
		var out []string
		for _, m := range e.q.messages(name) {
			var env envelope
			if err := json.Unmarshal([]byte(m.Body), &env); err != nil {
				t.Fatalf("%s: body is not an envelope: %v", name, err)
			}
			out = append(out, env.Message)
		}
		return out
	}
	for _, tc := range []struct {
		queue string
		want  []string
	}{
		{"all", []string{"plain", `{"kind":"order"}`}},
		{"red", []string{`{"kind":"order"}`}},
		{"orders", []string{`{"kind":"order"}`}},
	} {
		got := bodies(tc.queue)
		slices.Sort(got) // a standard topic does not order deliveries
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("queue %s got %q, want %q", tc.queue, got, tc.want)
		}
	}

	var ev lambdaEvent
	if err := json.Unmarshal(e.fn.of(fnARN)[0], &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 {
		t.Fatalf("records = %d", len(ev.Records))
	}
	r := ev.Records[0]
	if r.EventSource != "aws:sns" || r.EventVersion != "1.0" || r.EventSubscriptionArn != fsub {
		t.Errorf("record = %+v", r)
	}
	if r.Sns.Message != "plain" || r.Sns.MessageID != second.MessageID || r.Sns.Type != "Notification" || r.Sns.TopicArn != arn ||
		r.Sns.Subject == nil || *r.Sns.Subject != "hello" {
		t.Errorf("Sns = %+v", r.Sns)
	}
	if r.Sns.MessageAttributes["price"] != (envAttr{"Number", "20"}) {
		t.Errorf("MessageAttributes = %v", r.Sns.MessageAttributes)
	}
	// The raw JSON uses the Lambda event's casing.
	raw := string(e.fn.of(fnARN)[0])
	for _, k := range []string{`"SigningCertUrl":`, `"UnsubscribeUrl":`, `"EventSubscriptionArn":`} {
		if !strings.Contains(raw, k) {
			t.Errorf("lambda event lacks %s: %s", k, raw)
		}
	}
}

// TestEnvelopeAndRaw checks the envelope's fields and signature, and raw
// delivery's body and attributes.
func TestEnvelopeAndRaw(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "shapes", nil, nil))
	sub := e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"env", nil, false))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"raw", map[string]string{SubAttrRawMessageDelivery: "true"}, false))
	attrs := map[string]Attribute{
		"s": {DataType: "String", StringValue: "v"},
		"b": {DataType: "Binary", BinaryValue: []byte{1, 2, 3}},
	}
	res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "hi <there> & you", Subject: "subj", Attributes: attrs}))
	waitFor(t, func() bool { return len(e.q.messages("env")) == 1 && len(e.q.messages("raw")) == 1 }, "deliveries")

	rawMsg := e.q.messages("raw")[0]
	if rawMsg.Body != "hi <there> & you" {
		t.Errorf("raw body = %q", rawMsg.Body)
	}
	if a := rawMsg.Attributes["s"]; a.DataType != "String" || a.StringValue != "v" {
		t.Errorf("raw attribute s = %+v", a)
	}
	if a := rawMsg.Attributes["b"]; a.DataType != "Binary" || string(a.BinaryValue) != "\x01\x02\x03" {
		t.Errorf("raw attribute b = %+v", a)
	}

	body := e.q.messages("env")[0].Body
	if !strings.Contains(body, "hi <there> & you") {
		t.Errorf("envelope escapes HTML: %s", body)
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"Type": "Notification", "MessageId": res.MessageID, "TopicArn": arn, "Subject": "subj",
		"Message": "hi <there> & you", "SignatureVersion": "1",
		"SigningCertURL": "http://127.0.0.1:4566" + CertPath,
		"UnsubscribeURL": "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(sub),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %v, want %v", k, env[k], v)
		}
	}
	if ts, _ := env["Timestamp"].(string); ts != "2026-03-01T12:00:00.000Z" {
		t.Errorf("Timestamp = %q", ts)
	}
	ma, _ := env["MessageAttributes"].(map[string]any)
	if b, _ := ma["b"].(map[string]any); b["Type"] != "Binary" || b["Value"] != base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) {
		t.Errorf("MessageAttributes = %v", ma)
	}
	// The signature verifies with the served certificate.
	blk, _ := pem.Decode(e.svc.CertificatePEM())
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	canon := "Message\nhi <there> & you\nMessageId\n" + res.MessageID + "\nSubject\nsubj\nTimestamp\n2026-03-01T12:00:00.000Z\nTopicArn\n" + arn + "\nType\nNotification\n"
	sum := sha1.Sum([]byte(canon)) //nolint:gosec // SignatureVersion 1
	sig, _ := base64.StdEncoding.DecodeString(env["Signature"].(string))
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA1, sum[:], sig); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

// recorder is an HTTP subscriber that answers with status(n) for its nth
// request (from 1).
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	status func(n int) int
}

type recorded struct {
	header http.Header
	body   string
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Header.Clone(), string(b)})
	n := len(r.reqs)
	st := r.status
	r.mu.Unlock()
	code := http.StatusOK
	if st != nil {
		code = st(n)
	}
	w.WriteHeader(code)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) ofType(typ string) []recorded {
	var out []recorded
	for _, x := range r.all() {
		if x.header.Get("x-amz-sns-message-type") == typ {
			out = append(out, x)
		}
	}
	return out
}

// confirmHTTP subscribes rec's server and confirms with the token it got.
func confirmHTTP(t *testing.T, e *env, arn, endpoint string, rec *recorder, attrs map[string]string) string {
	t.Helper()
	ctx := t.Context()
	got := e.s(e.svc.Subscribe(ctx, arn, "http", endpoint, attrs, false))
	if got != PendingConfirmation {
		t.Fatalf("Subscribe http = %q, want %q", got, PendingConfirmation)
	}
	waitFor(t, func() bool { return len(rec.ofType("SubscriptionConfirmation")) == 1 }, "confirmation request")
	var conf map[string]string
	if err := json.Unmarshal([]byte(rec.ofType("SubscriptionConfirmation")[0].body), &conf); err != nil {
		t.Fatal(err)
	}
	if conf["Type"] != "SubscriptionConfirmation" || conf["TopicArn"] != arn || conf["Token"] == "" ||
		!strings.HasPrefix(conf["Message"], "You have chosen to subscribe to the topic "+arn) {
		t.Fatalf("confirmation = %v", conf)
	}
	wantURL := "http://127.0.0.1:4566/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(arn) + "&Token=" + conf["Token"]
	if conf["SubscribeURL"] != wantURL {
		t.Errorf("SubscribeURL = %q, want %q", conf["SubscribeURL"], wantURL)
	}
	for _, sub := range e.l(e.svc.ListSubscriptionsByTopic(ctx, arn)) {
		if sub.Endpoint == endpoint && sub.SubscriptionARN != PendingConfirmation {
			t.Fatalf("before confirmation: %+v", sub)
		}
	}
	if _, err := e.svc.ConfirmSubscription(ctx, arn, "wrong"); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("wrong token: %v", err)
	}
	subARN := e.s(e.svc.ConfirmSubscription(ctx, arn, conf["Token"]))
	if !strings.HasPrefix(subARN, arn+":") {
		t.Fatalf("ConfirmSubscription = %q", subARN)
	}
	if again := e.s(e.svc.ConfirmSubscription(ctx, arn, conf["Token"])); again != subARN {
		t.Errorf("second confirmation = %q", again)
	}
	return subARN
}

func TestHTTPConfirmThenDeliver(t *testing.T) {
	e := newEnv(t, nil)
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "web", nil, nil))
	// Nothing reaches a pending subscription.
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "too early"}))
	e.clk.Advance(time.Second) // the subscription comes after it
	subARN := confirmHTTP(t, e, arn, srv.URL+"/hook", rec, nil)
	res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "hello"}))
	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 1 }, "notification")
	time.Sleep(100 * time.Millisecond)
	n := rec.ofType("Notification")
	if len(n) != 1 {
		t.Fatalf("notifications = %d", len(n))
	}
	h := n[0].header
	for k, v := range map[string]string{
		"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": res.MessageID,
		"x-amz-sns-topic-arn": arn, "x-amz-sns-subscription-arn": subARN,
		"Content-Type": "text/plain; charset=UTF-8",
	} {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(n[0].body), &env); err != nil || env["Message"] != "hello" {
		t.Errorf("body = %s (%v)", n[0].body, err)
	}
	// After Unsubscribe nothing more arrives.
	if err := e.svc.Unsubscribe(ctx, subARN); err != nil {
		t.Fatal(err)
	}
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "gone"}))
	time.Sleep(200 * time.Millisecond)
	if got := len(rec.ofType("Notification")); got != 1 {
		t.Errorf("notifications after unsubscribe = %d", got)
	}
}

// TestHTTPRetry: the endpoint fails twice, then answers 200; the message
// arrives once more after each backoff on the fake clock, and then no more.
func TestHTTPRetry(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Retry = RetryPolicy{Attempts: 5, Immediate: 0, MinBackoff: 10 * time.Second, MaxBackoff: 40 * time.Second}
	})
	var fails sync.Map
	rec := &recorder{status: func(n int) int {
		if n == 1 { // the confirmation
			return 200
		}
		if n <= 3 {
			fails.Store(n, true)
			return 500
		}
		return 200
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "flaky", nil, nil))
	confirmHTTP(t, e, arn, srv.URL, rec, nil)
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "retry me"}))

	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 1 }, "first attempt")
	e.clk.BlockUntil(1) // the second attempt waits for its backoff
	if got := len(rec.ofType("Notification")); got != 1 {
		t.Fatalf("attempts before the backoff = %d", got)
	}
	e.clk.Advance(10 * time.Second)
	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 2 }, "second attempt")
	e.clk.BlockUntil(1)
	e.clk.Advance(19 * time.Second) // the third waits 20 s (doubling)
	time.Sleep(100 * time.Millisecond)
	if got := len(rec.ofType("Notification")); got != 2 {
		t.Fatalf("third attempt came before its backoff: %d", got)
	}
	e.clk.Advance(time.Second)
	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 3 }, "third attempt")
	time.Sleep(200 * time.Millisecond)
	e.clk.Advance(time.Hour)
	time.Sleep(100 * time.Millisecond)
	if got := len(rec.ofType("Notification")); got != 3 {
		t.Errorf("attempts = %d, want 3 (two failures, one success)", got)
	}
	if len(e.sink.all()) != 0 {
		t.Errorf("dead letters: %+v", e.sink.all())
	}
}

// TestHTTPExhausted: an endpoint that never succeeds; with a RedrivePolicy
// the envelope goes to that queue, without one to the dead-letter sink.
func TestHTTPExhausted(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Retry = RetryPolicy{Attempts: 3, Immediate: 2, MinBackoff: time.Second, MaxBackoff: time.Second}
	})
	rec := &recorder{status: func(n int) int {
		return 503
	}}
	okConf := &recorder{}
	_ = okConf
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-amz-sns-message-type") == "SubscriptionConfirmation" {
			okConf.ServeHTTP(w, r)
			return
		}
		rec.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "down", nil, nil))
	confirmHTTP(t, e, arn, srv.URL+"/a", okConf, map[string]string{SubAttrRedrivePolicy: `{"deadLetterTargetArn":"` + qarn + `dlq"}`})
	okConf.mu.Lock()
	okConf.reqs = nil
	okConf.mu.Unlock()
	confirmHTTP(t, e, arn, srv.URL+"/b", okConf, nil)

	res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "never"}))
	waitFor(t, func() bool { return len(e.q.messages("dlq")) == 1 && len(e.sink.all()) == 1 }, "dead letters")
	if got := len(rec.all()); got != 6 {
		t.Errorf("attempts = %d, want 3 per endpoint", got)
	}
	var env map[string]any
	if err := json.Unmarshal([]byte(e.q.messages("dlq")[0].Body), &env); err != nil || env["Message"] != "never" || env["MessageId"] != res.MessageID {
		t.Errorf("dlq body = %s (%v)", e.q.messages("dlq")[0].Body, err)
	}
	dl := e.sink.all()[0]
	if dl.MessageID != res.MessageID || dl.Attempts != 3 || dl.Protocol != "http" || dl.Endpoint != srv.URL+"/b" || !strings.Contains(dl.ErrorMessage, "503") {
		t.Errorf("dead letter = %+v", dl)
	}
}

// TestPermanentFailures: a missing queue and a missing function go to the
// dead-letter sink at once.
func TestPermanentFailures(t *testing.T) {
	e := newEnv(t, nil)
	e.q.exists = map[string]bool{"there": true}
	e.fn.missing = map[string]bool{fnARN: true}
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "perm", nil, nil))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"gone", nil, false))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"there", nil, false))
	e.s(e.svc.Subscribe(ctx, arn, "lambda", fnARN, nil, false))
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "x"}))
	waitFor(t, func() bool { return len(e.sink.all()) == 2 && len(e.q.messages("there")) == 1 }, "deliveries")
	protos := map[string]bool{}
	for _, dl := range e.sink.all() {
		protos[dl.Protocol] = true
	}
	if !protos["sqs"] || !protos["lambda"] {
		t.Errorf("dead letters = %+v", e.sink.all())
	}
}

// TestFIFO: order within a group, deduplication by content, sequence numbers.
func TestFIFO(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "events.fifo", map[string]string{AttrFifoTopic: "true", AttrContentBasedDeduplication: "true"}, nil))
	if _, err := e.svc.Subscribe(ctx, arn, "lambda", fnARN, nil, false); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("lambda on a FIFO topic: %v", err)
	}
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"q.fifo", nil, false))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"std", map[string]string{SubAttrRawMessageDelivery: "true"}, false))
	if _, err := e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "no group"}); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("missing group: %v", err)
	}
	var ids []string
	var seqs []string
	for i := range 6 {
		res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "m" + string(rune('0'+i)), MessageGroupID: "g"}))
		ids = append(ids, res.MessageID)
		seqs = append(seqs, res.SequenceNumber)
	}
	dup := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "m2", MessageGroupID: "g"}))
	if dup.MessageID != ids[2] || dup.SequenceNumber != seqs[2] {
		t.Errorf("duplicate = %+v, want %s/%s", dup, ids[2], seqs[2])
	}
	for i := 1; i < len(seqs); i++ {
		if len(seqs[i]) != 20 || seqs[i] <= seqs[i-1] {
			t.Errorf("sequence numbers not increasing: %v", seqs)
		}
	}
	// After the window the same content is a new message, and the sweep
	// removes the expired records.
	e.clk.Advance(DedupWindow)
	if n, err := e.svc.SweepDedup(ctx); err != nil || n != 6 {
		t.Errorf("SweepDedup = %d, %v; want 6", n, err)
	}
	late := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "m2", MessageGroupID: "g"}))
	if late.MessageID == ids[2] {
		t.Error("deduplicated after the window")
	}
	waitFor(t, func() bool { return len(e.q.messages("q.fifo")) == 7 && len(e.q.messages("std")) == 7 }, "deliveries")
	var got []string
	for i, m := range e.q.messages("q.fifo") {
		var env envelope
		if err := json.Unmarshal([]byte(m.Body), &env); err != nil {
			t.Fatal(err)
		}
		got = append(got, env.Message)
		if m.MessageGroupID != "g" || m.DeduplicationID == "" {
			t.Errorf("fifo send %d: group %q dedup %q", i, m.MessageGroupID, m.DeduplicationID)
		}
		if i < 6 && env.SequenceNumber != seqs[i] {
			t.Errorf("SequenceNumber = %q, want %q", env.SequenceNumber, seqs[i])
		}
	}
	if strings.Join(got, ",") != "m0,m1,m2,m3,m4,m5,m2" {
		t.Errorf("order = %v", got)
	}
	for _, m := range e.q.messages("std") {
		if m.DeduplicationID != "" {
			t.Errorf("standard queue got a dedup id: %+v", m)
		}
	}
}

// TestRestartDurability: a publish whose delivery is cut short by Close is
// delivered by the next Service on the same store.
func TestRestartDurability(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "durable", nil, nil))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"q", nil, false))
	entered := make(chan struct{}, 1)
	e.q.hook = func(ctx context.Context, name string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done() // the queue hangs until the service stops
		return ctx.Err()
	}
	res := e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "survive"}))
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("delivery never started")
	}
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.q.messages("q")); n != 0 {
		t.Fatalf("delivered before restart: %d", n)
	}
	e.q.mu.Lock()
	e.q.hook = nil
	e.q.mu.Unlock()
	e.svc = e.fresh(e.opts)
	waitFor(t, func() bool { return len(e.q.messages("q")) == 1 }, "delivery after restart")
	var env envelope
	if err := json.Unmarshal([]byte(e.q.messages("q")[0].Body), &env); err != nil || env.MessageID != res.MessageID {
		t.Errorf("delivered %s (%v)", e.q.messages("q")[0].Body, err)
	}
}

var _ queue.API = (*fakeQueues)(nil)

// TestHTTPSAndDeliveryPolicy: an https endpoint, whose DeliveryPolicy
// (numRetries 1) overrides the service's retry policy.
func TestHTTPSAndDeliveryPolicy(t *testing.T) {
	rec := &recorder{status: func(n int) int {
		if n == 1 {
			return 200 // the confirmation
		}
		return 500
	}}
	srv := httptest.NewTLSServer(rec)
	defer srv.Close()
	e := newEnv(t, func(o *Options) {
		o.HTTPClient = srv.Client()
		o.Retry = RetryPolicy{Attempts: 10, Immediate: 10}
	})
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "secure", nil, nil))
	if _, err := e.svc.Subscribe(ctx, arn, "https", "http://plain.example", nil, false); reasonOf(err) != CodeInvalidParameter {
		t.Errorf("https with an http URL: %v", err)
	}
	if got := e.s(e.svc.Subscribe(ctx, arn, "https", srv.URL, map[string]string{
		SubAttrDeliveryPolicy: `{"healthyRetryPolicy":{"numRetries":1,"numNoDelayRetries":1}}`}, true)); !strings.HasPrefix(got, arn+":") {
		t.Fatalf("ReturnSubscriptionArn gave %q", got)
	}
	waitFor(t, func() bool { return len(rec.ofType("SubscriptionConfirmation")) == 1 }, "confirmation")
	var conf map[string]string
	_ = json.Unmarshal([]byte(rec.ofType("SubscriptionConfirmation")[0].body), &conf)
	e.s(e.svc.ConfirmSubscription(ctx, arn, conf["Token"]))
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "m"}))
	waitFor(t, func() bool { return len(e.sink.all()) == 1 }, "dead letter")
	if n := len(rec.ofType("Notification")); n != 2 {
		t.Errorf("attempts = %d, want 2 (numRetries 1)", n)
	}
	if dl := e.sink.all()[0]; dl.Protocol != "https" || dl.Attempts != 2 {
		t.Errorf("dead letter = %+v", dl)
	}
}

// TestFIFORetryKeepsOrder: a transient queue failure on a FIFO topic's
// first record does not let the later records overtake it.
func TestFIFORetryKeepsOrder(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	var once sync.Once
	e.q.hook = func(ctx context.Context, name string) error {
		var err error
		once.Do(func() { err = errors.New("queue briefly unavailable") })
		return err
	}
	arn := e.s(e.svc.CreateTopic(ctx, "ord.fifo", map[string]string{AttrFifoTopic: "true", AttrContentBasedDeduplication: "true"}, nil))
	e.s(e.svc.Subscribe(ctx, arn, "sqs", qarn+"q.fifo", map[string]string{SubAttrRawMessageDelivery: "true"}, false))
	for _, m := range []string{"a", "b", "c"} {
		e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: m, MessageGroupID: "g"}))
	}
	waitFor(t, func() bool { return len(e.q.messages("q.fifo")) == 3 }, "deliveries")
	var got string
	for _, m := range e.q.messages("q.fifo") {
		got += m.Body
	}
	if got != "abc" {
		t.Errorf("order = %q, want abc", got)
	}
}

// TestHTTPRetrySurvivesRestart: a retry waiting for its backoff when the
// service closes is made by the next service on the same store.
func TestHTTPRetrySurvivesRestart(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Retry = RetryPolicy{Attempts: 3, MinBackoff: time.Minute, MaxBackoff: time.Minute}
	})
	rec := &recorder{status: func(n int) int {
		if n == 2 {
			return 500 // the first notification attempt
		}
		return 200
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	ctx := t.Context()
	arn := e.s(e.svc.CreateTopic(ctx, "restart", nil, nil))
	confirmHTTP(t, e, arn, srv.URL, rec, nil)
	e.p(e.svc.Publish(ctx, PublishInput{TopicARN: arn, Message: "later"}))
	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 1 }, "first attempt")
	e.clk.BlockUntil(1) // the retry is stored and waits
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	e.svc = e.fresh(e.opts)
	e.clk.BlockUntil(1) // the new service holds the stored retry
	e.clk.Advance(time.Minute)
	waitFor(t, func() bool { return len(rec.ofType("Notification")) == 2 }, "retry after restart")
	time.Sleep(100 * time.Millisecond)
	if n := len(rec.ofType("Notification")); n != 2 {
		t.Errorf("attempts = %d, want 2", n)
	}
}
