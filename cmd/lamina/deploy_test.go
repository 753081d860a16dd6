package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestParseEnv(t *testing.T) {
	got, err := parseEnv([]string{"A=1", "B=x=y", "C=", "A=2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "2", "B": "x=y", "C": ""}
	if !maps.Equal(got, want) {
		t.Errorf("parseEnv = %v, want %v", got, want)
	}
	for _, bad := range []string{"K", "=v", ""} {
		if _, err := parseEnv([]string{bad}); err == nil || !strings.Contains(err.Error(), "want KEY=VALUE") {
			t.Errorf("parseEnv(%q): err = %v", bad, err)
		}
	}
}

func TestDeployValidation(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"app.py": {content: "x"}})
	// Nothing listens here: each case must fail before any API call.
	base := []string{"deploy", dir, "--endpoint", "http://127.0.0.1:1"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--runtime", "python3.12", "--handler", "app.h"}, "--name is required"},
		{[]string{"--name", "f", "--handler", "app.h"}, "--runtime is required"},
		{[]string{"--name", "f", "--runtime", "python3.12"}, "--handler is required for runtime python3.12"},
		{[]string{"--name", "f", "--runtime", "go1.x"}, "--handler is required for runtime go1.x"},
		{[]string{"--name", "f", "--runtime", "python3.12", "--handler", "app.h", "--env", "K"}, `invalid --env "K": want KEY=VALUE`},
		{[]string{"--name", "f", "--runtime", "python3.12", "--handler", "app.h", "--arch", "sparc"}, `invalid --arch "sparc"`},
	} {
		_, _, err := runCLI(t, append(base, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	_, _, err := runCLI(t, "deploy", dir+"/nope", "--name", "f", "--runtime", "python3.12", "--handler", "a.h")
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing PATH: %v", err)
	}
	_, _, err = runCLI(t, "deploy", "--name", "f")
	if err == nil || !strings.Contains(err.Error(), "needs the PATH") {
		t.Errorf("no PATH: %v", err)
	}
}

// fakeLambda is a small in-memory Lambda API, enough for the CLI's calls,
// so that the commands are tested without the platform. The integration
// test runs them against the real one.
type fakeLambda struct {
	mu        sync.Mutex
	functions map[string]map[string]any   // name → $LATEST configuration
	versions  map[string][]map[string]any // name → published versions
	calls     []string                    // operation names, in order
	bodies    map[string]map[string]any   // last request body per operation
	pageSize  int
}

func newFakeLambda(t *testing.T) (*fakeLambda, string) {
	f := &fakeLambda{functions: map[string]map[string]any{}, versions: map[string][]map[string]any{}, bodies: map[string]map[string]any{}, pageSize: 2}
	mux := http.NewServeMux()
	const fn = "/2015-03-31/functions"
	mux.HandleFunc("POST "+fn, f.op("CreateFunction", f.create))
	mux.HandleFunc("GET "+fn, f.op("ListFunctions", f.list))
	mux.HandleFunc("GET "+fn+"/{$}", f.op("ListFunctions", f.list))
	mux.HandleFunc("GET "+fn+"/{name}", f.op("GetFunction", f.get))
	mux.HandleFunc("PUT "+fn+"/{name}/code", f.op("UpdateFunctionCode", f.updateCode))
	mux.HandleFunc("PUT "+fn+"/{name}/configuration", f.op("UpdateFunctionConfiguration", f.updateConfig))
	mux.HandleFunc("POST "+fn+"/{name}/versions", f.op("PublishVersion", f.publish))
	mux.HandleFunc("DELETE "+fn+"/{name}", f.op("DeleteFunction", f.delete))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

type apiErr struct {
	status int
	code   string
	msg    string
}

func (f *fakeLambda) op(name string, h func(r *http.Request, body map[string]any) (int, any, *apiErr)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.calls = append(f.calls, name)
		f.bodies[name] = body
		status, out, e := h(r, body)
		w.Header().Set("Content-Type", "application/json")
		if e != nil {
			w.Header().Set("X-Amzn-Errortype", e.code)
			w.WriteHeader(e.status)
			json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": e.msg})
			return
		}
		w.WriteHeader(status)
		if out != nil {
			json.NewEncoder(w).Encode(out)
		}
	}
}

func notFound(name string) *apiErr {
	return &apiErr{404, "ResourceNotFoundException", "Function not found: " + name}
}

func codeSha(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func (f *fakeLambda) setCode(c map[string]any, zipB64 any) {
	zip, _ := base64.StdEncoding.DecodeString(zipB64.(string))
	c["CodeSha256"] = codeSha(zip)
	c["CodeSize"] = len(zip)
}

func (f *fakeLambda) create(r *http.Request, b map[string]any) (int, any, *apiErr) {
	name := b["FunctionName"].(string)
	if _, ok := f.functions[name]; ok {
		return 0, nil, &apiErr{409, "ResourceConflictException", "Function already exist: " + name}
	}
	c := map[string]any{
		"FunctionName": name, "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:" + name,
		"Runtime": b["Runtime"], "Handler": b["Handler"], "Role": b["Role"], "Version": "$LATEST",
		"MemorySize": 128, "Timeout": 3, "State": "Active", "LastUpdateStatus": "Successful",
		"LastModified": "2025-01-02T03:04:05.000+0000", "PackageType": "Zip", "Architectures": b["Architectures"],
	}
	for _, k := range []string{"MemorySize", "Timeout", "Description", "Environment"} {
		if v, ok := b[k]; ok {
			c[k] = v
		}
	}
	f.setCode(c, b["Code"].(map[string]any)["ZipFile"])
	f.functions[name] = c
	if b["Publish"] == true {
		return 201, f.newVersion(name), nil
	}
	return 201, c, nil
}

func (f *fakeLambda) newVersion(name string) map[string]any {
	v := maps.Clone(f.functions[name])
	v["Version"] = strconv.Itoa(len(f.versions[name]) + 1)
	f.versions[name] = append(f.versions[name], v)
	return v
}

func (f *fakeLambda) list(r *http.Request, _ map[string]any) (int, any, *apiErr) {
	names := slices.Sorted(maps.Keys(f.functions))
	start, _ := strconv.Atoi(r.URL.Query().Get("Marker"))
	end := min(start+f.pageSize, len(names))
	page := []any{}
	for _, n := range names[start:end] {
		page = append(page, f.functions[n])
	}
	out := map[string]any{"Functions": page}
	if end < len(names) {
		out["NextMarker"] = strconv.Itoa(end)
	}
	return 200, out, nil
}

func (f *fakeLambda) lookup(r *http.Request) (map[string]any, *apiErr) {
	name := r.PathValue("name")
	c, ok := f.functions[name]
	if !ok {
		return nil, notFound(name)
	}
	if q := r.URL.Query().Get("Qualifier"); q != "" && q != "$LATEST" {
		i, _ := strconv.Atoi(q)
		if i < 1 || i > len(f.versions[name]) {
			return nil, notFound(name + ":" + q)
		}
		return f.versions[name][i-1], nil
	}
	return c, nil
}

func (f *fakeLambda) get(r *http.Request, _ map[string]any) (int, any, *apiErr) {
	c, e := f.lookup(r)
	if e != nil {
		return 0, nil, e
	}
	return 200, map[string]any{
		"Configuration": c,
		"Code":          map[string]any{"RepositoryType": "S3", "Location": "http://example/code.zip"},
		"Tags":          map[string]string{"team": "core"},
	}, nil
}

func (f *fakeLambda) updateCode(r *http.Request, b map[string]any) (int, any, *apiErr) {
	c, e := f.lookup(r)
	if e != nil {
		return 0, nil, e
	}
	f.setCode(c, b["ZipFile"])
	if a, ok := b["Architectures"]; ok {
		c["Architectures"] = a
	}
	return 200, c, nil
}

func (f *fakeLambda) updateConfig(r *http.Request, b map[string]any) (int, any, *apiErr) {
	c, e := f.lookup(r)
	if e != nil {
		return 0, nil, e
	}
	maps.Copy(c, b)
	return 200, c, nil
}

func (f *fakeLambda) publish(r *http.Request, b map[string]any) (int, any, *apiErr) {
	c, e := f.lookup(r)
	if e != nil {
		return 0, nil, e
	}
	if want, ok := b["CodeSha256"]; ok && want != c["CodeSha256"] {
		return 0, nil, &apiErr{400, "InvalidParameterValueException", "CodeSha256 does not match"}
	}
	return 201, f.newVersion(r.PathValue("name")), nil
}

func (f *fakeLambda) delete(r *http.Request, _ map[string]any) (int, any, *apiErr) {
	if _, e := f.lookup(r); e != nil {
		return 0, nil, e
	}
	delete(f.functions, r.PathValue("name"))
	return 204, nil, nil
}

// takeCalls returns and forgets the operations called so far.
func (f *fakeLambda) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeLambda) body(op string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[op]
}

func TestDeployCreateUpdatePublish(t *testing.T) {
	fake, endpoint := newFakeLambda(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"app.py": {content: "def handler(e, c): return 1\n"}})
	zip1 := mustPackage(t, packageOptions{Path: dir}).Zip

	deploy := func(extra ...string) (string, string) {
		t.Helper()
		args := append([]string{"deploy", dir, "--name", "hello", "--runtime", "python3.12", "--handler", "app.handler", "--endpoint", endpoint}, extra...)
		out, errOut, err := runCLI(t, args...)
		if err != nil {
			t.Fatalf("deploy %v: %v\nstderr:\n%s", extra, err, errOut)
		}
		return out, errOut
	}

	out, errOut := deploy("--memory", "256")
	if !strings.Contains(errOut, "packaged 1 file, ") || !strings.Contains(errOut, "created function hello") {
		t.Errorf("progress:\n%s", errOut)
	}
	if !strings.Contains(out, "Code SHA-256:") || !strings.Contains(out, codeSha(zip1)) || !strings.Contains(out, "256 MB") {
		t.Errorf("configuration:\n%s", out)
	}
	if got := fake.takeCalls(); !slices.Equal(got, []string{"CreateFunction", "GetFunction"}) {
		t.Errorf("calls = %v", got)
	}
	create := fake.body("CreateFunction")
	if create["Role"] != defaultRole || create["MemorySize"] != 256.0 || create["Timeout"] != nil {
		t.Errorf("CreateFunction body: %v", create)
	}

	// Redeploy changed code with new settings: code, wait, configuration,
	// wait, publish; only the settings given are sent.
	writeTree(t, dir, map[string]file{"app.py": {content: "def handler(e, c): return 2\n"}})
	zip2 := mustPackage(t, packageOptions{Path: dir}).Zip
	out, errOut = deploy("--env", "A=1", "--env", "B=x=y", "--publish", "--output", "json")
	if !strings.Contains(errOut, "updated function hello") || !strings.Contains(errOut, "published version 1") {
		t.Errorf("progress:\n%s", errOut)
	}
	want := []string{"CreateFunction", "UpdateFunctionCode", "GetFunction", "UpdateFunctionConfiguration", "GetFunction", "PublishVersion", "GetFunction"}
	if got := fake.takeCalls(); !slices.Equal(got, want) {
		t.Errorf("calls = %v\nwant    %v", got, want)
	}
	conf := fake.body("UpdateFunctionConfiguration")
	if _, ok := conf["MemorySize"]; ok {
		t.Errorf("unchanged MemorySize sent on update: %v", conf)
	}
	if env := conf["Environment"].(map[string]any)["Variables"].(map[string]any); env["A"] != "1" || env["B"] != "x=y" {
		t.Errorf("Environment sent: %v", env)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if got["CodeSha256"] != codeSha(zip2) || got["Version"] != "1" || got["MemorySize"] != 256.0 {
		t.Errorf("deployed configuration: %v", got)
	}
	if _, ok := got["ResultMetadata"]; ok {
		t.Error("ResultMetadata printed")
	}
}

func TestDeployError(t *testing.T) {
	_, endpoint := newFakeLambda(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"app.py": {content: "x"}})
	_, _, err := runCLI(t, "functions", "get", "nope", "--endpoint", endpoint)
	if err == nil || err.Error() != "GetFunction: ResourceNotFoundException: Function not found: nope" {
		t.Errorf("err = %v", err)
	}
}

func TestFunctionsCommands(t *testing.T) {
	fake, endpoint := newFakeLambda(t)
	fake.mu.Lock()
	for i, name := range []string{"gamma", "alpha", "beta"} {
		fake.functions[name] = map[string]any{
			"FunctionName": name, "Runtime": "python3.1" + strconv.Itoa(i), "MemorySize": 128 * (i + 1), "Timeout": 3,
			"LastModified": "2025-01-02T03:04:05.000+0000", "CodeSha256": "c2hh", "CodeSize": 2048,
			"Environment": map[string]any{"Variables": map[string]string{"Z": "1", "A": "2"}},
		}
	}
	fake.mu.Unlock()

	out, _, err := runCLI(t, "functions", "list", "--endpoint", endpoint)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "LAST MODIFIED") {
		t.Fatalf("list (paged by 2) printed:\n%s", out)
	}
	if f := strings.Fields(lines[1]); !slices.Equal(f, []string{"alpha", "python3.11", "256", "MB", "3s", "2025-01-02T03:04:05.000+0000"}) {
		t.Errorf("row = %q", f)
	}
	if got := fake.takeCalls(); len(got) != 2 {
		t.Errorf("want 2 ListFunctions pages, got %v", got)
	}

	out, _, err = runCLI(t, "functions", "list", "--endpoint", endpoint, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Functions []struct{ FunctionName, Runtime string }
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Functions) != 3 || list.Functions[2].Runtime != "python3.10" {
		t.Errorf("list json: %v\n%s", err, out)
	}
	if strings.Contains(out, "ResultMetadata") || strings.Contains(out, "null") {
		t.Errorf("unset fields printed:\n%s", out)
	}

	out, _, err = runCLI(t, "functions", "get", "beta", "--endpoint", endpoint)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name:", "beta", "Code SHA-256:", "c2hh", "Code size:", "2.0 KB", "A=2\n", "Z=1", "team=core"} {
		if !strings.Contains(out, want) {
			t.Errorf("get: %q missing in:\n%s", want, out)
		}
	}
	if strings.Index(out, "A=2") > strings.Index(out, "Z=1") {
		t.Error("environment not sorted")
	}

	// NAME:QUALIFIER asks for a version.
	fake.mu.Lock()
	fake.newVersion("beta")
	fake.mu.Unlock()
	out, _, err = runCLI(t, "functions", "get", "beta:1", "--endpoint", endpoint, "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Configuration struct{ Version string }
		Tags          map[string]string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Configuration.Version != "1" || got.Tags["team"] != "core" {
		t.Errorf("get beta:1: %v\n%s", err, out)
	}

	out, _, err = runCLI(t, "functions", "delete", "beta", "--endpoint", endpoint)
	if err != nil || out != "deleted function beta\n" {
		t.Errorf("delete: %q, %v", out, err)
	}
	fake.mu.Lock()
	_, ok := fake.functions["beta"]
	fake.mu.Unlock()
	if ok {
		t.Error("beta not deleted")
	}
	_, _, err = runCLI(t, "functions", "delete", "alpha", "--qualifier", "7", "--endpoint", endpoint)
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("delete alpha:7: %v", err)
	}
}

func TestSplitQualifier(t *testing.T) {
	for in, want := range map[string][2]string{
		"hello":      {"hello", ""},
		"hello:2":    {"hello", "2"},
		"hello:live": {"hello", "live"},
		"arn:aws:lambda:us-east-1:000000000000:function:hello:2": {"arn:aws:lambda:us-east-1:000000000000:function:hello:2", ""},
	} {
		n, q := splitQualifier(in)
		if n != want[0] || q != want[1] {
			t.Errorf("splitQualifier(%q) = %q, %q", in, n, q)
		}
	}
}

func TestWriteJSONCompact(t *testing.T) {
	type inner struct {
		A *string
		B []string
		C map[string]string
	}
	var buf bytes.Buffer
	s := "x"
	err := writeJSON(&buf, struct {
		Name           string
		Empty          string
		Nil            *int
		Inner          inner
		List           []string
		ResultMetadata struct{}
	}{Name: "n", Inner: inner{A: &s, B: []string{}}, List: []string{"", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"Inner\": {\n    \"A\": \"x\"\n  },\n  \"List\": [\n    \"\",\n    \"b\"\n  ],\n  \"Name\": \"n\"\n}\n"
	if buf.String() != want {
		t.Errorf("writeJSON:\n%s\nwant:\n%s", buf.String(), want)
	}
	if got := fmt.Sprint(formatSize(512), " ", formatSize(2150), " ", formatSize(2202009)); got != "512 B 2.1 KB 2.1 MB" {
		t.Errorf("formatSize: %s", got)
	}
}
