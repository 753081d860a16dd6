package async

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func sampleEvents() []Event {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	return []Event{
		{RequestID: "r1", FunctionName: "f", Payload: json.RawMessage(`{}`), Source: Source{Kind: "async"}, EnqueuedAt: at},
		{
			RequestID: "r2", FunctionName: "f", Qualifier: "$LATEST", Region: "eu-west-1",
			Payload: json.RawMessage(`{"a":[1,2,{"b":"c\"}"}],"u":"\u00e9<&>"}`), TraceID: "Root=1-2-3",
			Source:     Source{Kind: "schedule", ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s"},
			Policy:     &DeliveryPolicy{MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 60, DeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:q"},
			EnqueuedAt: at, Attempts: 2, Throttles: 3, Deliveries: 1, NotBefore: at.Add(time.Minute),
			LastErrorType: "Oops", LastErrorMessage: "line1\nline2\t\"quoted\" \\ é \u2028 \x01 \xff",
			LastResponse: json.RawMessage(`{"errorMessage":"boom"}`), LastAttempt: at.Add(time.Second),
			LastStatusCode: 200, LastExecutedVersion: "3", LastFunctionError: "Unhandled",
		},
		{RequestID: "r3", FunctionName: "g", Payload: json.RawMessage(`"just a string"`), EnqueuedAt: at.In(time.FixedZone("x", 3600))},
	}
}

// The fast codec and encoding/json read and write the same documents.
func TestCodecMatchesEncodingJSON(t *testing.T) {
	for i, ev := range sampleEvents() {
		fast, err := encodeEvent(nil, &ev)
		if err != nil {
			t.Fatal(err)
		}
		std, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		// What one side writes, the other reads to the same event.
		for _, c := range []struct {
			name string
			doc  []byte
		}{{"fast", fast}, {"encoding/json", std}} {
			var viaStd, viaFast Event
			if err := json.Unmarshal(c.doc, &viaStd); err != nil {
				t.Fatalf("event %d: encoding/json cannot read the %s encoding: %v\n%s", i, c.name, err, c.doc)
			}
			if err := fastDecode(c.doc, &viaFast); err != nil {
				t.Fatalf("event %d: the fast path cannot read the %s encoding: %v\n%s", i, c.name, err, c.doc)
			}
			normalise(&viaStd)
			normalise(&viaFast)
			if !reflect.DeepEqual(viaStd, viaFast) {
				t.Errorf("event %d, %s encoding:\n std %+v\nfast %+v", i, c.name, viaStd, viaFast)
			}
		}
	}
}

// normalise makes times comparable with DeepEqual.
func normalise(ev *Event) {
	for _, t := range []*time.Time{&ev.EnqueuedAt, &ev.NotBefore, &ev.LastAttempt} {
		if t.IsZero() {
			*t = time.Time{}
		} else {
			*t = t.UTC()
		}
	}
}

// Documents the fast path does not handle go to encoding/json.
func TestDecodeFallsBack(t *testing.T) {
	cases := []struct {
		doc     string
		want    Event
		wantErr bool
	}{
		{`{"REQUESTID":"r","functionName":"f","payload":{}}`, Event{RequestID: "r", FunctionName: "f", Payload: json.RawMessage(`{}`)}, false},
		{`{"requestId":"r","functionName":"f","payload":{},"extra":[1]}`, Event{RequestID: "r", FunctionName: "f", Payload: json.RawMessage(`{}`)}, false},
		{`{"requestId":"r","functionName":"f","payload":{"a":}}`, Event{}, true},
		{`{"requestId":"r",`, Event{}, true},
		{`not json`, Event{}, true},
	}
	for _, tc := range cases {
		var ev Event
		err := decodeEvent([]byte(tc.doc), &ev)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v, want error %v", tc.doc, err, tc.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(ev, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.doc, ev, tc.want)
		}
	}
}

// FuzzDecodeEvent: whatever the fast path accepts, encoding/json reads the
// same way.
func FuzzDecodeEvent(f *testing.F) {
	for _, ev := range sampleEvents() {
		b, _ := encodeEvent(nil, &ev)
		f.Add(b)
	}
	f.Add([]byte(`{"requestId":"a\u0041","payload":[1,{"x":"]}"}],"attempts":-3}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var fast, std Event
		if fastDecode(doc, &fast) != nil {
			return
		}
		if err := json.Unmarshal(doc, &std); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, doc)
		}
		normalise(&fast)
		normalise(&std)
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q:\nfast %+v\n std %+v", doc, fast, std)
		}
	})
}

// FuzzEncodeEvent: the fast encoding of any strings reads back (through
// encoding/json) as encoding/json's own encoding does.
func FuzzEncodeEvent(f *testing.F) {
	f.Add("plain", "line\n\"q\" <&> \u2028 \xff é", 3)
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		ev := Event{RequestID: a, FunctionName: b, LastErrorMessage: a + b, Source: Source{Kind: b, ARN: a},
			Payload: json.RawMessage(`{"k":[1, 2]}`), Attempts: n, LastStatusCode: n}
		fast, err := encodeEvent(nil, &ev)
		if err != nil {
			t.Fatal(err)
		}
		std, err := json.Marshal(&ev)
		if err != nil {
			t.Fatal(err)
		}
		var viaFast, viaStd Event
		if err := json.Unmarshal(fast, &viaFast); err != nil {
			t.Fatalf("%v: %s", err, fast)
		}
		if err := json.Unmarshal(std, &viaStd); err != nil {
			t.Fatal(err)
		}
		normalise(&viaFast)
		normalise(&viaStd)
		if !reflect.DeepEqual(viaFast, viaStd) {
			t.Fatalf("\nfast %+v\n std %+v", viaFast, viaStd)
		}
	})
}
