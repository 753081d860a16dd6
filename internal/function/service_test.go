package function

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
func (c *testClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *testClock) NewTimer(d time.Duration) clock.Timer   { return clock.Real{}.NewTimer(d) }

const testRole = "arn:aws:iam::123456789012:role/lambda-role"

type env struct {
	svc   *Service
	st    store.Store
	clock *testClock
	ctx   context.Context
}

// newEnv opens a real (embedded JetStream) store in a temporary directory
// and a Service on it.
func newEnv(t *testing.T, edit ...func(*Options)) *env {
	t.Helper()
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &testClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Store: st, Clock: clk, Logger: slog.New(slog.DiscardHandler)}
	for _, e := range edit {
		e(&opts)
	}
	svc, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &env{svc: svc, st: st, clock: clk, ctx: ctx}
}

func pyZip(t testing.TB, marker string) []byte {
	return buildZip(t, zf{name: "app.py", body: "def handler(e, c):\n    return " + strconv.Quote(marker) + "\n"})
}

func (e *env) create(t *testing.T, name string, edit ...func(*CreateInput)) Function {
	t.Helper()
	in := CreateInput{
		FunctionName: name,
		Config:       Config{Runtime: "python3.12", Handler: "app.handler", Role: testRole},
		ZipFile:      pyZip(t, name),
	}
	for _, ed := range edit {
		ed(&in)
	}
	f, err := e.svc.Create(e.ctx, in)
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	return f
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// codeObjects lists the code objects stored for name.
func (e *env) codeObjects(t *testing.T, name string) []string {
	t.Helper()
	objs, err := e.svc.code.List(e.ctx, name+"/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o.Name)
	}
	return out
}

func (e *env) versionKeys(t *testing.T, name string) []string {
	t.Helper()
	keys, err := e.svc.versions.Keys(e.ctx, name+".")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func versionsOf(vs []Version) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.FunctionName+":"+v.Version)
	}
	return out
}

func TestCreateAndGet(t *testing.T) {
	e := newEnv(t)
	zip := pyZip(t, "hello")
	f, err := e.svc.Create(e.ctx, CreateInput{
		FunctionName: "hello",
		Config:       Config{Runtime: "python3.12", Handler: "app.handler", Role: testRole, Environment: map[string]string{"K1": "v"}},
		ZipFile:      zip,
		Tags:         map[string]string{"team": "core"},
	})
	if err != nil {
		t.Fatal(err)
	}
	v := f.Version
	switch {
	case v.FunctionName != "hello", v.Version != Latest, v.Runtime != "python3.12", v.Handler != "app.handler",
		v.Timeout != 3, v.MemorySize != 128, v.EphemeralStorage != 512,
		!slices.Equal(v.Architectures, []string{"x86_64"}), v.TracingMode != "PassThrough",
		v.LogFormat != "Text", v.LogGroup != "/aws/lambda/hello", v.PackageType != "Zip",
		v.State != "Active", v.LastUpdateStatus != "Successful",
		v.CodeSha256 != sha(zip), v.CodeSize != int64(len(zip)), v.CodeKey == "",
		!v.LastModified.Equal(e.clock.Now()), v.Environment["K1"] != "v":
		t.Fatalf("created %+v", v)
	}
	if _, err := uuid.Parse(v.RevisionID); err != nil {
		t.Errorf("RevisionID %q is not a UUID", v.RevisionID)
	}
	if f.Tags["team"] != "core" {
		t.Errorf("tags = %v", f.Tags)
	}

	for _, q := range []string{"", Latest} {
		g, err := e.svc.Get(e.ctx, "hello", q)
		if err != nil {
			t.Fatalf("Get(%q): %v", q, err)
		}
		if g.RevisionID != v.RevisionID || g.CodeSha256 != v.CodeSha256 || g.Tags["team"] != "core" || g.ReservedConcurrency != nil {
			t.Errorf("Get(%q) = %+v", q, g)
		}
	}
	rc, cv, err := e.svc.Code(e.ctx, "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != string(zip) || cv.Version != Latest {
		t.Errorf("Code returned %d bytes for %s", len(got), cv.Version)
	}

	_, err = e.svc.Create(e.ctx, CreateInput{FunctionName: "hello", Config: Config{Runtime: "python3.12", Handler: "a.b", Role: testRole}, ZipFile: zip})
	wantFault(t, err, fault.Conflict, "Function already exist: hello")

	_, err = e.svc.Get(e.ctx, "nope", "")
	wantFault(t, err, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope")
	_, err = e.svc.Get(e.ctx, "hello", "7")
	wantFault(t, err, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:hello:7")
	_, err = e.svc.Get(e.ctx, "hello", "nosuchalias")
	wantFault(t, err, fault.NotFound, "function:hello:nosuchalias")
	_, err = e.svc.Get(e.ctx, "hello", "bad qualifier")
	wantFault(t, err, fault.Invalid, "at 'qualifier'")
	_, err = e.svc.Get(e.ctx, "bad name", "")
	wantFault(t, err, fault.Invalid, "at 'functionName'")

	// Create accepts an ARN.
	f2 := e.create(t, "arn:aws:lambda:us-east-1:000000000000:function:by-arn")
	if f2.FunctionName != "by-arn" {
		t.Errorf("created from ARN: %q", f2.FunctionName)
	}
}

func TestCreateRegionInMessages(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Region, o.AccountID = "eu-west-1", "123456789012" })
	_, err := e.svc.Get(e.ctx, "nope", "")
	wantFault(t, err, fault.NotFound, "Function not found: arn:aws:lambda:eu-west-1:123456789012:function:nope")
}

func TestCreateRejectsAndStoresNothing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Limits.MaxZipSize = 4096 })
	good := Config{Runtime: "python3.12", Handler: "app.handler", Role: testRole}
	tests := []struct {
		name string
		in   CreateInput
		kind fault.Kind
		msg  string
	}{
		{"bad name", CreateInput{FunctionName: "bad name", Config: good, ZipFile: pyZip(t, "x")}, fault.Invalid, "at 'functionName'"},
		{"long name", CreateInput{FunctionName: strings.Repeat("n", 65), Config: good, ZipFile: pyZip(t, "x")}, fault.Invalid, "at 'functionName'"},
		{"qualified name", CreateInput{FunctionName: "f:1", Config: good, ZipFile: pyZip(t, "x")}, fault.Invalid, "at 'functionName'"},
		{"runtime", CreateInput{FunctionName: "f", Config: Config{Runtime: "ruby3.3", Handler: "a.b", Role: testRole}, ZipFile: pyZip(t, "x")}, fault.Invalid, "The runtime parameter of ruby3.3 is not supported"},
		{"handler", CreateInput{FunctionName: "f", Config: Config{Runtime: "nodejs22.x", Role: testRole}, ZipFile: pyZip(t, "x")}, fault.Invalid, "Runtime and Handler are mandatory"},
		{"role", CreateInput{FunctionName: "f", Config: Config{Runtime: "python3.12", Handler: "a.b", Role: "admin"}, ZipFile: pyZip(t, "x")}, fault.Invalid, "at 'role'"},
		{"timeout", CreateInput{FunctionName: "f", Config: Config{Runtime: "python3.12", Handler: "a.b", Role: testRole, Timeout: 901}, ZipFile: pyZip(t, "x")}, fault.Invalid, "at 'timeout'"},
		{"env", CreateInput{FunctionName: "f", Config: Config{Runtime: "python3.12", Handler: "a.b", Role: testRole, Environment: map[string]string{"AWS_SESSION_TOKEN": "x"}}, ZipFile: pyZip(t, "x")}, fault.Invalid, "reserved keys"},
		{"tags", CreateInput{FunctionName: "f", Config: good, ZipFile: pyZip(t, "x"), Tags: map[string]string{"aws:x": "y"}}, fault.Invalid, "aws:"},
		{"no code", CreateInput{FunctionName: "f", Config: good}, fault.Invalid, "Please provide a source for function code."},
		{"not a zip", CreateInput{FunctionName: "f", Config: good, ZipFile: []byte("hello")}, fault.Invalid, "Could not unzip uploaded file."},
		{"zip slip", CreateInput{FunctionName: "f", Config: good, ZipFile: buildZip(t, zf{name: "../x", body: "x"})}, fault.Invalid, "escapes the package root"},
		{"too large", CreateInput{FunctionName: "f", Config: good, ZipFile: make([]byte, 4097)}, fault.TooLarge, "Zipped size must be smaller than 4096 bytes"},
		{"no bootstrap", CreateInput{FunctionName: "f", Config: Config{Runtime: "provided.al2023", Role: testRole}, ZipFile: pyZip(t, "x")}, fault.Invalid, "bootstrap"},
	}
	for _, tt := range tests {
		_, err := e.svc.Create(e.ctx, tt.in)
		if err == nil {
			t.Errorf("%s: Create succeeded", tt.name)
			continue
		}
		if !fault.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: err = %v (%v), want %v containing %q", tt.name, err, fault.KindOf(err), tt.kind, tt.msg)
		}
	}
	fs, _, err := e.svc.List(e.ctx, Page{}, false)
	if err != nil || len(fs) != 0 {
		t.Errorf("List after rejected creates = %v, %v", versionsOf(fs), err)
	}
	if objs, _ := e.svc.code.List(e.ctx, ""); len(objs) != 0 {
		t.Errorf("code objects after rejected creates: %v", objs)
	}
	// A provided function with layers may get its bootstrap from a layer.
	layered := CreateInput{FunctionName: "layered", Config: Config{Runtime: "provided.al2023", Role: testRole,
		Layers: []string{"arn:aws:lambda:us-east-1:123456789012:layer:rt:3"}}, ZipFile: pyZip(t, "x")}
	if _, err := e.svc.Create(e.ctx, layered); err != nil {
		t.Errorf("provided with a layer: %v", err)
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	names := []string{"g", "a", "e", "c", "b", "f", "d"}
	for _, n := range names {
		e.create(t, n)
	}
	// Versions for a and c.
	for _, n := range []string{"a", "c"} {
		if _, err := e.svc.PublishVersion(e.ctx, n, PublishInput{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateConfig(e.ctx, n, UpdateConfigInput{Description: ptr("v2")}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.PublishVersion(e.ctx, n, PublishInput{}); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(all bool, size int) ([]string, int) {
		var got []string
		pages := 0
		marker := ""
		for {
			vs, next, err := e.svc.List(e.ctx, Page{Marker: marker, MaxItems: size}, all)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(vs) > size {
				t.Fatalf("page of %d items, MaxItems %d", len(vs), size)
			}
			got = append(got, versionsOf(vs)...)
			if next == "" {
				return got, pages
			}
			marker = next
			if pages > 100 {
				t.Fatal("paging does not end")
			}
		}
	}
	got, pages := collect(false, 3)
	want := []string{"a:$LATEST", "b:$LATEST", "c:$LATEST", "d:$LATEST", "e:$LATEST", "f:$LATEST", "g:$LATEST"}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("List by 3 = %v in %d pages", got, pages)
	}
	got, _ = collect(true, 2)
	want = []string{"a:$LATEST", "a:1", "a:2", "b:$LATEST", "c:$LATEST", "c:1", "c:2", "d:$LATEST", "e:$LATEST", "f:$LATEST", "g:$LATEST"}
	if !slices.Equal(got, want) {
		t.Errorf("List all versions by 2 = %v", got)
	}
	all, next, err := e.svc.List(e.ctx, Page{}, false)
	if err != nil || len(all) != 7 || next != "" {
		t.Errorf("List default = %d items, %q, %v", len(all), next, err)
	}
	_, _, err = e.svc.List(e.ctx, Page{MaxItems: 10001}, false)
	wantFault(t, err, fault.Invalid, "maxItems")
	_, _, err = e.svc.List(e.ctx, Page{MaxItems: -1}, false)
	wantFault(t, err, fault.Invalid, "maxItems")
	_, _, err = e.svc.List(e.ctx, Page{Marker: "%%%"}, false)
	wantFault(t, err, fault.Invalid, "marker")
}

func ptr[T any](v T) *T { return &v }

func TestUpdateCode(t *testing.T) {
	e := newEnv(t)
	f := e.create(t, "fn")
	e.clock.Advance(time.Minute)
	zip2 := pyZip(t, "two")

	_, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: zip2, RevisionID: "stale"})
	wantFault(t, err, fault.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")

	dry, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: zip2, DryRun: true})
	if err != nil || dry.CodeSha256 != sha(zip2) {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if g, _ := e.svc.Get(e.ctx, "fn", ""); g.CodeSha256 != f.CodeSha256 || g.RevisionID != f.RevisionID {
		t.Fatalf("dry run changed the function")
	}

	v, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: zip2, RevisionID: f.RevisionID, Architectures: []string{"arm64"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.CodeSha256 != sha(zip2) || v.CodeSize != int64(len(zip2)) || v.RevisionID == f.RevisionID ||
		!v.LastModified.Equal(e.clock.Now()) || v.Architectures[0] != "arm64" || v.Version != Latest {
		t.Errorf("after UpdateCode: %+v", v)
	}
	if objs := e.codeObjects(t, "fn"); len(objs) != 1 || objs[0] != v.CodeKey {
		t.Errorf("code objects = %v, want only %s", objs, v.CodeKey)
	}
	rc, _, err := e.svc.Code(e.ctx, "fn", "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != string(zip2) {
		t.Error("Code does not return the new package")
	}

	pv, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: pyZip(t, "three"), Publish: true})
	if err != nil || pv.Version != "1" || pv.CodeSha256 != sha(pyZip(t, "three")) {
		t.Fatalf("UpdateCode with Publish = %+v, %v", pv, err)
	}
	// Going back to the published code reuses its object.
	if _, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: zip2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: pyZip(t, "three")}); err != nil {
		t.Fatal(err)
	}
	latest, _ := e.svc.Get(e.ctx, "fn", "")
	if latest.CodeKey != pv.CodeKey {
		t.Errorf("same code as version 1 stored again: %s vs %s", latest.CodeKey, pv.CodeKey)
	}
	if objs := e.codeObjects(t, "fn"); len(objs) != 1 {
		t.Errorf("code objects = %v, want 1", objs)
	}

	_, err = e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: []byte("junk")})
	wantFault(t, err, fault.Invalid, "Could not unzip")
	_, err = e.svc.UpdateCode(e.ctx, "nope", UpdateCodeInput{ZipFile: zip2})
	wantFault(t, err, fault.NotFound, "function:nope")
	_, err = e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: zip2, Architectures: []string{"sparc"}})
	wantFault(t, err, fault.Invalid, "architectures")
}

func TestUpdateConfig(t *testing.T) {
	e := newEnv(t)
	f := e.create(t, "fn", func(in *CreateInput) { in.Environment = map[string]string{"A1": "1"}; in.Description = "first" })
	e.clock.Advance(time.Hour)

	_, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(10), RevisionID: "nope"})
	wantFault(t, err, fault.PreconditionFailed, "Revision Id")

	v, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{
		Timeout:     ptr(60),
		MemorySize:  ptr(512),
		Environment: &map[string]string{"B2": "2"},
		LogFormat:   ptr("JSON"),
		RevisionID:  f.RevisionID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if v.Timeout != 60 || v.MemorySize != 512 || v.Environment["B2"] != "2" || v.Environment["A1"] != "" ||
		v.Description != "first" || v.Handler != "app.handler" || v.CodeSha256 != f.CodeSha256 ||
		v.LogFormat != "JSON" || v.ApplicationLogLevel != "INFO" || v.RevisionID == f.RevisionID ||
		!v.LastModified.Equal(e.clock.Now()) {
		t.Errorf("after UpdateConfig: %+v", v)
	}

	_, err = e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(0)})
	wantFault(t, err, fault.Invalid, "at 'timeout'")
	_, err = e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Environment: &map[string]string{"AWS_REGION": "x"}})
	wantFault(t, err, fault.Invalid, "reserved keys")
	// A python package has no bootstrap: it cannot become a provided function.
	_, err = e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Runtime: ptr("provided.al2023")})
	wantFault(t, err, fault.Invalid, "bootstrap")
	g, _ := e.svc.Get(e.ctx, "fn", "")
	if g.RevisionID != v.RevisionID || g.Runtime != "python3.12" {
		t.Errorf("rejected updates changed the function: %+v", g)
	}

	// Back to Text drops the JSON-only levels; clearing the environment.
	v2, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{LogFormat: ptr("Text"), Environment: &map[string]string{}})
	if err != nil || v2.ApplicationLogLevel != "" || len(v2.Environment) != 0 {
		t.Errorf("back to Text: %+v, %v", v2, err)
	}

	// A provided function whose package has a bootstrap.
	e.create(t, "native", func(in *CreateInput) {
		in.Runtime, in.Handler = "provided.al2023", ""
		in.ZipFile = buildZip(t, zf{name: "bootstrap", body: "x", mode: 0o755}, zf{name: "main", body: "y", mode: 0o755})
	})
	if _, err := e.svc.UpdateConfig(e.ctx, "native", UpdateConfigInput{Runtime: ptr("go1.x"), Handler: ptr("main")}); err != nil {
		t.Errorf("provided -> go1.x with main: %v", err)
	}
	_, err = e.svc.UpdateConfig(e.ctx, "native", UpdateConfigInput{Handler: ptr("other")})
	wantFault(t, err, fault.Invalid, `"other"`)
}

func TestPublishVersions(t *testing.T) {
	e := newEnv(t)
	f := e.create(t, "fn")
	e.clock.Advance(time.Minute)

	v1, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{Description: "first release", RevisionID: f.RevisionID})
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != "1" || v1.Description != "first release" || v1.CodeSha256 != f.CodeSha256 || v1.RevisionID == f.RevisionID {
		t.Errorf("v1 = %+v", v1)
	}
	again, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{Description: "ignored"})
	if err != nil || again.Version != "1" || again.RevisionID != v1.RevisionID {
		t.Errorf("publishing unchanged $LATEST = %+v, %v; want version 1 again", again, err)
	}
	_, err = e.svc.PublishVersion(e.ctx, "fn", PublishInput{RevisionID: f.RevisionID})
	wantFault(t, err, fault.PreconditionFailed, "Revision Id") // publishing renewed $LATEST's revision
	_, err = e.svc.PublishVersion(e.ctx, "fn", PublishInput{CodeSha256: "abc"})
	wantFault(t, err, fault.Invalid, "CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST")

	if _, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(30), Description: ptr("latest desc")}); err != nil {
		t.Fatal(err)
	}
	v2, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{CodeSha256: f.CodeSha256})
	if err != nil || v2.Version != "2" || v2.Timeout != 30 || v2.Description != "latest desc" {
		t.Fatalf("v2 = %+v, %v", v2, err)
	}
	// Versions are immutable.
	if _, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(45)}); err != nil {
		t.Fatal(err)
	}
	g1, err := e.svc.Get(e.ctx, "fn", "1")
	if err != nil || g1.Timeout != 3 || g1.Version.Version != "1" || g1.Description != "first release" {
		t.Errorf("Get version 1 = %+v, %v", g1, err)
	}

	vs, next, err := e.svc.ListVersions(e.ctx, "fn", Page{})
	if err != nil || next != "" || !slices.Equal(versionsOf(vs), []string{"fn:$LATEST", "fn:1", "fn:2"}) {
		t.Errorf("ListVersions = %v, %q, %v", versionsOf(vs), next, err)
	}
	var paged []string
	marker := ""
	for range 10 {
		vs, next, err := e.svc.ListVersions(e.ctx, "fn", Page{MaxItems: 1, Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, versionsOf(vs)...)
		if next == "" {
			break
		}
		marker = next
	}
	if !slices.Equal(paged, []string{"fn:$LATEST", "fn:1", "fn:2"}) {
		t.Errorf("ListVersions paged = %v", paged)
	}

	// Numbers are not reused after a delete.
	if err := e.svc.Delete(e.ctx, "fn", "2"); err != nil {
		t.Fatal(err)
	}
	v3, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
	if err != nil || v3.Version != "3" {
		t.Errorf("after deleting 2, published %+v, %v", v3, err)
	}

	created := e.create(t, "pub", func(in *CreateInput) { in.Publish = true })
	if created.Version.Version != "1" {
		t.Errorf("Create with Publish returned version %q", created.Version.Version)
	}
	if vs, _, _ := e.svc.ListVersions(e.ctx, "pub", Page{}); len(vs) != 2 {
		t.Errorf("Create with Publish: versions %v", versionsOf(vs))
	}
	_, _, err = e.svc.ListVersions(e.ctx, "nope", Page{})
	wantFault(t, err, fault.NotFound, "function:nope")
}

func TestAliases(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	publish := func() Version {
		t.Helper()
		if _, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Description: ptr(uuid.NewString())}); err != nil {
			t.Fatal(err)
		}
		v, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v1, v2 := publish(), publish()

	live, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1", Description: "prod traffic",
		AdditionalVersionWeights: map[string]float64{"2": 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if live.FunctionName != "fn" || live.FunctionVersion != "1" || live.AdditionalVersionWeights["2"] != 0.25 || live.RevisionID == "" {
		t.Errorf("alias = %+v", live)
	}
	g, err := e.svc.Get(e.ctx, "fn", "live")
	if err != nil || g.Version.Version != "1" || g.RevisionID != v1.RevisionID {
		t.Errorf("Get via alias = %+v, %v", g.Version, err)
	}

	_, err = e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "2"})
	wantFault(t, err, fault.Conflict, "Alias already exists: arn:aws:lambda:us-east-1:000000000000:function:fn:live")
	for _, tc := range []struct {
		a    Alias
		kind fault.Kind
		msg  string
	}{
		{Alias{Name: "123", FunctionVersion: "1"}, fault.Invalid, "at 'name'"},
		{Alias{Name: "x", FunctionVersion: "prod"}, fault.Invalid, "at 'functionVersion'"},
		{Alias{Name: "x", FunctionVersion: "9"}, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:9"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 0.1, "3": 0.1}}, fault.Invalid, "cannot be greater than 1"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 1.01}}, fault.Invalid, "routingConfig.additionalVersionWeights"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": -0.1}}, fault.Invalid, "routingConfig.additionalVersionWeights"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"1": 0.5}}, fault.Invalid, "already included in routing configuration"},
		{Alias{Name: "x", FunctionVersion: Latest, AdditionalVersionWeights: map[string]float64{"1": 0.5}}, fault.Invalid, "$LATEST is not supported for an alias pointing to more than 1 version"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{Latest: 0.5}}, fault.Invalid, "Map keys must satisfy constraint"},
		{Alias{Name: "x", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"7": 0.5}}, fault.NotFound, "function:fn:7"},
	} {
		_, err := e.svc.CreateAlias(e.ctx, "fn", tc.a)
		wantFault(t, err, tc.kind, tc.msg)
	}
	// The whole range [0, 1] is accepted, as AWS.
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "all-in", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 1}}); err != nil {
		t.Errorf("weight 1: %v", err)
	}
	if err := e.svc.DeleteAlias(e.ctx, "fn", "all-in"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateAlias(e.ctx, "nope", Alias{Name: "x", FunctionVersion: "1"})
	wantFault(t, err, fault.NotFound, "function:nope")

	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "dev", FunctionVersion: Latest}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "beta", FunctionVersion: "2"}); err != nil {
		t.Fatal(err)
	}
	if g, err := e.svc.Get(e.ctx, "fn", "dev"); err != nil || g.Version.Version != Latest {
		t.Errorf("Get via dev = %v, %v", g.Version.Version, err)
	}

	_, err = e.svc.UpdateAlias(e.ctx, "fn", "live", AliasUpdate{FunctionVersion: ptr("2"), RevisionID: "stale"})
	wantFault(t, err, fault.PreconditionFailed, "Revision Id")
	// Moving live to 2 while 2 still has weight: rejected.
	_, err = e.svc.UpdateAlias(e.ctx, "fn", "live", AliasUpdate{FunctionVersion: ptr("2")})
	wantFault(t, err, fault.Invalid, "already included")
	up, err := e.svc.UpdateAlias(e.ctx, "fn", "live", AliasUpdate{FunctionVersion: ptr("2"), AdditionalVersionWeights: &map[string]float64{}, RevisionID: live.RevisionID})
	if err != nil || up.FunctionVersion != "2" || len(up.AdditionalVersionWeights) != 0 || up.Description != "prod traffic" || up.RevisionID == live.RevisionID {
		t.Errorf("UpdateAlias = %+v, %v", up, err)
	}
	_, err = e.svc.UpdateAlias(e.ctx, "fn", "missing", AliasUpdate{Description: ptr("x")})
	wantFault(t, err, fault.NotFound, "Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:fn:missing")
	_, err = e.svc.GetAlias(e.ctx, "fn", "missing")
	wantFault(t, err, fault.NotFound, "Cannot find alias arn:")

	as, next, err := e.svc.ListAliases(e.ctx, "fn", "", Page{})
	if err != nil || next != "" || len(as) != 3 || as[0].Name != "beta" || as[1].Name != "dev" || as[2].Name != "live" {
		t.Errorf("ListAliases = %+v, %q, %v", as, next, err)
	}
	as, _, _ = e.svc.ListAliases(e.ctx, "fn", "2", Page{})
	if len(as) != 2 || as[0].Name != "beta" || as[1].Name != "live" {
		t.Errorf("ListAliases for version 2 = %+v", as)
	}
	as, next, _ = e.svc.ListAliases(e.ctx, "fn", "", Page{MaxItems: 2})
	as2, next2, _ := e.svc.ListAliases(e.ctx, "fn", "", Page{MaxItems: 2, Marker: next})
	if len(as) != 2 || next == "" || len(as2) != 1 || as2[0].Name != "live" || next2 != "" {
		t.Errorf("ListAliases paged: %v %q %v %q", as, next, as2, next2)
	}

	if err := e.svc.DeleteAlias(e.ctx, "fn", "beta"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteAlias(e.ctx, "fn", "beta"); err != nil {
		t.Errorf("deleting a missing alias: %v", err)
	}
	_, err = e.svc.GetAlias(e.ctx, "fn", "beta")
	wantFault(t, err, fault.NotFound, "Cannot find alias")
	if g, err := e.svc.Get(e.ctx, "fn", "live"); err != nil || g.RevisionID != v2.RevisionID {
		t.Errorf("Get via live after the update = %+v, %v", g.Version, err)
	}
}

func TestDeleteRules(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	var vs []Version
	for i := range 3 {
		if _, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: pyZip(t, fmt.Sprint("code", i))}); err != nil {
			t.Fatal(err)
		}
		v, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "canary", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 0.1}}); err != nil {
		t.Fatal(err)
	}

	wantFault(t, e.svc.Delete(e.ctx, "fn", Latest), fault.Invalid, "$LATEST version cannot be deleted without deleting the function.")
	wantFault(t, e.svc.Delete(e.ctx, "fn", "live"), fault.Invalid, "Deletion of aliases is not currently supported.")
	wantFault(t, e.svc.Delete(e.ctx, "fn", "1"), fault.Conflict, "Unable to delete version because the following aliases reference it: [canary, live]")
	wantFault(t, e.svc.Delete(e.ctx, "fn", "2"), fault.Conflict, "Unable to delete version because the following aliases reference it: [canary]")
	wantFault(t, e.svc.Delete(e.ctx, "fn", "bad!"), fault.Invalid, "at 'qualifier'")
	if err := e.svc.Delete(e.ctx, "fn", "99"); err != nil {
		t.Errorf("deleting a missing version: %v (AWS succeeds)", err)
	}
	wantFault(t, e.svc.Delete(e.ctx, "nope", ""), fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope")

	// $LATEST still shares version 3's package: move it on, so that the
	// package is referenced by version 3 alone.
	if _, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: pyZip(t, "code-latest")}); err != nil {
		t.Fatal(err)
	}
	before := e.codeObjects(t, "fn")
	if err := e.svc.Delete(e.ctx, "fn", "3"); err != nil {
		t.Fatal(err)
	}
	after := e.codeObjects(t, "fn")
	if slices.Contains(after, vs[2].CodeKey) || len(after) != len(before)-1 {
		t.Errorf("code objects %v -> %v; %s should be gone", before, after, vs[2].CodeKey)
	}
	if keys := e.versionKeys(t, "fn"); len(keys) != 2 {
		t.Errorf("version records after deleting 3: %v", keys)
	}
	_, err := e.svc.Get(e.ctx, "fn", "3")
	wantFault(t, err, fault.NotFound, "function:fn:3")

	// A function of another name sharing a prefix is untouched.
	e.create(t, "fn2")
	if err := e.svc.Delete(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Get(e.ctx, "fn", "")
	wantFault(t, err, fault.NotFound, "function:fn")
	if objs := e.codeObjects(t, "fn"); len(objs) != 0 {
		t.Errorf("code objects left: %v", objs)
	}
	if keys := e.versionKeys(t, "fn"); len(keys) != 0 {
		t.Errorf("version records left: %v", keys)
	}
	if _, err := e.svc.Get(e.ctx, "fn2", ""); err != nil {
		t.Errorf("fn2 after deleting fn: %v", err)
	}
	// The name can be used again, from version 1.
	e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	if vs, _, _ := e.svc.ListVersions(e.ctx, "fn", Page{}); !slices.Equal(versionsOf(vs), []string{"fn:$LATEST", "fn:1"}) {
		t.Errorf("recreated fn versions = %v", versionsOf(vs))
	}
}

func TestReservedConcurrency(t *testing.T) {
	e := newEnv(t)
	e.create(t, "a")
	e.create(t, "b")
	if r, err := e.svc.GetConcurrency(e.ctx, "a"); err != nil || r != nil {
		t.Errorf("GetConcurrency unset = %v, %v", r, err)
	}
	if n, err := e.svc.PutConcurrency(e.ctx, "a", 900); err != nil || n != 900 {
		t.Fatalf("Put 900 = %d, %v", n, err)
	}
	_, err := e.svc.PutConcurrency(e.ctx, "b", 1)
	wantFault(t, err, fault.Invalid, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].")
	if _, err := e.svc.PutConcurrency(e.ctx, "a", 500); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutConcurrency(e.ctx, "b", 400); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.PutConcurrency(e.ctx, "b", 401)
	wantFault(t, err, fault.Invalid, "[100]")
	_, err = e.svc.PutConcurrency(e.ctx, "b", -1)
	wantFault(t, err, fault.Invalid, "reservedConcurrentExecutions")
	_, err = e.svc.PutConcurrency(e.ctx, "nope", 1)
	wantFault(t, err, fault.NotFound, "function:nope")
	if _, err := e.svc.PutConcurrency(e.ctx, "b", 0); err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.GetConcurrency(e.ctx, "b")
	if err != nil || r == nil || *r != 0 {
		t.Errorf("GetConcurrency b = %v, %v", r, err)
	}
	if f, _ := e.svc.Get(e.ctx, "a", ""); f.ReservedConcurrency == nil || *f.ReservedConcurrency != 500 {
		t.Errorf("Get a reserved = %v", f.ReservedConcurrency)
	}
	if err := e.svc.DeleteConcurrency(e.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteConcurrency(e.ctx, "a"); err != nil {
		t.Errorf("second DeleteConcurrency: %v", err)
	}
	if r, _ := e.svc.GetConcurrency(e.ctx, "a"); r != nil {
		t.Errorf("after delete: %v", *r)
	}
	if e.svc.Limits().AccountConcurrency != 1000 || e.svc.Limits().MaxZipSize != DefaultMaxZipSize {
		t.Errorf("Limits = %+v", e.svc.Limits())
	}
}

func TestReservedConcurrencyConfiguredAccount(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Limits.AccountConcurrency = 5000 })
	e.create(t, "a")
	if _, err := e.svc.PutConcurrency(e.ctx, "a", 4900); err != nil {
		t.Errorf("4900 of 5000: %v", err)
	}
	_, err := e.svc.PutConcurrency(e.ctx, "a", 4901)
	wantFault(t, err, fault.Invalid, "[100]")
}

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn", func(in *CreateInput) { in.Tags = map[string]string{"a": "1"} })
	if err := e.svc.Tag(e.ctx, "fn", map[string]string{"b": "2", "a": "one"}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.svc.Tags(e.ctx, "fn")
	if err != nil || len(tags) != 2 || tags["a"] != "one" || tags["b"] != "2" {
		t.Errorf("Tags = %v, %v", tags, err)
	}
	if err := e.svc.Untag(e.ctx, "fn", []string{"a", "zzz"}); err != nil {
		t.Fatal(err)
	}
	tags, _ = e.svc.Tags(e.ctx, "fn")
	if len(tags) != 1 || tags["b"] != "2" {
		t.Errorf("after Untag: %v", tags)
	}
	wantFault(t, e.svc.Tag(e.ctx, "fn", map[string]string{"aws:cloudformation:x": "y"}), fault.Invalid, "aws:")
	wantFault(t, e.svc.Tag(e.ctx, "nope", map[string]string{"a": "b"}), fault.NotFound, "function:nope")
	_, err = e.svc.Tags(e.ctx, "nope")
	wantFault(t, err, fault.NotFound, "function:nope")
}

func TestUsage(t *testing.T) {
	e := newEnv(t)
	a := e.create(t, "a")
	b := e.create(t, "b", func(in *CreateInput) { in.Publish = true }) // version 1 shares $LATEST's package
	u, err := e.svc.Usage(e.ctx)
	if err != nil || u.FunctionCount != 2 || u.TotalCodeSize != a.CodeSize+b.CodeSize {
		t.Errorf("Usage = %+v, %v; want 2 functions, %d bytes", u, err, a.CodeSize+b.CodeSize)
	}
}

// Concurrent writers to one function lose nothing: every tag and alias
// lands, concurrent publishes of an unchanged $LATEST yield one version, and
// interleaved config updates and publishes leave a consistent history.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, 8*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- e.svc.Tag(e.ctx, "fn", map[string]string{fmt.Sprintf("k%d", i): fmt.Sprint(i)})
		}()
		go func() {
			defer wg.Done()
			_, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: fmt.Sprintf("a%d", i), FunctionVersion: Latest})
			errs <- err
		}()
	}
	wg.Wait()
	published := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
			errs <- err
			published <- v.Version
		}()
	}
	wg.Wait()
	close(published)
	for v := range published {
		if v != "1" {
			t.Errorf("concurrent publish of unchanged $LATEST returned version %q, want 1", v)
		}
	}
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Description: ptr(fmt.Sprint("d", i))})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent call: %v", err)
		}
	}

	f, err := e.svc.Get(e.ctx, "fn", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if f.Tags[fmt.Sprintf("k%d", i)] != fmt.Sprint(i) {
			t.Errorf("tag k%d lost: %v", i, f.Tags)
		}
	}
	as, _, _ := e.svc.ListAliases(e.ctx, "fn", "", Page{})
	if len(as) != n {
		t.Errorf("%d aliases, want %d", len(as), n)
	}
	vs, _, err := e.svc.ListVersions(e.ctx, "fn", Page{})
	if err != nil {
		t.Fatal(err)
	}
	// Every listed version is readable and numbers ascend without gaps
	// (nothing was deleted); stored records match the list exactly.
	for i, v := range vs[1:] {
		if v.Version != strconv.Itoa(i+1) {
			t.Errorf("versions = %v", versionsOf(vs))
			break
		}
	}
	if keys := e.versionKeys(t, "fn"); len(keys) != len(vs)-1 {
		t.Errorf("%d version records for %d versions: %v", len(keys), len(vs)-1, keys)
	}
	if objs := e.codeObjects(t, "fn"); len(objs) != 1 {
		t.Errorf("code objects = %v", objs)
	}
}

// Leftovers of a crashed earlier function of the same name (records its
// document no longer references) are swept when the name is created again.
func TestCreateSweepsLeftovers(t *testing.T) {
	e := newEnv(t)
	e.svc.sweepGrace = 0
	if _, err := e.svc.code.Put(e.ctx, "fn/stale-object", strings.NewReader("old zip")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.versions.Put(e.ctx, "fn.1.stale", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.code.Put(e.ctx, "fnx/other", strings.NewReader("other function")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	f := e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	if objs := e.codeObjects(t, "fn"); len(objs) != 1 || objs[0] != f.CodeKey {
		t.Errorf("code objects after create = %v, want [%s]", objs, f.CodeKey)
	}
	if keys := e.versionKeys(t, "fn"); len(keys) != 1 || strings.Contains(keys[0], "stale") {
		t.Errorf("version records after create = %v", keys)
	}
	if objs := e.codeObjects(t, "fnx"); len(objs) != 1 {
		t.Errorf("another function's objects were swept: %v", objs)
	}
	if g, err := e.svc.Get(e.ctx, "fn", "1"); err != nil || g.CodeSha256 != f.CodeSha256 {
		t.Errorf("Get fn:1 = %+v, %v", g, err)
	}

	// With the default grace, young unreferenced records (maybe a writer's
	// in flight) are left alone.
	e.svc.sweepGrace = defaultSweepGrace
	if _, err := e.svc.code.Put(e.ctx, "young/inflight", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	e.create(t, "young")
	if objs := e.codeObjects(t, "young"); len(objs) != 2 {
		t.Errorf("young objects = %v, want the in-flight one kept", objs)
	}
}

// Reopening the store finds everything again.
func TestDurableAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	open := func() (*Service, store.Store) {
		st, err := store.Open(ctx, store.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(ctx, Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return svc, st
	}
	svc, st := open()
	f, err := svc.Create(ctx, CreateInput{FunctionName: "keep", Config: Config{Runtime: "python3.12", Handler: "a.b", Role: testRole}, ZipFile: pyZip(t, "k"), Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAlias(ctx, "keep", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	svc, st = open()
	defer st.Close()
	g, err := svc.Get(ctx, "keep", "live")
	if err != nil || g.CodeSha256 != f.CodeSha256 || g.Version.Version != "1" {
		t.Fatalf("after reopen: %+v, %v", g, err)
	}
	rc, _, err := svc.Code(ctx, "keep", "1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if sha(b) != f.CodeSha256 {
		t.Error("code changed across reopen")
	}
}
