package langboot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file runs the REAL embedded bootstraps with the REAL python3 and node
// against a small in-test Runtime API (fakeAPI). The fake is fine here: this
// is a unit test of what the bootstraps send, not of the platform's server.

const (
	pyRuntime   = "python3.13"
	nodeRuntime = "nodejs20.x"
	waitLimit   = 15 * time.Second
)

// ---------------------------------------------------------------- fake API

// event is one queued invocation.
type event struct {
	ID            string
	Payload       string
	Deadline      time.Time
	ARN           string
	Trace         string
	ClientContext string
	Cognito       string
}

// posted is one POST the runtime made.
type posted struct {
	Kind   string // "response", "error" or "init/error"
	ID     string
	Body   []byte
	Header http.Header
}

// fakeAPI is a Runtime API that hands out queued events and records posts. It
// flags protocol violations: a second concurrent /next, a /next while an
// invoke is still open, or a post for an id that is not the open invoke.
type fakeAPI struct {
	srv    *httptest.Server
	queue  chan event
	posts  chan posted
	nextCh chan time.Time // time of each /next arrival

	mu          sync.Mutex
	outstanding int
	open        string // id of the invoke handed out and not yet answered
	violations  []string
	conns       int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	f := &fakeAPI{
		queue:  make(chan event, 16),
		posts:  make(chan posted, 16),
		nextCh: make(chan time.Time, 16),
	}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.mu.Lock()
			f.conns++
			f.mu.Unlock()
		}
	}
	f.srv.Start()
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeAPI) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fakeAPI) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

var postPath = regexp.MustCompile(`^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$`)

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		f.mu.Lock()
		f.outstanding++
		if f.outstanding > 1 {
			f.violate("%d /next requests outstanding", f.outstanding)
		}
		if f.open != "" {
			f.violate("/next while invoke %s is open", f.open)
		}
		f.mu.Unlock()
		f.nextCh <- time.Now()
		var ev event
		select {
		case ev = <-f.queue:
		case <-r.Context().Done():
			f.mu.Lock()
			f.outstanding--
			f.mu.Unlock()
			return
		}
		f.mu.Lock()
		f.outstanding--
		f.open = ev.ID
		f.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", ev.ID)
		h.Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(ev.Deadline.UnixMilli()))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", ev.ARN)
		h.Set("Content-Type", "application/json")
		if ev.Trace != "" {
			h.Set("Lambda-Runtime-Trace-Id", ev.Trace)
		}
		if ev.ClientContext != "" {
			h.Set("Lambda-Runtime-Client-Context", ev.ClientContext)
		}
		if ev.Cognito != "" {
			h.Set("Lambda-Runtime-Cognito-Identity", ev.Cognito)
		}
		io.WriteString(w, ev.Payload)

	case r.Method == http.MethodPost && r.URL.Path == "/2018-06-01/runtime/init/error":
		body, _ := io.ReadAll(r.Body)
		f.posts <- posted{Kind: "init/error", Body: body, Header: r.Header.Clone()}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)

	case r.Method == http.MethodPost && postPath.MatchString(r.URL.Path):
		m := postPath.FindStringSubmatch(r.URL.Path)
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		if f.open != m[1] {
			f.violate("%s for %s while the open invoke is %q", m[2], m[1], f.open)
			f.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errorType":"InvalidRequestID","errorMessage":"Invalid request ID"}`)
			return
		}
		f.open = ""
		f.mu.Unlock()
		f.posts <- posted{Kind: m[2], ID: m[1], Body: body, Header: r.Header.Clone()}
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"OK"}`)

	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

func (f *fakeAPI) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Errorf("Runtime API protocol violation: %s", v)
	}
}

// ------------------------------------------------------------ processes

// lockedBuffer collects a child's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type proc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	exited         chan struct{}
	err            error
	started        time.Time
}

func (p *proc) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

func testdataDir(t *testing.T, sub string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", sub))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// start runs the bootstrap for runtime with code in taskRoot.
func start(t *testing.T, api *fakeAPI, runtime, taskRoot, handler string) *proc {
	t.Helper()
	argv, err := Command(runtime, t.TempDir())
	if err != nil {
		t.Fatalf("Command(%q): %v", runtime, err)
	}
	return startArgv(t, api, argv, runtime, taskRoot, handler, nil)
}

// startArgv runs argv as a bootstrap, as user cred when not nil.
func startArgv(t *testing.T, api *fakeAPI, argv []string, runtime, taskRoot, handler string, cred *syscall.Credential) *proc {
	t.Helper()
	p := &proc{exited: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	if cred != nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	p.cmd.Dir = taskRoot
	p.cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"AWS_LAMBDA_RUNTIME_API=" + api.addr(),
		"_HANDLER=" + handler,
		"LAMBDA_TASK_ROOT=" + taskRoot,
		"AWS_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=fn-test",
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/fn-test",
		"AWS_LAMBDA_LOG_STREAM_NAME=2024/01/31/[$LATEST]0123456789abcdef",
		"AWS_EXECUTION_ENV=AWS_Lambda_" + runtime,
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", argv, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// ---------------------------------------------------------------- cases

// want is one expected post.
type want struct {
	kind string // "response", "error", "init/error"
	// errType is the Lambda-Runtime-Function-Error-Type header ("" = none).
	errType string
	// body, when set, is the exact expected body (may use {root}, the task root).
	body string
	// contentType, when set, is the exact expected Content-Type.
	contentType string
	// check, when set, inspects the decoded JSON body.
	check func(t *testing.T, doc map[string]any)
}

type bootCase struct {
	name    string
	runtime string
	dir     string // under testdata
	handler string
	// events are queued before the process starts; nil means one default event.
	events []event
	want   []want
	// exit, when non-nil, is the exit code the process must end with after
	// the last post (an init failure, a crash).
	exit *int
	// logs, when set, inspects stdout and stderr once the posts arrived.
	logs func(t *testing.T, stdout, stderr string)
}

func intp(i int) *int { return &i }

// settleOutput waits (at most 2 s) until the process's captured output is
// not empty and has not grown for 100 ms.
func settleOutput(p *proc) {
	deadline := time.Now().Add(2 * time.Second)
	last, stable := -1, 0
	for time.Now().Before(deadline) {
		n := len(p.stdout.String()) + len(p.stderr.String())
		if n == last && n > 0 {
			if stable++; stable >= 2 {
				return
			}
		} else {
			stable = 0
		}
		last = n
		time.Sleep(50 * time.Millisecond)
	}
}

func defaultEvent(id string) event {
	return event{
		ID:       id,
		Payload:  `{"name":"lamina"}`,
		Deadline: time.Now().Add(60 * time.Second),
		ARN:      "arn:aws:lambda:us-east-1:000000000000:function:fn-test",
	}
}

func largeEvent(id string) event {
	ev := defaultEvent(id)
	ev.Payload = `{"data":"` + strings.Repeat("a", 300000-3) + `xyz"}`
	return ev
}

func runCase(t *testing.T, tc bootCase) {
	api := newFakeAPI(t)
	events := tc.events
	if events == nil {
		events = []event{defaultEvent("req-1")}
	}
	for _, ev := range events {
		api.queue <- ev
	}
	root := testdataDir(t, tc.dir)
	p := start(t, api, tc.runtime, root, tc.handler)

	for i, w := range tc.want {
		var got posted
		select {
		case got = <-api.posts:
		case <-p.exited:
			t.Fatalf("post %d: process exited (%v) before posting", i, p.err)
		case <-time.After(waitLimit):
			t.Fatalf("post %d: timed out", i)
		}
		if got.Kind != w.kind {
			t.Fatalf("post %d: kind %s %q, want %s", i, got.Kind, got.Body, w.kind)
		}
		if h := got.Header.Get("Lambda-Runtime-Function-Error-Type"); h != w.errType {
			t.Errorf("post %d: Lambda-Runtime-Function-Error-Type %q, want %q", i, h, w.errType)
		}
		if w.contentType != "" && got.Header.Get("Content-Type") != w.contentType {
			t.Errorf("post %d: Content-Type %q, want %q", i, got.Header.Get("Content-Type"), w.contentType)
		}
		if w.body != "" {
			if exp := strings.ReplaceAll(w.body, "{root}", root); string(got.Body) != exp {
				t.Errorf("post %d: body\n got %s\nwant %s", i, got.Body, exp)
			}
		}
		if w.check != nil {
			var doc map[string]any
			if err := json.Unmarshal(got.Body, &doc); err != nil {
				t.Fatalf("post %d: body %q is not a JSON object: %v", i, got.Body, err)
			}
			w.check(t, doc)
		}
	}
	if tc.exit != nil {
		select {
		case <-p.exited:
			if c := p.exitCode(); c != *tc.exit {
				t.Errorf("exit code %d (%v), want %d", c, p.err, *tc.exit)
			}
		case <-time.After(waitLimit):
			t.Errorf("process did not exit")
		}
	} else {
		// A healthy runtime asks for the next event after its last post.
		waitNexts(t, api, p, len(events)+1)
	}
	select {
	case extra := <-api.posts:
		t.Errorf("unexpected extra post %s %s", extra.Kind, extra.Body)
	default:
	}
	if tc.logs != nil {
		// The process wrote its output before its last request, but the
		// pipes are copied into the buffers by goroutines of their own:
		// wait until something arrived and nothing more comes.
		settleOutput(p)
		tc.logs(t, p.stdout.String(), p.stderr.String())
	}
	api.check(t)
}

// waitNexts waits until the runtime has made n /next requests in all.
func waitNexts(t *testing.T, api *fakeAPI, p *proc, n int) {
	t.Helper()
	deadline := time.After(waitLimit)
	for seen := 0; seen < n; seen++ {
		select {
		case <-api.nextCh:
		case <-p.exited:
			t.Fatalf("process exited (%v) after %d /next requests, want %d", p.err, seen, n)
		case <-deadline:
			t.Fatalf("%d /next requests, want %d", seen, n)
		}
	}
}

// errDoc checks a Python error document's fields other than stackTrace, and
// the stack trace with st.
func pyErr(errType, msg, reqID string, st func(t *testing.T, trace []string)) func(t *testing.T, doc map[string]any) {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		keys := make([]string, 0, len(doc))
		for k := range doc {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "errorMessage,errorType,requestId,stackTrace" {
			t.Errorf("error document keys %v", keys)
		}
		if doc["errorType"] != errType {
			t.Errorf("errorType %q, want %q", doc["errorType"], errType)
		}
		if m, _ := doc["errorMessage"].(string); m != msg && !(strings.HasSuffix(msg, "*") && strings.HasPrefix(m, strings.TrimSuffix(msg, "*"))) {
			t.Errorf("errorMessage %q, want %q", m, msg)
		}
		if doc["requestId"] != reqID {
			t.Errorf("requestId %q, want %q", doc["requestId"], reqID)
		}
		if st != nil {
			st(t, strSlice(t, doc["stackTrace"]))
		}
	}
}

// nodeErr checks a Node error document {"errorType","errorMessage","trace"}.
func nodeErr(errType, msg string, traceFirst string) func(t *testing.T, doc map[string]any) {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		if len(doc) != 3 {
			t.Errorf("error document has %d keys, want errorType, errorMessage, trace: %v", len(doc), doc)
		}
		if doc["errorType"] != errType {
			t.Errorf("errorType %q, want %q", doc["errorType"], errType)
		}
		if m, _ := doc["errorMessage"].(string); m != msg && !(strings.HasSuffix(msg, "*") && strings.HasPrefix(m, strings.TrimSuffix(msg, "*"))) {
			t.Errorf("errorMessage %q, want %q", m, msg)
		}
		trace := strSlice(t, doc["trace"])
		if traceFirst == "" {
			if len(trace) != 0 {
				t.Errorf("trace %q, want []", trace)
			}
			return
		}
		frames := 0
		for _, l := range trace {
			if strings.HasPrefix(l, "    at ") {
				frames++
			}
		}
		if len(trace) < 2 || trace[0] != traceFirst || frames == 0 {
			t.Errorf("trace %q, want %q then stack frames", trace, traceFirst)
		}
	}
}

func strSlice(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("%v (%T) is not an array", v, v)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			t.Fatalf("element %d %v is not a string", i, e)
		}
		out[i] = s
	}
	return out
}

func TestPythonBootstrap(t *testing.T) {
	requireInterpreter(t, pyRuntime)
	ctxEvent := defaultEvent("req-ctx")
	ctxEvent.Trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	ctxEvent.ClientContext = `{"client":{"installation_id":"inst-1","app_title":"t"},"custom":{"k":"v"},"env":{"platform":"x"}}`
	ctxEvent.Cognito = `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`
	ctxEvent.Deadline = time.Now().Add(30 * time.Second)
	plain := defaultEvent("req-2")

	cases := []bootCase{
		{
			name: "success returns a dict", handler: "app.handler",
			events: []event{defaultEvent("req-1"), plain},
			want: []want{
				{kind: "response", contentType: "application/json", body: `{"ok": true, "echo": "lamina", "n": 1, "unicode": "\u00e9"}`},
				{kind: "response", contentType: "application/json", body: `{"ok": true, "echo": "lamina", "n": 1, "unicode": "\u00e9"}`},
			},
		},
		{
			// AWS's python3.12 runtime (only) leaves non-ASCII unescaped.
			name: "python3.12 writes non-ASCII as is", runtime: "python3.12", handler: "app.handler",
			want: []want{{kind: "response", body: `{"ok": true, "echo": "lamina", "n": 1, "unicode": "é"}`}},
		},
		{
			name: "None posts null", handler: "app.nothing",
			want: []want{{kind: "response", body: `null`}},
		},
		{
			name: "exception", handler: "app.fail",
			want: []want{{kind: "error", errType: "ValueError", contentType: "application/json",
				body: `{"errorMessage": "boom", "errorType": "ValueError", "requestId": "req-1", "stackTrace": ["  File \"{root}/app.py\", line 22, in fail\n    raise ValueError(\"boom\")\n"]}`}},
			logs: func(t *testing.T, stdout, stderr string) {
				want := "[ERROR] ValueError: boom\nTraceback (most recent call last):\n  File \"" + testdataDir(t, "python") + "/app.py\", line 22, in fail\n    raise ValueError(\"boom\")\n"
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not contain %q", stderr, want)
				}
			},
		},
		{
			name: "exception in a nested call", handler: "app.deep_fail",
			want: []want{{kind: "error", errType: "KeyError", check: pyErr("KeyError", "'missing'", "req-1", func(t *testing.T, trace []string) {
				if len(trace) != 2 || !strings.Contains(trace[0], "in deep_fail") || !strings.Contains(trace[1], "in _inner\n    raise KeyError(\"missing\")") {
					t.Errorf("stackTrace %q", trace)
				}
			})}},
		},
		{
			name: "unserialisable result", handler: "app.unserialisable",
			want: []want{{kind: "error", errType: "Runtime.MarshalError",
				body: `{"errorMessage": "Unable to marshal response: Object of type set is not JSON serializable", "errorType": "Runtime.MarshalError", "requestId": "req-1", "stackTrace": []}`}},
		},
		{
			name: "decimals", handler: "app.numbers",
			want: []want{{kind: "response", body: `[1.5, 2, {"name": "lamina"}]`}},
		},
		{
			name: "bytes are posted raw", handler: "app.raw",
			want: []want{{kind: "response", contentType: "application/unknown", body: `raw bytes`}},
		},
		{
			name: "import error", handler: "nosuch.handler", exit: intp(1),
			want: []want{{kind: "init/error", errType: "Runtime.ImportModuleError",
				body: `{"errorMessage": "Unable to import module 'nosuch': No module named 'nosuch'", "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}`}},
			logs: func(t *testing.T, stdout, stderr string) {
				if !strings.Contains(stderr, "[ERROR] Runtime.ImportModuleError: Unable to import module 'nosuch': No module named 'nosuch'\n") {
					t.Errorf("stderr %q", stderr)
				}
			},
		},
		{
			name: "import error inside the module", handler: "importfail.handler", exit: intp(1),
			want: []want{{kind: "init/error", errType: "Runtime.ImportModuleError",
				body: `{"errorMessage": "Unable to import module 'importfail': No module named 'does_not_exist_xyz'", "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}`}},
		},
		{
			name: "missing handler", handler: "app.nope", exit: intp(1),
			want: []want{{kind: "init/error", errType: "Runtime.HandlerNotFound",
				body: `{"errorMessage": "Handler 'nope' missing on module 'app'", "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}`}},
		},
		{
			name: "syntax error", handler: "broken.handler", exit: intp(1),
			want: []want{{kind: "init/error", errType: "Runtime.UserCodeSyntaxError",
				check: pyErr("Runtime.UserCodeSyntaxError", "Syntax error in module 'broken': *", "", func(t *testing.T, trace []string) {
					root := testdataDir(t, "python")
					if len(trace) != 1 || !strings.HasPrefix(trace[0], "  File \""+root+"/broken.py\" Line 1\n    def handler(event, context)") {
						t.Errorf("stackTrace %q", trace)
					}
				})}},
		},
		{
			name: "malformed handler", handler: "app", exit: intp(1),
			want: []want{{kind: "init/error", errType: "Runtime.MalformedHandlerName",
				body: `{"errorMessage": "Bad handler 'app': not enough values to unpack (expected 2, got 1)", "errorType": "Runtime.MalformedHandlerName", "requestId": "", "stackTrace": []}`}},
		},
		{
			name: "exception at import", handler: "initfail.handler", exit: intp(1),
			want: []want{{kind: "init/error", errType: "RuntimeError", check: pyErr("RuntimeError", "init failed", "", func(t *testing.T, trace []string) {
				if len(trace) == 0 || !strings.Contains(trace[len(trace)-1], "initfail.py\", line 1, in <module>") {
					t.Errorf("stackTrace %q", trace)
				}
			})}},
		},
		{
			// Over 2 KB, net/http sends the event chunked.
			name: "large event", handler: "app.size", events: []event{largeEvent("req-1")},
			want: []want{{kind: "response", body: `{"len": 300000, "last": "xyz"}`}},
		},
		{
			name: "subdirectory handler", handler: "pkg/mod.handler",
			want: []want{{kind: "response", body: `{"module": "pkg.mod"}`}},
		},
		{
			name: "dotted module handler", handler: "pkg.mod.handler",
			want: []want{{kind: "response", body: `{"module": "pkg.mod"}`}},
		},
		{
			name: "context attributes", handler: "app.ctx",
			events: []event{ctxEvent, plain},
			want: []want{
				{kind: "response", body: `{"function_name": "fn-test", "function_version": "$LATEST", "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:fn-test", "memory_limit_in_mb": "256", "aws_request_id": "req-ctx", "log_group_name": "/aws/lambda/fn-test", "log_stream_name": "2024/01/31/[$LATEST]0123456789abcdef", "identity": ["id-1", "pool-1"], "client_context": {"custom": {"k": "v"}, "env": {"platform": "x"}, "installation_id": "inst-1"}, "trace_id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "remaining_ok": true, "cwd_is_task_root": true, "task_root_first": true}`},
				// The trace id is per invoke: gone when the next has none.
				{kind: "response", body: `{"function_name": "fn-test", "function_version": "$LATEST", "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:fn-test", "memory_limit_in_mb": "256", "aws_request_id": "req-2", "log_group_name": "/aws/lambda/fn-test", "log_stream_name": "2024/01/31/[$LATEST]0123456789abcdef", "identity": [null, null], "client_context": null, "trace_id": null, "remaining_ok": true, "cwd_is_task_root": true, "task_root_first": true}`},
			},
			logs: func(t *testing.T, stdout, stderr string) {
				if !regexp.MustCompile(`(?m)^\[INFO\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\treq-ctx\thello from req-ctx$`).MatchString(stdout) {
					t.Errorf("stdout %q lacks the AWS-formatted logging line", stdout)
				}
				if !strings.Contains(stdout, "printed line\n") {
					t.Errorf("stdout %q lacks the printed line", stdout)
				}
			},
		},
		{
			name: "remaining time", handler: "app.remaining",
			want: []want{{kind: "response", check: func(t *testing.T, doc map[string]any) {
				before, _ := doc["before"].(float64)
				after, _ := doc["after"].(float64)
				if before < 50000 || before > 60000 || before-after < 150 || before-after > 5000 {
					t.Errorf("remaining before %v after %v", before, after)
				}
			}}},
		},
	}
	for _, tc := range cases {
		if tc.runtime == "" {
			tc.runtime = pyRuntime
		}
		tc.dir = "python"
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, tc)
		})
	}
}

func TestNodeBootstrap(t *testing.T) {
	requireInterpreter(t, nodeRuntime)
	ctxEvent := defaultEvent("req-ctx")
	ctxEvent.Trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	ctxEvent.ClientContext = `{"client":{"installation_id":"inst-1"},"custom":{"k":"v"},"env":{"platform":"x"}}`
	ctxEvent.Cognito = `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`
	ctxEvent.Deadline = time.Now().Add(30 * time.Second)

	cases := []bootCase{
		{
			name: "CommonJS async", handler: "index.handler",
			events: []event{defaultEvent("req-1"), defaultEvent("req-2")},
			want: []want{
				{kind: "response", contentType: "application/json", body: `{"ok":true,"echo":"lamina","unicode":"é"}`},
				{kind: "response", contentType: "application/json", body: `{"ok":true,"echo":"lamina","unicode":"é"}`},
			},
			logs: func(t *testing.T, stdout, stderr string) {
				for _, id := range []string{"req-1", "req-2"} {
					re := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t` + id + `\tINFO\thello \{ a: 1 \}$`)
					if !re.MatchString(stdout) {
						t.Errorf("stdout %q lacks the AWS-prefixed console.log line for %s", stdout, id)
					}
				}
			},
		},
		{
			name: "undefined posts null", handler: "index.nothing",
			want: []want{{kind: "response", body: `null`}},
		},
		{
			name: "nested export", handler: "index.nested.deeper.handler",
			want: []want{{kind: "response", body: `"nested"`}},
		},
		{
			name: "sync return value", handler: "index.syncReturn",
			want: []want{{kind: "response", body: `{"sync":true,"name":"lamina"}`}},
		},
		{
			name: "legacy context.succeed", handler: "index.legacySucceed",
			want: []want{{kind: "response", body: `{"legacy":true}`}},
		},
		{
			name: "callback waits for the empty event loop", handler: "cb.handler",
			want: []want{{kind: "response", body: `{"cb":true,"name":"lamina","late":true}`}},
		},
		{
			name: "callback without waiting", handler: "cb.noWait",
			want: []want{{kind: "response", body: `{"cb":true,"late":false}`}},
		},
		{
			name: "callback that is never called", handler: "cb.neverCalls",
			want: []want{{kind: "response", body: `null`}},
		},
		{
			name: "callback error", handler: "cb.error",
			want: []want{{kind: "error", errType: "TypeError", check: nodeErr("TypeError", "bad input", "TypeError: bad input")}},
		},
		{
			name: "callback string error", handler: "cb.stringError",
			want: []want{{kind: "error", errType: "string", body: `{"errorType":"string","errorMessage":"plain string","trace":[]}`}},
		},
		{
			name: "ES module", handler: "esm.handler",
			want: []want{{kind: "response", body: `{"esm":true,"fileURL":true,"name":"lamina"}`}},
		},
		{
			name: "large event", handler: "index.size", events: []event{largeEvent("req-1")},
			want: []want{{kind: "response", body: `{"len":300000,"last":"xyz"}`}},
		},
		{
			name: "nested path", handler: "dir/sub.handler",
			want: []want{{kind: "response", body: `{"from":"dir/sub"}`}},
		},
		{
			name: "thrown error", handler: "index.fail",
			want: []want{{kind: "error", errType: "Error", contentType: "application/json", check: nodeErr("Error", "boom", "Error: boom")}},
			logs: func(t *testing.T, stdout, stderr string) {
				re := regexp.MustCompile(`(?m)^\S+Z\treq-1\tERROR\tInvoke Error \t\{"errorType":"Error","errorMessage":"boom","stack":\["Error: boom","    at `)
				if !re.MatchString(stdout) {
					t.Errorf("stdout %q lacks the Invoke Error line", stdout)
				}
			},
		},
		{
			name: "unserialisable result", handler: "index.circular",
			want: []want{{kind: "error", errType: "Runtime.JSONStringifyError",
				check: nodeErr("Runtime.JSONStringifyError", "Unable to stringify response body", "Runtime.JSONStringifyError: Unable to stringify response body")}},
		},
		{
			name: "unhandled rejection", handler: "index.rejectLater", exit: intp(128),
			want: []want{{kind: "error", errType: "Runtime.UnhandledPromiseRejection",
				check: nodeErr("Runtime.UnhandledPromiseRejection", "Error: late", "Runtime.UnhandledPromiseRejection: Error: late")}},
		},
		{
			name: "missing export", handler: "index.nope", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.HandlerNotFound",
				check: nodeErr("Runtime.HandlerNotFound", "index.nope is undefined or not exported", "Runtime.HandlerNotFound: index.nope is undefined or not exported")}},
		},
		{
			name: "export is not a function", handler: "index.notAFunction", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.HandlerNotFound",
				check: nodeErr("Runtime.HandlerNotFound", "index.notAFunction is not a function", "Runtime.HandlerNotFound: index.notAFunction is not a function")}},
		},
		{
			name: "missing module", handler: "nosuch.handler", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.ImportModuleError",
				check: nodeErr("Runtime.ImportModuleError", "Error: Cannot find module 'nosuch'*", "Runtime.ImportModuleError: Error: Cannot find module 'nosuch'")}},
		},
		{
			name: "missing dependency", handler: "importfail.handler", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.ImportModuleError",
				check: nodeErr("Runtime.ImportModuleError", "Error: Cannot find module 'does-not-exist-xyz'*", "Runtime.ImportModuleError: Error: Cannot find module 'does-not-exist-xyz'")}},
		},
		{
			name: "syntax error", handler: "broken.handler", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.UserCodeSyntaxError", check: func(t *testing.T, doc map[string]any) {
				if doc["errorType"] != "Runtime.UserCodeSyntaxError" {
					t.Errorf("errorType %q", doc["errorType"])
				}
				if m, _ := doc["errorMessage"].(string); !strings.HasPrefix(m, "SyntaxError: ") {
					t.Errorf("errorMessage %q", m)
				}
				if trace := strSlice(t, doc["trace"]); len(trace) == 0 || !strings.Contains(strings.Join(trace, "\n"), "broken.js") {
					t.Errorf("trace %q does not name broken.js", trace)
				}
			}}},
		},
		{
			name: "malformed handler", handler: "index", exit: intp(129),
			want: []want{{kind: "init/error", errType: "Runtime.MalformedHandlerName",
				check: nodeErr("Runtime.MalformedHandlerName", "Bad handler", "Runtime.MalformedHandlerName: Bad handler")}},
		},
		{
			name: "context", handler: "index.ctx",
			events: []event{ctxEvent, defaultEvent("req-2")},
			want: []want{
				{kind: "response", body: `{"functionName":"fn-test","functionVersion":"$LATEST","invokedFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:fn-test","memoryLimitInMB":"256","awsRequestId":"req-ctx","logGroupName":"/aws/lambda/fn-test","logStreamName":"2024/01/31/[$LATEST]0123456789abcdef","identity":{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"},"clientContext":{"client":{"installation_id":"inst-1"},"custom":{"k":"v"},"env":{"platform":"x"}},"traceId":"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1","remainingOk":true,"callbackWaitsForEmptyEventLoop":true,"hasDone":true}`},
				{kind: "response", body: `{"functionName":"fn-test","functionVersion":"$LATEST","invokedFunctionArn":"arn:aws:lambda:us-east-1:000000000000:function:fn-test","memoryLimitInMB":"256","awsRequestId":"req-2","logGroupName":"/aws/lambda/fn-test","logStreamName":"2024/01/31/[$LATEST]0123456789abcdef","remainingOk":true,"callbackWaitsForEmptyEventLoop":true,"hasDone":true}`},
			},
		},
		{
			name: "remaining time", handler: "index.remaining",
			want: []want{{kind: "response", check: func(t *testing.T, doc map[string]any) {
				before, _ := doc["before"].(float64)
				after, _ := doc["after"].(float64)
				if before < 50000 || before > 60000 || before-after < 150 || before-after > 5000 {
					t.Errorf("remaining before %v after %v", before, after)
				}
			}}},
		},
	}
	for _, tc := range cases {
		tc.runtime, tc.dir = nodeRuntime, "node"
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, tc)
		})
	}
}

// TestKeepAlive checks that a runtime serves several invocations over one
// connection.
func TestKeepAlive(t *testing.T) {
	for _, tc := range []struct{ runtime, dir, handler string }{
		{pyRuntime, "python", "app.handler"},
		{nodeRuntime, "node", "index.handler"},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			requireInterpreter(t, tc.runtime)
			t.Parallel()
			api := newFakeAPI(t)
			const n = 5
			for i := range n {
				api.queue <- defaultEvent(fmt.Sprintf("req-%d", i))
			}
			p := start(t, api, tc.runtime, testdataDir(t, tc.dir), tc.handler)
			for i := range n {
				select {
				case got := <-api.posts:
					if got.Kind != "response" || got.ID != fmt.Sprintf("req-%d", i) {
						t.Fatalf("post %d: %s %s %s", i, got.Kind, got.ID, got.Body)
					}
				case <-time.After(waitLimit):
					t.Fatalf("post %d: timed out", i)
				}
			}
			waitNexts(t, api, p, n+1)
			api.mu.Lock()
			conns := api.conns
			api.mu.Unlock()
			if conns != 1 {
				t.Errorf("%d connections for %d invocations, want 1", conns, n)
			}
			api.check(t)
		})
	}
}

// TestStartupTime measures the time from exec to the first /next, with the
// interpreter Command uses and, when it differs, the one CommandAllUsers uses.
func TestStartupTime(t *testing.T) {
	for _, tc := range []struct{ runtime, dir, handler string }{
		{pyRuntime, "python", "app.handler"},
		{nodeRuntime, "node", "index.handler"},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			requireInterpreter(t, tc.runtime)
			measure := func(in Interpreter, command func(string, string) ([]string, error)) {
				const runs = 5
				var times []time.Duration
				for range runs {
					argv, err := command(tc.runtime, t.TempDir())
					if err != nil {
						t.Fatal(err)
					}
					api := newFakeAPI(t)
					p := startArgv(t, api, argv, tc.runtime, testdataDir(t, tc.dir), tc.handler, nil)
					select {
					case at := <-api.nextCh:
						times = append(times, at.Sub(p.started))
					case <-p.exited:
						t.Fatalf("exited: %v", p.err)
					case <-time.After(waitLimit):
						t.Fatal("no /next")
					}
					p.cmd.Process.Kill()
					<-p.exited
				}
				sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
				t.Logf("%s on %s %s: start to first /next: median %v, min %v, max %v",
					tc.runtime, in.Path, in.Version, times[runs/2].Round(time.Millisecond),
					times[0].Round(time.Millisecond), times[runs-1].Round(time.Millisecond))
			}
			in, _ := Resolve(tc.runtime)
			measure(in, Command)
			if shared, err := ResolveAllUsers(tc.runtime); err == nil && shared.Path != in.Path {
				measure(shared, CommandAllUsers)
			}
		})
	}
}

// ------------------------------------------------------------- Command

func requireInterpreter(t *testing.T, runtime string) {
	t.Helper()
	if _, err := Resolve(runtime); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v", err)
		}
		t.Skipf("%v", err)
	}
}

func TestCommand(t *testing.T) {
	for _, tc := range []struct {
		runtime string
		lang    Language
		flags   []string
		ext     string
	}{
		{"python3.8", Python, []string{"-u", "-B"}, ".py"},
		{"python3.12", Python, []string{"-u", "-B"}, ".py"},
		{"python3.14", Python, []string{"-u", "-B"}, ".py"},
		{"nodejs18.x", Node, nil, ".cjs"},
		{"nodejs20.x", Node, nil, ".cjs"},
		{"nodejs24.x", Node, nil, ".cjs"},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			requireInterpreter(t, tc.runtime)
			if !Supported(tc.runtime) {
				t.Errorf("Supported(%q) = false", tc.runtime)
			}
			in, err := Resolve(tc.runtime)
			if err != nil {
				t.Fatal(err)
			}
			if in.Language != tc.lang || !filepath.IsAbs(in.Path) || in.Version == "" {
				t.Errorf("Resolve = %+v", in)
			}
			if strings.Contains(in.Path, "/shims/") {
				t.Errorf("interpreter %s is a version manager's shim", in.Path)
			}

			// Concurrent callers share one written file.
			workDir := t.TempDir()
			const n = 8
			argvs := make([][]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { argvs[i], errs[i] = Command(tc.runtime, workDir) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Command: %v", errs[i])
				}
				if strings.Join(argvs[i], " ") != strings.Join(argvs[0], " ") {
					t.Errorf("argv %q differs from %q", argvs[i], argvs[0])
				}
			}
			argv := argvs[0]
			wantLen := 2 + len(tc.flags)
			if len(argv) != wantLen || argv[0] != in.Path || strings.Join(argv[1:len(argv)-1], " ") != strings.Join(tc.flags, " ") {
				t.Errorf("argv %q, want %s %v <bootstrap>", argv, in.Path, tc.flags)
			}
			script := argv[len(argv)-1]
			if !strings.HasPrefix(script, workDir+string(filepath.Separator)) || filepath.Ext(script) != tc.ext {
				t.Errorf("bootstrap %s is not a %s file under %s", script, tc.ext, workDir)
			}
			fi, err := os.Stat(script)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o755 {
				t.Errorf("bootstrap mode %v, want 0755", fi.Mode().Perm())
			}
			di, err := os.Stat(filepath.Dir(script))
			if err != nil || di.Mode().Perm() != 0o755 {
				t.Errorf("bootstrap directory mode %v (%v), want 0755", di.Mode().Perm(), err)
			}
			data, err := os.ReadFile(script)
			if err != nil {
				t.Fatal(err)
			}
			want := pythonBootstrap
			if tc.lang == Node {
				want = nodeBootstrap
			}
			if !bytes.Equal(data, want) {
				t.Error("written bootstrap differs from the embedded one")
			}
			entries, _ := os.ReadDir(filepath.Dir(script))
			if len(entries) != 1 {
				t.Errorf("bootstrap directory holds %d entries, want 1 (no temporary files left)", len(entries))
			}
		})
	}
}

func TestCommandErrors(t *testing.T) {
	// Not parallel: it changes PATH.
	emptyDir := t.TempDir()
	brokenDir := t.TempDir()
	// A shim for an interpreter that is not installed, as pyenv's is.
	for _, name := range []string{"python3", "node"} {
		script := "#!/bin/sh\necho \"pyenv: " + name + ": command not found\" >&2\nexit 127\n"
		if err := os.WriteFile(filepath.Join(brokenDir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name, runtime, path string
		is                  error
		msg                 string
	}{
		{"unknown runtime", "java21", "", ErrUnsupportedRuntime, `langboot: unsupported runtime "java21": `},
		{"provided runtime", "provided.al2023", "", ErrUnsupportedRuntime, `langboot: unsupported runtime "provided.al2023": `},
		{"old python", "python2.7", "", ErrUnsupportedRuntime, `langboot: unsupported runtime "python2.7": `},
		{"old node", "nodejs16.x", "", ErrUnsupportedRuntime, `langboot: unsupported runtime "nodejs16.x": `},
		{"empty", "", "", ErrUnsupportedRuntime, `langboot: unsupported runtime "": `},
		{"python missing", "python3.12", emptyDir, ErrInterpreterMissing,
			`python3.12 functions need Python 3 on this Lamina node: "python3" was not found on PATH`},
		{"node missing", "nodejs22.x", emptyDir, ErrInterpreterMissing,
			`nodejs22.x functions need Node.js on this Lamina node: "node" was not found on PATH`},
		{"python shim without python", "python3.9", brokenDir, ErrInterpreterMissing,
			`python3.9 functions need Python 3 on this Lamina node: "python3" (` + brokenDir + `/python3) could not be run (exit status 127): pyenv: python3: command not found`},
		{"node shim without node", "nodejs18.x", brokenDir, ErrInterpreterMissing,
			`nodejs18.x functions need Node.js on this Lamina node: "node" (` + brokenDir + `/node) could not be run (exit status 127): pyenv: node: command not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path != "" {
				t.Setenv("PATH", tc.path)
			}
			workDir := t.TempDir()
			argv, err := Command(tc.runtime, workDir)
			if err == nil {
				t.Fatalf("Command(%q) = %q, want an error", tc.runtime, argv)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.msg) || (tc.is == ErrInterpreterMissing && got != tc.msg) {
				t.Errorf("error\n got %q\nwant %q", got, tc.msg)
			}
			if Supported(tc.runtime) != (tc.is == ErrInterpreterMissing) {
				t.Errorf("Supported(%q) = %v", tc.runtime, Supported(tc.runtime))
			}
			if entries, _ := os.ReadDir(workDir); len(entries) != 0 {
				t.Errorf("Command wrote %d entries into workDir despite failing", len(entries))
			}
		})
	}
}

func TestAllUsersCanRun(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	private := filepath.Join(dir, "private")
	os.WriteFile(open, nil, 0o755)
	os.WriteFile(private, nil, 0o700)
	os.Chmod(open, 0o755)
	os.Chmod(private, 0o700)
	closedDir := filepath.Join(dir, "closed")
	os.Mkdir(closedDir, 0o700)
	os.Chmod(closedDir, 0o700)
	inClosed := filepath.Join(closedDir, "exe")
	os.WriteFile(inClosed, nil, 0o755)
	os.Chmod(inClosed, 0o755)
	link := filepath.Join(dir, "link")
	os.Symlink(inClosed, link)

	// TempDir's ancestors may themselves be private (a 0700 $HOME): compare
	// against the directory's own answer.
	base := allUsersCanRun(open)
	for _, tc := range []struct {
		path string
		want bool
	}{
		{open, base},
		{private, false},
		{inClosed, false},
		{link, false},
		{filepath.Join(dir, "absent"), false},
	} {
		if got := allUsersCanRun(tc.path); got != tc.want {
			t.Errorf("allUsersCanRun(%s) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestResolveFakeInterpreters drives the interpreter search with shell
// scripts standing in for interpreters: they print what the probe asks for
// (the real executable and the version), as pyenv's shim does through the
// real python3.
func TestResolveFakeInterpreters(t *testing.T) {
	// Not parallel: it changes PATH.
	fake := func(dir, name, realPath, version string) {
		t.Helper()
		script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n%%s\\n' '%s' '%s'\n", realPath, version)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// private: under t.TempDir (0700), like pyenv under /root.
	private := t.TempDir()
	realPython := filepath.Join(private, "versions", "real-python3")
	os.MkdirAll(filepath.Dir(realPython), 0o755)
	fake(filepath.Dir(realPython), "real-python3", realPython, "3.99.1")
	fake(private, "python3", realPython, "3.99.1") // the "shim"
	fake(private, "node", filepath.Join(private, "node"), "99.0.0")
	// public: a directory every user can reach.
	public, err := os.MkdirTemp("", "langboot-public-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(public) })
	os.Chmod(public, 0o755)
	fake(public, "python3", filepath.Join(public, "python3"), "3.98.0")
	fake(public, "node", filepath.Join(public, "node"), "98.0.0")
	if allUsersCanRun(filepath.Join(private, "python3")) {
		t.Fatalf("%s should not be reachable by every user", private)
	}
	if !allUsersCanRun(filepath.Join(public, "python3")) {
		t.Skipf("%s is not reachable by every user on this machine", os.TempDir())
	}
	python2 := t.TempDir()
	fake(python2, "python3", filepath.Join(python2, "python3"), "2.7.18")

	t.Run("first on PATH, shim resolved", func(t *testing.T) {
		t.Setenv("PATH", private+string(filepath.ListSeparator)+public)
		in, err := Resolve("python3.12")
		if err != nil {
			t.Fatal(err)
		}
		if want := (Interpreter{Language: Python, Path: realPython, Version: "3.99.1"}); in != want {
			t.Errorf("Resolve = %+v, want %+v", in, want)
		}
		argv, err := Command("python3.12", t.TempDir())
		if err != nil || argv[0] != realPython {
			t.Errorf("Command = %q, %v", argv, err)
		}
	})
	t.Run("all users", func(t *testing.T) {
		t.Setenv("PATH", private+string(filepath.ListSeparator)+public)
		for _, tc := range []struct {
			runtime string
			want    Interpreter
		}{
			{"python3.12", Interpreter{Language: Python, Path: filepath.Join(public, "python3"), Version: "3.98.0", AllUsers: true}},
			{"nodejs22.x", Interpreter{Language: Node, Path: filepath.Join(public, "node"), Version: "98.0.0", AllUsers: true}},
		} {
			in, err := ResolveAllUsers(tc.runtime)
			if err != nil {
				t.Fatal(err)
			}
			if in != tc.want {
				t.Errorf("ResolveAllUsers(%s) = %+v, want %+v", tc.runtime, in, tc.want)
			}
			argv, err := CommandAllUsers(tc.runtime, t.TempDir())
			if err != nil || argv[0] != tc.want.Path {
				t.Errorf("CommandAllUsers(%s) = %q, %v", tc.runtime, argv, err)
			}
		}
	})
	t.Run("none for all users", func(t *testing.T) {
		t.Setenv("PATH", private)
		_, err := CommandAllUsers("python3.11", t.TempDir())
		want := `python3.11 functions need Python 3 on this Lamina node: no "python3" on PATH can be run by every user, as instances running as another user need (` + realPython + `: `
		if !errors.Is(err, ErrInterpreterMissing) || err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %v, want %q... wrapping ErrInterpreterMissing", err, want)
		}
	})
	t.Run("python 2", func(t *testing.T) {
		t.Setenv("PATH", python2)
		_, err := Command("python3.12", t.TempDir())
		want := `python3.12 functions need Python 3 on this Lamina node: "python3" (` + filepath.Join(python2, "python3") + `) is Python 2.7.18, not Python 3`
		if !errors.Is(err, ErrInterpreterMissing) || err == nil || err.Error() != want {
			t.Errorf("error %v, want %q wrapping ErrInterpreterMissing", err, want)
		}
	})
}

// TestRunAsNobody runs both bootstraps as nobody, as the runtime does when
// Lamina runs as root, with CommandAllUsers' interpreter and files.
func TestRunAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to nobody")
	}
	for _, tc := range []struct{ runtime, dir, handler, body string }{
		{pyRuntime, "python", "app.handler", `{"ok": true, "echo": "lamina", "n": 1, "unicode": "\u00e9"}`},
		{nodeRuntime, "node", "index.handler", `{"ok":true,"echo":"lamina","unicode":"é"}`},
	} {
		t.Run(tc.runtime, func(t *testing.T) {
			in, err := ResolveAllUsers(tc.runtime)
			if err != nil {
				t.Skip(err)
			}
			root := testdataDir(t, tc.dir)
			if !othersCanSearch(root) {
				t.Skipf("%s is not reachable by nobody", root)
			}
			workDir, err := os.MkdirTemp("", "langboot-nobody-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(workDir) })
			os.Chmod(workDir, 0o755)
			argv, err := CommandAllUsers(tc.runtime, workDir)
			if err != nil {
				t.Fatal(err)
			}
			api := newFakeAPI(t)
			api.queue <- defaultEvent("req-1")
			p := startArgv(t, api, argv, tc.runtime, root, tc.handler, &syscall.Credential{Uid: 65534, Gid: 65534})
			select {
			case got := <-api.posts:
				if got.Kind != "response" || string(got.Body) != tc.body {
					t.Errorf("post %s %s, want response %s", got.Kind, got.Body, tc.body)
				}
			case <-p.exited:
				t.Fatalf("exited: %v", p.err)
			case <-time.After(waitLimit):
				t.Fatal("timed out")
			}
			waitNexts(t, api, p, 2)
			t.Logf("%s as nobody on %s %s", tc.runtime, in.Path, in.Version)
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
			if err == nil && !regexp.MustCompile(`(?m)^Uid:\s+65534\s`).Match(status) {
				t.Errorf("bootstrap does not run as nobody:\n%s", status)
			}
			api.check(t)
		})
	}
}

// othersCanSearch reports whether every directory from / to dir is
// searchable by others.
func othersCanSearch(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}
