package awsapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
)

// FuzzLambdaRequest throws arbitrary methods, paths, bodies and
// Authorization headers at the edge (with a registry holding one function,
// one version and one alias, so paths reach real handlers) and checks the
// protocol invariants: no panic, a request id on every answer, every error in
// AWS's shape, and never a 500 (the fake registry only fails with fault
// kinds, so a 500 would be the edge's own bug).
func FuzzLambdaRequest(f *testing.F) {
	seeds := []struct {
		method      byte
		target      string
		body, auth  string
		contentType string
	}{
		{0, "/2015-03-31/functions/f", "", "", ""},
		{0, "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af%3A1/configuration?Qualifier=1", "", "", ""},
		{1, "/2015-03-31/functions", `{"FunctionName":"g","Code":{"ZipFile":"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},"Timeout":3}`, "", "application/json"},
		{1, "/2015-03-31/functions", `{"FunctionName":"g","Code":{"S3Bucket":"b"}}`, "", ""},
		{1, "/2015-03-31/functions", `{"FunctionName":1}`, "", ""},
		{1, "/2015-03-31/functions/f/versions", `{"CodeSha256":null}`, "", ""},
		{1, "/2015-03-31/functions/f/aliases", `{"Name":"a","FunctionVersion":"1","RoutingConfig":{"AdditionalVersionWeights":{"1":0.5}}}`, "", ""},
		{2, "/2015-03-31/functions/f/configuration", `{"Environment":{"Variables":{"A":"B"}},"Timeout":-1}`, "", ""},
		{2, "/2015-03-31/functions/f/code", `{"ZipFile":"not base64"}`, "", ""},
		{2, "/2015-03-31/functions/f/aliases/live", `{"RoutingConfig":{}}`, "", ""},
		{2, "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":5}`, "", ""},
		{3, "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af?tagKeys=a&tagKeys=b", "", "", ""},
		{1, "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:f", `{"Tags":{"a":"b"}}`, "", ""},
		{0, "/2016-08-19/account-settings", "", "AWS4-HMAC-SHA256 Credential=AK/20240131/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=0", ""},
		{0, "/2015-03-31/functions?FunctionVersion=ALL&MaxItems=1&Marker=1", "", "", ""},
		{0, "/_code/f/$LATEST?sha=x&expires=1&signature=y", "", "", ""},
		{4, "/2015-03-31/functions/f", "", "", ""},
		{0, "/2015-03-31/functions/%2F..%2F", "", "", ""},
		{3, "/2015-03-31/functions/f?Qualifier=$LATEST", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, []byte(s.body), s.auth)
	}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}
	f.Fuzz(func(t *testing.T, m byte, target string, body []byte, auth string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		e := newEnv(t)
		seed(t, e)
		req := &http.Request{
			Method:        methods[int(m)%len(methods)],
			URL:           u,
			RequestURI:    target,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{},
			Host:          "example.com",
			Body:          http.NoBody,
			ContentLength: int64(len(body)),
		}
		if len(body) > 0 {
			req.Body = readCloser{bytes.NewReader(body)}
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)

		if _, err := uuid.Parse(header(rec, "x-amzn-RequestId")); err != nil {
			t.Fatalf("%s %s: no request id", req.Method, target)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", req.Method, target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if len(rec.Header()["X-Amzn-ErrorType"]) != 1 {
				t.Fatalf("%s %s: error %d without X-Amzn-ErrorType", req.Method, target, rec.Code)
			}
			var eb map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb["Type"] != "User" {
				t.Fatalf("%s %s: error body %s", req.Method, target, rec.Body)
			}
			return
		}
		if rec.Body.Len() > 0 && rec.Header().Get("Content-Type") == "application/json" && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON answer %s", req.Method, target, rec.Body)
		}
	})
}

func seed(t *testing.T, e *env) {
	t.Helper()
	if rec := e.do("POST", "/2015-03-31/functions", createBody(t, "f", nil)); rec.Code != 201 {
		t.Fatalf("seed: %d %s", rec.Code, rec.Body)
	}
	e.do("POST", "/2015-03-31/functions/f/versions", "")
	e.do("POST", "/2015-03-31/functions/f/aliases", `{"Name":"live","FunctionVersion":"1"}`)
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// FuzzUnmarshalBody checks that decoding any body into any request shape
// either succeeds or fails with InvalidContent, and never panics.
func FuzzUnmarshalBody(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"FunctionName":"f","Code":{"ZipFile":"AAAA"}}`, `{"Timeout":1e400}`,
		`{"Environment":{"Variables":{"a":1}}}`, `{"RoutingConfig":{"AdditionalVersionWeights":{"1":"x"}}}`,
		`{"Layers":null}`, `{} x`, `{"ZipFile":"A==="}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{
			&createFunctionIn{}, &updateFunctionCodeIn{}, &updateFunctionConfigurationIn{}, &publishVersionIn{},
			&createAliasIn{}, &updateAliasIn{}, &putConcurrencyIn{}, &tagResourceIn{},
		} {
			if err := unmarshalBody(body, v); err != nil && !fault.Is(err, fault.InvalidContent) {
				t.Fatalf("%T: %v is not InvalidContent", v, err)
			}
		}
	})
}

// FuzzRegionOf checks that whatever the Authorization header says, the
// region is region-shaped (it goes into ARNs and logs) or the default.
func FuzzRegionOf(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AK/20240131/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=0",
		"AWS4-HMAC-SHA256 Credential=AK/20240131/EU WEST/lambda/aws4_request",
		"AWS4-HMAC-SHA256 Credential=////",
		"Basic abc",
	} {
		f.Add(s, "")
		f.Add("", "X-Amz-Credential="+url.QueryEscape(strings.TrimPrefix(s, "AWS4-HMAC-SHA256 Credential=")))
	}
	f.Fuzz(func(t *testing.T, auth, rawQuery string) {
		req := &http.Request{Header: http.Header{"Authorization": {auth}}, URL: &url.URL{Path: "/", RawQuery: rawQuery}}
		if got := regionOf(req, "default-1"); got != "default-1" && !validRegion(got) {
			t.Fatalf("region %q from %q / %q", got, auth, rawQuery)
		}
	})
}
