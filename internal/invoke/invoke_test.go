package invoke

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/runtime"
)

const arnPrefix = "arn:aws:lambda:us-east-1:000000000000:function:"

func wantFault(t *testing.T, err error, kind fault.Kind, msg string) *fault.Error {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v, want a fault.%v", err, kind)
	}
	if fe.Kind != kind || !strings.Contains(fe.Message, msg) {
		t.Fatalf("error = %v %q, want %v containing %q", fe.Kind, fe.Message, kind, msg)
	}
	return fe
}

// Qualifiers and names resolve to the version that runs, and the runtime
// gets the invocation as Lambda would hand it over.
func TestInvokeResolution(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	v1 := e.publish(t, "fn", "one")
	e.publish(t, "fn", "two")
	if _, err := e.reg.CreateAlias(e.ctx, "fn", function.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.CreateAlias(e.ctx, "fn", function.Alias{Name: "dev", FunctionVersion: function.Latest}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		req        Request
		executed   string
		invokedARN string
	}{
		{"unqualified", Request{FunctionName: "fn"}, "$LATEST", arnPrefix + "fn"},
		{"$LATEST", Request{FunctionName: "fn", Qualifier: "$LATEST"}, "$LATEST", arnPrefix + "fn:$LATEST"},
		{"version", Request{FunctionName: "fn", Qualifier: "1"}, "1", arnPrefix + "fn:1"},
		{"version in the name", Request{FunctionName: "fn:2"}, "2", arnPrefix + "fn:2"},
		{"alias", Request{FunctionName: "fn", Qualifier: "live"}, "1", arnPrefix + "fn:live"},
		{"alias to $LATEST", Request{FunctionName: "fn:dev"}, "$LATEST", arnPrefix + "fn:dev"},
		{"same qualifier twice", Request{FunctionName: "fn:live", Qualifier: "live"}, "1", arnPrefix + "fn:live"},
		{"full ARN", Request{FunctionName: arnPrefix + "fn:live"}, "1", arnPrefix + "fn:live"},
		{"partial ARN", Request{FunctionName: "000000000000:function:fn"}, "$LATEST", arnPrefix + "fn"},
		{"another region", Request{FunctionName: "fn", Region: "eu-west-1"}, "$LATEST", "arn:aws:lambda:eu-west-1:000000000000:function:fn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.pool.calls())
			start := time.Now()
			resp, err := e.svc.Invoke(e.ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || resp.ExecutedVersion != tt.executed || string(resp.Payload) != "{}" || resp.FunctionError != "" {
				t.Errorf("response = %+v", resp)
			}
			calls := e.pool.calls()
			if len(calls) != before+1 {
				t.Fatalf("pool calls = %d, want %d", len(calls), before+1)
			}
			c := calls[len(calls)-1]
			if c.spec.Version != tt.executed || c.spec.FunctionName != "fn" || c.inv.InvokedFunctionARN != tt.invokedARN {
				t.Errorf("spec %s:%s invoked %s", c.spec.FunctionName, c.spec.Version, c.inv.InvokedFunctionARN)
			}
			if c.spec.Timeout != 7*time.Second || c.spec.MemoryMB != 128 || c.spec.Runtime != "python3.12" || c.spec.Handler != "app.handler" ||
				c.spec.LogGroup != "/aws/lambda/fn" || c.spec.Region != "us-east-1" || c.spec.AccountID != "000000000000" {
				t.Errorf("spec = %+v", c.spec)
			}
			if d := c.inv.Deadline.Sub(start); d < 7*time.Second || d > 8*time.Second {
				t.Errorf("deadline in %v, want 7 s", d)
			}
			if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`).MatchString(c.inv.TraceID) {
				t.Errorf("trace id %q", c.inv.TraceID)
			}
			if c.inv.RequestID == "" || c.inv.RequestID != resp.RequestID {
				t.Errorf("request id %q / %q", c.inv.RequestID, resp.RequestID)
			}
		})
	}

	// Version 1's package is the one published, whatever $LATEST is now.
	c := e.pool.calls()[2]
	zip, err := c.spec.Code(e.ctx)
	if err != nil || c.spec.CodeSha256 != v1.CodeSha256 || len(zip) == 0 {
		t.Errorf("Code of version 1: %d bytes, %v", len(zip), err)
	}
	// The spec is made once per version and reused.
	if a, b := e.pool.calls()[0].spec, e.pool.calls()[1].spec; a != b {
		t.Error("two invocations of $LATEST got different specs")
	}
	// Caller-given ids are used.
	resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn", RequestID: "rid", TraceID: "Root=1-x"})
	if err != nil || resp.RequestID != "rid" {
		t.Fatal(resp, err)
	}
	if c := e.pool.calls(); c[len(c)-1].inv.TraceID != "Root=1-x" {
		t.Errorf("trace id not propagated: %q", c[len(c)-1].inv.TraceID)
	}

	refusals := []struct {
		name string
		req  Request
		kind fault.Kind
		msg  string
	}{
		{"missing function", Request{FunctionName: "nope"}, fault.NotFound, "Function not found: " + arnPrefix + "nope"},
		{"missing function, qualified", Request{FunctionName: "nope", Qualifier: "live"}, fault.NotFound, "Function not found: " + arnPrefix + "nope:live"},
		{"missing alias", Request{FunctionName: "fn", Qualifier: "prod"}, fault.NotFound, "Function not found: " + arnPrefix + "fn:prod"},
		{"missing version", Request{FunctionName: "fn:9"}, fault.NotFound, "Function not found: " + arnPrefix + "fn:9"},
		{"conflicting qualifiers", Request{FunctionName: "fn:1", Qualifier: "2"}, fault.Invalid, "does not match the specified qualifier"},
		{"bad qualifier", Request{FunctionName: "fn", Qualifier: "a b"}, fault.Invalid, "'qualifier'"},
		{"bad name", Request{FunctionName: "f n"}, fault.Invalid, "functionName"},
		{"another account", Request{FunctionName: "123456789012:function:fn"}, fault.NotFound, "Function not found"},
		{"ARN of another region", Request{FunctionName: "arn:aws:lambda:eu-west-1:000000000000:function:fn"}, fault.NotFound, "Function not found"},
		{"bad invocation type", Request{FunctionName: "fn", InvocationType: "Sync"}, fault.Invalid, "invocationType"},
		{"bad log type", Request{FunctionName: "fn", LogType: "All"}, fault.Invalid, "logType"},
		{"Event", Request{FunctionName: "fn", InvocationType: Event}, fault.Unsupported, "asynchronous invocation is handled by the async service"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := e.svc.Invoke(e.ctx, r.req)
			wantFault(t, err, r.kind, r.msg)
		})
	}
}

func TestPickWeighted(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	e.publish(t, "fn", "one")
	e.publish(t, "fn", "two")
	if _, err := e.reg.CreateAlias(e.ctx, "fn", function.Alias{Name: "split", FunctionVersion: "1", AdditionalVersionWeights: map[string]float64{"2": 0.25}}); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.reg.Snapshot(e.ctx, "fn")
	primary, alias, _ := snap.Resolve(e.ctx, "split")
	for _, tt := range []struct {
		r    float64
		want string
	}{{0, "2"}, {0.2499, "2"}, {0.25, "1"}, {0.9999, "1"}} {
		got, err := pickWeighted(e.ctx, snap, primary, alias.AdditionalVersionWeights, tt.r)
		if err != nil || got.Version.Version != tt.want {
			t.Errorf("r=%v: %v, %v; want version %s", tt.r, got.Version.Version, err, tt.want)
		}
	}

	// Through Invoke: 10,000 picks at 0.25 land within ±3 points.
	const n = 10000
	count := map[string]int{}
	for range n {
		resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn", Qualifier: "split"})
		if err != nil {
			t.Fatal(err)
		}
		count[resp.ExecutedVersion]++
	}
	if share := float64(count["2"]) / n; share < 0.22 || share > 0.28 || count["1"]+count["2"] != n {
		t.Errorf("executed versions %v: share of 2 = %.3f, want 0.25 ± 0.03", count, share)
	}
	// The invoked ARN stays the alias's.
	for _, c := range e.pool.calls()[:20] {
		if c.inv.InvokedFunctionARN != arnPrefix+"fn:split" {
			t.Errorf("invoked ARN %s", c.inv.InvokedFunctionARN)
		}
	}
}

// blockingPool makes invocations wait until released, so they overlap.
func blockingPool(e *env) (started chan string, release func()) {
	started = make(chan string, 100)
	gate := make(chan struct{})
	var once sync.Once
	e.pool.behave = func(ctx context.Context, spec *runtime.Spec, inv *runtime.Invocation) (*runtime.Result, error) {
		started <- spec.FunctionName
		<-gate
		return &runtime.Result{Payload: []byte(`"ok"`)}, nil
	}
	return started, func() { once.Do(func() { close(gate) }) }
}

func TestReservedConcurrency(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	e.create(t, "off")
	if _, err := e.reg.PutConcurrency(e.ctx, "fn", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.PutConcurrency(e.ctx, "off", 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Invoke(e.ctx, Request{FunctionName: "off"})
	fe := wantFault(t, err, fault.Throttled, "Rate Exceeded.")
	if fe.Reason != ReasonReserved {
		t.Errorf("reason %q", fe.Reason)
	}

	started, release := blockingPool(e)
	defer release()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn"}); err != nil {
				t.Error(err)
			}
		})
	}
	<-started
	<-started
	_, err = e.svc.Invoke(e.ctx, Request{FunctionName: "fn"})
	fe = wantFault(t, err, fault.Throttled, "Rate Exceeded.")
	if fe.Reason != ReasonReserved {
		t.Errorf("reason %q", fe.Reason)
	}
	if _, r := e.svc.InUse("fn"); r != 2 {
		t.Errorf("reserved in use = %d", r)
	}
	release()
	wg.Wait()
	if _, r := e.svc.InUse("fn"); r != 0 {
		t.Errorf("reserved in use after = %d", r)
	}
	if _, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn"}); err != nil {
		t.Errorf("after release: %v", err)
	}

	// Removing the reservation puts the function back in the shared pool.
	if err := e.reg.DeleteConcurrency(e.ctx, "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Invoke(e.ctx, Request{FunctionName: "off"}); err != nil {
		t.Errorf("after DeleteConcurrency: %v", err)
	}
}

func TestNodeCapacity(t *testing.T) {
	e := newEnv(t)
	e.create(t, "a")
	e.create(t, "b")
	e.create(t, "held")
	if _, err := e.reg.PutConcurrency(e.ctx, "held", 1); err != nil {
		t.Fatal(err)
	}
	// Capacity 3, of which "held" reserves 1: a and b share 2.
	svc := e.newService(t, func(o *Options) { o.Capacity = 3 })
	started, release := blockingPool(e)
	defer release()
	var wg sync.WaitGroup
	for _, fn := range []string{"a", "b", "held"} {
		wg.Go(func() {
			if _, err := svc.Invoke(e.ctx, Request{FunctionName: fn}); err != nil {
				t.Error(err)
			}
		})
	}
	for range 3 {
		<-started
	}
	_, err := svc.Invoke(e.ctx, Request{FunctionName: "a"})
	if fe := wantFault(t, err, fault.Throttled, "Rate Exceeded."); fe.Reason != ReasonCapacity {
		t.Errorf("reason %q", fe.Reason)
	}
	_, err = svc.Invoke(e.ctx, Request{FunctionName: "held"})
	if fe := wantFault(t, err, fault.Throttled, "Rate Exceeded."); fe.Reason != ReasonReserved {
		t.Errorf("reason %q", fe.Reason)
	}
	if u, _ := svc.InUse("a"); u != 2 {
		t.Errorf("unreserved in use = %d", u)
	}
	release()
	wg.Wait()
	if u, _ := svc.InUse("a"); u != 0 {
		t.Errorf("unreserved in use after = %d", u)
	}
}

// Concurrency is given back however the invocation ends.
func TestConcurrencyReleased(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	if _, err := e.reg.PutConcurrency(e.ctx, "fn", 1); err != nil {
		t.Fatal(err)
	}
	e.create(t, "shared")
	outcomes := []struct {
		name   string
		behave func(context.Context, *runtime.Spec, *runtime.Invocation) (*runtime.Result, error)
	}{
		{"function error", func(context.Context, *runtime.Spec, *runtime.Invocation) (*runtime.Result, error) {
			return &runtime.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled", ErrorType: "Runtime.ExitError"}, nil
		}},
		{"platform error", func(context.Context, *runtime.Spec, *runtime.Invocation) (*runtime.Result, error) {
			return nil, errors.New("disk full")
		}},
		{"panic", func(context.Context, *runtime.Spec, *runtime.Invocation) (*runtime.Result, error) {
			panic("pool bug")
		}},
	}
	for _, o := range outcomes {
		t.Run(o.name, func(t *testing.T) {
			e.pool.behave = o.behave
			for _, fn := range []string{"fn", "shared", "fn"} {
				func() {
					defer func() { recover() }()
					resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: fn})
					if o.name == "function error" && (err != nil || resp.StatusCode != 200 || resp.FunctionError != "Unhandled" || !strings.Contains(string(resp.Payload), "boom")) {
						t.Errorf("function error: %+v, %v", resp, err)
					}
				}()
			}
			if u, r := e.svc.InUse("fn"); u != 0 || r != 0 {
				t.Errorf("in use after %s: unreserved %d, reserved %d", o.name, u, r)
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	if _, err := e.reg.PutConcurrency(e.ctx, "fn", 0); err != nil {
		t.Fatal(err)
	}
	resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn", InvocationType: DryRun, Payload: []byte(`{"a":1}`)})
	if err != nil || resp.StatusCode != 204 || resp.ExecutedVersion != "$LATEST" || len(resp.Payload) != 0 {
		t.Errorf("DryRun = %+v, %v", resp, err)
	}
	if len(e.pool.calls()) != 0 {
		t.Error("DryRun reached the pool")
	}
	_, err = e.svc.Invoke(e.ctx, Request{FunctionName: "nope", InvocationType: DryRun})
	wantFault(t, err, fault.NotFound, "Function not found")
	_, err = e.svc.Invoke(e.ctx, Request{FunctionName: "fn", InvocationType: DryRun, Payload: []byte("nope")})
	wantFault(t, err, fault.InvalidContent, "Could not parse payload into json")
}

func TestPayloadAndClientContext(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	b64 := base64.StdEncoding.EncodeToString
	big := make([]byte, MaxSyncPayload+1)
	for i := range big {
		big[i] = ' '
	}
	big[0] = '1'
	fits := append([]byte(`"`), make([]byte, MaxSyncPayload-2)...)
	for i := 1; i < len(fits); i++ {
		fits[i] = 'x'
	}
	fits = append(fits, '"')

	tests := []struct {
		name          string
		req           Request
		kind          fault.Kind // 0 with msg "" = success
		msg           string
		payload       string
		clientContext string
	}{
		{name: "empty payload is {}", req: Request{}, payload: "{}"},
		{name: "JSON scalar", req: Request{Payload: []byte(`42`)}, payload: "42"},
		{name: "not JSON", req: Request{Payload: []byte(`hello`)}, kind: fault.InvalidContent, msg: "Could not parse request body into json: Could not parse payload into json: "},
		{name: "truncated JSON", req: Request{Payload: []byte(`{"a":`)}, kind: fault.InvalidContent, msg: "Could not parse payload into json"},
		{name: "6 MB exactly", req: Request{Payload: fits}, payload: string(fits)},
		{name: "over 6 MB", req: Request{Payload: big}, kind: fault.TooLarge, msg: "Request must be smaller than 6291456 bytes for the InvokeFunction operation"},
		{name: "client context", req: Request{ClientContext: b64([]byte(`{"custom":{"k":"v"}}`))}, payload: "{}", clientContext: `{"custom":{"k":"v"}}`},
		{name: "client context not base64", req: Request{ClientContext: "%%%"}, kind: fault.InvalidContent, msg: "Client context must be a valid Base64-encoded JSON object."},
		{name: "client context not JSON", req: Request{ClientContext: b64([]byte("hi"))}, kind: fault.InvalidContent, msg: "Client context must be a valid Base64-encoded JSON object."},
		{name: "client context not an object", req: Request{ClientContext: b64([]byte("[1]"))}, kind: fault.InvalidContent, msg: "Client context must be a valid Base64-encoded JSON object."},
		{name: "client context too long", req: Request{ClientContext: b64([]byte(`{"k":"` + strings.Repeat("x", 2700) + `"}`))}, kind: fault.Invalid, msg: "3583"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.FunctionName = "fn"
			resp, err := e.svc.Invoke(e.ctx, tt.req)
			if tt.msg != "" {
				wantFault(t, err, tt.kind, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Payload) != tt.payload {
				t.Errorf("payload %.40q, want %.40q", resp.Payload, tt.payload)
			}
			c := e.pool.calls()
			if got := c[len(c)-1].inv.ClientContext; got != tt.clientContext {
				t.Errorf("client context %q, want %q", got, tt.clientContext)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn", LogType: LogTail})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := base64.StdEncoding.DecodeString(resp.LogResult)
	if string(got) != "START\nREPORT\n" || resp.ContentType != "application/json" {
		t.Errorf("log result %q, content type %q", got, resp.ContentType)
	}
	if c := e.pool.calls(); !c[0].inv.WantLogTail {
		t.Error("WantLogTail not set")
	}
	resp, _ = e.svc.Invoke(e.ctx, Request{FunctionName: "fn"})
	if resp.LogResult != "" {
		t.Errorf("log result without Tail: %q", resp.LogResult)
	}
}

// Code and configuration changes and deletes retire the old instances.
func TestRetireOnChange(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	if _, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn"}); err != nil {
		t.Fatal(err)
	}
	oldKey := e.pool.calls()[0].spec.Key
	lastRetire := func() fakeRetire {
		r := e.pool.retires()
		return r[len(r)-1]
	}

	if _, err := e.reg.UpdateCode(e.ctx, "fn", function.UpdateCodeInput{ZipFile: pyZip(t, "two")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a Retire after UpdateCode", func() bool {
		r := e.pool.retires()
		return len(r) > 0 && !r[len(r)-1].keep(oldKey)
	})
	if r := lastRetire(); r.name != "fn" {
		t.Errorf("retired %q", r.name)
	}
	if _, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn"}); err != nil {
		t.Fatal(err)
	}
	c := e.pool.calls()
	newKey := c[len(c)-1].spec.Key
	if newKey == oldKey || !lastRetire().keep(newKey) {
		t.Errorf("new key %q (old %q) is not kept", newKey, oldKey)
	}

	timeout := 9
	if _, err := e.reg.UpdateConfig(e.ctx, "fn", function.UpdateConfigInput{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a Retire after UpdateConfig", func() bool { return !lastRetire().keep(newKey) })
	resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: "fn"})
	c = e.pool.calls()
	if err != nil || c[len(c)-1].spec.Timeout != 9*time.Second {
		t.Errorf("after UpdateConfig: %+v, %v", resp, err)
	}

	if err := e.reg.Delete(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	key := c[len(c)-1].spec.Key
	waitFor(t, "a Retire after Delete", func() bool { return !lastRetire().keep(key) })
	_, err = e.svc.Invoke(e.ctx, Request{FunctionName: "fn"})
	wantFault(t, err, fault.NotFound, "Function not found")
}

func TestTraceIDFormat(t *testing.T) {
	now := time.Unix(0x5759e988, 0)
	id := newTraceID(now)
	if !strings.HasPrefix(id, "Root=1-5759e988-") || len(id) != len("Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0") {
		t.Errorf("trace id %q", id)
	}
	if newTraceID(now) == id {
		t.Error("two trace ids are equal")
	}
}
