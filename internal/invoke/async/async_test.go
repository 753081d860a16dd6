package async

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
)

const (
	sqsARN  = "arn:aws:sqs:us-east-1:000000000000:destination"
	snsARN  = "arn:aws:sns:us-east-1:000000000000:topic"
	fARN    = "arn:aws:lambda:us-east-1:000000000000:function:f"
	destARN = "arn:aws:lambda:us-east-1:000000000000:function:dest"
)

func TestSuccess(t *testing.T) {
	cases := []struct {
		name          string
		req           Request
		wantQualifier string
		wantPayload   string
	}{
		{"plain", Request{FunctionName: "f", Payload: []byte(`{"k":1}`)}, "", `{"k":1}`},
		{"empty payload is {}", Request{FunctionName: "f"}, "", `{}`},
		{"qualified name", Request{FunctionName: "f:$LATEST", Payload: []byte(`[1]`)}, "$LATEST", `[1]`},
		{"ARN and qualifier", Request{FunctionName: fARN, Qualifier: "$LATEST", Payload: []byte(`"s"`)}, "$LATEST", `"s"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			e.start()
			id := e.enqueue(tc.req)
			c := e.waitCalls("f", 1)[0].req
			if c.InvocationType != invoke.RequestResponse || !c.Background || c.RequestID != id || c.MaxPayload != MaxPayload {
				t.Errorf("invoked with %+v, want RequestResponse, Background, RequestID %s, MaxPayload %d", c, id, MaxPayload)
			}
			if c.Qualifier != tc.wantQualifier || string(c.Payload) != tc.wantPayload {
				t.Errorf("qualifier %q payload %s, want %q %s", c.Qualifier, c.Payload, tc.wantQualifier, tc.wantPayload)
			}
			e.eventually("success counted", func() bool { return e.svc.Stats().Succeeded == 1 })
			e.eventually("the event acknowledged", e.streamEmpty)
			st := e.svc.Stats()
			if st.Enqueued != 1 || st.Failed != 0 || st.Retried != 0 || st.DeadLettered != 0 {
				t.Errorf("stats %+v", st)
			}
			if n := len(e.inv.callsOf("f")); n != 1 {
				t.Errorf("%d invocations, want 1", n)
			}
		})
	}
}

// A failing function runs 1+MaximumRetryAttempts times, the retries
// spaced by the backoff on the (fake) clock, then its record goes to the
// on-failure destination or, without one, the dead-letter store.
func TestFunctionErrorRetries(t *testing.T) {
	cases := []struct {
		name      string
		retries   *int
		onFailure string
		wantGaps  []time.Duration
	}{
		{"default two retries, dead-letter store", nil, "", []time.Duration{time.Minute, 2 * time.Minute}},
		{"no retry, queue destination", ptr(0), sqsARN, nil},
		{"five retries, function destination", ptr(5), destARN,
			[]time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			e.create("dest")
			if tc.retries != nil || tc.onFailure != "" {
				u := function.EventInvokeUpdate{MaximumRetryAttempts: tc.retries}
				if tc.onFailure != "" {
					u.OnFailure = &tc.onFailure
				}
				e.config("f", "", u)
			}
			e.inv.set("f", alwaysFail)
			e.start()
			id := e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"order":7}`)})

			want := len(tc.wantGaps) + 1
			calls := e.waitCalls("f", 1)
			for i := 1; i < want; i++ {
				e.releaseNext(e.svc)
				calls = e.waitCalls("f", i+1)
			}
			var gaps []time.Duration
			for i := 1; i < len(calls); i++ {
				gaps = append(gaps, calls[i].at.Sub(calls[i-1].at))
			}
			if !slices.Equal(gaps, tc.wantGaps) {
				t.Errorf("gaps between attempts %v, want %v", gaps, tc.wantGaps)
			}
			for i, c := range calls {
				if c.req.RequestID != id {
					t.Errorf("attempt %d has request id %s, want %s on every attempt", i+1, c.req.RequestID, id)
				}
			}
			e.eventually("the failure counted", func() bool { return e.svc.Stats().Failed == 1 })
			e.eventually("the event acknowledged", e.streamEmpty)
			if n := len(e.inv.callsOf("f")); n != want {
				t.Errorf("%d invocations, want %d", n, want)
			}
			if st := e.svc.Stats(); st.Retried != int64(want-1) {
				t.Errorf("Retried %d, want %d", st.Retried, want-1)
			}

			var body []byte
			switch tc.onFailure {
			case "":
				recs := e.deadLetters("f")
				if len(recs) != 1 {
					t.Fatalf("%d dead letters, want 1", len(recs))
				}
				r := recs[0]
				if r.Condition != deadletter.RetriesExhausted || r.Attempts != want || r.RequestID != id ||
					r.ErrorType != "Oops" || r.ErrorMessage != "boom" || string(r.Payload) != `{"order":7}` ||
					r.Source != deadletter.SourceAsync || r.FunctionARN != fARN+":$LATEST" || r.Destination != "" ||
					!r.EnqueuedAt.Equal(t0) || r.LastAttempt.IsZero() {
					t.Errorf("dead letter %+v", r)
				}
				if string(r.Response) != errDoc {
					t.Errorf("dead letter response %s, want %s", r.Response, errDoc)
				}
				return
			case sqsARN:
				got := e.sqs.all()
				if len(got) != 1 || got[0].arn != sqsARN {
					t.Fatalf("queue got %+v", got)
				}
				body = got[0].body
			case destARN:
				dc := e.waitCalls("dest", 1)
				if dc[0].req.RequestID == id {
					t.Error("the destination invocation reuses the event's request id")
				}
				body = dc[0].req.Payload
			}
			if len(e.deadLetters("f")) != 0 {
				t.Error("a dead letter as well as the destination")
			}
			rec := decode(t, body)
			delete(rec, "timestamp")
			wantRec := map[string]any{
				"version": "1.0",
				"requestContext": map[string]any{
					"requestId": id, "functionArn": fARN + ":$LATEST",
					"condition": "RetriesExhausted", "approximateInvokeCount": float64(want),
				},
				"requestPayload":  map[string]any{"order": float64(7)},
				"responseContext": map[string]any{"statusCode": float64(200), "executedVersion": "$LATEST", "functionError": "Unhandled"},
				"responsePayload": map[string]any{"errorMessage": "boom", "errorType": "Oops"},
			}
			if !reflect.DeepEqual(rec, wantRec) {
				t.Errorf("record\n got %v\nwant %v", rec, wantRec)
			}
		})
	}
}

// The on-success record has AWS's shape; the config of exactly the
// qualifier invoked applies.
func TestOnSuccessRecord(t *testing.T) {
	cases := []struct {
		name       string
		configured string // qualifier the config is set on
		invoked    string // function name as enqueued
		wantArn    string // "" = no record expected
		wantExec   string
	}{
		{"unqualified is $LATEST", "", "f", fARN + ":$LATEST", "$LATEST"},
		{"alias", "live", "f:live", fARN + ":live", "1"},
		{"version", "1", "f:1", fARN + ":1", "1"},
		{"$LATEST's config does not apply to an alias", "", "f:live", "", "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			if _, err := e.reg.PublishVersion(e.ctx, "f", function.PublishInput{}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.reg.CreateAlias(e.ctx, "f", function.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
				t.Fatal(err)
			}
			e.config("f", tc.configured, function.EventInvokeUpdate{OnSuccess: ptr(sqsARN)})
			e.inv.set("f", func(_ context.Context, _ int, req invoke.Request) (*invoke.Response, error) {
				r := ok([]byte(`{"result":"fine"}`))
				r.ExecutedVersion = tc.wantExec
				return r, nil
			})
			e.start()
			id := e.enqueue(Request{FunctionName: tc.invoked, Payload: []byte(`{"Success":true}`)})
			e.eventually("success counted", func() bool { return e.svc.Stats().Succeeded == 1 })
			got := e.sqs.all()
			if tc.wantArn == "" {
				if len(got) != 0 {
					t.Fatalf("records sent: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].arn != sqsARN || got[0].attrs != nil {
				t.Fatalf("queue got %+v", got)
			}
			rec := decode(t, got[0].body)
			if ts := rec["timestamp"]; ts != "2025-03-01T12:00:00.000Z" {
				t.Errorf("timestamp %v", ts)
			}
			delete(rec, "timestamp")
			want := map[string]any{
				"version": "1.0",
				"requestContext": map[string]any{
					"requestId": id, "functionArn": tc.wantArn, "condition": "Success", "approximateInvokeCount": float64(1),
				},
				"requestPayload":  map[string]any{"Success": true},
				"responseContext": map[string]any{"statusCode": float64(200), "executedVersion": tc.wantExec},
				"responsePayload": map[string]any{"result": "fine"},
			}
			if !reflect.DeepEqual(rec, want) {
				t.Errorf("record\n got %v\nwant %v", rec, want)
			}
		})
	}
}

// Throttled (and platform-failed) invocations are retried with their own
// backoff, without counting attempts, until capacity returns.
func TestThrottledRetried(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"throttled", throttled()},
		{"platform failure", errors.New("instance crashed while starting")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0), OnSuccess: ptr(sqsARN)})
			e.inv.set("f", func(_ context.Context, n int, req invoke.Request) (*invoke.Response, error) {
				if n < 3 {
					return nil, tc.err
				}
				return ok(req.Payload), nil
			})
			e.start()
			const n = 5
			for i := range n {
				e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"i":` + itoa(i) + `}`)})
			}
			// The three refusals fall on whichever events came first;
			// every event must then succeed once.
			e.waitCalls("f", 3)
			deadline := time.Now().Add(30 * time.Second)
			for e.svc.Stats().Succeeded < n {
				if time.Now().After(deadline) {
					t.Fatalf("stats %+v after 30s", e.svc.Stats())
				}
				// Move the clock to the next held retry, if one waits in the
				// future (one already due is being released).
				if due := e.svc.held.nextDue(); due.After(e.clk.Now()) {
					e.clk.Set(due)
				}
				time.Sleep(time.Millisecond)
			}
			st := e.svc.Stats()
			if st.Succeeded != n || st.Throttled != 3 || st.Retried != 0 || st.Failed != 0 {
				t.Errorf("stats %+v", st)
			}
			got := e.sqs.all()
			if len(got) != n {
				t.Fatalf("%d success records, want %d", len(got), n)
			}
			seen := map[string]bool{}
			for _, s := range got {
				rec := decode(t, s.body)
				rc := rec["requestContext"].(map[string]any)
				if rc["approximateInvokeCount"] != float64(1) {
					t.Errorf("approximateInvokeCount %v, want 1 (throttles are not attempts)", rc["approximateInvokeCount"])
				}
				seen[string(mustJSON(rec["requestPayload"]))] = true
			}
			if len(seen) != n {
				t.Errorf("records for %d distinct events, want %d", len(seen), n)
			}
			if len(e.deadLetters("f")) != 0 {
				t.Error("dead letters after throttling")
			}
		})
	}
}

// One event throttled three times waits 1 s, 2 s, 4 s between tries.
func TestThrottleBackoff(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	e.inv.set("f", func(_ context.Context, n int, req invoke.Request) (*invoke.Response, error) {
		if n < 3 {
			return nil, throttled()
		}
		return ok(req.Payload), nil
	})
	e.start()
	e.enqueue(Request{FunctionName: "f"})
	calls := e.waitCalls("f", 1)
	for i := 1; i < 4; i++ {
		e.releaseNext(e.svc)
		calls = e.waitCalls("f", i+1)
	}
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].at.Sub(calls[i-1].at))
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
	e.eventually("success", func() bool { return e.svc.Stats().Succeeded == 1 })
}

func TestEventAgeExceeded(t *testing.T) {
	cases := []struct {
		name         string
		maxAge       int
		behave       func(context.Context, int, invoke.Request) (*invoke.Response, error)
		wantCalls    int
		wantAttempts int
		wantType     string
	}{
		// Attempt 1 at 0 s, attempt 2 at 60 s, attempt 3 due at 180 s > 90 s.
		{"after function errors", 90, alwaysFail, 2, 2, "Oops"},
		// Tries at 0, 1, 3, 7, 15 and 31 s; the next would be at 63 s > 60 s.
		{"while throttled", 60, func(context.Context, int, invoke.Request) (*invoke.Response, error) { return nil, throttled() }, 6, 0, "TooManyRequestsException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			e.config("f", "", function.EventInvokeUpdate{MaximumEventAgeInSeconds: &tc.maxAge})
			e.inv.set("f", tc.behave)
			e.start()
			id := e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"late":true}`)})
			deadline := time.Now().Add(30 * time.Second)
			for len(e.deadLetters("f")) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("stats %+v after 30s", e.svc.Stats())
				}
				// Move the clock to the next held retry, if one waits in the
				// future (one already due is being released).
				if due := e.svc.held.nextDue(); due.After(e.clk.Now()) {
					e.clk.Set(due)
				}
				time.Sleep(time.Millisecond)
			}
			recs := e.deadLetters("f")
			if len(recs) != 1 {
				t.Fatalf("%d dead letters", len(recs))
			}
			r := recs[0]
			if r.Condition != deadletter.EventAgeExceeded || r.Attempts != tc.wantAttempts || r.RequestID != id || r.ErrorType != tc.wantType {
				t.Errorf("dead letter %+v, want EventAgeExceeded after %d attempts (%s)", r, tc.wantAttempts, tc.wantType)
			}
			if n := len(e.inv.callsOf("f")); n != tc.wantCalls {
				t.Errorf("%d invocations, want %d", n, tc.wantCalls)
			}
			e.eventually("the event acknowledged", e.streamEmpty)
		})
	}
}

func TestEnqueueRefused(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	if _, err := e.reg.PublishVersion(e.ctx, "f", function.PublishInput{}); err != nil {
		t.Fatal(err)
	}
	big := []byte(`"` + strings.Repeat("x", MaxPayload-1) + `"`)
	cases := []struct {
		name string
		req  Request
		kind fault.Kind
		msg  string
	}{
		{"missing function", Request{FunctionName: "nope"}, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope"},
		{"missing function, qualified", Request{FunctionName: "nope:3"}, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:3"},
		{"missing version", Request{FunctionName: "f", Qualifier: "9"}, fault.NotFound, "function:f:9"},
		{"missing alias", Request{FunctionName: "f:prod"}, fault.NotFound, "function:f:prod"},
		{"other region", Request{FunctionName: "arn:aws:lambda:eu-west-1:000000000000:function:f"}, fault.NotFound, "Function not found"},
		{"qualifiers disagree", Request{FunctionName: "f:1", Qualifier: "$LATEST"}, fault.Invalid, "does not match"},
		{"bad name", Request{FunctionName: "f f"}, fault.Invalid, "functionName"},
		{"too large", Request{FunctionName: "f", Payload: big}, fault.TooLarge,
			"1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"},
		{"not JSON", Request{FunctionName: "f", Payload: []byte(`{"a":`)}, fault.InvalidContent, "Could not parse request body into json"},
		{"negative policy", Request{FunctionName: "f", Policy: &DeliveryPolicy{MaximumRetryAttempts: -1}}, fault.Invalid, "must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := e.svc.Enqueue(e.ctx, tc.req)
			if id != "" {
				t.Errorf("id %q for a refused event", id)
			}
			wantFault(t, err, tc.kind, tc.msg)
		})
	}
	if !e.streamEmpty() {
		t.Error("a refused event was stored")
	}
	// A payload of exactly the limit is accepted, and AllowMissing takes
	// a function that does not exist (yet).
	if _, err := e.svc.Enqueue(e.ctx, Request{FunctionName: "f", Payload: big[:MaxPayload]}); err == nil {
		t.Error("a payload cut in half is not JSON, yet accepted")
	}
	exact := []byte(`"` + strings.Repeat("x", MaxPayload-2) + `"`)
	e.enqueue(Request{FunctionName: "f", Payload: exact})
	e.enqueue(Request{FunctionName: "later", AllowMissing: true})
	if st := e.svc.Stats(); st.Enqueued != 2 {
		t.Errorf("Enqueued %d, want 2", st.Enqueued)
	}
}

// A function deleted after its event was queued: without a policy the event
// fails at once (DeliveryFailed); with one it is retried as the policy
// says, then goes to the policy's dead-letter target.
func TestMissingFunctionAtRun(t *testing.T) {
	t.Run("no policy", func(t *testing.T) {
		e := newEnv(t)
		e.create("f")
		id := e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"x":1}`)})
		if err := e.reg.Delete(e.ctx, "f", ""); err != nil {
			t.Fatal(err)
		}
		e.start()
		r := e.waitDeadLetters("f", 1)[0]
		if r.Condition != deadletter.DeliveryFailed || r.RequestID != id || r.Attempts != 0 || string(r.Payload) != `{"x":1}` {
			t.Errorf("dead letter %+v", r)
		}
		if n := len(e.inv.callsOf("f")); n != 0 {
			t.Errorf("%d invocations of a deleted function", n)
		}
	})
	t.Run("policy retries then its dead-letter target", func(t *testing.T) {
		e := newEnv(t)
		e.start()
		id := e.enqueue(Request{FunctionName: "ghost", Payload: []byte(`{"x":2}`), AllowMissing: true,
			Source: Source{Kind: deadletter.SourceSchedule, ARN: "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s"},
			Policy: &DeliveryPolicy{MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600, DeadLetterArn: sqsARN}})
		var dues []time.Time
		for range 2 {
			dues = append(dues, e.releaseNext(e.svc))
		}
		if want := []time.Time{t0.Add(time.Second), t0.Add(3 * time.Second)}; !slices.EqualFunc(dues, want, time.Time.Equal) {
			t.Errorf("retries due at %v, want %v", dues, want)
		}
		e.eventually("the dead-letter target", func() bool { return len(e.sqs.all()) == 1 })
		s := e.sqs.all()[0]
		if string(s.body) != `{"x":2}` || s.attrs["RequestID"] != id || s.attrs["ErrorCode"] != "404" ||
			s.attrs["Condition"] != deadletter.DeliveryFailed || !strings.Contains(s.attrs["ErrorMessage"], "ghost") {
			t.Errorf("sent %s with %v", s.body, s.attrs)
		}
		if e.svc.Stats().Failed != 1 {
			t.Errorf("stats %+v", e.svc.Stats())
		}
	})
	t.Run("policy retries until the function appears", func(t *testing.T) {
		e := newEnv(t)
		e.start()
		e.enqueue(Request{FunctionName: "soon", AllowMissing: true, Policy: &DeliveryPolicy{MaximumRetryAttempts: 5}})
		e.eventually("a held retry", func() bool { return e.svc.held.len() == 1 })
		e.create("soon")
		e.releaseNext(e.svc)
		e.waitCalls("soon", 1)
		e.eventually("success", func() bool { return e.svc.Stats().Succeeded == 1 })
	})
}

// Destinations that cannot take a record do not lose it.
func TestDestinationFallbacks(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(e *env)
		check   func(t *testing.T, e *env, id string)
		succeed bool
	}{
		{"failing queue", func(e *env) {
			e.sqs.fail = true
			e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0), OnFailure: ptr(sqsARN)})
		}, func(t *testing.T, e *env, id string) {
			r := e.waitDeadLetters("f", 1)[0]
			if r.Destination != sqsARN || r.Condition != deadletter.RetriesExhausted || r.Attempts != 1 || r.RequestID != id {
				t.Errorf("dead letter %+v", r)
			}
		}, false},
		{"no sender for topics", func(e *env) {
			e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0), OnFailure: ptr(snsARN)})
		}, func(t *testing.T, e *env, id string) {
			r := e.waitDeadLetters("f", 1)[0]
			if r.Destination != snsARN || r.Condition != deadletter.RetriesExhausted {
				t.Errorf("dead letter %+v", r)
			}
		}, false},
		{"destination function deleted", func(e *env) {
			e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0), OnFailure: ptr(destARN)})
			if err := e.reg.Delete(e.ctx, "dest", ""); err != nil {
				e.t.Fatal(err)
			}
		}, func(t *testing.T, e *env, id string) {
			r := e.waitDeadLetters("f", 1)[0]
			if r.Destination != destARN || string(r.Payload) != `{"p":1}` {
				t.Errorf("dead letter %+v", r)
			}
		}, false},
		{"DeadLetterConfig queue gets the original event", func(e *env) {
			e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0)})
			if _, err := e.reg.UpdateConfig(e.ctx, "f", function.UpdateConfigInput{DeadLetterTargetArn: ptr(sqsARN)}); err != nil {
				e.t.Fatal(err)
			}
		}, func(t *testing.T, e *env, id string) {
			e.eventually("the dead-letter queue", func() bool { return len(e.sqs.all()) == 1 })
			s := e.sqs.all()[0]
			want := map[string]string{"RequestID": id, "ErrorCode": "200", "ErrorMessage": "boom"}
			if string(s.body) != `{"p":1}` || !reflect.DeepEqual(s.attrs, want) {
				t.Errorf("sent %s with %v, want the event with %v", s.body, s.attrs, want)
			}
			if len(e.deadLetters("f")) != 0 {
				t.Error("dead letter as well")
			}
		}, false},
		{"undeliverable success record", func(e *env) {
			e.config("f", "", function.EventInvokeUpdate{OnSuccess: ptr(snsARN)})
		}, func(t *testing.T, e *env, id string) {
			r := e.waitDeadLetters("f", 1)[0]
			if r.Source != deadletter.SourceDestination || r.ErrorType != ErrDestinationType || r.Destination != snsARN || r.Condition != deadletter.DeliveryFailed {
				t.Errorf("dead letter %+v", r)
			}
			rec := decode(t, r.Payload)
			if rec["requestContext"].(map[string]any)["condition"] != "Success" {
				t.Errorf("kept payload %s is not the success record", r.Payload)
			}
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("f")
			e.create("dest")
			if !tc.succeed {
				e.inv.set("f", alwaysFail)
			}
			tc.setup(e)
			e.start()
			id := e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"p":1}`)})
			tc.check(t, e, id)
			e.eventually("the event acknowledged", e.streamEmpty)
		})
	}
}

// Reserved concurrency 0 sends events to the failure path at once, as AWS.
func TestReservedZero(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	if _, err := e.reg.PutConcurrency(e.ctx, "f", 0); err != nil {
		t.Fatal(err)
	}
	e.inv.set("f", func(context.Context, int, invoke.Request) (*invoke.Response, error) { return nil, throttled() })
	e.start()
	e.enqueue(Request{FunctionName: "f"})
	r := e.waitDeadLetters("f", 1)[0]
	if r.Attempts != 0 || r.ErrorType != "TooManyRequestsException" {
		t.Errorf("dead letter %+v", r)
	}
	if n := len(e.inv.callsOf("f")); n != 1 {
		t.Errorf("%d tries, want 1 (no retries)", n)
	}
}

func TestRedrive(t *testing.T) {
	t.Run("failed event runs again with a fresh count", func(t *testing.T) {
		e := newEnv(t)
		e.create("f")
		e.config("f", "", function.EventInvokeUpdate{MaximumRetryAttempts: ptr(0), OnSuccess: ptr(sqsARN)})
		e.inv.set("f", alwaysFail)
		e.start()
		first := e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"again":1}`)})
		rec := e.waitDeadLetters("f", 1)[0]

		// Seven hours later the original event would be too old to run.
		e.clk.Advance(7 * time.Hour)
		e.inv.set("f", nil)
		n, err := e.svc.Redrive(e.ctx, deadletter.Filter{FunctionName: "f"})
		if err != nil || n != 1 {
			t.Fatalf("Redrive = %d, %v", n, err)
		}
		if left := e.deadLetters("f"); len(left) != 0 {
			t.Errorf("records left after redrive: %+v", left)
		}
		calls := e.waitCalls("f", 2)
		if calls[1].req.RequestID == first || calls[1].req.RequestID != derivedID(rec.ID, "redrive") || string(calls[1].req.Payload) != `{"again":1}` {
			t.Errorf("redriven invocation %+v", calls[1].req)
		}
		e.eventually("the success record", func() bool { return len(e.sqs.all()) == 1 })
		rc := decode(t, e.sqs.all()[0].body)["requestContext"].(map[string]any)
		if rc["approximateInvokeCount"] != float64(1) {
			t.Errorf("approximateInvokeCount %v after redrive, want 1", rc["approximateInvokeCount"])
		}
		// Nothing left to redrive.
		if n, err := e.svc.Redrive(e.ctx, deadletter.Filter{}); n != 0 || err != nil {
			t.Errorf("second Redrive = %d, %v", n, err)
		}
	})
	t.Run("undelivered record goes to its destination again", func(t *testing.T) {
		e := newEnv(t)
		e.create("f")
		e.create("dest")
		e.config("f", "", function.EventInvokeUpdate{OnSuccess: ptr(destARN)})
		if err := e.reg.Delete(e.ctx, "dest", ""); err != nil {
			t.Fatal(err)
		}
		e.start()
		e.enqueue(Request{FunctionName: "f", Payload: []byte(`{"q":1}`)})
		rec := e.waitDeadLetters("f", 1)[0]
		// Still missing: the record stays.
		if n, err := e.svc.Redrive(e.ctx, deadletter.Filter{FunctionName: "f"}); n != 0 || !fault.Is(err, fault.NotFound) {
			t.Errorf("Redrive to a missing destination = %d, %v", n, err)
		}
		e.create("dest")
		if n, err := e.svc.Redrive(e.ctx, deadletter.Filter{IDs: []string{rec.ID}}); n != 1 || err != nil {
			t.Fatalf("Redrive = %d, %v", n, err)
		}
		dc := e.waitCalls("dest", 1)
		if string(dc[0].req.Payload) != string(rec.Payload) {
			t.Errorf("destination got %s, want the kept record %s", dc[0].req.Payload, rec.Payload)
		}
		if n := len(e.inv.callsOf("f")); n != 1 {
			t.Errorf("the function ran %d times; redriving its success record must not run it again", n)
		}
	})
}

func TestDuplicateEnqueue(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	for range 2 {
		if id := e.enqueue(Request{FunctionName: "f", RequestID: "dup-1"}); id != "dup-1" {
			t.Fatalf("id %q", id)
		}
	}
	ids, err := e.svc.EnqueueBatch(e.ctx, []Request{
		{FunctionName: "f", RequestID: "dup-2"}, {FunctionName: "f", RequestID: "dup-2"}, {FunctionName: "f", RequestID: "dup-1"},
	})
	if err != nil || !slices.Equal(ids, []string{"dup-2", "dup-2", "dup-1"}) {
		t.Fatalf("EnqueueBatch = %v, %v", ids, err)
	}
	info, err := e.svc.stream.Info(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 2 {
		t.Errorf("%d events stored, want 2", info.Messages)
	}
	e.start()
	e.eventually("both run", func() bool { return e.svc.Stats().Succeeded == 2 })
	var got []string
	for _, c := range e.inv.callsOf("f") {
		got = append(got, c.req.RequestID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"dup-1", "dup-2"}) {
		t.Errorf("invoked for %v", got)
	}
}

func TestEnqueueBatch(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	e.create("g")
	ids, err := e.svc.EnqueueBatch(e.ctx, []Request{
		{FunctionName: "f", Payload: []byte(`1`)},
		{FunctionName: "missing"},
		{FunctionName: "g", Payload: []byte(`2`)},
	})
	wantFault(t, err, fault.NotFound, "function:missing")
	if !strings.Contains(err.Error(), "event 1") || ids[0] == "" || ids[1] != "" || ids[2] == "" {
		t.Fatalf("ids %q, err %v", ids, err)
	}
	e.start()
	e.waitCalls("f", 1)
	e.waitCalls("g", 1)
	e.eventually("both succeed", func() bool { return e.svc.Stats().Succeeded == 2 })
	if st := e.svc.Stats(); st.Enqueued != 2 {
		t.Errorf("Enqueued %d", st.Enqueued)
	}
}

// A held retry takes no worker: with one worker, a new event runs while
// another waits for its retry time.
func TestHeldRetryTakesNoWorker(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Workers = 1 })
	e.create("f")
	e.create("g")
	e.inv.set("f", func(_ context.Context, n int, req invoke.Request) (*invoke.Response, error) {
		if n == 0 {
			return functionError(), nil
		}
		return ok(nil), nil
	})
	e.start()
	e.enqueue(Request{FunctionName: "f"})
	e.eventually("f's retry held", func() bool { return e.svc.held.len() == 1 })
	e.enqueue(Request{FunctionName: "g"})
	e.waitCalls("g", 1)
	if st := e.svc.Stats(); st.Pending < 1 {
		t.Errorf("Pending %d while a retry is held", st.Pending)
	}
	e.releaseNext(e.svc)
	e.waitCalls("f", 2)
	e.eventually("both succeed", func() bool { return e.svc.Stats().Succeeded == 2 })
}

// Closing a service and opening another on the same store loses nothing:
// held retries, events queued meanwhile and an invocation cut short by
// Close all complete on the new one.
func TestCloseReopen(t *testing.T) {
	e := newEnv(t)
	e.create("f")
	e.create("slow")
	perID := func(name string) map[string]int {
		m := map[string]int{}
		for _, c := range e.inv.callsOf(name) {
			m[c.req.RequestID]++
		}
		return m
	}
	// Each event of f fails its first attempt.
	e.inv.set("f", func(_ context.Context, _ int, req invoke.Request) (*invoke.Response, error) {
		if perID("f")[req.RequestID] == 1 {
			return functionError(), nil
		}
		return ok(nil), nil
	})
	// slow runs until its context ends, until release is closed.
	release := make(chan struct{})
	running := make(chan struct{}, 1)
	e.inv.set("slow", func(ctx context.Context, _ int, req invoke.Request) (*invoke.Response, error) {
		select {
		case <-release:
			return ok(nil), nil
		default:
		}
		running <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	e.start()
	const held, later = 12, 8
	for range held {
		e.enqueue(Request{FunctionName: "f"})
	}
	e.eventually("every retry held", func() bool { return e.svc.held.len() == held })
	e.enqueue(Request{FunctionName: "slow"})
	<-running
	closeCtx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	if err := e.svc.Close(closeCtx); err == nil {
		t.Error("Close returned nil although it cancelled a running invocation")
	}
	for range later {
		e.enqueue(Request{FunctionName: "f"})
	}
	before := e.svc.Stats()

	close(release)
	svc2 := e.newService()
	svc2.Start(e.ctx)
	e.eventually("the held retries and the new events held", func() bool { return svc2.held.len() == held+later })
	e.clk.Set(svc2.held.nextDue().Add(time.Hour))
	e.eventually("everything done", func() bool { return svc2.Stats().Succeeded == held+later+1 })
	e.eventually("the stream empty", e.streamEmpty)
	for id, n := range perID("f") {
		if n != 2 {
			t.Errorf("event %s ran %d times, want 2", id, n)
		}
	}
	if n := len(perID("f")); n != held+later {
		t.Errorf("%d distinct events ran, want %d", n, held+later)
	}
	if before.Succeeded != 0 || len(e.deadLetters("")) != 0 {
		t.Errorf("first service stats %+v; dead letters %d", before, len(e.deadLetters("")))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// A retry due further away than holdLimit is not held in memory: it is
// handed back to the store with a delay, and stays stored.
func TestFarRetryLeftToTheStore(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RetryBase, o.RetryCap = 2*holdLimit, 2*holdLimit })
	e.create("f")
	e.inv.set("f", alwaysFail)
	e.start()
	e.enqueue(Request{FunctionName: "f"})
	e.waitCalls("f", 1)
	e.eventually("the retry handed back", func() bool {
		st := e.svc.Stats()
		return st.Retried == 1 && st.Pending == 0
	})
	// The first delivery's acknowledgement does not wait for the store
	// (AckNoWait), so the stream may hold it a moment longer.
	e.eventually("the stream to hold only the retry", func() bool {
		info, err := e.svc.stream.Info(e.ctx)
		return err == nil && info.Messages == 1
	})
	if e.svc.held.len() != 0 {
		t.Error("a far retry is held in memory")
	}
}

// Dead letters that are not failed invocations: a schedule firing refused
// by its queue target is sent to that queue again; an SNS delivery's is
// refused with a clear error and kept.
func TestRedriveNonFunctionDeadLetters(t *testing.T) {
	e := newEnv(t)
	for _, r := range []*deadletter.Record{
		{Source: deadletter.SourceSchedule, FunctionName: sqsARN, Destination: sqsARN, RequestID: "fire-1",
			Payload: []byte(`{"tick":1}`), Condition: deadletter.DeliveryFailed, ErrorType: "InvalidTarget"},
		{Source: deadletter.SourceTopic, FunctionName: "sns-orders", Destination: "http:http://x", RequestID: "m-1",
			Payload: []byte(`"hello"`), Condition: deadletter.DeliveryFailed, ErrorType: "DeliveryFailed"},
	} {
		if err := e.dl.Put(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.svc.Redrive(e.ctx, deadletter.Filter{})
	if n != 1 || err == nil || !strings.Contains(err.Error(), "cannot be redriven as an invocation") {
		t.Fatalf("Redrive = %d, %v; want 1 and the SNS record refused", n, err)
	}
	got := e.sqs.all()
	if len(got) != 1 || got[0].arn != sqsARN || string(got[0].body) != `{"tick":1}` {
		t.Fatalf("sent %+v, want the firing to the queue", got)
	}
	left := e.deadLetters("")
	if len(left) != 1 || left[0].Source != deadletter.SourceTopic {
		t.Fatalf("left %+v, want the SNS record only", left)
	}
}
