package payload

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

var fixedTime = time.Date(2020, time.March, 12, 19, 3, 58, 123e6, time.UTC)

// newReq builds a server-side request the way net/http would hand it to the
// gateway (Host moved out of the header map, RemoteAddr set).
func newReq(method, target, body string, hdr http.Header) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, vs := range hdr {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	r.RemoteAddr = "203.0.113.7:51234"
	return r
}

type buildCase struct {
	name string
	req  func() *http.Request
	in   Request
}

func buildCases() []buildCase {
	return []buildCase{
		{
			name: "get_named_stage",
			req: func() *http.Request {
				return newReq("GET", "http://api1.execute-api.localhost:3000/prod/pets/7?a=1&a=2&b=x%20y&flag", "", http.Header{
					"Accept":     {"application/json"},
					"X-Multi":    {"one", "two"},
					"Cookie":     {"s=abc; theme=dark", "extra=1"},
					"User-Agent": {"curl/8.0"},
				})
			},
			in: Request{
				APIID: "api1", Stage: "prod", RequestID: "req-1", AccountID: "123456789012", Region: "us-east-1",
				RouteKey: "GET /pets/{id}", ResourcePath: "/pets/{id}",
				Path: "/pets/7", RawPath: "/pets/7",
				PathParameters: map[string]string{"id": "7"},
				StageVariables: map[string]string{"env": "prod"},
				DomainName:     "api1.execute-api.localhost",
				Time:           fixedTime,
				Authorizer: map[string]any{"jwt": map[string]any{
					"claims": map[string]any{"sub": "u1", "iss": "https://issuer"},
					"scopes": []any{"read"},
				}},
			},
		},
		{
			name: "post_json_default_stage",
			req: func() *http.Request {
				return newReq("POST", "http://localhost:3000/items", `{"name":"<b>&"}`, http.Header{
					"Content-Type": {"application/json; charset=utf-8"},
				})
			},
			in: Request{
				APIID: "api2", RequestID: "req-2", AccountID: "123456789012",
				RouteKey: "$default", Path: "/items", RawPath: "/items",
				Time: fixedTime,
			},
		},
		{
			name: "post_binary",
			req: func() *http.Request {
				return newReq("POST", "http://localhost:3000/dev/upload%20here", "\x89PNG\r\n\x1a\n\x00\xff", http.Header{
					"Content-Type": {"image/png"},
				})
			},
			in: Request{
				APIID: "api3", Stage: "dev", RequestID: "req-3", AccountID: "123456789012",
				RouteKey: "POST /{proxy+}", ResourcePath: "/{proxy+}",
				Path: "/upload here", RawPath: "/upload%20here",
				PathParameters: map[string]string{"proxy": "upload here"},
				Time:           fixedTime,
				Authorizer:     map[string]any{"lambda": map[string]any{"user": "u2", "n": 3}},
			},
		},
	}
}

// TestBuildGolden compares whole events against testdata (go test -update
// rewrites them); the comparison is on decoded JSON so key order is free.
func TestBuildGolden(t *testing.T) {
	for _, c := range buildCases() {
		for _, v := range []struct {
			suffix string
			build  func(*http.Request, *Request) ([]byte, error)
		}{{"v1", BuildV1}, {"v2", BuildV2}} {
			t.Run(c.name+"_"+v.suffix, func(t *testing.T) {
				r := c.req()
				in := c.in
				in.Body, _ = io.ReadAll(r.Body)
				got, err := v.build(r, &in)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join("testdata", c.name+"."+v.suffix+".json")
				if *update {
					var pretty bytes.Buffer
					if err := json.Indent(&pretty, got, "", "  "); err != nil {
						t.Fatal(err)
					}
					pretty.WriteByte('\n')
					if err := os.WriteFile(file, pretty.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				var g, w any
				if err := json.Unmarshal(got, &g); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, got)
				}
				if err := json.Unmarshal(want, &w); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(g, w) {
					t.Errorf("event differs from %s:\n got %s", file, got)
				}
			})
		}
	}
}

func decodeV1(t *testing.T, b []byte) (events.APIGatewayProxyRequest, map[string]json.RawMessage) {
	t.Helper()
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

func decodeV2(t *testing.T, b []byte) (events.APIGatewayV2HTTPRequest, map[string]json.RawMessage) {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

func TestBuildV1Fields(t *testing.T) {
	c := buildCases()[0]
	r := c.req()
	b, err := BuildV1(r, &c.in)
	if err != nil {
		t.Fatal(err)
	}
	ev, raw := decodeV1(t, b)
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", string(raw["version"]), `"1.0"`},
		{"path keeps stage", ev.Path, "/prod/pets/7"},
		{"context path keeps stage", ev.RequestContext.Path, "/prod/pets/7"},
		{"resource", ev.Resource, "/pets/{id}"},
		{"header last value", ev.Headers["x-multi"], "two"},
		{"multi header", ev.MultiValueHeaders["x-multi"], []string{"one", "two"}},
		{"host restored", ev.Headers["host"], "api1.execute-api.localhost:3000"},
		{"cookie stays a header", ev.MultiValueHeaders["cookie"], []string{"s=abc; theme=dark", "extra=1"}},
		{"query last value", ev.QueryStringParameters["a"], "2"},
		{"multi query", ev.MultiValueQueryStringParameters["a"], []string{"1", "2"}},
		{"query decoded", ev.QueryStringParameters["b"], "x y"},
		{"bare key", ev.QueryStringParameters["flag"], ""},
		{"requestTime", ev.RequestContext.RequestTime, "12/Mar/2020:19:03:58 +0000"},
		{"requestTimeEpoch", ev.RequestContext.RequestTimeEpoch, int64(1584039838123)},
		{"domainPrefix", ev.RequestContext.DomainPrefix, "api1"},
		{"sourceIp from RemoteAddr", ev.RequestContext.Identity.SourceIP, "203.0.113.7"},
		{"userAgent", ev.RequestContext.Identity.UserAgent, "curl/8.0"},
		{"jwt flattened", ev.RequestContext.Authorizer["claims"], map[string]any{"sub": "u1", "iss": "https://issuer"}},
		{"body null", string(raw["body"]), "null"},
		{"isBase64Encoded present", string(raw["isBase64Encoded"]), "false"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	for _, k := range []string{"Accept", "X-Multi", "User-Agent"} {
		if _, ok := ev.Headers[k]; ok {
			t.Errorf("header %q not lower-cased", k)
		}
	}
}

// TestBuildV1Nulls: the REST-shaped fields AWS sends as null when empty.
func TestBuildV1Nulls(t *testing.T) {
	r := newReq("GET", "http://h/x", "", nil)
	b, err := BuildV1(r, &Request{Path: "/x", Time: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	_, raw := decodeV1(t, b)
	for _, k := range []string{"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body"} {
		if string(raw[k]) != "null" {
			t.Errorf("%s = %s, want null", k, raw[k])
		}
	}
	if string(raw["headers"]) == "null" || string(raw["multiValueHeaders"]) == "null" {
		t.Error("headers must be objects")
	}
}

func TestBuildV2Fields(t *testing.T) {
	c := buildCases()[0]
	r := c.req()
	b, err := BuildV2(r, &c.in)
	if err != nil {
		t.Fatal(err)
	}
	ev, raw := decodeV2(t, b)
	var ctx map[string]json.RawMessage
	if err := json.Unmarshal(raw["requestContext"], &ctx); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "GET /pets/{id}"},
		{"rawPath keeps stage", ev.RawPath, "/prod/pets/7"},
		{"http.path keeps stage", ev.RequestContext.HTTP.Path, "/prod/pets/7"},
		{"rawQueryString as received", ev.RawQueryString, "a=1&a=2&b=x%20y&flag"},
		{"query joined", ev.QueryStringParameters["a"], "1,2"},
		{"query decoded", ev.QueryStringParameters["b"], "x y"},
		{"header joined", ev.Headers["x-multi"], "one,two"},
		{"cookies split", ev.Cookies, []string{"s=abc", "theme=dark", "extra=1"}},
		{"method", ev.RequestContext.HTTP.Method, "GET"},
		{"protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"sourceIp", ev.RequestContext.HTTP.SourceIP, "203.0.113.7"},
		{"time", ev.RequestContext.Time, "12/Mar/2020:19:03:58 +0000"},
		{"timeEpoch", ev.RequestContext.TimeEpoch, int64(1584039838123)},
		{"stage", ev.RequestContext.Stage, "prod"},
		{"jwt claims", ev.RequestContext.Authorizer.JWT.Claims, map[string]string{"sub": "u1", "iss": "https://issuer"}},
		{"jwt scopes", ev.RequestContext.Authorizer.JWT.Scopes, []string{"read"}},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s: got %#v, want %#v", ck.name, ck.got, ck.want)
		}
	}
	if _, ok := ev.Headers["cookie"]; ok {
		t.Error("cookie header must be removed from headers")
	}
	if _, ok := ctx["authentication"]; ok {
		t.Error("authentication must be omitted without a client certificate")
	}
}

// TestBuildV2Omits: AWS leaves empty fields out of 2.0 rather than null.
func TestBuildV2Omits(t *testing.T) {
	r := newReq("GET", "http://h/", "", nil)
	b, err := BuildV2(r, &Request{Path: "/", Time: fixedTime})
	if err != nil {
		t.Fatal(err)
	}
	ev, raw := decodeV2(t, b)
	for _, k := range []string{"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"} {
		if v, ok := raw[k]; ok {
			t.Errorf("%s present (%s), want omitted", k, v)
		}
	}
	if string(raw["isBase64Encoded"]) != "false" {
		t.Errorf("isBase64Encoded = %s, want false", raw["isBase64Encoded"])
	}
	if ev.RouteKey != "$default" || ev.RequestContext.Stage != "$default" || ev.RawPath != "/" {
		t.Errorf("defaults: routeKey %q stage %q rawPath %q", ev.RouteKey, ev.RequestContext.Stage, ev.RawPath)
	}
}

func TestBodyEncoding(t *testing.T) {
	cases := []struct {
		ct, body string
		b64      bool
	}{
		{"text/plain", "hello", false},
		{"text/html; charset=utf-8", "<p>", false},
		{"TEXT/CSV", "a,b", false},
		{"application/json", `{"a":1}`, false},
		{"application/xml", "<a/>", false},
		{"application/javascript", "var a", false},
		{"application/x-www-form-urlencoded", "a=1", true}, // observed on AWS
		{"application/octet-stream", "abc", true},
		{"image/png", "abc", true},
		{"", "abc", true}, // no Content-Type: binary
		{"application/vnd.api+json", "{}", true},
		{"text/plain", "\xff\xfe", true}, // textual type, not UTF-8
		{"text/plain;;bad", "ok", false}, // unparsable parameters: judged by the type
	}
	for _, c := range cases {
		for _, build := range []func(*http.Request, *Request) ([]byte, error){BuildV1, BuildV2} {
			r := newReq("POST", "http://h/p", c.body, http.Header{"Content-Type": {c.ct}})
			b, err := build(r, &Request{Path: "/p", Body: []byte(c.body), Time: fixedTime})
			if err != nil {
				t.Fatal(err)
			}
			var ev struct {
				Body            string `json:"body"`
				IsBase64Encoded bool   `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.IsBase64Encoded != c.b64 {
				t.Errorf("%q: isBase64Encoded = %v, want %v", c.ct, ev.IsBase64Encoded, c.b64)
				continue
			}
			got := ev.Body
			if c.b64 {
				dec, err := decodeBase64(ev.Body)
				if err != nil {
					t.Fatal(err)
				}
				got = string(dec)
			}
			if got != c.body {
				t.Errorf("%q: body %q, want %q", c.ct, got, c.body)
			}
		}
	}
}

func TestParseQuery(t *testing.T) {
	cases := []struct {
		raw  string
		keys []string
		vals map[string][]string
	}{
		{"", nil, nil},
		{"a=1&b=2&a=3", []string{"a", "b"}, map[string][]string{"a": {"1", "3"}, "b": {"2"}}},
		{"x=%zz&y=a+b", []string{"x", "y"}, map[string][]string{"x": {"%zz"}, "y": {"a b"}}},
		{"k&&=v&semi=a;b", []string{"k", "semi"}, map[string][]string{"k": {""}, "semi": {"a;b"}}},
		{"e=a=b", []string{"e"}, map[string][]string{"e": {"a=b"}}},
	}
	for _, c := range cases {
		keys, vals := parseQuery(c.raw)
		if !reflect.DeepEqual(keys, c.keys) || (len(c.vals) > 0 && !reflect.DeepEqual(vals, c.vals)) {
			t.Errorf("parseQuery(%q) = %v %v, want %v %v", c.raw, keys, vals, c.keys, c.vals)
		}
	}
}

func TestV1Authorizer(t *testing.T) {
	lambda := map[string]any{"lambda": map[string]any{"k": "v"}}
	other := map[string]any{"principalId": "p", "k": "v"}
	cases := []struct {
		in, want map[string]any
	}{
		{nil, nil},
		{lambda, map[string]any{"k": "v"}},
		{other, other},
		{map[string]any{"jwt": "not a map"}, map[string]any{"jwt": "not a map"}},
	}
	for _, c := range cases {
		if got := v1Authorizer(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("v1Authorizer(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestBuildOverHTTP runs the builders behind a real server and client, where
// net/http (not the test) decides what is in r.Header and r.Host.
func TestBuildOverHTTP(t *testing.T) {
	var v2 []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var err error
		v2, err = BuildV2(r, &Request{Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Body: body, Time: fixedTime})
		if err != nil {
			t.Error(err)
		}
	}))
	defer srv.Close()
	req, _ := http.NewRequest("PUT", srv.URL+"/a%2Fb?q=1", strings.NewReader("hello"))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev, _ := decodeV2(t, v2)
	if ev.Headers["host"] != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("host = %q", ev.Headers["host"])
	}
	if ev.Headers["content-length"] != "5" || ev.Body != "hello" || ev.IsBase64Encoded {
		t.Errorf("body %q b64 %v content-length %q", ev.Body, ev.IsBase64Encoded, ev.Headers["content-length"])
	}
	if ev.RawPath != "/a%2Fb" || ev.RequestContext.HTTP.Path != "/a/b" {
		t.Errorf("rawPath %q http.path %q", ev.RawPath, ev.RequestContext.HTTP.Path)
	}
	if !reflect.DeepEqual(ev.Cookies, []string{"a=1", "b=2"}) {
		t.Errorf("cookies %v", ev.Cookies)
	}
	if ev.RequestContext.HTTP.Method != "PUT" || ev.RequestContext.HTTP.SourceIP != "127.0.0.1" {
		t.Errorf("http %+v", ev.RequestContext.HTTP)
	}
}

func TestBuildNil(t *testing.T) {
	if _, err := BuildV1(nil, &Request{}); err == nil {
		t.Error("BuildV1(nil) succeeded")
	}
	if _, err := BuildV2(newReq("GET", "/", "", nil), nil); err == nil {
		t.Error("BuildV2(nil Request) succeeded")
	}
}
