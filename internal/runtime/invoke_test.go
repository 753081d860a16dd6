package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestInvoke runs the aws-lambda-go test function (testdata/gofn) through
// the pool: one case per behaviour, each on its own function version.
func TestInvoke(t *testing.T) {
	t.Parallel()
	p, sink := newTestPool(t, Options{})

	tests := []struct {
		name    string
		env     map[string]string
		timeout time.Duration
		payload string
		check   func(t *testing.T, spec *Spec, res *Result)
	}{
		{
			name:    "success",
			payload: `{"hello":"world"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				if res.FunctionError != "" || string(res.Payload) != `{"hello":"world"}` {
					t.Fatalf("got %s %s", res.FunctionError, res.Payload)
				}
				if res.InitDuration <= 0 || res.Duration <= 0 {
					t.Errorf("cold start without durations: %+v", res)
				}
				if p.cg != nil && res.MaxMemoryUsedMB <= 0 {
					t.Errorf("MaxMemoryUsedMB = %d with a memory cgroup", res.MaxMemoryUsedMB)
				}
			},
		},
		{
			name:    "warm reuse",
			payload: `{"op":"pid"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				first := pidOf(t, res)
				again := invoke(t, p, spec, `{"op":"pid"}`)
				if pidOf(t, again) != first {
					t.Errorf("second invocation ran in pid %d, not the warm %d", pidOf(t, again), first)
				}
				if again.InitDuration != 0 {
					t.Errorf("warm invocation reports InitDuration %v", again.InitDuration)
				}
				if n := len(instancesOf(p, spec.Key)); n != 1 {
					t.Errorf("%d instances, want 1", n)
				}
			},
		},
		{
			name:    "error",
			payload: `{"op":"error","message":"boom"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				wantError(t, res, "errorString", "boom")
				pid := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`))
				if pidOf(t, invoke(t, p, spec, `{"op":"pid"}`)) != pid {
					t.Error("the instance was not reused after a handled error")
				}
			},
		},
		{
			name:    "panic",
			payload: `{"op":"pid"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				pid := pidOf(t, res)
				res = invoke(t, p, spec, `{"op":"panic","message":"oops"}`)
				if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "oops") {
					t.Fatalf("panic: %s %s", res.FunctionError, res.Payload)
				}
				// aws-lambda-go exits after reporting a panic: replaced.
				if next := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`)); next == pid {
					t.Error("the instance that panicked was reused")
				}
			},
		},
		{
			name:    "os.Exit",
			payload: `{"op":"pid"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				pid := pidOf(t, res)
				inv := &Invocation{RequestID: newUUID(), Payload: []byte(`{"op":"exit","code":3}`)}
				res, err := p.Invoke(context.Background(), spec, inv)
				if err != nil {
					t.Fatal(err)
				}
				wantError(t, res, "Runtime.ExitError", "RequestId: "+inv.RequestID+" Error: Runtime exited with error: exit status 3")
				if next := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`)); next == pid {
					t.Error("the crashed instance was reused")
				}
				lines := strings.Join(sink.forRequest(inv.RequestID), "\n")
				if !strings.Contains(lines, "Runtime exited with error: exit status 3") || !strings.Contains(lines, "Error Type: Runtime.ExitError") {
					t.Errorf("crash not logged:\n%s", lines)
				}
			},
		},
		{
			name:    "timeout",
			timeout: time.Second,
			payload: `{"op":"grandchild","ms":30000}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				wantError(t, res, "Sandbox.Timedout", "Error: Task timed out after 1.00 seconds")
				if res.Duration < time.Second || res.Duration > 3*time.Second {
					t.Errorf("timed out after %v", res.Duration)
				}
				var grandchild int
				for _, l := range sink.all() {
					if n, err := fmt.Sscanf(l.Line, "grandchild pid %d", &grandchild); n == 1 && err == nil {
						break
					}
				}
				if grandchild == 0 {
					t.Fatal("the function did not log its grandchild")
				}
				eventually(t, 5*time.Second, "the grandchild to be killed", func() bool { return processGone(grandchild) })
				eventually(t, 5*time.Second, "the instance to go", func() bool { return len(instancesOf(p, spec.Key)) == 0 })
			},
		},
		{
			name:    "init exit",
			env:     map[string]string{"GOFN_INIT": "exit"},
			payload: `{}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				wantError(t, res, "Runtime.ExitError", "Runtime exited with error: exit status 2")
				if res.InitDuration <= 0 {
					t.Error("no InitDuration for a failed init")
				}
				// The next invocation tries a fresh instance.
				res = invoke(t, p, spec, `{}`)
				wantError(t, res, "Runtime.ExitError", "exit status 2")
			},
		},
		{
			name:    "init panic",
			env:     map[string]string{"GOFN_INIT": "panic"},
			payload: `{}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				wantError(t, res, "Runtime.ExitError", "Runtime exited with error: exit status 2")
			},
		},
		{
			name:    "oversize response",
			payload: `{"op":"big","bytes":7000000}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				wantError(t, res, "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).")
				// Just under the limit is fine.
				res = invoke(t, p, spec, `{"op":"big","bytes":6000000}`)
				if res.FunctionError != "" || len(res.Payload) != 6000000 {
					t.Errorf("6 MB response: %s, %d bytes", res.FunctionError, len(res.Payload))
				}
			},
		},
		{
			name:    "logs",
			payload: `{"op":"log","lines":6,"text":"line"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				// The request id of the first invocation is not known here:
				// run another with a known one.
				id := newUUID()
				res = invoke(t, p, spec, `{"op":"log","lines":6,"text":"hello"}`, func(inv *Invocation) {
					inv.RequestID = id
					inv.WantLogTail = true
				})
				lines := sink.forRequest(id)
				if len(lines) != 9 {
					t.Fatalf("%d lines for the request, want START + 6 + END + REPORT:\n%s", len(lines), strings.Join(lines, "\n"))
				}
				if lines[0] != "START RequestId: "+id+" Version: $LATEST" || lines[7] != "END RequestId: "+id {
					t.Errorf("START/END lines: %q %q", lines[0], lines[7])
				}
				seen := map[string]bool{}
				for _, l := range lines[1:7] {
					seen[l] = true
				}
				for i := range 6 {
					if !seen[fmt.Sprintf("hello %d", i)] {
						t.Errorf("line %d missing: %q", i, lines)
					}
				}
				report := regexp.MustCompile(`^REPORT RequestId: ` + id + `\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB$`)
				if !report.MatchString(lines[8]) {
					t.Errorf("REPORT line %q", lines[8])
				}
				if tail := string(res.LogTail); !strings.HasPrefix(tail, "START RequestId: "+id) || !strings.HasSuffix(tail, lines[8]+"\n") {
					t.Errorf("log tail %q", tail)
				}
				for _, l := range sink.all() {
					if l.RequestID == id && (l.FunctionName != spec.FunctionName || l.Version != "$LATEST" || !strings.Contains(l.Stream, "/[$LATEST]")) {
						t.Errorf("line metadata %+v", l)
					}
				}
			},
		},
		{
			name:    "log tail",
			payload: `{"op":"log","lines":500,"text":"a fairly long line of text to fill the tail"}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				res = invoke(t, p, spec, `{"op":"log","lines":500,"text":"a fairly long line of text to fill the tail"}`, func(inv *Invocation) { inv.WantLogTail = true })
				if len(res.LogTail) == 0 || len(res.LogTail) > 4096 {
					t.Fatalf("log tail of %d bytes", len(res.LogTail))
				}
				if !strings.Contains(string(res.LogTail), "\nREPORT RequestId: ") {
					t.Errorf("log tail does not end with REPORT: %q", res.LogTail)
				}
				if res2 := invoke(t, p, spec, `{}`); res2.LogTail != nil {
					t.Error("log tail without asking")
				}
			},
		},
		{
			name:    "context",
			payload: `{}`,
			check: func(t *testing.T, spec *Spec, res *Result) {
				id := newUUID()
				deadline := time.Now().Add(42 * time.Second)
				res = invoke(t, p, spec, `{"op":"env"}`, func(inv *Invocation) {
					inv.RequestID = id
					inv.Deadline = deadline
					inv.InvokedFunctionARN = "arn:aws:lambda:eu-west-1:123456789012:function:context:prod"
					inv.TraceID = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
					inv.ClientContext = `{"Client":{"installation_id":"inst","app_title":"app"},"custom":{"k":"v"},"env":{"e":"f"}}`
					inv.CognitoIdentity = `{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}`
				})
				var r struct {
					RequestID     string `json:"requestId"`
					InvokedArn    string `json:"invokedArn"`
					TraceID       string `json:"traceId"`
					DeadlineMs    int64  `json:"deadlineMs"`
					ClientContext struct {
						Client struct {
							InstallationID string `json:"installation_id"`
						}
						Custom map[string]string `json:"custom"`
					} `json:"clientContext"`
					Identity struct{ CognitoIdentityID, CognitoIdentityPoolID string } `json:"identity"`
				}
				if err := json.Unmarshal(res.Payload, &r); err != nil {
					t.Fatalf("%v: %s", err, res.Payload)
				}
				if r.RequestID != id || r.InvokedArn != "arn:aws:lambda:eu-west-1:123456789012:function:context:prod" ||
					r.TraceID != "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1" || r.DeadlineMs != deadline.UnixMilli() ||
					r.ClientContext.Client.InstallationID != "inst" || r.ClientContext.Custom["k"] != "v" ||
					r.Identity.CognitoIdentityID != "id-1" || r.Identity.CognitoIdentityPoolID != "pool-1" {
					t.Errorf("context as the function saw it: %+v", r)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := goSpec(t, strings.ReplaceAll(tc.name, " ", "-"), tc.env)
			if tc.timeout > 0 {
				spec.Timeout = tc.timeout
			}
			tc.check(t, spec, invoke(t, p, spec, tc.payload))
		})
	}
}

func wantError(t *testing.T, res *Result, errType, msg string) {
	t.Helper()
	if res.FunctionError != "Unhandled" || res.ErrorType != errType {
		t.Fatalf("got FunctionError %q ErrorType %q (%s), want Unhandled %s", res.FunctionError, res.ErrorType, res.Payload, errType)
	}
	var doc struct{ ErrorType, ErrorMessage string }
	if err := json.Unmarshal(res.Payload, &doc); err != nil {
		t.Fatalf("error document %s: %v", res.Payload, err)
	}
	if doc.ErrorType != errType || !strings.Contains(doc.ErrorMessage, msg) {
		t.Fatalf("error document %s, want type %s and message containing %q", res.Payload, errType, msg)
	}
}

// TestEnvironment checks what the function sees: the variables of spec
// A.8, its sandbox (tmp writable, code read-only, its own process group,
// uid nobody when Lamina is root), and no leak of Lamina's environment.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	base := t.TempDir() // 0700: unreachable for nobody, so the pool must notice
	p, _ := newTestPool(t, Options{Dir: base, EndpointURL: "http://127.0.0.1:4566"})
	spec := goSpec(t, "envfn", map[string]string{"USER_VAR": "x", "AWS_REGION": "override-refused", "_LAMBDA_SERVER_PORT": "1234", "LANG": "C.UTF-8"})
	spec.MemoryMB = 256
	spec.EphemeralStorage = 600
	res := invoke(t, p, spec, `{"op":"env"}`)
	var r struct {
		Env            map[string]string
		Cwd            string
		UID, GID, PID  int
		Pgid           int
		TmpWritable    bool
		TmpWriteError  string
		CodeWritable   bool
		CodeWriteError string
		Nofile, Fsize  uint64
		MemoryLimit    int
		LogStream      string
	}
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("%v: %s", err, res.Payload)
	}
	e := r.Env
	codeDir := e["LAMBDA_TASK_ROOT"]
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"LANG":                            "C.UTF-8",
		"GOMAXPROCS":                      "1", // 256 MB: a fraction of a vCPU on Lambda
		"USER_VAR":                        "x",
		"AWS_ACCESS_KEY_ID":               placeholderKeyID,
		"AWS_SECRET_ACCESS_KEY":           placeholderSecret,
		"AWS_SESSION_TOKEN":               placeholderToken,
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:4566", // the SDKs call Lamina
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("%s=%q, want %q", k, e[k], v)
		}
	}
	for _, k := range []string{"_LAMBDA_SERVER_PORT", "AWS_EXECUTION_ENV", "HOME", "GOPATH", "GOFLAGS", "PWD"} {
		if v, ok := e[k]; ok {
			t.Errorf("%s=%q should not be set", k, v)
		}
	}
	allowed := map[string]bool{"PATH": true, "LD_LIBRARY_PATH": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
		"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_LAMBDA_RUNTIME_API": true, "TMPDIR": true, "_X_AMZN_TRACE_ID": true}
	for k := range e {
		if _, ok := want[k]; !ok && !allowed[k] {
			t.Errorf("unexpected variable %s=%q", k, e[k])
		}
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(e["AWS_LAMBDA_LOG_STREAM_NAME"]) || r.LogStream != e["AWS_LAMBDA_LOG_STREAM_NAME"] {
		t.Errorf("log stream %q (lambdacontext %q)", e["AWS_LAMBDA_LOG_STREAM_NAME"], r.LogStream)
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(e["AWS_LAMBDA_RUNTIME_API"]) {
		t.Errorf("AWS_LAMBDA_RUNTIME_API=%q", e["AWS_LAMBDA_RUNTIME_API"])
	}
	if !strings.HasPrefix(e["PATH"], "/usr/local/bin:/usr/bin/:/bin:/opt/bin") {
		t.Errorf("PATH=%q", e["PATH"])
	}
	if r.Cwd != codeDir || !strings.Contains(e["LD_LIBRARY_PATH"], codeDir+"/lib") {
		t.Errorf("cwd %q, LAMBDA_TASK_ROOT %q, LD_LIBRARY_PATH %q", r.Cwd, codeDir, e["LD_LIBRARY_PATH"])
	}
	if !r.TmpWritable || !strings.HasPrefix(e["TMPDIR"], p.layout.tmpDir()) {
		t.Errorf("TMPDIR %q not writable: %s", e["TMPDIR"], r.TmpWriteError)
	}
	if r.CodeWritable || r.CodeWriteError == "" {
		t.Error("the code directory is writable")
	}
	if r.Pgid != r.PID {
		t.Errorf("pgid %d, pid %d: not its own process group", r.Pgid, r.PID)
	}
	if r.Nofile != limitNoFile || r.Fsize != 600<<20 {
		t.Errorf("rlimits nofile %d fsize %d", r.Nofile, r.Fsize)
	}
	if r.MemoryLimit != 256 {
		t.Errorf("lambdacontext.MemoryLimitInMB = %d", r.MemoryLimit)
	}
	if os.Geteuid() == 0 {
		if r.UID != sandboxUID || r.GID != sandboxGID {
			t.Errorf("runs as %d:%d, want nobody", r.UID, r.GID)
		}
		if !p.layout.temporary || strings.HasPrefix(codeDir, base) {
			t.Errorf("sandbox files under %s, which nobody cannot reach", base)
		}
	} else if r.UID != os.Getuid() {
		t.Errorf("runs as uid %d", r.UID)
	}
	// The private tmp directory goes with the instance.
	tmp := e["TMPDIR"]
	p.Retire("envfn", func(string) bool { return false })
	eventually(t, 5*time.Second, "the tmp directory to be removed", func() bool {
		_, err := os.Stat(tmp)
		return os.IsNotExist(err)
	})
}

// TestParallel: 64 concurrent invocations run in 64 instances at once.
func TestParallel(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{})
	spec := goSpec(t, "parallel", nil)
	// Long enough for 64 processes to start on a small, busy machine
	// (the race detector), so that the invocations overlap.
	n, sleep := 64, 3000
	if testing.Short() {
		n, sleep = 16, 1500
	}
	type span struct{ pid, start, end int64 }
	spans := make([]span, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := invokeAsync(t, p, spec, fmt.Sprintf(`{"op":"sleep","ms":%d}`, sleep))
			var v struct{ PID, Start, End int64 }
			if err := json.Unmarshal(res.Payload, &v); err != nil {
				t.Errorf("%v: %s %s", err, res.ErrorType, res.Payload)
				return
			}
			spans[i] = span{v.PID, v.Start, v.End}
		}()
	}
	wg.Wait()
	pids := map[int64]bool{}
	var lastStart, firstEnd int64 = 0, 1 << 62
	for _, s := range spans {
		pids[s.pid] = true
		lastStart = max(lastStart, s.start)
		firstEnd = min(firstEnd, s.end)
	}
	if len(pids) != n {
		t.Errorf("%d distinct pids, want %d", len(pids), n)
	}
	if lastStart >= firstEnd {
		t.Errorf("the invocations did not overlap: last start %d, first end %d", lastStart, firstEnd)
	}
	if got := len(instancesOf(p, spec.Key)); got != n {
		t.Errorf("%d instances, want %d warm", got, n)
	}
}

// TestReap: idle instances go after KeepWarm, busy ones stay.
func TestReap(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{KeepWarm: 300 * time.Millisecond})
	spec := goSpec(t, "reap", nil)
	pid := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`))
	// A busy instance is not reaped even past KeepWarm.
	busy := make(chan *Result)
	go func() { busy <- invokeAsync(t, p, spec, `{"op":"sleep","ms":800}`) }()
	eventually(t, 5*time.Second, "the instance to be gone", func() bool { return processGone(pid) })
	if res := <-busy; res.FunctionError != "" {
		t.Fatalf("busy invocation: %s", res.Payload)
	}
	eventually(t, 5*time.Second, "all instances to be reaped", func() bool { return len(instancesOf(p, spec.Key)) == 0 })
	if res := invoke(t, p, spec, `{}`); res.InitDuration == 0 {
		t.Error("no cold start after reaping")
	}
}

// TestProvisioned: instances started ahead serve the first invocation warm,
// know they are provisioned and are not reaped.
func TestProvisioned(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{KeepWarm: 100 * time.Millisecond})
	spec := goSpec(t, "prov", nil)
	if err := p.SetProvisioned(context.Background(), spec, 2); err != nil {
		t.Fatal(err)
	}
	infos := instancesOf(p, spec.Key)
	if len(infos) != 2 || !infos[0].Provisioned || infos[0].State != "idle" {
		t.Fatalf("instances %+v", infos)
	}
	res := invoke(t, p, spec, `{"op":"env"}`)
	if res.InitDuration != 0 {
		t.Errorf("first invocation of a provisioned function was a cold start (%v)", res.InitDuration)
	}
	if !strings.Contains(string(res.Payload), `"AWS_LAMBDA_INITIALIZATION_TYPE":"provisioned-concurrency"`) {
		t.Errorf("environment %s", res.Payload)
	}
	time.Sleep(500 * time.Millisecond) // several KeepWarm periods
	if n := len(instancesOf(p, spec.Key)); n != 2 {
		t.Errorf("%d instances after KeepWarm, want the 2 provisioned", n)
	}
	// A provisioned instance that dies is replaced.
	invoke(t, p, spec, `{"op":"exit","code":1}`)
	eventually(t, 5*time.Second, "the provisioned instance to be replaced", func() bool {
		n := 0
		for _, i := range instancesOf(p, spec.Key) {
			if i.Provisioned && i.State == "idle" {
				n++
			}
		}
		return n == 2
	})
	// Without the reservation they are reaped like the others.
	if err := p.SetProvisioned(context.Background(), spec, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the instances to be reaped", func() bool { return len(instancesOf(p, spec.Key)) == 0 })
}

// TestRetire: a new Key retires the old instances; a busy one finishes
// its invocation first.
func TestRetire(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{})
	old := goSpec(t, "retire", nil)
	busy := make(chan *Result, 1)
	go func() { busy <- invokeAsync(t, p, old, `{"op":"sleep","ms":1500}`) }()
	eventually(t, 10*time.Second, "a busy instance", func() bool {
		select {
		case res := <-busy:
			t.Fatalf("the busy invocation ended early: %s %s", res.ErrorType, res.Payload)
		default:
		}
		i := instancesOf(p, old.Key)
		if len(i) > 1 {
			t.Fatalf("instances %+v", i)
		}
		return len(i) == 1 && i[0].State == "invoking"
	})
	idlePID := pidOf(t, invoke(t, p, old, `{"op":"pid"}`))
	cur := goSpec(t, "retire", nil)
	p.Retire("retire", func(key string) bool { return key == cur.Key })
	eventually(t, 5*time.Second, "the idle instance to stop", func() bool { return processGone(idlePID) })
	res := <-busy
	if res.FunctionError != "" {
		t.Fatalf("the busy instance was cut short: %s", res.Payload)
	}
	eventually(t, 5*time.Second, "the busy instance to stop after its invocation", func() bool { return len(instancesOf(p, old.Key)) == 0 })
	if newPID := pidOf(t, invoke(t, p, cur, `{"op":"pid"}`)); newPID == idlePID {
		t.Error("the new key ran in the old instance")
	}
	// Other functions are untouched.
	other := goSpec(t, "other", nil)
	otherPID := pidOf(t, invoke(t, p, other, `{"op":"pid"}`))
	p.Retire("retire", func(string) bool { return false })
	if pidOf(t, invoke(t, p, other, `{"op":"pid"}`)) != otherPID {
		t.Error("Retire stopped another function's instance")
	}
}

// TestMemoryLimit: a function that allocates past MemorySize is OOM-killed
// and reported as Runtime.OutOfMemory.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{})
	if p.cg == nil {
		t.Skip("no usable memory cgroup on this machine")
	}
	spec := goSpec(t, "oom", nil)
	spec.MemoryMB = 64
	res := invoke(t, p, spec, `{"op":"oom","mb":40}`)
	if res.FunctionError != "" || res.MaxMemoryUsedMB < 40 || res.MaxMemoryUsedMB > 64 {
		t.Errorf("40 MB in a 64 MB function: %s %s, Max Memory Used %d MB", res.FunctionError, res.Payload, res.MaxMemoryUsedMB)
	}
	res = invoke(t, p, spec, `{"op":"oom","mb":200}`)
	wantError(t, res, "Runtime.OutOfMemory", "Runtime exited with error: signal: killed")
}

// TestConcurrentExtract: concurrent first invocations of a package read and
// extract it once.
func TestConcurrentExtract(t *testing.T) {
	t.Parallel()
	p, _ := newTestPool(t, Options{})
	spec := goSpec(t, "extract", nil)
	var reads atomic32
	zip := spec.Code
	spec.Code = func(ctx context.Context) ([]byte, error) {
		reads.add()
		time.Sleep(50 * time.Millisecond)
		return zip(ctx)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res := invokeAsync(t, p, spec, `{}`); res.FunctionError != "" {
				t.Errorf("%s", res.Payload)
			}
		}()
	}
	wg.Wait()
	if n := reads.get(); n != 1 {
		t.Errorf("the package was read %d times", n)
	}
	fi, err := os.Stat(p.layout.codeDir())
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(p.layout.codeDir())
	if len(entries) != 1 || fi.Mode().Perm()&0o001 == 0 {
		t.Errorf("code cache: %v entries, mode %v", entries, fi.Mode())
	}
	if st, err := os.Stat(p.layout.codeDir() + "/" + entries[0].Name()); err != nil || st.Mode().Perm()&0o222 != 0 {
		t.Errorf("package directory is writable: %v %v", st.Mode(), err)
	}
}

type atomic32 struct {
	mu sync.Mutex
	n  int
}

func (a *atomic32) add() { a.mu.Lock(); a.n++; a.mu.Unlock() }
func (a *atomic32) get() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

// TestShellBootstrap covers runtimes that are not aws-lambda-go: a bash
// bootstrap speaking the Runtime API through /dev/tcp.
func TestShellBootstrap(t *testing.T) {
	t.Parallel()
	p, sink := newTestPool(t, Options{InitTimeout: time.Second})
	t.Run("exit before init", func(t *testing.T) {
		t.Parallel()
		spec := shellSpec(t, "crash", "echo starting; echo dying >&2; exit 7\n")
		id := newUUID()
		res := invoke(t, p, spec, `{}`, func(inv *Invocation) { inv.RequestID = id })
		wantError(t, res, "Runtime.ExitError", "RequestId: "+id+" Error: Runtime exited with error: exit status 7")
		var out []string
		for _, l := range sink.all() {
			if l.FunctionName == "crash" {
				out = append(out, l.Line)
			}
		}
		if s := strings.Join(out, "\n"); !strings.Contains(s, "starting") || !strings.Contains(s, "dying") || !strings.Contains(s, "REPORT RequestId: "+id) {
			t.Errorf("log:\n%s", s)
		}
	})
	t.Run("init error", func(t *testing.T) {
		t.Parallel()
		spec := shellSpec(t, "initerr", postScript("/2018-06-01/runtime/init/error", "Lambda-Runtime-Function-Error-Type: Runtime.ImportModuleError",
			`{"errorMessage":"Unable to import module app","errorType":"Runtime.ImportModuleError","stackTrace":[]}`)+"sleep 30\n")
		res := invoke(t, p, spec, `{}`)
		if res.ErrorType != "Runtime.ImportModuleError" || string(res.Payload) != `{"errorMessage":"Unable to import module app","errorType":"Runtime.ImportModuleError","stackTrace":[]}` {
			t.Errorf("init error: %s %s", res.ErrorType, res.Payload)
		}
	})
	t.Run("init timeout", func(t *testing.T) {
		t.Parallel()
		spec := shellSpec(t, "inithang", "sleep 30\n")
		start := time.Now()
		res := invoke(t, p, spec, `{}`)
		wantError(t, res, "Sandbox.Timedout", "Task timed out after 1.00 seconds")
		if d := time.Since(start); d < time.Second || d > 5*time.Second {
			t.Errorf("init timed out after %v", d)
		}
	})
	t.Run("missing bootstrap", func(t *testing.T) {
		t.Parallel()
		spec := specFor("nobootstrap", makeZip(t, zipFile{"other", []byte("x"), 0o644}), nil)
		res := invoke(t, p, spec, `{}`)
		wantError(t, res, "Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s)")
	})
}

// postScript is bash that POSTs body to the instance's Runtime API.
func postScript(path, header, body string) string {
	return fmt.Sprintf(`exec 3<>/dev/tcp/${AWS_LAMBDA_RUNTIME_API%%:*}/${AWS_LAMBDA_RUNTIME_API##*:}
body='%s'
printf 'POST %s HTTP/1.1
Host: x
%s
Content-Length: %%d

%%s' "${#body}" "$body" >&3
read -r status <&3
echo "$status"
`, body, path, header)
}

// TestClose stops every instance, busy or not.
func TestClose(t *testing.T) {
	t.Parallel()
	p, err := New(context.Background(), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	spec := goSpec(t, "close", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Invoke(context.Background(), spec, &Invocation{Payload: []byte(`{"op":"sleep","ms":20000}`)})
		errc <- err
	}()
	eventually(t, 5*time.Second, "a busy instance", func() bool {
		i := p.Instances()
		return len(i) == 1 && i[0].State == "invoking"
	})
	pid := pidOf(t, invoke(t, p, spec, `{"op":"pid"}`))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) || len(p.Instances()) != 0 {
		t.Error("instances survived Close")
	}
	<-errc
	if _, err := p.Invoke(context.Background(), spec, &Invocation{}); err == nil {
		t.Error("Invoke after Close succeeded")
	}
	removeTree(p.layout.codeDir())
	if p.cg != nil {
		if _, err := os.Stat(p.cg.parent); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left behind", p.cg.parent)
		}
	}
	_ = strconv.Itoa
	_ = syscall.Getpid
}

// TestEndpointURLEnvironment: the edge URL is a default a function may
// override (to call real AWS from a local function), and absent when unset.
func TestEndpointURLEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name, endpoint, own, want string
	}{
		{"lamina's edge", "http://127.0.0.1:4566", "", "http://127.0.0.1:4566"},
		{"the function's own", "http://127.0.0.1:4566", "https://sqs.eu-west-1.amazonaws.com", "https://sqs.eu-west-1.amazonaws.com"},
		{"none", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &Spec{FunctionName: "f", Handler: "bootstrap", Runtime: "provided.al2023", Environment: map[string]string{}}
			if tc.own != "" {
				spec.Environment["AWS_ENDPOINT_URL"] = tc.own
			}
			var got []string
			for _, kv := range baseEnv(spec, "/code", "/rt", tc.endpoint, 128) {
				if v, ok := strings.CutPrefix(kv, "AWS_ENDPOINT_URL="); ok {
					got = append(got, v)
				}
			}
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("AWS_ENDPOINT_URL set to %v", got)
			case tc.want != "" && (len(got) != 1 || got[0] != tc.want):
				t.Errorf("AWS_ENDPOINT_URL = %v, want exactly %q", got, tc.want)
			}
		})
	}
}
