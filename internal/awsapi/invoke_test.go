package awsapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
)

// fakeInvoker records requests and answers with respond (default: echo).
type fakeInvoker struct {
	mu      sync.Mutex
	reqs    []invoke.Request
	respond func(invoke.Request) (*invoke.Response, error)
	prov    map[string]invoke.ProvisionedStatus
	provErr error
	// prepared records the functions whose code was readied.
	prepared []string
}

func (f *fakeInvoker) Prepare(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepared = append(f.prepared, name)
	return nil
}

func (f *fakeInvoker) Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error) {
	if f.respond != nil && f.prov == nil {
		return f.respond(req) // the benchmark: nothing recorded
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.respond != nil {
		return f.respond(req)
	}
	return &invoke.Response{StatusCode: 200, Payload: req.Payload, ContentType: "application/json", ExecutedVersion: "$LATEST", RequestID: req.RequestID}, nil
}

func (f *fakeInvoker) last() invoke.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeInvoker) PutProvisioned(ctx context.Context, name, qualifier string, n int) (invoke.ProvisionedStatus, error) {
	if f.provErr != nil {
		return invoke.ProvisionedStatus{}, f.provErr
	}
	st := invoke.ProvisionedStatus{FunctionName: name, Qualifier: qualifier, Requested: n, Allocated: n, Available: n, Status: invoke.StatusReady, LastModified: time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)}
	f.prov[qualifier] = st
	return st, nil
}

func (f *fakeInvoker) GetProvisioned(ctx context.Context, name, qualifier string) (invoke.ProvisionedStatus, error) {
	st, ok := f.prov[qualifier]
	if !ok {
		return st, &fault.Error{Kind: fault.NotFound, Message: "No Provisioned Concurrency Config found for this function", Err: function.ErrNoProvisionedConfig}
	}
	return st, nil
}

func (f *fakeInvoker) ListProvisioned(ctx context.Context, name string, page function.Page) ([]invoke.ProvisionedStatus, string, error) {
	var out []invoke.ProvisionedStatus
	for _, st := range f.prov {
		out = append(out, st)
	}
	return out, "", nil
}

func (f *fakeInvoker) DeleteProvisioned(ctx context.Context, name, qualifier string) error {
	delete(f.prov, qualifier)
	return nil
}

func newInvokeEnv(t *testing.T) (*env, *fakeInvoker) {
	inv := &fakeInvoker{prov: map[string]invoke.ProvisionedStatus{}}
	return newEnv(t, func(o *Options) { o.Invoker = inv }), inv
}

const invokePath = "/2015-03-31/functions/fn/invocations"

func TestInvokeWire(t *testing.T) {
	e, inv := newInvokeEnv(t)

	// An unsigned request (curl) works, in the default region.
	rec := e.do("POST", invokePath, `{"a":1}`)
	if rec.Code != 200 || rec.Body.String() != `{"a":1}` || header(rec, "X-Amz-Executed-Version") != "$LATEST" ||
		header(rec, "Content-Type") != "application/json" || header(rec, "Content-Length") != "7" {
		t.Errorf("unsigned invoke: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	got := inv.last()
	if got.FunctionName != "fn" || got.Region != "us-east-1" || got.RequestID == "" || got.RequestID != header(rec, "x-amzn-RequestId") {
		t.Errorf("request = %+v, x-amzn-RequestId %q", got, header(rec, "x-amzn-RequestId"))
	}

	// Headers and the qualifier reach the service; the region comes from
	// the credential scope; the name is decoded.
	e.do("POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A000000000000%3Afunction%3Afn/invocations?Qualifier=live", "",
		"X-Amz-Invocation-Type", "DryRun", "X-Amz-Log-Type", "Tail", "X-Amz-Client-Context", "e30=", "X-Amzn-Trace-Id", "Root=1-abc",
		"Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240131/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=x")
	got = inv.last()
	want := invoke.Request{FunctionName: "arn:aws:lambda:eu-west-1:000000000000:function:fn", Qualifier: "live", InvocationType: "DryRun",
		LogType: "Tail", ClientContext: "e30=", Region: "eu-west-1", TraceID: "Root=1-abc", RequestID: got.RequestID}
	if got.Payload != nil || got.FunctionName != want.FunctionName || got.Qualifier != want.Qualifier || got.InvocationType != want.InvocationType ||
		got.LogType != want.LogType || got.ClientContext != want.ClientContext || got.Region != want.Region || got.TraceID != want.TraceID {
		t.Errorf("request = %+v\nwant      %+v", got, want)
	}

	// A function error is a 200 with X-Amz-Function-Error; the log tail
	// goes in X-Amz-Log-Result.
	inv.respond = func(r invoke.Request) (*invoke.Response, error) {
		return &invoke.Response{StatusCode: 200, Payload: []byte(`{"errorType":"Runtime.ExitError"}`), FunctionError: "Unhandled",
			ContentType: "application/json", ExecutedVersion: "3", LogResult: "U1RBUlQ="}, nil
	}
	rec = e.do("POST", invokePath, "{}")
	if rec.Code != 200 || header(rec, "X-Amz-Function-Error") != "Unhandled" || header(rec, "X-Amz-Log-Result") != "U1RBUlQ=" ||
		header(rec, "X-Amz-Executed-Version") != "3" || !strings.Contains(rec.Body.String(), "Runtime.ExitError") {
		t.Errorf("function error: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}

	// DryRun: 204 without a body.
	inv.respond = func(r invoke.Request) (*invoke.Response, error) {
		return &invoke.Response{StatusCode: 204, ExecutedVersion: "$LATEST"}, nil
	}
	rec = e.do("POST", invokePath, "{}", "X-Amz-Invocation-Type", "DryRun")
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("DryRun: %d %s", rec.Code, rec.Body)
	}

	// Throttling: 429 with Reason and Retry-After.
	inv.respond = func(r invoke.Request) (*invoke.Response, error) {
		return nil, &fault.Error{Kind: fault.Throttled, Message: "Rate Exceeded.", Reason: invoke.ReasonReserved}
	}
	rec = e.do("POST", invokePath, "{}")
	body := decode(t, rec)
	if rec.Code != 429 || header(rec, "X-Amzn-ErrorType") != "TooManyRequestsException" || body["Reason"] != invoke.ReasonReserved ||
		body["message"] != "Rate Exceeded." || header(rec, "Retry-After") == "" {
		t.Errorf("throttled: %d %v %v", rec.Code, rec.Header(), body)
	}

	// A declared body over 6 MB is refused before it is read.
	req := httptest.NewRequest("POST", invokePath, strings.NewReader("{}"))
	req.ContentLength = invoke.MaxSyncPayload + 1
	rec = httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || header(rec, "X-Amzn-ErrorType") != "RequestTooLargeException" ||
		!strings.Contains(rec.Body.String(), "Request must be smaller than 6291456 bytes for the InvokeFunction operation") {
		t.Errorf("too large: %d %s", rec.Code, rec.Body)
	}
	// So is an undeclared (chunked) one.
	req = httptest.NewRequest("POST", invokePath, strings.NewReader(`"`+strings.Repeat("x", invoke.MaxSyncPayload)+`"`))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("too large, chunked: %d %s", rec.Code, rec.Body)
	}
}

func TestInvokeWithoutInvoker(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", invokePath, "{}")
	if rec.Code != 400 || header(rec, "X-Amzn-ErrorType") != "InvalidParameterValueException" {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestProvisionedConcurrencyWire(t *testing.T) {
	e, _ := newInvokeEnv(t)
	const p = "/2019-09-30/functions/fn/provisioned-concurrency"

	rec := e.do("PUT", p+"?Qualifier=live", `{"ProvisionedConcurrentExecutions":2}`)
	body := decode(t, rec)
	if rec.Code != 202 || body["Status"] != "READY" || body["RequestedProvisionedConcurrentExecutions"] != 2.0 ||
		body["AvailableProvisionedConcurrentExecutions"] != 2.0 || body["AllocatedProvisionedConcurrentExecutions"] != 2.0 ||
		body["LastModified"] != "2024-01-31T12:00:00.000+0000" {
		t.Errorf("put: %d %v", rec.Code, body)
	}
	for _, bad := range []struct{ target, body, want string }{
		{p, `{"ProvisionedConcurrentExecutions":2}`, "'qualifier'"},
		{p + "?Qualifier=live", `{}`, "'provisionedConcurrentExecutions'"},
		{p + "?Qualifier=live", `{"ProvisionedConcurrentExecutions":"x"}`, "Could not parse request body"},
	} {
		rec := e.do("PUT", bad.target, bad.body)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), bad.want) {
			t.Errorf("PUT %s %s: %d %s", bad.target, bad.body, rec.Code, rec.Body)
		}
	}
	// The qualifier may come with the name.
	rec = e.do("GET", "/2019-09-30/functions/fn%3Alive/provisioned-concurrency", "")
	if body := decode(t, rec); rec.Code != 200 || body["Status"] != "READY" {
		t.Errorf("get: %d %v", rec.Code, body)
	}
	rec = e.do("GET", p+"?Qualifier=other", "")
	if rec.Code != 404 || header(rec, "X-Amzn-ErrorType") != "ProvisionedConcurrencyConfigNotFoundException" ||
		decode(t, rec)["message"] != "No Provisioned Concurrency Config found for this function" {
		t.Errorf("get missing: %d %s", rec.Code, rec.Body)
	}
	rec = e.do("GET", p+"?List=ALL&MaxItems=5", "")
	body = decode(t, rec)
	items, _ := body["ProvisionedConcurrencyConfigs"].([]any)
	if rec.Code != 200 || len(items) != 1 || items[0].(map[string]any)["FunctionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:fn:live" {
		t.Errorf("list: %d %v", rec.Code, body)
	}
	if rec := e.do("GET", p+"?List=ALL&MaxItems=51", ""); rec.Code != 400 {
		t.Errorf("list MaxItems 51: %d", rec.Code)
	}
	if rec := e.do("DELETE", p+"?Qualifier=live", ""); rec.Code != 204 {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", p+"?Qualifier=live", ""); rec.Code != 404 {
		t.Errorf("get after delete: %d", rec.Code)
	}
}

// BenchmarkInvokeHandler measures the edge's share of an invocation: routing,
// request id, region, body, headers (the invoker answers at once).
func BenchmarkInvokeHandler(b *testing.B) {
	inv := &fakeInvoker{respond: func(r invoke.Request) (*invoke.Response, error) {
		return &invoke.Response{StatusCode: 200, Payload: r.Payload, ContentType: "application/json", ExecutedVersion: "$LATEST"}, nil
	}}
	api := New(Options{Functions: newFakeRegistry(), Invoker: inv})
	body := `{"message":"hello"}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", invokePath, strings.NewReader(body))
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}

// TestDeployPreparesCode: CreateFunction and UpdateFunctionCode ready the new
// code for its first invocation before they answer; a dry run does not.
func TestDeployPreparesCode(t *testing.T) {
	e, inv := newInvokeEnv(t)
	if rec := e.do("POST", "/2015-03-31/functions", createBody(t, "prep", nil)); rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	zip := base64.StdEncoding.EncodeToString(zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\necho 2\n"}))
	if rec := e.do("PUT", "/2015-03-31/functions/prep/code", `{"ZipFile":"`+zip+`","DryRun":true}`); rec.Code != 200 {
		t.Fatalf("dry-run update: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("PUT", "/2015-03-31/functions/prep/code", `{"ZipFile":"`+zip+`"}`); rec.Code != 200 {
		t.Fatalf("update: %d %s", rec.Code, rec.Body)
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if len(inv.prepared) != 2 || inv.prepared[0] != "prep" || inv.prepared[1] != "prep" {
		t.Errorf("prepared %v, want [prep prep] (create and update, not the dry run)", inv.prepared)
	}
}
