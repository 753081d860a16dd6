package payload

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func fuzzParse(f *testing.F, parse func([]byte) (*Response, error)) {
	for _, s := range []string{
		`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"a":["c"]},"body":"x"}`,
		`{"statusCode":200,"cookies":["a=1"],"body":"AP8=","isBase64Encoded":true}`,
		`{"statusCode":1e3}`, `{"statusCode":-1}`, `"str"`, `42`, `null`, `[]`, `{`, ``,
		`{"statusCode":200,"headers":{"bad name":"x\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parse(data)
		if err != nil {
			if r != nil {
				t.Fatal("both a response and an error")
			}
			return
		}
		if r.StatusCode < 100 || r.StatusCode > 599 {
			t.Fatalf("status %d", r.StatusCode)
		}
		for k, vs := range r.Header {
			if !validFieldName(k) {
				t.Fatalf("invalid header name %q", k)
			}
			for _, v := range vs {
				if !validFieldValue(v) {
					t.Fatalf("invalid header value %q", v)
				}
			}
		}
		// Whatever parses must also be writable.
		r.Write(httptest.NewRecorder())
	})
}

func FuzzParseV1(f *testing.F) { fuzzParse(f, ParseV1) }
func FuzzParseV2(f *testing.F) { fuzzParse(f, ParseV2) }

// FuzzBuild feeds random methods, paths, headers, query strings and bodies
// to both builders: the output must be JSON that unmarshals into the
// events types with the method and path it was given.
func FuzzBuild(f *testing.F) {
	f.Add("GET", "/pets/1", "a=1&a=2", "X-A", "v", "text/plain", []byte("hi"), "prod")
	f.Add("POST", "/", "", "Cookie", "a=1; b", "", []byte{0, 0xff}, "$default")
	f.Add("PUT", "/ü/%zz", "x=%zz;y", "x-a", "\xff", "application/json", []byte("\xc3"), "")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, hname, hval, ctype string, body []byte, stage string) {
		if !validFieldName(method) {
			method = "GET"
		}
		u := &url.URL{Scheme: "http", Host: "h.example:3000", Path: "/x", RawQuery: rawQuery}
		r := &http.Request{
			Method: method, URL: u, Host: u.Host, Proto: "HTTP/1.1",
			Header: http.Header{}, RemoteAddr: "192.0.2.1:1",
		}
		r.Header[hname] = []string{hval}
		r.Header.Set("Content-Type", ctype)
		in := &Request{Path: path, RawPath: path, Stage: stage, Body: body, Time: fixedTime,
			PathParameters: map[string]string{hname: hval}}
		wantPath := stagePath(stageOf(in), cleanPath(path))

		b1, err := BuildV1(r, in)
		if err != nil {
			t.Fatal(err)
		}
		var e1 events.APIGatewayProxyRequest
		if err := json.Unmarshal(b1, &e1); err != nil {
			t.Fatalf("v1 not events JSON: %v\n%s", err, b1)
		}
		if e1.HTTPMethod != method || e1.RequestContext.HTTPMethod != method {
			t.Fatalf("v1 method %q, want %q", e1.HTTPMethod, method)
		}
		if asJSON(wantPath) != e1.Path {
			t.Fatalf("v1 path %q, want %q", e1.Path, wantPath)
		}
		checkBody(t, "v1", e1.Body, e1.IsBase64Encoded, body)

		b2, err := BuildV2(r, in)
		if err != nil {
			t.Fatal(err)
		}
		var e2 events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(b2, &e2); err != nil {
			t.Fatalf("v2 not events JSON: %v\n%s", err, b2)
		}
		if e2.RequestContext.HTTP.Method != method {
			t.Fatalf("v2 method %q, want %q", e2.RequestContext.HTTP.Method, method)
		}
		if asJSON(wantPath) != e2.RawPath {
			t.Fatalf("v2 rawPath %q, want %q", e2.RawPath, wantPath)
		}
		if e2.RawQueryString != asJSON(rawQuery) {
			t.Fatalf("v2 rawQueryString %q, want %q", e2.RawQueryString, rawQuery)
		}
		checkBody(t, "v2", e2.Body, e2.IsBase64Encoded, body)
	})
}

// asJSON is s as it comes back from a JSON string: encoding/json replaces
// each invalid UTF-8 byte with U+FFFD.
func asJSON(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// checkBody: whatever the encoding chosen, the function must be able to get
// the exact bytes back.
func checkBody(t *testing.T, v, got string, b64 bool, want []byte) {
	t.Helper()
	if b64 {
		dec, err := decodeBase64(got)
		if err != nil {
			t.Fatalf("%s: bad base64: %v", v, err)
		}
		got = string(dec)
	}
	if got != string(want) {
		t.Fatalf("%s: body %q, want %q", v, got, want)
	}
}
