package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/gateway/auth"
	"github.com/lamina-dev/lamina/internal/gateway/limit"
	"github.com/lamina-dev/lamina/internal/gateway/payload"
)

// ---- fakes

// fakeDefs is a Definitions over fixed documents.
type fakeDefs struct {
	mu   sync.Mutex
	docs map[string]*gateway.APIDoc
}

func newDefs(docs ...*gateway.APIDoc) *fakeDefs {
	d := &fakeDefs{docs: make(map[string]*gateway.APIDoc)}
	for _, doc := range docs {
		d.docs[doc.API.ID] = doc
	}
	return d
}

func (d *fakeDefs) put(doc *gateway.APIDoc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.docs[doc.API.ID] = doc
}

func (d *fakeDefs) Snapshot(id string) *gateway.APIDoc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.docs[id]
}

func (d *fakeDefs) DefaultAPI() *gateway.APIDoc {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, doc := range d.docs {
		if doc.API.Default {
			return doc
		}
	}
	return nil
}

// invokeFunc is an Invoker from a function.
type invokeFunc func(ctx context.Context, function, qualifier string, payload []byte) ([]byte, bool, error)

func (f invokeFunc) Invoke(ctx context.Context, function, qualifier string, payload []byte) ([]byte, bool, error) {
	return f(ctx, function, qualifier, payload)
}

// echo answers with the event it got as the body, so tests read back what
// the function saw; functions named "fail", "gone", "slow", "garbage" and
// "cors" misbehave as their names say.
var echo = invokeFunc(func(ctx context.Context, function, _ string, event []byte) ([]byte, bool, error) {
	switch function {
	case "fail":
		return []byte(`{"errorMessage":"boom","errorType":"Error"}`), true, nil
	case "gone":
		return nil, false, fault.New(fault.NotFound, "Function not found: gone")
	case "slow":
		<-ctx.Done()
		return nil, false, ctx.Err()
	case "garbage":
		return []byte(`{"statusCode":"not a number"`), false, nil
	case "cors":
		return []byte(`{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"https://evil.example","X-Mine":"1"},"body":"ok"}`), false, nil
	}
	out, _ := json.Marshal(map[string]any{
		"statusCode": 200,
		"headers":    map[string]string{"content-type": "application/json", "x-fn": function},
		"cookies":    []string{"s=1; Path=/", "t=2"},
		"body":       string(event),
	})
	return out, false, nil
})

func intp(i int) *int { return &i }

// testDoc is API "abc123" with a $default stage and a "prod" stage, routes
// on several integrations and a Lambda authorizer.
func testDoc() *gateway.APIDoc {
	lambda := func(id, fn, format string) gateway.Integration {
		return gateway.Integration{ID: id, Type: gateway.IntegrationLambda, FunctionName: fn, PayloadFormatVersion: format, TimeoutMillis: 30000}
	}
	slow := lambda("slow", "slow", "2.0")
	slow.TimeoutMillis = 50
	return &gateway.APIDoc{
		API: gateway.API{ID: "abc123", Name: "t", ProtocolType: "HTTP"},
		Routes: map[string]gateway.Route{
			"r1":  {ID: "r1", Key: "GET /pets/{id}", IntegrationID: "v2"},
			"r2":  {ID: "r2", Key: "POST /v1/{proxy+}", IntegrationID: "v1"},
			"r3":  {ID: "r3", Key: "GET /fail", IntegrationID: "fail"},
			"r4":  {ID: "r4", Key: "GET /gone", IntegrationID: "gone"},
			"r5":  {ID: "r5", Key: "GET /slow", IntegrationID: "slow"},
			"r6":  {ID: "r6", Key: "GET /garbage", IntegrationID: "garbage"},
			"r7":  {ID: "r7", Key: "GET /nointegration"},
			"r8":  {ID: "r8", Key: "GET /cors", IntegrationID: "cors"},
			"r9":  {ID: "r9", Key: "GET /private", IntegrationID: "v2", AuthorizationType: gateway.AuthCustom, AuthorizerID: "la"},
			"r10": {ID: "r10", Key: "GET /keyed", IntegrationID: "v2", APIKeyRequired: true},
			"r11": {ID: "r11", Key: "POST /validated", IntegrationID: "v2",
				RequestParameters: map[string]bool{"method.request.querystring.q": true},
				RequestModels:     map[string]string{"application/json": "Pet"}},
		},
		Integrations: map[string]gateway.Integration{
			"v2":      lambda("v2", "echo", "2.0"),
			"v1":      lambda("v1", "echo", "1.0"),
			"fail":    lambda("fail", "fail", "2.0"),
			"gone":    lambda("gone", "gone", "2.0"),
			"slow":    slow,
			"garbage": lambda("garbage", "garbage", "2.0"),
			"cors":    lambda("cors", "cors", "2.0"),
		},
		Stages: map[string]gateway.Stage{
			"$default": {Name: "$default"},
			"prod":     {Name: "prod", StageVariables: map[string]string{"env": "production"}},
		},
		Authorizers: map[string]gateway.Authorizer{
			"la": {ID: "la", Name: "la", Type: gateway.AuthorizerRequest, FunctionName: "authz",
				IdentitySource: []string{"$request.header.X-Token"}, PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
		},
		Models: map[string]gateway.Model{
			"m1": {ID: "m1", Name: "Pet", ContentType: "application/json",
				Schema: `{"type":"object","required":["name"],"properties":{"name":{"type":"string"}}}`},
		},
	}
}

// authAdapter is the adapter the server wires between the handler and
// package auth (which imports gateway, so the handler cannot import it).
type authAdapter struct{ a auth.Authorizer }

func (x authAdapter) Authorize(ctx context.Context, r *http.Request, in *payload.Request, scopes []string) (gateway.AuthResult, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	res, err := x.a.Authorize(ctx, &auth.Request{
		Method: r.Method, Path: in.Path, RawPath: in.RawPath, RawQuery: r.URL.RawQuery, Header: r.Header,
		PathParameters: in.PathParameters, StageVariables: in.StageVariables, APIID: in.APIID, Stage: in.Stage,
		RouteKey: in.RouteKey, ResourcePath: in.ResourcePath, DomainName: host, RequestID: in.RequestID,
		AccountID: in.AccountID, Region: in.Region, SourceIP: in.SourceIP, Time: in.Time,
	}, scopes)
	return gateway.AuthResult(res), err
}

// authzInvoker is the Lambda authorizer function: it allows the token
// "good" and passes a context.
var authzInvoker = invokeFunc(func(_ context.Context, _, _ string, event []byte) ([]byte, bool, error) {
	var ev events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, false, err
	}
	ok := len(ev.IdentitySource) == 1 && ev.IdentitySource[0] == "good"
	out, _ := json.Marshal(map[string]any{"isAuthorized": ok, "context": map[string]any{"user": "u1"}})
	return out, false, nil
})

type fakeKeys map[string]int // key → status

func (k fakeKeys) Check(_ context.Context, key, _, _ string) (int, string) {
	st, ok := k[key]
	if !ok {
		return http.StatusForbidden, "Forbidden"
	}
	return st, http.StatusText(st)
}

type env struct {
	defs   *fakeDefs
	srv    *httptest.Server
	logs   *bytes.Buffer
	logMu  *sync.Mutex
	builds *atomic.Int32
}

func newEnv(t *testing.T, mod func(*gateway.HandlerOptions), docs ...*gateway.APIDoc) *env {
	t.Helper()
	e := &env{defs: newDefs(docs...), logs: new(bytes.Buffer), logMu: new(sync.Mutex), builds: new(atomic.Int32)}
	opts := gateway.HandlerOptions{
		Defs:      e.defs,
		Invoker:   echo,
		Clock:     clock.Real{},
		Logger:    slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, nil)),
		Region:    "us-east-1",
		AccountID: "123456789012",
		Validator: limit.NewValidator(),
		NewAuthorizer: func(_ string, def gateway.Authorizer) (gateway.RequestAuthorizer, error) {
			e.builds.Add(1)
			return authAdapter{auth.NewLambda(def, authzInvoker, auth.LambdaOptions{})}, nil
		},
	}
	if mod != nil {
		mod(&opts)
	}
	e.srv = httptest.NewServer(gateway.NewHandler(opts))
	t.Cleanup(e.srv.Close)
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

type result struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request to the test server with host as the Host header
// ("" = the server's own address).
func (e *env) do(t *testing.T, method, host, path string, header http.Header, body string) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if host != "" {
		req.Host = host
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

func v2Event(t *testing.T, r result) events.APIGatewayV2HTTPRequest {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("body is not a 2.0 event: %v: %s", err, r.body)
	}
	return ev
}

func wantMessage(t *testing.T, r result, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	var b struct{ Message string }
	if err := json.Unmarshal(r.body, &b); err != nil || b.Message != msg {
		t.Fatalf("body = %s, want message %q", r.body, msg)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if r.header.Get("Apigw-Requestid") == "" {
		t.Error("no apigw-requestid on an error response")
	}
}

// ---- selection

func TestSelection(t *testing.T) {
	other := testDoc()
	other.API.ID = "def456"
	other.API.Default = true
	other.Stages = map[string]gateway.Stage{"$default": {Name: "$default"}}
	noDefaultStage := testDoc()
	noDefaultStage.API.ID = "nodef1"
	delete(noDefaultStage.Stages, "$default")
	disabled := testDoc()
	disabled.API.ID = "off999"
	disabled.API.DisableExecuteAPIEndpoint = true

	e := newEnv(t, nil, testDoc(), other, noDefaultStage, disabled)
	tests := []struct {
		name, host, path     string
		wantAPI, wantStage   string
		wantRawPath          string
		wantStatus           int
		wantPathParamID      string
		wantStageVariableEnv string
	}{
		{name: "host, $default stage", host: "abc123.execute-api.localhost:3000", path: "/pets/7",
			wantAPI: "abc123", wantStage: "$default", wantRawPath: "/pets/7", wantPathParamID: "7"},
		{name: "host, upper case", host: "ABC123.Execute-Api.localhost", path: "/pets/7",
			wantAPI: "abc123", wantStage: "$default", wantRawPath: "/pets/7", wantPathParamID: "7"},
		{name: "host, any domain", host: "abc123.execute-api.us-east-1.amazonaws.com", path: "/prod/pets/8",
			wantAPI: "abc123", wantStage: "prod", wantRawPath: "/prod/pets/8", wantPathParamID: "8", wantStageVariableEnv: "production"},
		{name: "host, unknown API is not the default", host: "zzz.execute-api.localhost", path: "/pets/7", wantStatus: 404},
		{name: "path prefix, named stage", path: "/abc123/prod/pets/9",
			wantAPI: "abc123", wantStage: "prod", wantRawPath: "/prod/pets/9", wantPathParamID: "9", wantStageVariableEnv: "production"},
		{name: "path prefix, $default stage", path: "/abc123/pets/9",
			wantAPI: "abc123", wantStage: "$default", wantRawPath: "/pets/9", wantPathParamID: "9"},
		{name: "default API", path: "/pets/10",
			wantAPI: "def456", wantStage: "$default", wantRawPath: "/pets/10", wantPathParamID: "10"},
		{name: "default API has no prod stage: prod is a path", path: "/prod/pets/10", wantStatus: 404},
		{name: "no $default stage, unknown stage", path: "/nodef1/dev/pets/1", wantStatus: 404},
		{name: "no $default stage, named stage", path: "/nodef1/prod/pets/1",
			wantAPI: "nodef1", wantStage: "prod", wantRawPath: "/prod/pets/1", wantPathParamID: "1", wantStageVariableEnv: "production"},
		{name: "disabled endpoint by host", host: "off999.execute-api.localhost", path: "/pets/1", wantStatus: 404},
		{name: "disabled endpoint by path", path: "/off999/pets/1", wantStatus: 404},
		{name: "no route", path: "/abc123/nothing/here", wantStatus: 404},
		{name: "method mismatch is 404", host: "abc123.execute-api.localhost", path: "/fail?x", wantStatus: 200},
		{name: "encoded path parameter", host: "abc123.execute-api.localhost", path: "/pets/a%2Fb",
			wantAPI: "abc123", wantStage: "$default", wantRawPath: "/pets/a%2Fb", wantPathParamID: "a/b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "method mismatch is 404" {
				r := e.do(t, "DELETE", tc.host, tc.path, nil, "")
				wantMessage(t, r, 404, "Not Found")
				return
			}
			r := e.do(t, "GET", tc.host, tc.path, nil, "")
			if tc.wantStatus == 404 {
				wantMessage(t, r, 404, "Not Found")
				return
			}
			ev := v2Event(t, r)
			if ev.RequestContext.APIID != tc.wantAPI || ev.RequestContext.Stage != tc.wantStage {
				t.Errorf("api/stage = %s/%s, want %s/%s", ev.RequestContext.APIID, ev.RequestContext.Stage, tc.wantAPI, tc.wantStage)
			}
			if ev.RawPath != tc.wantRawPath {
				t.Errorf("rawPath = %q, want %q", ev.RawPath, tc.wantRawPath)
			}
			if ev.PathParameters["id"] != tc.wantPathParamID {
				t.Errorf("id = %q, want %q", ev.PathParameters["id"], tc.wantPathParamID)
			}
			if ev.StageVariables["env"] != tc.wantStageVariableEnv {
				t.Errorf("stage variable env = %q, want %q", ev.StageVariables["env"], tc.wantStageVariableEnv)
			}
			if ev.RouteKey != "GET /pets/{id}" {
				t.Errorf("routeKey = %q", ev.RouteKey)
			}
		})
	}
}

func TestNoDefaultAPI404(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	wantMessage(t, e.do(t, "GET", "", "/pets/1", nil, ""), 404, "Not Found")
}

// ---- routing

func TestRoutingPrecedence(t *testing.T) {
	doc := &gateway.APIDoc{
		API: gateway.API{ID: "rt1", Default: true},
		Routes: map[string]gateway.Route{
			"a": {ID: "a", Key: "GET /pets/dog/1", IntegrationID: "i"},
			"b": {ID: "b", Key: "GET /pets/dog/{id}", IntegrationID: "i"},
			"c": {ID: "c", Key: "GET /pets/{proxy+}", IntegrationID: "i"},
			"d": {ID: "d", Key: "ANY /{proxy+}", IntegrationID: "i"},
			"e": {ID: "e", Key: "$default", IntegrationID: "i"},
			"f": {ID: "f", Key: "ANY /pets", IntegrationID: "i"},
			"g": {ID: "g", Key: "GET /pets", IntegrationID: "i"},
		},
		Integrations: map[string]gateway.Integration{"i": {ID: "i", Type: gateway.IntegrationLambda, FunctionName: "echo", PayloadFormatVersion: "2.0"}},
		Stages:       map[string]gateway.Stage{"$default": {Name: "$default"}},
	}
	e := newEnv(t, nil, doc)
	tests := []struct{ method, path, want string }{
		{"GET", "/pets/dog/1", "GET /pets/dog/1"},
		{"GET", "/pets/dog/2", "GET /pets/dog/{id}"},
		{"GET", "/pets/cat/2", "GET /pets/{proxy+}"},
		{"POST", "/pets/cat/2", "ANY /{proxy+}"},
		{"GET", "/pets", "GET /pets"},
		{"PUT", "/pets", "ANY /pets"},
		{"GET", "/", "$default"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ev := v2Event(t, e.do(t, tc.method, "", tc.path, nil, ""))
			if ev.RouteKey != tc.want {
				t.Errorf("routeKey = %q, want %q", ev.RouteKey, tc.want)
			}
		})
	}
}

func TestRoutesRecompiledOnNewDocument(t *testing.T) {
	doc := testDoc()
	e := newEnv(t, nil, doc)
	host := "abc123.execute-api.localhost"
	wantMessage(t, e.do(t, "GET", host, "/new", nil, ""), 404, "Not Found")
	next := testDoc()
	next.Routes["new"] = gateway.Route{ID: "new", Key: "GET /new", IntegrationID: "v2"}
	e.defs.put(next)
	if ev := v2Event(t, e.do(t, "GET", host, "/new", nil, "")); ev.RouteKey != "GET /new" {
		t.Errorf("routeKey = %q", ev.RouteKey)
	}
}

// ---- payloads

func TestPayloadV2RoundTrip(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	h := http.Header{}
	h.Add("X-Multi", "a")
	h.Add("X-Multi", "b")
	h.Add("Cookie", "c1=v1; c2=v2")
	h.Set("Content-Type", "application/json")
	r := e.do(t, "GET", "abc123.execute-api.localhost:3000", "/prod/pets/42?q=1&q=2&x=%20y", h, `{"a":1}`)
	ev := v2Event(t, r)
	checks := []struct{ name, got, want string }{
		{"version", ev.Version, "2.0"},
		{"rawQueryString", ev.RawQueryString, "q=1&q=2&x=%20y"},
		{"query q", ev.QueryStringParameters["q"], "1,2"},
		{"query x", ev.QueryStringParameters["x"], " y"},
		{"x-multi", ev.Headers["x-multi"], "a,b"},
		{"cookie header dropped", ev.Headers["cookie"], ""},
		{"cookies", strings.Join(ev.Cookies, "|"), "c1=v1|c2=v2"},
		{"body", ev.Body, `{"a":1}`},
		{"http.method", ev.RequestContext.HTTP.Method, "GET"},
		{"http.path", ev.RequestContext.HTTP.Path, "/prod/pets/42"},
		{"sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"accountId", ev.RequestContext.AccountID, "123456789012"},
		{"requestId matches header", ev.RequestContext.RequestID, r.header.Get("Apigw-Requestid")},
		{"trace id passed", ev.Headers["x-amzn-trace-id"], r.header.Get("X-Amzn-Trace-Id")},
		{"x-forwarded-for", ev.Headers["x-forwarded-for"], "127.0.0.1"},
		{"x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http"},
		{"x-forwarded-port", ev.Headers["x-forwarded-port"], "3000"},
		{"domainName", ev.RequestContext.DomainName, "abc123.execute-api.localhost"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if ev.IsBase64Encoded {
		t.Error("JSON body sent as base64")
	}
	// The response side: headers and one Set-Cookie per cookie.
	if got := r.header.Get("X-Fn"); got != "echo" {
		t.Errorf("x-fn = %q", got)
	}
	if got := r.header.Values("Set-Cookie"); len(got) != 2 || got[0] != "s=1; Path=/" || got[1] != "t=2" {
		t.Errorf("Set-Cookie = %q", got)
	}
	if !strings.HasPrefix(r.header.Get("X-Amzn-Trace-Id"), "Root=1-") {
		t.Errorf("X-Amzn-Trace-Id = %q", r.header.Get("X-Amzn-Trace-Id"))
	}
}

func TestPayloadV1RoundTrip(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	h := http.Header{}
	h.Add("X-Multi", "a")
	h.Add("X-Multi", "b")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Amzn-Trace-Id", "Root=1-5e1b4151-5ac6c58f5b5d4f5b1a2b3c4d")
	bin := string([]byte{0, 1, 2, 0xff})
	r := e.do(t, "POST", "", "/abc123/prod/v1/a/b%20c?k=1&k=2", h, bin)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ev struct {
		Version string `json:"version"`
		events.APIGatewayProxyRequest
	}
	if err := json.Unmarshal(r.body, &ev); err != nil {
		t.Fatalf("not a 1.0 event: %v: %s", err, r.body)
	}
	checks := []struct{ name, got, want string }{
		{"version", ev.Version, "1.0"},
		{"resource", ev.Resource, "/v1/{proxy+}"},
		{"path", ev.Path, "/prod/v1/a/b c"},
		{"httpMethod", ev.HTTPMethod, "POST"},
		{"proxy", ev.PathParameters["proxy"], "a/b c"},
		{"query last value", ev.QueryStringParameters["k"], "2"},
		{"multi query", strings.Join(ev.MultiValueQueryStringParameters["k"], ","), "1,2"},
		{"multi header", strings.Join(ev.MultiValueHeaders["x-multi"], ","), "a,b"},
		{"stage", ev.RequestContext.Stage, "prod"},
		{"stage variable", ev.StageVariables["env"], "production"},
		{"trace propagated", ev.Headers["x-amzn-trace-id"], "Root=1-5e1b4151-5ac6c58f5b5d4f5b1a2b3c4d"},
		{"trace on response", r.header.Get("X-Amzn-Trace-Id"), "Root=1-5e1b4151-5ac6c58f5b5d4f5b1a2b3c4d"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !ev.IsBase64Encoded {
		t.Fatal("binary body not base64")
	}
	if got, _ := base64.StdEncoding.DecodeString(ev.Body); string(got) != bin {
		t.Errorf("body = %q", got)
	}
}

// ---- integration errors

func TestIntegrationErrors(t *testing.T) {
	e := newEnv(t, func(o *gateway.HandlerOptions) { o.IntegrationTimeout = 5 * time.Second }, testDoc())
	tests := []struct {
		path   string
		status int
		msg    string
	}{
		{"/fail", 502, "Internal Server Error"},          // function error
		{"/gone", 500, "Internal Server Error"},          // function missing: Lambda refused the invocation
		{"/garbage", 502, "Internal Server Error"},       // malformed result
		{"/nointegration", 500, "Internal Server Error"}, // route without target
		{"/slow", 503, "Service Unavailable"},            // past the integration's 50 ms
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			begin := time.Now()
			r := e.do(t, "GET", "abc123.execute-api.localhost", tc.path, nil, "")
			wantMessage(t, r, tc.status, tc.msg)
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("took %v: the integration timeout was not applied", d)
			}
		})
	}
}

func TestIntegrationTimeoutCap(t *testing.T) {
	// TimeoutMillis is 30000 on /pets; the handler's cap of 30 ms wins.
	slowEcho := invokeFunc(func(ctx context.Context, _, _ string, _ []byte) ([]byte, bool, error) {
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(5 * time.Second):
			return []byte(`{}`), false, nil
		}
	})
	e := newEnv(t, func(o *gateway.HandlerOptions) {
		o.Invoker = slowEcho
		o.IntegrationTimeout = 30 * time.Millisecond
	}, testDoc())
	wantMessage(t, e.do(t, "GET", "abc123.execute-api.localhost", "/pets/1", nil, ""), 503, "Service Unavailable")
}

// ---- CORS

func corsDoc() *gateway.APIDoc {
	doc := testDoc()
	doc.API.Cors = &gateway.Cors{
		AllowOrigins:     []string{"https://app.example"},
		AllowMethods:     []string{"GET", "POST"},
		AllowHeaders:     []string{"authorization", "content-type"},
		ExposeHeaders:    []string{"x-fn"},
		AllowCredentials: true,
		MaxAge:           intp(300),
	}
	return doc
}

func TestCORS(t *testing.T) {
	var calls atomic.Int32
	counting := invokeFunc(func(ctx context.Context, f, q string, p []byte) ([]byte, bool, error) {
		calls.Add(1)
		return echo(ctx, f, q, p)
	})
	e := newEnv(t, func(o *gateway.HandlerOptions) { o.Invoker = counting }, corsDoc())
	host := "abc123.execute-api.localhost"
	preflight := http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}

	t.Run("preflight on a path with no route", func(t *testing.T) {
		r := e.do(t, "OPTIONS", host, "/no/such/route", preflight, "")
		if r.status != 204 {
			t.Fatalf("status %d", r.status)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":      "https://app.example",
			"Access-Control-Allow-Methods":     "GET,POST",
			"Access-Control-Allow-Headers":     "authorization,content-type",
			"Access-Control-Max-Age":           "300",
			"Access-Control-Allow-Credentials": "true",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("preflight on an authorized route skips the authorizer", func(t *testing.T) {
		if r := e.do(t, "OPTIONS", host, "/private", preflight, ""); r.status != 204 {
			t.Fatalf("status %d", r.status)
		}
	})
	t.Run("preflight from a disallowed origin", func(t *testing.T) {
		h := http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}}
		r := e.do(t, "OPTIONS", host, "/pets/1", h, "")
		if r.status != 204 {
			t.Fatalf("status %d", r.status)
		}
		for k := range r.header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("CORS header %s sent to a disallowed origin", k)
			}
		}
	})
	if n := calls.Load(); n != 0 {
		t.Fatalf("preflights invoked the function %d times", n)
	}
	t.Run("actual response overrides the function's CORS headers", func(t *testing.T) {
		r := e.do(t, "GET", host, "/cors", http.Header{"Origin": {"https://app.example"}}, "")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Errorf("Allow-Origin = %q", got)
		}
		if got := r.header.Values("Access-Control-Allow-Origin"); len(got) != 1 {
			t.Errorf("Allow-Origin values = %q", got)
		}
		if r.header.Get("X-Mine") != "1" || r.header.Get("Access-Control-Expose-Headers") != "x-fn" ||
			r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("headers = %v", r.header)
		}
	})
	t.Run("function CORS headers dropped for a disallowed origin", func(t *testing.T) {
		r := e.do(t, "GET", host, "/cors", http.Header{"Origin": {"https://evil.example"}}, "")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Allow-Origin = %q", got)
		}
	})
	t.Run("CORS on 404", func(t *testing.T) {
		r := e.do(t, "GET", host, "/nope", http.Header{"Origin": {"https://app.example"}}, "")
		wantMessage(t, r, 404, "Not Found")
		if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Error("no CORS header on 404")
		}
	})
	t.Run("CORS on 401 from the authorizer", func(t *testing.T) {
		r := e.do(t, "GET", host, "/private", http.Header{"Origin": {"https://app.example"}}, "")
		wantMessage(t, r, 401, "Unauthorized")
		if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Error("no CORS header on 401")
		}
	})
	t.Run("CORS on 403 from the authorizer", func(t *testing.T) {
		r := e.do(t, "GET", host, "/private", http.Header{"Origin": {"https://app.example"}, "X-Token": {"bad"}}, "")
		wantMessage(t, r, 403, "Forbidden")
		if r.header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Error("no CORS header on 403")
		}
	})
	t.Run("wildcard origin", func(t *testing.T) {
		doc := corsDoc()
		doc.API.Cors.AllowOrigins = []string{"*"}
		doc.API.Cors.AllowCredentials = false
		e.defs.put(doc)
		r := e.do(t, "GET", host, "/pets/1", http.Header{"Origin": {"https://any.example"}}, "")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Allow-Origin = %q", got)
		}
	})
}

func TestNoCORSConfigPassesFunctionHeaders(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	r := e.do(t, "GET", "abc123.execute-api.localhost", "/cors", http.Header{"Origin": {"https://x"}}, "")
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://evil.example" {
		t.Errorf("function's own CORS header = %q, want it kept without a CORS configuration", got)
	}
	// Without CORS configured, OPTIONS is an ordinary request: no route.
	r = e.do(t, "OPTIONS", "abc123.execute-api.localhost", "/pets/1",
		http.Header{"Origin": {"https://x"}, "Access-Control-Request-Method": {"GET"}}, "")
	wantMessage(t, r, 404, "Not Found")
}

// ---- authorizers

func TestLambdaAuthorizer(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	host := "abc123.execute-api.localhost"
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"missing identity source", "", 401},
		{"denied", "bad", 403},
		{"allowed", "good", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.token != "" {
				h.Set("X-Token", tc.token)
			}
			r := e.do(t, "GET", host, "/private", h, "")
			if tc.status != 200 {
				wantMessage(t, r, tc.status, http.StatusText(tc.status))
				return
			}
			ev := v2Event(t, r)
			lambda, _ := ev.RequestContext.Authorizer.Lambda["user"].(string)
			if lambda != "u1" {
				t.Errorf("authorizer context = %+v", ev.RequestContext.Authorizer)
			}
		})
	}
	if n := e.builds.Load(); n != 1 {
		t.Errorf("authorizer built %d times, want once", n)
	}
	// A new document revision with the same authorizer keeps it; a changed
	// authorizer is rebuilt.
	e.defs.put(testDoc())
	e.do(t, "GET", host, "/private", http.Header{"X-Token": {"good"}}, "")
	if n := e.builds.Load(); n != 1 {
		t.Errorf("authorizer rebuilt on an unrelated change: %d builds", n)
	}
	changed := testDoc()
	a := changed.Authorizers["la"]
	a.IdentitySource = []string{"$request.header.X-Other"}
	changed.Authorizers["la"] = a
	e.defs.put(changed)
	r := e.do(t, "GET", host, "/private", http.Header{"X-Token": {"good"}}, "")
	wantMessage(t, r, 401, "Unauthorized")
	if n := e.builds.Load(); n != 2 {
		t.Errorf("builds = %d, want 2 after the authorizer changed", n)
	}
}

func TestAuthorizerUnavailableFailsClosed(t *testing.T) {
	e := newEnv(t, func(o *gateway.HandlerOptions) { o.NewAuthorizer = nil }, testDoc())
	r := e.do(t, "GET", "abc123.execute-api.localhost", "/private", http.Header{"X-Token": {"good"}}, "")
	wantMessage(t, r, 500, "Internal Server Error")
}

// ---- throttling, API keys, body size, validation

func TestThrottle(t *testing.T) {
	doc := testDoc()
	rate := 0.001
	doc.Stages["$default"] = gateway.Stage{Name: "$default", DefaultRouteSettings: gateway.RouteSettings{
		ThrottlingBurstLimit: intp(1), ThrottlingRateLimit: &rate}}
	fc := clock.NewFake(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	e := newEnv(t, func(o *gateway.HandlerOptions) { o.Throttler = limit.NewThrottler(fc) }, doc)
	host := "abc123.execute-api.localhost"
	if r := e.do(t, "GET", host, "/pets/1", nil, ""); r.status != 200 {
		t.Fatalf("first request: %d", r.status)
	}
	wantMessage(t, e.do(t, "GET", host, "/pets/1", nil, ""), 429, "Too Many Requests")
	// Buckets are per route: another route still has its token.
	if r := e.do(t, "GET", host, "/cors", nil, ""); r.status != 200 {
		t.Fatalf("other route: %d", r.status)
	}
}

func TestAPIKeys(t *testing.T) {
	host := "abc123.execute-api.localhost"
	t.Run("no key store refuses", func(t *testing.T) {
		e := newEnv(t, nil, testDoc())
		wantMessage(t, e.do(t, "GET", host, "/keyed", http.Header{"X-Api-Key": {"k1"}}, ""), 403, "Forbidden")
	})
	e := newEnv(t, func(o *gateway.HandlerOptions) {
		o.APIKeys = fakeKeys{"k1": 0, "k2": http.StatusTooManyRequests}
	}, testDoc())
	tests := []struct {
		key    string
		status int
	}{{"", 403}, {"nope", 403}, {"k2", 429}, {"k1", 200}}
	for _, tc := range tests {
		t.Run("key "+tc.key, func(t *testing.T) {
			r := e.do(t, "GET", host, "/keyed", http.Header{"X-Api-Key": {tc.key}}, "")
			if r.status != tc.status {
				t.Errorf("status = %d, want %d (%s)", r.status, tc.status, r.body)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	e := newEnv(t, func(o *gateway.HandlerOptions) { o.MaxBodyBytes = 8 }, testDoc())
	host := "abc123.execute-api.localhost"
	wantMessage(t, e.do(t, "POST", host, "/v1/x", nil, "123456789"), 413, "Request Entity Too Large")
	if r := e.do(t, "POST", host, "/v1/x", nil, "12345678"); r.status != 200 {
		t.Errorf("body at the limit: %d", r.status)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	host := "abc123.execute-api.localhost"
	ct := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, path, body string
		status           int
		msgPrefix        string
	}{
		{"missing query parameter", "/validated", `{"name":"x"}`, 400, "Missing required request parameters: [q]"},
		{"body fails the model", "/validated?q=1", `{"name":1}`, 400, "Invalid request body"},
		{"body not JSON", "/validated?q=1", `nope`, 400, "Invalid request body"},
		{"valid", "/validated?q=1", `{"name":"x"}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "POST", host, tc.path, ct, tc.body)
			if r.status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tc.status, r.body)
			}
			if tc.status == 400 {
				var b struct{ Message string }
				_ = json.Unmarshal(r.body, &b)
				if !strings.HasPrefix(b.Message, tc.msgPrefix) {
					t.Errorf("message = %q, want prefix %q", b.Message, tc.msgPrefix)
				}
			}
		})
	}
}

// ---- access log and headers

func TestAccessLog(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	r := e.do(t, "GET", "abc123.execute-api.localhost", "/prod/pets/5", nil, "")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	e.do(t, "GET", "abc123.execute-api.localhost", "/fail", nil, "")
	e.logMu.Lock()
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	e.logMu.Unlock()
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "gateway request" {
			recs = append(recs, m)
		}
	}
	if len(recs) != 2 {
		t.Fatalf("access lines = %d, want 2: %s", len(recs), e.logs.String())
	}
	ok := recs[0]
	want := map[string]any{
		"requestId": r.header.Get("Apigw-Requestid"), "apiId": "abc123", "stage": "prod", "ip": "127.0.0.1",
		"httpMethod": "GET", "path": "/prod/pets/5", "routeKey": "GET /pets/{id}", "status": float64(200),
		"protocol": "HTTP/1.1", "responseLength": float64(len(r.body)), "integrationStatus": float64(200),
	}
	for k, v := range want {
		if ok[k] != v {
			t.Errorf("%s = %v, want %v", k, ok[k], v)
		}
	}
	for _, k := range []string{"responseLatency", "integrationLatency", "requestTime"} {
		if _, found := ok[k]; !found {
			t.Errorf("no %s", k)
		}
	}
	if msg, _ := recs[1]["integrationErrorMessage"].(string); !strings.Contains(msg, "boom") || recs[1]["status"] != float64(502) {
		t.Errorf("failed request's line = %v", recs[1])
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	e := newEnv(t, nil)
	seen := map[string]bool{}
	for range 50 {
		r := e.do(t, "GET", "", "/x", nil, "")
		id := r.header.Get("Apigw-Requestid")
		if len(id) != 16 || seen[id] {
			t.Fatalf("request id %q (len %d, seen %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
}

// TestConcurrent runs requests in parallel across document changes, for
// the race detector.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, nil, testDoc())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				if j%5 == 0 && i == 0 {
					e.defs.put(testDoc())
				}
				req, _ := http.NewRequest("GET", e.srv.URL+"/abc123/private", nil)
				req.Header.Set("X-Token", "good")
				resp, err := e.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
}
