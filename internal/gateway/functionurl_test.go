package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/function"
)

// urlInvoker records what it is asked to run and answers with result.
type urlInvoker struct {
	mu            sync.Mutex
	calls         int
	fn, qualifier string
	event         map[string]any
	result        string
	functionError bool
	err           error
}

func (f *urlInvoker) Invoke(ctx context.Context, fn, qualifier string, payload []byte) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.fn, f.qualifier = fn, qualifier
	f.event = nil
	if err := json.Unmarshal(payload, &f.event); err != nil {
		return nil, false, err
	}
	return []byte(f.result), f.functionError, f.err
}

const (
	openID = "abcdefghijklmnopqrstuvwxyz012345"
	corsID = "corscorscorscorscorscorscorscors"
	iamID  = "iamiamiamiamiamiamiamiamiamiamia"
)

func urlLookup(id string) (string, string, function.FunctionURLConfig, bool) {
	switch id {
	case openID:
		return "fn", "live", function.FunctionURLConfig{URLID: id, Qualifier: "live", AuthType: "NONE", InvokeMode: "BUFFERED"}, true
	case corsID:
		return "fn", function.Latest, function.FunctionURLConfig{URLID: id, Qualifier: function.Latest, AuthType: "NONE", Cors: &function.FunctionURLCors{
			AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"x-custom"},
			ExposeHeaders: []string{"x-trace"}, AllowCredentials: new(true), MaxAge: new(600),
		}}, true
	case iamID:
		return "fn", function.Latest, function.FunctionURLConfig{URLID: id, AuthType: "AWS_IAM"}, true
	}
	return "", "", function.FunctionURLConfig{}, false
}

func TestIsFunctionURLHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		id   string
		ok   bool
	}{
		{openID + ".lambda-url.us-east-1.localhost", openID, true},
		{openID + ".lambda-url.eu-west-1.localhost:3000", openID, true},
		{strings.ToUpper(openID) + ".LAMBDA-URL.us-east-1.localhost.", openID, true},
		{openID + ".lambda-url..localhost", "", false},
		{openID + ".lambda-url.us-east-1.example.com", "", false},
		{"short.lambda-url.us-east-1.localhost", "", false},
		{"abcdefghijklmnopqrstuvwxyz01234_.lambda-url.us-east-1.localhost", "", false},
		{openID + ".execute-api.localhost", "", false},
		{"127.0.0.1:3000", "", false},
	} {
		id, ok := IsFunctionURLHost(tc.host)
		if id != tc.id || ok != tc.ok {
			t.Errorf("IsFunctionURLHost(%q) = %q, %v; want %q, %v", tc.host, id, ok, tc.id, tc.ok)
		}
	}
}

func TestFunctionURLHandler(t *testing.T) {
	now := time.Date(2025, 3, 12, 19, 3, 58, 0, time.UTC)
	inv := &urlInvoker{}
	srv := httptest.NewServer(NewFunctionURLHandler(FunctionURLOptions{
		Lookup: urlLookup, Invoker: inv, Clock: clock.NewFake(now), Logger: slog.New(slog.DiscardHandler),
		Region: "eu-west-1", AccountID: "000000000000",
	}))
	t.Cleanup(srv.Close)

	type want struct {
		status  int
		body    string
		headers map[string]string // "" = must be absent
		invoked bool
		event   map[string]any // dotted paths into the event
	}
	for _, tc := range []struct {
		name, method, host, path, body string
		header                         map[string]string
		result                         string
		functionError                  bool
		invokeErr                      error
		want                           want
	}{
		{
			name: "host form, inferred response", method: "POST", host: openID + ".lambda-url.eu-west-1.localhost:3000",
			path: "/hello/world?a=1&a=2", body: `{"x":1}`, header: map[string]string{"Content-Type": "application/json", "Cookie": "s=1; t=2"},
			result: `{"ok":true}`,
			want: want{status: 200, body: `{"ok":true}`, headers: map[string]string{"Content-Type": "application/json"}, invoked: true,
				event: map[string]any{
					"version": "2.0", "routeKey": "$default", "rawPath": "/hello/world", "rawQueryString": "a=1&a=2",
					"queryStringParameters.a": "1,2", "body": `{"x":1}`, "isBase64Encoded": false,
					"requestContext.apiId": openID, "requestContext.domainName": openID + ".lambda-url.eu-west-1.localhost",
					"requestContext.domainPrefix": openID, "requestContext.stage": "$default", "requestContext.routeKey": "$default",
					"requestContext.accountId": "anonymous", "requestContext.http.method": "POST", "requestContext.http.path": "/hello/world",
					"requestContext.time": "12/Mar/2025:19:03:58 +0000", "requestContext.timeEpoch": float64(now.UnixMilli()),
					"headers.cookie": nil, "pathParameters": nil, "stageVariables": nil,
				}},
		},
		{
			name: "path form, structured response with cookies", method: "GET", host: "127.0.0.1:3000",
			path:   "/_lamina/function-urls/" + openID + "/a%2Fb/c",
			result: `{"statusCode":201,"headers":{"X-Thing":"yes"},"cookies":["a=1","b=2"],"body":"made"}`,
			want: want{status: 201, body: "made", headers: map[string]string{"X-Thing": "yes", "Set-Cookie": "a=1"}, invoked: true,
				event: map[string]any{
					"rawPath": "/a%2Fb/c", "requestContext.http.path": "/a/b/c", "requestContext.apiId": openID,
					"requestContext.domainName": openID + ".lambda-url.eu-west-1.localhost", "requestContext.domainPrefix": openID,
				}},
		},
		{
			name: "path form, root", method: "GET", host: "localhost", path: "/_lamina/function-urls/" + openID,
			result: `"hi"`,
			want:   want{status: 200, body: "hi", invoked: true, event: map[string]any{"rawPath": "/", "requestContext.http.path": "/"}},
		},
		{
			name: "function error", method: "GET", host: openID + ".lambda-url.eu-west-1.localhost", path: "/",
			result: `{"errorMessage":"boom"}`, functionError: true,
			want: want{status: 502, body: `{"message":"Internal Server Error"}`, invoked: true},
		},
		{
			name: "malformed response", method: "GET", host: openID + ".lambda-url.eu-west-1.localhost", path: "/",
			result: `{"statusCode":"two hundred"}`,
			want:   want{status: 502, body: `{"message":"Internal Server Error"}`, invoked: true},
		},
		{
			name: "invoke fails", method: "GET", host: openID + ".lambda-url.eu-west-1.localhost", path: "/",
			invokeErr: errors.New("no such function"),
			want:      want{status: 500, body: `{"message":"Internal Server Error"}`, invoked: true},
		},
		{
			name: "AWS_IAM refused", method: "GET", host: iamID + ".lambda-url.eu-west-1.localhost", path: "/",
			want: want{status: 403, body: `{"Message":"Forbidden"}`},
		},
		{
			name: "unknown id", method: "GET", host: "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.lambda-url.eu-west-1.localhost", path: "/",
			want: want{status: 404, body: `{"message":"Not Found"}`},
		},
		{
			name: "not a function URL", method: "GET", host: "127.0.0.1", path: "/other",
			want: want{status: 404, body: `{"message":"Not Found"}`},
		},
		{
			name: "CORS preflight answered without the function", method: "OPTIONS", host: corsID + ".lambda-url.eu-west-1.localhost", path: "/x",
			header: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
			want: want{status: 204, headers: map[string]string{
				"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET,POST",
				"Access-Control-Allow-Headers": "x-custom", "Access-Control-Max-Age": "600", "Access-Control-Allow-Credentials": "true",
			}},
		},
		{
			name: "CORS headers override the function's", method: "GET", host: corsID + ".lambda-url.eu-west-1.localhost", path: "/x",
			header: map[string]string{"Origin": "https://app.example"},
			result: `{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*","Access-Control-Allow-Methods":"DELETE"},"body":"ok"}`,
			want: want{status: 200, body: "ok", invoked: true, headers: map[string]string{
				"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Expose-Headers": "x-trace",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": "",
			}},
		},
		{
			name: "CORS: origin not allowed gets no CORS headers", method: "GET", host: corsID + ".lambda-url.eu-west-1.localhost", path: "/x",
			header: map[string]string{"Origin": "https://evil.example"}, result: `{"statusCode":200,"body":"ok"}`,
			want: want{status: 200, body: "ok", invoked: true, headers: map[string]string{"Access-Control-Allow-Origin": ""}},
		},
		{
			name: "no Cors: OPTIONS reaches the function", method: "OPTIONS", host: openID + ".lambda-url.eu-west-1.localhost", path: "/x",
			header: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
			result: `{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*"}}`,
			want:   want{status: 200, invoked: true, headers: map[string]string{"Access-Control-Allow-Origin": "*"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv.mu.Lock()
			inv.calls, inv.event, inv.result, inv.functionError, inv.err = 0, nil, tc.result, tc.functionError, tc.invokeErr
			inv.mu.Unlock()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want.status || (tc.want.body != "" || resp.StatusCode != 204) && string(body) != tc.want.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tc.want.status, tc.want.body)
			}
			if resp.Header.Get("X-Amzn-Requestid") == "" {
				t.Error("no x-amzn-RequestId")
			}
			for k, v := range tc.want.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			inv.mu.Lock()
			defer inv.mu.Unlock()
			if invoked := inv.calls > 0; invoked != tc.want.invoked {
				t.Fatalf("invoked = %v, want %v", invoked, tc.want.invoked)
			}
			if !tc.want.invoked {
				return
			}
			if wantQ := map[bool]string{true: "live", false: function.Latest}[strings.HasPrefix(tc.host, openID) || strings.Contains(tc.path, openID)]; inv.fn != "fn" || inv.qualifier != wantQ {
				t.Errorf("invoked %s:%s, want fn:%s", inv.fn, inv.qualifier, wantQ)
			}
			for path, v := range tc.want.event {
				if got, _ := dig(inv.event, path); got != v {
					t.Errorf("event %s = %#v, want %#v", path, got, v)
				}
			}
			if _, ok := inv.event["requestContext"].(map[string]any)["requestId"].(string); !ok {
				t.Error("event has no requestContext.requestId")
			}
		})
	}
}

// dig follows a dotted path into decoded JSON (nil when absent).
func dig(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok = m[k]
		if !ok {
			return nil, false
		}
	}
	return v, true
}
