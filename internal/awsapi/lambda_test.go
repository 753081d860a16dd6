package awsapi

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
)

// ---- harness

type env struct {
	t     *testing.T
	reg   *fakeRegistry
	clock *fakeClock
	api   *API
}

func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	reg := newFakeRegistry()
	clk := &fakeClock{now: reg.now}
	o := Options{
		Functions: reg,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clock:     clk,
	}
	for _, f := range opts {
		f(&o)
	}
	return &env{t: t, reg: reg, clock: clk, api: New(o)}
}

// do sends one request; headers come in name, value pairs.
func (e *env) do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	return rec
}

// header reads a response header whatever the case of its key (the edge
// sends AWS's exact casing, which Header.Get does not look up).
func header(rec *httptest.ResponseRecorder, name string) string {
	for k, v := range rec.Header() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, rec.Body.String())
	}
	return m
}

// jpath walks a decoded JSON value: jpath(m, "Configuration", "FunctionArn"), jpath(m, "Versions", 0, "Version").
func jpath(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			s, ok := v.([]any)
			if !ok || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func createBody(t testing.TB, name string, extra map[string]any) string {
	t.Helper()
	in := map[string]any{
		"FunctionName": name,
		"Runtime":      "provided.al2023",
		"Role":         "arn:aws:iam::000000000000:role/lambda",
		"Handler":      "bootstrap",
		"Code":         map[string]any{"ZipFile": zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\n"})},
	}
	for k, v := range extra {
		in[k] = v
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) create(name string, extra map[string]any) map[string]any {
	e.t.Helper()
	rec := e.do("POST", "/2015-03-31/functions", createBody(e.t, name, extra))
	if rec.Code != http.StatusCreated {
		e.t.Fatalf("create %s: %d %s", name, rec.Code, rec.Body)
	}
	return decode(e.t, rec)
}

const arnPrefix = "arn:aws:lambda:us-east-1:000000000000:function:"

// ---- protocol and errors

func TestErrorResponses(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	e.do("POST", "/2015-03-31/functions/f/versions", "")

	tests := []struct {
		name         string
		method, path string
		body         string
		wantStatus   int
		wantType     string
		wantInMsg    string
	}{
		{"unknown path", "GET", "/nope", "", 404, "UnknownOperationException", "GET /nope"},
		{"unknown method on a known path", "PATCH", "/2015-03-31/functions", "", 404, "UnknownOperationException", ""},
		{"malformed JSON", "POST", "/2015-03-31/functions", `{"FunctionName":`, 400, "InvalidRequestContentException", "Could not parse request body into json"},
		{"wrong JSON type", "POST", "/2015-03-31/functions", `{"FunctionName":"g","Timeout":"soon"}`, 400, "InvalidRequestContentException", "'Timeout'"},
		{"array body", "POST", "/2015-03-31/functions", `[]`, 400, "InvalidRequestContentException", "JSON object"},
		{"trailing data", "POST", "/2015-03-31/functions/f/versions", `{} {}`, 400, "InvalidRequestContentException", "after the JSON object"},
		{"bad base64 zip", "POST", "/2015-03-31/functions", `{"FunctionName":"g","Code":{"ZipFile":"!!!"}}`, 400, "InvalidRequestContentException", "base64"},
		{"S3 code", "POST", "/2015-03-31/functions", `{"FunctionName":"g","Code":{"S3Bucket":"b","S3Key":"k"}}`, 400, "InvalidParameterValueException", "ZipFile"},
		{"image code", "POST", "/2015-03-31/functions", `{"FunctionName":"g","Code":{"ImageUri":"x"}}`, 400, "InvalidParameterValueException", "ZipFile"},
		{"S3 code update", "PUT", "/2015-03-31/functions/f/code", `{"S3Bucket":"b","S3Key":"k"}`, 400, "InvalidParameterValueException", "ZipFile"},
		{"image package", "POST", "/2015-03-31/functions", `{"FunctionName":"g","PackageType":"Image","Code":{"ImageUri":"x"}}`, 400, "InvalidParameterValueException", "Zip"},
		{"no code", "POST", "/2015-03-31/functions", `{"FunctionName":"g"}`, 400, "InvalidParameterValueException", "'code'"},
		{"no name", "POST", "/2015-03-31/functions", `{}`, 400, "InvalidParameterValueException", "'functionName'"},
		{"zero timeout", "POST", "/2015-03-31/functions", createBody(t, "g", map[string]any{"Timeout": 0}), 400, "InvalidParameterValueException", "'timeout'"},
		{"bad runtime (from the registry)", "POST", "/2015-03-31/functions", createBody(t, "g", map[string]any{"Runtime": "bogus"}), 400, "InvalidParameterValueException", "runtime"},
		{"exists", "POST", "/2015-03-31/functions", createBody(t, "f", nil), 409, "ResourceConflictException", "already"},
		{"not found", "GET", "/2015-03-31/functions/nope", "", 404, "ResourceNotFoundException", "Function not found"},
		{"bad name", "GET", "/2015-03-31/functions/a%20b", "", 400, "InvalidParameterValueException", "functionName"},
		{"qualifier mismatch", "GET", "/2015-03-31/functions/f:1?Qualifier=2", "", 400, "InvalidParameterValueException", "derived qualifier"},
		{"qualifier mismatch in ARN", "GET", "/2015-03-31/functions/" + url.PathEscape(arnPrefix+"f:1") + "/configuration?Qualifier=$LATEST", "", 400, "InvalidParameterValueException", "derived qualifier"},
		{"bad qualifier", "GET", "/2015-03-31/functions/f?Qualifier=a%2Fb", "", 400, "InvalidParameterValueException", "qualifier"},
		{"other region", "GET", "/2015-03-31/functions/" + url.PathEscape("arn:aws:lambda:eu-west-1:000000000000:function:f"), "", 404, "ResourceNotFoundException", "not reachable in this region ('us-east-1')"},
		{"other account", "GET", "/2015-03-31/functions/" + url.PathEscape("111111111111:function:f"), "", 403, "AccessDeniedException", "111111111111"},
		{"qualified concurrency", "PUT", "/2017-10-31/functions/f:1/concurrency", `{"ReservedConcurrentExecutions":1}`, 400, "InvalidParameterValueException", "permitted on Lambda functions only"},
		{"qualified publish", "POST", "/2015-03-31/functions/f:prod/versions", "", 400, "InvalidParameterValueException", "permitted on Lambda functions only"},
		{"concurrency missing", "PUT", "/2017-10-31/functions/f/concurrency", `{}`, 400, "InvalidParameterValueException", "reservedConcurrentExecutions"},
		{"concurrency negative", "PUT", "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":-1}`, 400, "InvalidParameterValueException", "reservedConcurrentExecutions"},
		{"MaxItems zero", "GET", "/2015-03-31/functions?MaxItems=0", "", 400, "InvalidParameterValueException", "maxItems"},
		{"MaxItems not a number", "GET", "/2015-03-31/functions/f/versions?MaxItems=x", "", 400, "InvalidParameterValueException", "maxItems"},
		{"FunctionVersion not ALL", "GET", "/2015-03-31/functions?FunctionVersion=SOME", "", 400, "InvalidParameterValueException", "[ALL]"},
		{"tags on a name", "GET", "/2017-03-31/tags/f", "", 400, "InvalidParameterValueException", "full function ARN"},
		{"tags on a version", "GET", "/2017-03-31/tags/" + url.PathEscape(arnPrefix+"f:1"), "", 400, "InvalidParameterValueException", "unqualified"},
		{"untag without keys", "DELETE", "/2017-03-31/tags/" + url.PathEscape(arnPrefix+"f"), "", 400, "InvalidParameterValueException", "tagKeys"},
		{"revision mismatch", "PUT", "/2015-03-31/functions/f/configuration", `{"RevisionId":"old"}`, 412, "PreconditionFailedException", "Revision Id"},
		{"delete $LATEST", "DELETE", "/2015-03-31/functions/f?Qualifier=$LATEST", "", 400, "InvalidParameterValueException", "$LATEST"},
		{"alias not found", "GET", "/2015-03-31/functions/f/aliases/nope", "", 404, "ResourceNotFoundException", "alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(tt.method, tt.path, tt.body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			checkErrorShape(t, rec, tt.wantType, tt.wantInMsg)
		})
	}
}

// checkErrorShape asserts the restJson1 error shape: request id, exact
// X-Amzn-ErrorType, JSON body with Type and the modeled message member.
func checkErrorShape(t *testing.T, rec *httptest.ResponseRecorder, wantType, wantInMsg string) {
	t.Helper()
	if _, err := uuid.Parse(header(rec, "x-amzn-RequestId")); err != nil {
		t.Errorf("x-amzn-RequestId %q: %v", header(rec, "x-amzn-RequestId"), err)
	}
	if got := rec.Header()["X-Amzn-ErrorType"]; len(got) != 1 || got[0] != wantType {
		t.Errorf("X-Amzn-ErrorType = %v, want %s", got, wantType)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := decode(t, rec)
	wantFault := "User"
	if rec.Code >= 500 {
		wantFault = "Service"
	}
	if body["Type"] != wantFault {
		t.Errorf("Type = %v, want %s", body["Type"], wantFault)
	}
	member := "message"
	if wantType == "ResourceNotFoundException" || wantType == "ServiceException" || wantType == "AccessDeniedException" {
		member = "Message"
	}
	msg, _ := body[member].(string)
	if msg == "" {
		t.Errorf("no %q member in %s", member, rec.Body)
	}
	if !strings.Contains(msg, wantInMsg) {
		t.Errorf("message %q does not contain %q", msg, wantInMsg)
	}
}

func TestFaultKinds(t *testing.T) {
	secret := "disk /var/secret exploded"
	throttled := &fault.Error{Kind: fault.Throttled, Message: "Rate exceeded", Reason: "ReservedFunctionConcurrentInvocationLimitExceeded"}
	tests := []struct {
		err        error
		wantStatus int
		wantType   string
		wantMsg    string
	}{
		{fault.New(fault.Invalid, "bad value"), 400, "InvalidParameterValueException", "bad value"},
		{fault.New(fault.InvalidContent, "bad body"), 400, "InvalidRequestContentException", "bad body"},
		{fault.New(fault.NotFound, "no such thing"), 404, "ResourceNotFoundException", "no such thing"},
		{fault.New(fault.Conflict, "busy"), 409, "ResourceConflictException", "busy"},
		{fault.New(fault.PreconditionFailed, "stale revision"), 412, "PreconditionFailedException", "stale revision"},
		{fault.New(fault.TooLarge, "too big"), 413, "RequestTooLargeException", "too big"},
		{throttled, 429, "TooManyRequestsException", "Rate exceeded"},
		{fault.New(fault.Unsupported, "not in Lamina"), 400, "InvalidParameterValueException", "not in Lamina"},
		{fault.Wrap(fault.Internal, errors.New(secret), "%s", secret), 500, "ServiceException", "internal error"},
		{errors.New(secret), 500, "ServiceException", "internal error"},
		{fault.Wrap(fault.Conflict, errors.New(secret), "in use"), 409, "ResourceConflictException", "in use"},
	}
	for _, tt := range tests {
		t.Run(tt.wantType+"/"+tt.wantMsg, func(t *testing.T) {
			e := newEnv(t)
			e.reg.fail["Get"] = tt.err
			rec := e.do("GET", "/2015-03-31/functions/f", "")
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			checkErrorShape(t, rec, tt.wantType, tt.wantMsg)
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("internal detail leaked: %s", rec.Body)
			}
			if tt.wantStatus == 429 {
				if got := decode(t, rec)["Reason"]; got != throttled.Reason {
					t.Errorf("Reason = %v", got)
				}
				if got := rec.Header().Get("Retry-After"); got != "1" {
					t.Errorf("Retry-After = %q", got)
				}
			}
		})
	}
}

func TestRequestIDOnEveryResponse(t *testing.T) {
	e := newEnv(t)
	seen := map[string]bool{}
	for _, rec := range []*httptest.ResponseRecorder{
		e.do("POST", "/2015-03-31/functions", createBody(t, "f", nil)),
		e.do("GET", "/2015-03-31/functions/f", ""),
		e.do("DELETE", "/2015-03-31/functions/f", ""),
		e.do("GET", "/2015-03-31/functions/f", ""),
		e.do("GET", "/", ""),
		e.do("GET", "/_code/f/$LATEST", ""),
	} {
		id := header(rec, "x-amzn-RequestId")
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("%d response: request id %q: %v", rec.Code, id, err)
		}
		if seen[id] {
			t.Errorf("request id %s reused", id)
		}
		seen[id] = true
		if _, ok := rec.Header()["x-amzn-RequestId"]; !ok {
			t.Errorf("request id header not in AWS's casing: %v", rec.Header())
		}
	}
}

func TestRegionFromCredentialScope(t *testing.T) {
	const auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240131/%s/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	tests := []struct {
		name    string
		headers []string
		query   string
		def     string
		want    string
	}{
		{"header", []string{"Authorization", strings.ReplaceAll(auth, "%s", "eu-west-1")}, "", "", "eu-west-1"},
		{"header without spaces after commas", []string{"Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240131/ap-south-2/lambda/aws4_request,SignedHeaders=host,Signature=x"}, "", "", "ap-south-2"},
		{"presigned", nil, "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + url.QueryEscape("AK/20240131/sa-east-1/lambda/aws4_request"), "", "sa-east-1"},
		{"none", nil, "", "", "us-east-1"},
		{"none, configured default", nil, "", "eu-central-1", "eu-central-1"},
		{"malformed scope", []string{"Authorization", "AWS4-HMAC-SHA256 Credential=AK/20240131/lambda/aws4_request"}, "", "", "us-east-1"},
		{"hostile region", []string{"Authorization", strings.ReplaceAll(auth, "%s", "x\"y")}, "", "", "us-east-1"},
		{"other scheme", []string{"Authorization", "Bearer abc"}, "", "", "us-east-1"},
		{"china partition", []string{"Authorization", strings.ReplaceAll(auth, "%s", "cn-north-1")}, "", "", "cn-north-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(o *Options) { o.DefaultRegion = tt.def })
			e.create("f", nil)
			rec := e.do("GET", "/2015-03-31/functions/f/configuration"+tt.query, "", tt.headers...)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			part := "aws"
			if strings.HasPrefix(tt.want, "cn-") {
				part = "aws-cn"
			}
			want := "arn:" + part + ":lambda:" + tt.want + ":000000000000:function:f"
			if got := decode(t, rec)["FunctionArn"]; got != want {
				t.Errorf("FunctionArn = %v, want %s", got, want)
			}
		})
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)

	// Declared too large: refused before the body is read or the registry called.
	req := httptest.NewRequest("POST", "/2015-03-31/functions", strings.NewReader("{}"))
	req.ContentLength = codeBodyLimit + 1
	rec := httptest.NewRecorder()
	calls := len(e.reg.calls)
	e.api.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("declared oversize: %d %s", rec.Code, rec.Body)
	}
	checkErrorShape(t, rec, "RequestTooLargeException", "70167211 bytes for the CreateFunction operation")
	if len(e.reg.calls) != calls {
		t.Errorf("registry called for an oversized request: %v", e.reg.calls[calls:])
	}

	// 7 MB: over the 6 MB limit of ordinary operations, within the code operations'.
	zip7 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'z'}, 5<<20+512<<10))
	big := `{"Description":"x","ZipFile":"` + zip7 + `"}`

	// Streamed (no Content-Length) over the limit: caught while reading.
	req = httptest.NewRequest("PUT", "/2015-03-31/functions/f/configuration", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	e.api.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Fatalf("streamed oversize: %d %s", rec.Code, rec.Body)
	}
	checkErrorShape(t, rec, "RequestTooLargeException", "6291456 bytes for the UpdateFunctionConfiguration operation")

	rec = e.do("PUT", "/2015-03-31/functions/f/code", big)
	if rec.Code != 200 {
		t.Fatalf("7 MB UpdateFunctionCode: %d %s", rec.Code, rec.Body)
	}
	if got := jpath(decode(t, rec), "CodeSize"); got != float64(5<<20+512<<10) {
		t.Errorf("CodeSize = %v", got)
	}
}

func TestBodyLimitFollowsRegistryLimit(t *testing.T) {
	reg := &limitRegistry{fakeRegistry: newFakeRegistry(), max: 100 << 20}
	a := New(Options{Functions: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if want := int64(base64.StdEncoding.EncodedLen(100<<20)) + 1<<18; a.codeBodyLimit != want {
		t.Errorf("code body limit %d, want %d", a.codeBodyLimit, want)
	}
}

type limitRegistry struct {
	*fakeRegistry
	max int64
}

func (l *limitRegistry) Limits() function.Limits { return function.Limits{MaxZipSize: l.max} }

// ---- operations and shapes

func TestCreateFunctionShape(t *testing.T) {
	e := newEnv(t)
	rec := e.do("POST", "/2015-03-31/functions", createBody(t, "f", map[string]any{
		"Environment":      map[string]any{"Variables": map[string]string{"A": "1"}},
		"Timeout":          30,
		"DeadLetterConfig": map[string]any{"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
		"Layers":           []string{"arn:aws:lambda:us-east-1:000000000000:layer:l:1"},
		"Tags":             map[string]string{"team": "a"},
		"SomeFutureMember": map[string]any{"x": 1}, // ignored
	}))
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	got := decode(t, rec)
	want := map[string]any{
		"FunctionName":     "f",
		"FunctionArn":      arnPrefix + "f",
		"Runtime":          "provided.al2023",
		"Role":             "arn:aws:iam::000000000000:role/lambda",
		"Handler":          "bootstrap",
		"Description":      "",
		"Timeout":          float64(30),
		"MemorySize":       float64(128),
		"LastModified":     "2024-01-31T12:34:56.789+0000",
		"Version":          "$LATEST",
		"RevisionId":       "rev-1",
		"State":            "Active",
		"PackageType":      "Zip",
		"TracingConfig":    map[string]any{"Mode": "PassThrough"},
		"EphemeralStorage": map[string]any{"Size": float64(512)},
		"Architectures":    []any{"x86_64"},
		"LoggingConfig":    map[string]any{"LogFormat": "Text", "LogGroup": "/aws/lambda/f"},
		"Environment":      map[string]any{"Variables": map[string]any{"A": "1"}},
		"DeadLetterConfig": map[string]any{"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
		"Layers":           []any{map[string]any{"Arn": "arn:aws:lambda:us-east-1:000000000000:layer:l:1", "CodeSize": float64(0)}},
	}
	for k, w := range want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(w) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(w))
		}
	}
	for _, k := range []string{"CodeSha256", "CodeSize"} {
		if got[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
	if _, ok := got["LastUpdateStatus"]; ok {
		t.Errorf("CreateFunction answered LastUpdateStatus (AWS does not)")
	}
	if e.reg.lastCreate.Tags["team"] != "a" || e.reg.lastCreate.DeadLetterTargetArn == "" || e.reg.lastCreate.Timeout != 30 {
		t.Errorf("create input %+v", e.reg.lastCreate)
	}

	// No environment: no Environment member.
	got = e.create("g", nil)
	if _, ok := got["Environment"]; ok {
		t.Errorf("Environment sent for a function without variables: %v", got["Environment"])
	}
	// A partial ARN names the function too.
	got = e.create("000000000000:function:h", nil)
	if got["FunctionName"] != "h" {
		t.Errorf("FunctionName from partial ARN = %v", got["FunctionName"])
	}
	// Publish: Version 1 but the unqualified ARN, as AWS.
	got = e.create("p", map[string]any{"Publish": true})
	if got["Version"] != "1" || got["FunctionArn"] != arnPrefix+"p" {
		t.Errorf("published create: Version %v FunctionArn %v", got["Version"], got["FunctionArn"])
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestFunctionARNsByQualifier(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	if rec := e.do("POST", "/2015-03-31/functions/f/versions", `{"Description":"v1"}`); rec.Code != 201 {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	} else if m := decode(t, rec); m["Version"] != "1" || m["FunctionArn"] != arnPrefix+"f:1" || m["Description"] != "v1" {
		t.Errorf("publish answer: %v", m)
	}
	if rec := e.do("POST", "/2015-03-31/functions/f/aliases", `{"Name":"live","FunctionVersion":"1"}`); rec.Code != 201 {
		t.Fatalf("alias: %d %s", rec.Code, rec.Body)
	}
	esc := url.PathEscape
	tests := []struct {
		name, path  string
		wantArn     string
		wantVersion string
	}{
		{"name", "/2015-03-31/functions/f", arnPrefix + "f", "$LATEST"},
		{"full ARN, encoded", "/2015-03-31/functions/" + esc(arnPrefix+"f"), arnPrefix + "f", "$LATEST"},
		{"full ARN, colons raw", "/2015-03-31/functions/" + arnPrefix + "f", arnPrefix + "f", "$LATEST"},
		{"partial ARN", "/2015-03-31/functions/" + esc("000000000000:function:f"), arnPrefix + "f", "$LATEST"},
		{"Qualifier=$LATEST", "/2015-03-31/functions/f?Qualifier=%24LATEST", arnPrefix + "f:$LATEST", "$LATEST"},
		{"name:$LATEST", "/2015-03-31/functions/" + esc("f:$LATEST"), arnPrefix + "f:$LATEST", "$LATEST"},
		{"version", "/2015-03-31/functions/f?Qualifier=1", arnPrefix + "f:1", "1"},
		{"qualified ARN", "/2015-03-31/functions/" + esc(arnPrefix+"f:1"), arnPrefix + "f:1", "1"},
		{"same qualifier twice", "/2015-03-31/functions/" + esc("f:1") + "?Qualifier=1", arnPrefix + "f:1", "1"},
		{"alias", "/2015-03-31/functions/f?Qualifier=live", arnPrefix + "f:live", "1"},
		{"alias in name", "/2015-03-31/functions/" + esc("f:live"), arnPrefix + "f:live", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, suffix := range []string{"", "/configuration"} {
				p, q, _ := strings.Cut(tt.path, "?")
				target := p + suffix
				if q != "" {
					target += "?" + q
				}
				rec := e.do("GET", target, "")
				if rec.Code != 200 {
					t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
				}
				m := decode(t, rec)
				cfg := m
				if suffix == "" {
					cfg, _ = m["Configuration"].(map[string]any)
				}
				if cfg["FunctionArn"] != tt.wantArn || cfg["Version"] != tt.wantVersion {
					t.Errorf("GET %s: FunctionArn %v Version %v, want %s %s", target, cfg["FunctionArn"], cfg["Version"], tt.wantArn, tt.wantVersion)
				}
				if cfg["State"] != "Active" || cfg["LastUpdateStatus"] != "Successful" {
					t.Errorf("GET %s: State %v LastUpdateStatus %v", target, cfg["State"], cfg["LastUpdateStatus"])
				}
			}
		})
	}

	// Listings.
	rec := e.do("GET", "/2015-03-31/functions/f/versions", "")
	m := decode(t, rec)
	if jpath(m, "Versions", 0, "FunctionArn") != arnPrefix+"f:$LATEST" || jpath(m, "Versions", 1, "FunctionArn") != arnPrefix+"f:1" {
		t.Errorf("ListVersionsByFunction ARNs: %s", rec.Body)
	}
	if jpath(m, "Versions", 0, "State") != nil || jpath(m, "Versions", 0, "LastUpdateStatus") != nil {
		t.Errorf("listing carries per-version status: %s", rec.Body)
	}
	if _, ok := m["NextMarker"]; ok {
		t.Errorf("NextMarker on the last page: %s", rec.Body)
	}
	m = decode(t, e.do("GET", "/2015-03-31/functions", ""))
	if jpath(m, "Functions", 0, "FunctionArn") != arnPrefix+"f" || jpath(m, "Functions", 1) != nil {
		t.Errorf("ListFunctions: %v", m)
	}
	m = decode(t, e.do("GET", "/2015-03-31/functions?FunctionVersion=ALL", ""))
	if jpath(m, "Functions", 0, "FunctionArn") != arnPrefix+"f:$LATEST" || jpath(m, "Functions", 1, "FunctionArn") != arnPrefix+"f:1" {
		t.Errorf("ListFunctions ALL: %v", m)
	}
	if !e.reg.lastAll {
		t.Errorf("FunctionVersion=ALL not passed on")
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.create(n, nil)
	}
	var names []string
	marker := ""
	for range 10 {
		target := "/2015-03-31/functions?MaxItems=2"
		if marker != "" {
			target += "&Marker=" + url.QueryEscape(marker)
		}
		m := decode(t, e.do("GET", target, ""))
		for _, f := range m["Functions"].([]any) {
			names = append(names, f.(map[string]any)["FunctionName"].(string))
		}
		if e.reg.lastPage.MaxItems != 2 || e.reg.lastPage.Marker != marker {
			t.Errorf("page passed on as %+v", e.reg.lastPage)
		}
		next, _ := m["NextMarker"].(string)
		if next == "" {
			break
		}
		marker = next
	}
	if strings.Join(names, ",") != "a,b,c,d,e" {
		t.Errorf("pages gave %v", names)
	}
	// An empty listing is [] not null.
	e2 := newEnv(t)
	if body := e2.do("GET", "/2015-03-31/functions", "").Body.String(); body != `{"Functions":[]}` {
		t.Errorf("empty listing: %s", body)
	}
}

func TestGetFunctionCodeTagsConcurrency(t *testing.T) {
	e := newEnv(t)
	zipBytes := zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\necho hi\n"})
	rec := e.do("POST", "/2015-03-31/functions", mustJSON(map[string]any{
		"FunctionName": "f", "Runtime": "provided.al2023", "Role": "r", "Handler": "h",
		"Code": map[string]any{"ZipFile": zipBytes}, "Tags": map[string]string{"team": "a"},
	}))
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	m := decode(t, e.do("GET", "/2015-03-31/functions/f", ""))
	if jpath(m, "Code", "RepositoryType") != "S3" {
		t.Errorf("Code: %v", m["Code"])
	}
	if jpath(m, "Tags", "team") != "a" {
		t.Errorf("Tags: %v", m["Tags"])
	}
	if _, ok := m["Concurrency"]; ok {
		t.Errorf("Concurrency without a reservation: %v", m["Concurrency"])
	}
	location, _ := jpath(m, "Code", "Location").(string)
	u, err := url.Parse(location)
	if err != nil || u.Host != "example.com" || !strings.HasPrefix(u.Path, "/_code/f/") {
		t.Fatalf("Location %q", location)
	}

	// The URL downloads the zip without credentials.
	rec = e.do("GET", u.RequestURI(), "")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), zipBytes) || rec.Header().Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %q %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	// A tampered URL does not.
	q := u.Query()
	q.Set("sha", "AAAA")
	rec = e.do("GET", u.Path+"?"+q.Encode(), "")
	if rec.Code != 403 {
		t.Errorf("tampered URL: %d", rec.Code)
	}
	checkErrorShape(t, rec, "AccessDeniedException", "not valid")
	// Nor another function's path with this signature.
	rec = e.do("GET", strings.Replace(u.RequestURI(), "/_code/f/", "/_code/g/", 1), "")
	if rec.Code != 403 {
		t.Errorf("URL for another function: %d", rec.Code)
	}
	// Changed code: the URL no longer serves $LATEST.
	e.do("PUT", "/2015-03-31/functions/f/code", mustJSON(map[string]any{"ZipFile": zipOf(t, map[string]string{"bootstrap": "new"})}))
	rec = e.do("GET", u.RequestURI(), "")
	if rec.Code != 404 {
		t.Errorf("URL after a code change: %d %s", rec.Code, rec.Body)
	}
	// Expired.
	m = decode(t, e.do("GET", "/2015-03-31/functions/f", ""))
	location, _ = jpath(m, "Code", "Location").(string)
	u, _ = url.Parse(location)
	e.clock.Advance(11 * time.Minute)
	rec = e.do("GET", u.RequestURI(), "")
	if rec.Code != 403 {
		t.Errorf("expired URL: %d", rec.Code)
	}
	checkErrorShape(t, rec, "AccessDeniedException", "expired")

	// Reserved concurrency shows in GetFunction and its own operations.
	rec = e.do("PUT", "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":7}`)
	if rec.Code != 200 || rec.Body.String() != `{"ReservedConcurrentExecutions":7}` {
		t.Errorf("put concurrency: %d %s", rec.Code, rec.Body)
	}
	if body := e.do("GET", "/2019-09-30/functions/f/concurrency", "").Body.String(); body != `{"ReservedConcurrentExecutions":7}` {
		t.Errorf("get concurrency: %s", body)
	}
	m = decode(t, e.do("GET", "/2015-03-31/functions/f", ""))
	if jpath(m, "Concurrency", "ReservedConcurrentExecutions") != float64(7) {
		t.Errorf("GetFunction Concurrency: %v", m["Concurrency"])
	}
	if rec := e.do("DELETE", "/2017-10-31/functions/f/concurrency", ""); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("delete concurrency: %d %s", rec.Code, rec.Body)
	}
	if body := e.do("GET", "/2019-09-30/functions/f/concurrency", "").Body.String(); body != `{}` {
		t.Errorf("get concurrency after delete: %s", body)
	}
	// Zero is a reservation (fully throttled), not "none".
	if rec := e.do("PUT", "/2017-10-31/functions/f/concurrency", `{"ReservedConcurrentExecutions":0}`); rec.Body.String() != `{"ReservedConcurrentExecutions":0}` {
		t.Errorf("put 0: %s", rec.Body)
	}
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	res := "/2017-03-31/tags/" + url.PathEscape(arnPrefix+"f")
	if rec := e.do("POST", res, `{"Tags":{"a":"1","b":"2","c":"3"}}`); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("tag: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("DELETE", res+"?tagKeys=a&tagKeys=b", ""); rec.Code != 204 {
		t.Fatalf("untag: %d %s", rec.Code, rec.Body)
	}
	if strings.Join(e.reg.lastUntag, ",") != "a,b" {
		t.Errorf("untag keys %v", e.reg.lastUntag)
	}
	if body := e.do("GET", res, "").Body.String(); body != `{"Tags":{"c":"3"}}` {
		t.Errorf("list tags: %s", body)
	}
	e.create("g", nil)
	if body := e.do("GET", "/2017-03-31/tags/"+url.PathEscape(arnPrefix+"g"), "").Body.String(); body != `{"Tags":{}}` {
		t.Errorf("list no tags: %s", body)
	}
	if rec := e.do("GET", "/2017-03-31/tags/"+url.PathEscape(arnPrefix+"nope"), ""); rec.Code != 404 {
		t.Errorf("tags of a missing function: %d", rec.Code)
	}
}

func TestAliases(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	e.do("POST", "/2015-03-31/functions/f/versions", "")
	e.do("POST", "/2015-03-31/functions/f/versions", "")
	rec := e.do("POST", "/2015-03-31/functions/f/aliases", `{"Name":"live","FunctionVersion":"1","Description":"d","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}}}`)
	if rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	want := `{"AliasArn":"` + arnPrefix + `f:live","Name":"live","FunctionVersion":"1","Description":"d","RoutingConfig":{"AdditionalVersionWeights":{"2":0.25}},"RevisionId":"alias-rev-1"}`
	if rec.Body.String() != want {
		t.Errorf("create alias:\n got %s\nwant %s", rec.Body, want)
	}
	if body := e.do("GET", "/2015-03-31/functions/f/aliases/live", "").Body.String(); body != want {
		t.Errorf("get alias: %s", body)
	}
	if rec := e.do("POST", "/2015-03-31/functions/f/aliases", `{"Name":"live","FunctionVersion":"1"}`); rec.Code != 409 {
		t.Errorf("duplicate alias: %d", rec.Code)
	}
	e.do("POST", "/2015-03-31/functions/f/aliases", `{"Name":"old","FunctionVersion":"2"}`)
	m := decode(t, e.do("GET", "/2015-03-31/functions/f/aliases?FunctionVersion=2", ""))
	if jpath(m, "Aliases", 0, "Name") != "old" || jpath(m, "Aliases", 1) != nil {
		t.Errorf("list aliases by version: %v", m)
	}
	if _, ok := jpath(m, "Aliases", 0).(map[string]any)["RoutingConfig"]; ok {
		t.Errorf("RoutingConfig sent without weights: %v", m)
	}

	// RoutingConfig:{} clears the weights; an absent RoutingConfig leaves them.
	rec = e.do("PUT", "/2015-03-31/functions/f/aliases/live", `{"Description":"e"}`)
	if rec.Code != 200 || e.reg.lastUpdateAlias.AdditionalVersionWeights != nil || *e.reg.lastUpdateAlias.Description != "e" {
		t.Errorf("update alias without RoutingConfig: %d %+v", rec.Code, e.reg.lastUpdateAlias)
	}
	rec = e.do("PUT", "/2015-03-31/functions/f/aliases/live", `{"RoutingConfig":{}}`)
	if w := e.reg.lastUpdateAlias.AdditionalVersionWeights; rec.Code != 200 || w == nil || len(*w) != 0 {
		t.Errorf("update alias with RoutingConfig {}: %d %+v", rec.Code, e.reg.lastUpdateAlias)
	}
	if rec := e.do("PUT", "/2015-03-31/functions/f/aliases/live", `{"RevisionId":"stale"}`); rec.Code != 412 {
		t.Errorf("stale alias revision: %d", rec.Code)
	}
	if rec := e.do("DELETE", "/2015-03-31/functions/f/aliases/live", ""); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("delete alias: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/2015-03-31/functions/f/aliases/live", ""); rec.Code != 404 {
		t.Errorf("deleted alias: %d", rec.Code)
	}
}

func TestUpdateFunctionConfiguration(t *testing.T) {
	e := newEnv(t)
	e.create("f", map[string]any{"Environment": map[string]any{"Variables": map[string]string{"A": "1"}}})
	rec := e.do("PUT", "/2015-03-31/functions/f/configuration", `{"Timeout":10,"RevisionId":"rev-1"}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	u := e.reg.lastUpdateConfig
	if u.Timeout == nil || *u.Timeout != 10 || u.Environment != nil || u.Description != nil || u.DeadLetterTargetArn != nil || u.Layers != nil || u.RevisionID != "rev-1" {
		t.Errorf("absent members must stay nil: %+v", u)
	}
	m := decode(t, rec)
	if m["Timeout"] != float64(10) || m["FunctionArn"] != arnPrefix+"f" || m["LastUpdateStatus"] != "Successful" {
		t.Errorf("answer %v", m)
	}
	// Empty structures clear.
	rec = e.do("PUT", "/2015-03-31/functions/f/configuration", `{"Environment":{},"DeadLetterConfig":{},"Layers":[],"TracingConfig":{"Mode":"Active"}}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	u = e.reg.lastUpdateConfig
	if u.Environment == nil || len(*u.Environment) != 0 || u.DeadLetterTargetArn == nil || *u.DeadLetterTargetArn != "" ||
		u.Layers == nil || len(*u.Layers) != 0 || u.TracingMode == nil || *u.TracingMode != "Active" {
		t.Errorf("clearing update: %+v", u)
	}
	if _, ok := decode(t, rec)["Environment"]; ok {
		t.Errorf("Environment sent after clearing: %s", rec.Body)
	}
}

func TestUpdateFunctionCodeAndDelete(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	zipB := zipOf(t, map[string]string{"bootstrap": "v2"})
	rec := e.do("PUT", "/2015-03-31/functions/f/code", mustJSON(map[string]any{"ZipFile": zipB, "RevisionId": "stale"}))
	if rec.Code != 412 {
		t.Errorf("stale revision: %d %s", rec.Code, rec.Body)
	}
	rec = e.do("PUT", "/2015-03-31/functions/"+url.PathEscape(arnPrefix+"f")+"/code", mustJSON(map[string]any{"ZipFile": zipB}))
	if m := decode(t, rec); rec.Code != 200 || m["FunctionArn"] != arnPrefix+"f" || m["CodeSha256"] != shaOf(zipB) {
		t.Errorf("update code: %d %v", rec.Code, m)
	}
	rec = e.do("PUT", "/2015-03-31/functions/f/code", mustJSON(map[string]any{"ZipFile": zipB, "Publish": true}))
	if m := decode(t, rec); rec.Code != 200 || m["FunctionArn"] != arnPrefix+"f:1" || m["Version"] != "1" {
		t.Errorf("update code with publish: %d %v", rec.Code, m)
	}
	if rec := e.do("PUT", "/2015-03-31/functions/f/code", `{}`); rec.Code != 400 {
		t.Errorf("no ZipFile: %d", rec.Code)
	}

	if rec := e.do("DELETE", "/2015-03-31/functions/f?Qualifier=1", ""); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("delete version: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("GET", "/2015-03-31/functions/f?Qualifier=1", ""); rec.Code != 404 {
		t.Errorf("deleted version: %d", rec.Code)
	}
	if rec := e.do("DELETE", "/2015-03-31/functions/"+url.PathEscape(arnPrefix+"f"), ""); rec.Code != 204 {
		t.Errorf("delete function: %d %s", rec.Code, rec.Body)
	}
	if rec := e.do("DELETE", "/2015-03-31/functions/f", ""); rec.Code != 404 {
		t.Errorf("delete again: %d", rec.Code)
	}
}

func TestAccountSettings(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	rec := e.do("GET", "/2016-08-19/account-settings", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	m := decode(t, rec)
	want := map[string]any{
		"TotalCodeSize": float64(80530636800), "CodeSizeUnzipped": float64(262144000), "CodeSizeZipped": float64(52428800),
		"ConcurrentExecutions": float64(1000), "UnreservedConcurrentExecutions": float64(1000),
	}
	for k, w := range want {
		if got := jpath(m, "AccountLimit", k); got != w {
			t.Errorf("AccountLimit.%s = %v, want %v", k, got, w)
		}
	}
	if jpath(m, "AccountUsage", "FunctionCount") != float64(1) || jpath(m, "AccountUsage", "TotalCodeSize") == float64(0) {
		t.Errorf("AccountUsage = %v", m["AccountUsage"])
	}
}

func TestUnknownQueryAndEmptyBodies(t *testing.T) {
	e := newEnv(t)
	e.create("f", nil)
	if rec := e.do("GET", "/2015-03-31/functions/f?SomethingNew=1", ""); rec.Code != 200 {
		t.Errorf("unknown query parameter: %d", rec.Code)
	}
	// PublishVersion with no body at all, and with whitespace.
	for _, body := range []string{"", "  \n"} {
		if rec := e.do("POST", "/2015-03-31/functions/f/versions", body); rec.Code != 201 {
			t.Errorf("publish with body %q: %d %s", body, rec.Code, rec.Body)
		}
	}
}
