package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// fakeInvoker records events and answers with a scripted function.
type fakeInvoker struct {
	mu     sync.Mutex
	calls  int
	events []map[string]any
	fn     func(event map[string]any) ([]byte, bool, error)
}

func (f *fakeInvoker) Invoke(_ context.Context, function, qualifier string, payload []byte) ([]byte, bool, error) {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, false, err
	}
	f.mu.Lock()
	f.calls++
	f.events = append(f.events, ev)
	f.mu.Unlock()
	return f.fn(ev)
}

func (f *fakeInvoker) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func simple(ok bool) func(map[string]any) ([]byte, bool, error) {
	return func(map[string]any) ([]byte, bool, error) {
		return []byte(`{"isAuthorized":` + map[bool]string{true: "true", false: "false"}[ok] + `,"context":{"user":"u1","n":7}}`), false, nil
	}
}

func policyResp(effect, resource string) func(map[string]any) ([]byte, bool, error) {
	return func(map[string]any) ([]byte, bool, error) {
		return []byte(`{"principalId":"p1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"` +
			effect + `","Resource":"` + resource + `"}]},"context":{"user":"u1"}}`), false, nil
	}
}

func lreq() *Request {
	return &Request{
		Method: "GET", Path: "/pets/7", RawQuery: "a=1&a=2&b=x",
		Header: http.Header{
			"Authorization": {"secret"}, "X-Multi": {"v1", "v2"},
			"Cookie": {"c1=1; c2=2"}, "User-Agent": {"curl/8"},
		},
		PathParameters: map[string]string{"id": "7"}, StageVariables: map[string]string{"env": "dev"},
		APIID: "abc123", Stage: "prod", RouteKey: "GET /pets/{id}", RequestID: "rid",
		SourceIP: "10.0.0.1", Time: t0, DomainName: "abc123.execute-api.localhost",
	}
}

const wantARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/7"

func TestLambdaDecisions(t *testing.T) {
	tests := []struct {
		name    string
		def     gateway.Authorizer
		fn      func(map[string]any) ([]byte, bool, error)
		status  int // 0 = allowed
		context map[string]any
	}{
		{name: "simple allow", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true}, fn: simple(true),
			context: map[string]any{"user": "u1", "n": 7.0}},
		{name: "simple deny", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true}, fn: simple(false), status: 403},
		{name: "policy allow exact", def: gateway.Authorizer{PayloadFormatVersion: "2.0"}, fn: policyResp("Allow", wantARN),
			context: map[string]any{"user": "u1"}},
		{name: "policy allow wildcard", def: gateway.Authorizer{PayloadFormatVersion: "1.0"},
			fn: policyResp("Allow", "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/*")},
		{name: "policy allow other route", def: gateway.Authorizer{PayloadFormatVersion: "2.0"},
			fn: policyResp("Allow", "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/*"), status: 403},
		{name: "policy deny", def: gateway.Authorizer{PayloadFormatVersion: "1.0"}, fn: policyResp("Deny", "*"), status: 403},
		{name: "deny beats allow", def: gateway.Authorizer{PayloadFormatVersion: "2.0"}, fn: func(map[string]any) ([]byte, bool, error) {
			return []byte(`{"principalId":"p","policyDocument":{"Statement":[
				{"Action":["execute-api:Invoke"],"Effect":"Allow","Resource":["*"]},
				{"Action":"execute-api:*","Effect":"Deny","Resource":"` + wantARN + `"}]}}`), false, nil
		}, status: 403},
		{name: "policy on a simple-response authorizer", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
			fn: policyResp("Allow", "*"), status: 500},
		{name: "simple on a policy authorizer", def: gateway.Authorizer{PayloadFormatVersion: "2.0"}, fn: simple(true), status: 500},
		{name: "1.0 ignores simple responses", def: gateway.Authorizer{PayloadFormatVersion: "1.0", EnableSimpleResponses: true},
			fn: policyResp("Allow", "*")},
		{name: "function error", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
			fn: func(map[string]any) ([]byte, bool, error) { return []byte(`{"errorMessage":"boom"}`), true, nil }, status: 500},
		{name: "invoke failure", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
			fn: func(map[string]any) ([]byte, bool, error) { return nil, false, errors.New("no such function") }, status: 500},
		{name: "not JSON", def: gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
			fn: func(map[string]any) ([]byte, bool, error) { return []byte(`"yes"`), false, nil }, status: 500},
		{name: "bad effect", def: gateway.Authorizer{PayloadFormatVersion: "2.0"}, fn: policyResp("Maybe", "*"), status: 500},
		{name: "claims reserved in 1.0", def: gateway.Authorizer{PayloadFormatVersion: "1.0"}, fn: func(map[string]any) ([]byte, bool, error) {
			return []byte(`{"principalId":"p","policyDocument":{"Statement":[{"Action":"*","Effect":"Allow","Resource":"*"}]},"context":{"claims":"x"}}`), false, nil
		}, status: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.def.Type, tc.def.FunctionName = gateway.AuthorizerRequest, "authz"
			tc.def.IdentitySource = []string{"$request.header.Authorization"}
			inv := &fakeInvoker{fn: tc.fn}
			l := NewLambda(tc.def, inv, LambdaOptions{Clock: clock.NewFake(t0), Region: "us-east-1", AccountID: "123456789012"})
			res, err := l.Authorize(context.Background(), lreq(), nil)
			if inv.count() != 1 {
				t.Fatalf("invoked %d times", inv.count())
			}
			if tc.status == 0 {
				if !res.Allowed || err != nil {
					t.Fatalf("want allowed, got %+v %v", res, err)
				}
				if tc.context != nil {
					got, _ := json.Marshal(res.Context["lambda"])
					want, _ := json.Marshal(tc.context)
					if string(got) != string(want) {
						t.Errorf("context = %s, want %s", got, want)
					}
				}
				return
			}
			if res.Allowed || res.Status != tc.status {
				t.Fatalf("want %d, got %+v (%v)", tc.status, res, err)
			}
			wantMsg := map[int]string{403: "Forbidden", 500: "Internal Server Error"}[tc.status]
			if res.Message != wantMsg {
				t.Errorf("message %q, want %q", res.Message, wantMsg)
			}
			if tc.status == 500 && err == nil {
				t.Error("a failed authorizer must report why")
			}
		})
	}
}

func TestLambdaEventV2(t *testing.T) {
	inv := &fakeInvoker{fn: simple(true)}
	l := NewLambda(gateway.Authorizer{Type: "REQUEST", FunctionName: "authz", PayloadFormatVersion: "2.0", EnableSimpleResponses: true,
		IdentitySource: []string{"$request.header.Authorization", "$request.querystring.b", "$stageVariables.env", "$context.routeKey"}},
		inv, LambdaOptions{Clock: clock.NewFake(t0), Region: "us-east-1", AccountID: "123456789012"})
	if res, err := l.Authorize(context.Background(), lreq(), nil); !res.Allowed {
		t.Fatal(err)
	}
	ev := inv.events[0]
	checks := map[string]any{
		"version": "2.0", "type": "REQUEST", "routeArn": wantARN, "routeKey": "GET /pets/{id}",
		"rawPath": "/pets/7", "rawQueryString": "a=1&a=2&b=x",
	}
	for k, v := range checks {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if got := js(ev["identitySource"]); got != `["secret","x","dev","GET /pets/{id}"]` {
		t.Errorf("identitySource = %s", got)
	}
	if got := js(ev["cookies"]); got != `["c1=1","c2=2"]` {
		t.Errorf("cookies = %s", got)
	}
	h := ev["headers"].(map[string]any)
	if h["x-multi"] != "v1,v2" || h["authorization"] != "secret" || h["cookie"] != nil {
		t.Errorf("headers = %v", h)
	}
	if got := js(ev["queryStringParameters"]); got != `{"a":"1,2","b":"x"}` {
		t.Errorf("queryStringParameters = %s", got)
	}
	rc := ev["requestContext"].(map[string]any)
	if rc["apiId"] != "abc123" || rc["stage"] != "prod" || rc["accountId"] != "123456789012" || rc["domainPrefix"] != "abc123" ||
		rc["timeEpoch"] != float64(t0.UnixMilli()) || rc["time"] != "01/Jun/2025:12:00:00 +0000" {
		t.Errorf("requestContext = %v", rc)
	}
	http := rc["http"].(map[string]any)
	if http["method"] != "GET" || http["sourceIp"] != "10.0.0.1" || http["userAgent"] != "curl/8" {
		t.Errorf("requestContext.http = %v", http)
	}
	if js(ev["pathParameters"]) != `{"id":"7"}` || js(ev["stageVariables"]) != `{"env":"dev"}` {
		t.Errorf("path/stage = %s %s", js(ev["pathParameters"]), js(ev["stageVariables"]))
	}
}

func TestLambdaEventV1(t *testing.T) {
	inv := &fakeInvoker{fn: policyResp("Allow", "*")}
	l := NewLambda(gateway.Authorizer{Type: "REQUEST", FunctionName: "authz", PayloadFormatVersion: "1.0",
		IdentitySource: []string{"$request.header.Authorization", "$request.querystring.b"}},
		inv, LambdaOptions{Clock: clock.NewFake(t0), Region: "us-east-1", AccountID: "123456789012"})
	res, err := l.Authorize(context.Background(), lreq(), nil)
	if !res.Allowed || res.PrincipalID != "p1" {
		t.Fatalf("%+v %v", res, err)
	}
	ev := inv.events[0]
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	checks := map[string]any{
		"version": "1.0", "type": "REQUEST", "methodArn": wantARN, "resource": "/pets/{id}", "path": "/pets/7",
		"httpMethod": "GET", "identitySource": "secret,x", "authorizationToken": "secret,x",
	}
	for k, v := range checks {
		if ev[k] != v {
			t.Errorf("%s = %v, want %v", k, ev[k], v)
		}
	}
	if got := js(ev["multiValueHeaders"].(map[string]any)["X-Multi"]); got != `["v1","v2"]` {
		t.Errorf("multiValueHeaders X-Multi = %s", got)
	}
	if got := ev["headers"].(map[string]any)["X-Multi"]; got != "v2" {
		t.Errorf("headers X-Multi = %v", got)
	}
	if got := js(ev["multiValueQueryStringParameters"]); got != `{"a":["1","2"],"b":["x"]}` {
		t.Errorf("multiValueQueryStringParameters = %s", got)
	}
	rc := ev["requestContext"].(map[string]any)
	if rc["resourcePath"] != "/pets/{id}" || rc["identity"].(map[string]any)["sourceIp"] != "10.0.0.1" {
		t.Errorf("requestContext = %v", rc)
	}
}

func TestLambdaMissingIdentity(t *testing.T) {
	tests := []struct {
		name   string
		source string
		mod    func(*Request)
	}{
		{"header absent", "$request.header.X-Token", nil},
		{"header empty", "$request.header.X-Token", func(r *Request) { r.Header.Set("X-Token", "") }},
		{"query absent", "$request.querystring.token", nil},
		{"query differently cased", "$request.querystring.token", func(r *Request) { r.RawQuery = "Token=x" }},
		{"stage variable absent", "$stageVariables.missing", nil},
		{"unknown context variable", "$context.nope", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv := &fakeInvoker{fn: simple(true)}
			l := NewLambda(gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true, ResultTTLSeconds: 300,
				IdentitySource: []string{"$request.header.Authorization", tc.source}}, inv, LambdaOptions{Clock: clock.NewFake(t0)})
			r := lreq()
			if tc.mod != nil {
				tc.mod(r)
			}
			res, _ := l.Authorize(context.Background(), r, nil)
			if res.Allowed || res.Status != 401 || res.Message != "Unauthorized" {
				t.Fatalf("want 401, got %+v", res)
			}
			if inv.count() != 0 {
				t.Fatalf("authorizer invoked %d times without its identity", inv.count())
			}
		})
	}
}

func TestLambdaCache(t *testing.T) {
	fc := clock.NewFake(t0)
	var allow = true
	inv := &fakeInvoker{}
	inv.fn = func(ev map[string]any) ([]byte, bool, error) {
		return policyResp(map[bool]string{true: "Allow", false: "Deny"}[allow],
			"arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/*")(ev)
	}
	l := NewLambda(gateway.Authorizer{PayloadFormatVersion: "2.0", ResultTTLSeconds: 60,
		IdentitySource: []string{"$request.header.Authorization"}}, inv,
		LambdaOptions{Clock: fc, Region: "us-east-1", AccountID: "123456789012"})
	ctx := context.Background()
	auth := func(token, method string) Result {
		r := lreq()
		r.Method = method
		r.Header.Set("Authorization", token)
		res, _ := l.Authorize(ctx, r, nil)
		return res
	}
	if !auth("t1", "GET").Allowed || !auth("t1", "GET").Allowed {
		t.Fatal("allowed identity denied")
	}
	if inv.count() != 1 {
		t.Fatalf("invoked %d times within the TTL, want 1", inv.count())
	}
	// The cached policy is evaluated against each route's ARN.
	if res := auth("t1", "POST"); res.Allowed || res.Status != 403 {
		t.Fatalf("cached policy allowed a route it does not name: %+v", res)
	}
	if inv.count() != 1 {
		t.Fatal("another route re-invoked despite the cache")
	}
	// Another identity is its own cache entry; a denial is cached too.
	allow = false
	if auth("t2", "GET").Allowed {
		t.Fatal("denied identity allowed")
	}
	allow = true
	if auth("t2", "GET").Allowed {
		t.Fatal("cached denial not applied within the TTL")
	}
	if inv.count() != 2 {
		t.Fatalf("invocations = %d, want 2", inv.count())
	}
	// After the TTL both are asked again.
	fc.Advance(59 * time.Second)
	auth("t1", "GET")
	if inv.count() != 2 {
		t.Fatal("entry expired early")
	}
	fc.Advance(time.Second)
	if !auth("t2", "GET").Allowed {
		t.Fatal("expired denial still applied")
	}
	auth("t1", "GET")
	if inv.count() != 4 {
		t.Fatalf("invocations after TTL = %d, want 4", inv.count())
	}
}

func TestLambdaNoCacheWithoutTTL(t *testing.T) {
	inv := &fakeInvoker{fn: simple(true)}
	l := NewLambda(gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true,
		IdentitySource: []string{"$request.header.Authorization"}}, inv, LambdaOptions{Clock: clock.NewFake(t0)})
	for range 3 {
		l.Authorize(context.Background(), lreq(), nil)
	}
	if inv.count() != 3 {
		t.Fatalf("invoked %d times with TTL 0, want 3", inv.count())
	}
	// Failures are never cached.
	inv.fn = func(map[string]any) ([]byte, bool, error) { return nil, true, nil }
	l2 := NewLambda(gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true, ResultTTLSeconds: 300,
		IdentitySource: []string{"$request.header.Authorization"}}, inv, LambdaOptions{Clock: clock.NewFake(t0)})
	l2.Authorize(context.Background(), lreq(), nil)
	inv.fn = simple(true)
	if res, _ := l2.Authorize(context.Background(), lreq(), nil); !res.Allowed {
		t.Fatal("a failure was cached")
	}
}

func TestLambdaTimeout(t *testing.T) {
	inv := &fakeInvoker{}
	block := make(chan struct{})
	defer close(block)
	l := NewLambda(gateway.Authorizer{PayloadFormatVersion: "2.0", EnableSimpleResponses: true},
		ctxInvoker{block}, LambdaOptions{Timeout: 20 * time.Millisecond})
	_ = inv
	res, err := l.Authorize(context.Background(), lreq(), nil)
	if res.Status != 500 || err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("timeout: %+v %v", res, err)
	}
}

// ctxInvoker waits for its context, as a real invoke honours deadlines.
type ctxInvoker struct{ block chan struct{} }

func (c ctxInvoker) Invoke(ctx context.Context, _, _ string, _ []byte) ([]byte, bool, error) {
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-c.block:
		return nil, false, errors.New("released")
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything/at/all", true},
		{"arn:aws:execute-api:*:*:abc/*/GET/pets/*", "arn:aws:execute-api:us-east-1:1:abc/prod/GET/pets/7", true},
		{"arn:aws:execute-api:*:*:abc/*/GET/pets/*", "arn:aws:execute-api:us-east-1:1:abc/prod/GET/users/7", false},
		{"abc/prod/GET/pets", "abc/prod/GET/pets/7", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "", true},
		{"**", "x", true},
	}
	for _, tc := range tests {
		if got := wildcardMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

// A TOKEN authorizer gets one header's value and the method ARN, nothing
// else; a missing or malformed token is 401 without calling the function;
// its policy answer is cached by token.
func TestLambdaToken(t *testing.T) {
	inv := &fakeInvoker{}
	inv.fn = func(ev map[string]any) ([]byte, bool, error) {
		effect := "Deny"
		if ev["authorizationToken"] == "Bearer good-1" {
			effect = "Allow"
		}
		return policyResp(effect, "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*")(ev)
	}
	def := gateway.Authorizer{Type: gateway.AuthorizerToken, FunctionName: "authz", PayloadFormatVersion: "1.0",
		IdentitySource: []string{"$request.header.Authorization"}, IdentityValidationExpression: `Bearer [a-z]+-\d`, ResultTTLSeconds: 300}
	l := NewLambda(def, inv, LambdaOptions{Clock: clock.NewFake(t0), Region: "us-east-1", AccountID: "123456789012"})
	auth := func(token string) (Result, error) {
		r := lreq()
		r.Header.Del("Authorization")
		if token != "" {
			r.Header.Set("Authorization", token)
		}
		return l.Authorize(context.Background(), r, nil)
	}
	for _, tc := range []struct {
		token  string
		status int // 0 = allowed
		calls  int // invocations so far
	}{
		{"", 401, 0},
		{"Bearer good", 401, 0},            // does not match the expression
		{"xBearer good-1", 401, 0},         // the expression must match the whole token
		{"Bearer good-1", 0, 1},            // allowed
		{"Bearer good-1", 0, 1},            // from the cache
		{"Bearer evil-1", 403, 2},          // denied by the policy
		{"Bearer evil-1", 403, 2},          // the denial cached too
		{"Bearer good-1 trailing", 401, 2}, // not a whole match
	} {
		res, err := auth(tc.token)
		switch {
		case tc.status == 0 && (!res.Allowed || err != nil):
			t.Errorf("token %q: want allowed, got %+v %v", tc.token, res, err)
		case tc.status != 0 && (res.Allowed || res.Status != tc.status):
			t.Errorf("token %q: want %d, got %+v", tc.token, tc.status, res)
		}
		if inv.count() != tc.calls {
			t.Errorf("token %q: %d invocations, want %d", tc.token, inv.count(), tc.calls)
		}
	}
	ev := inv.events[0]
	if len(ev) != 3 || ev["type"] != "TOKEN" || ev["authorizationToken"] != "Bearer good-1" || ev["methodArn"] != wantARN {
		t.Errorf("TOKEN event %v, want type, authorizationToken and methodArn only", ev)
	}
	if res, _ := auth("Bearer good-1"); res.PrincipalID != "p1" || res.Context["lambda"].(map[string]any)["user"] != "u1" {
		t.Errorf("allowed result %+v lacks the principal and context", res)
	}
}
