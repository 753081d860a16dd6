package invoke

import (
	"archive/zip"
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/runtime"
	"github.com/lamina-dev/lamina/internal/store"
)

// fakePool stands in for the runtime in this package's unit tests: it
// records what it is asked and answers with behave (default: echo the
// payload). Provisioned instances are reported as idle instances.
type fakePool struct {
	mu          sync.Mutex
	behave      func(ctx context.Context, spec *runtime.Spec, inv *runtime.Invocation) (*runtime.Result, error)
	invocations []fakeCall
	provisioned map[string]int // Spec.Key → n
	provErr     error
	retired     []fakeRetire
	prepared    []string // Spec.Key of each Prepare
}

func (p *fakePool) Prepare(ctx context.Context, spec *runtime.Spec) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepared = append(p.prepared, spec.Key)
	return nil
}

type fakeCall struct {
	spec *runtime.Spec
	inv  *runtime.Invocation
}

type fakeRetire struct {
	name string
	keep func(string) bool
}

func newFakePool() *fakePool { return &fakePool{provisioned: map[string]int{}} }

func (p *fakePool) Invoke(ctx context.Context, spec *runtime.Spec, inv *runtime.Invocation) (*runtime.Result, error) {
	p.mu.Lock()
	p.invocations = append(p.invocations, fakeCall{spec, inv})
	behave := p.behave
	p.mu.Unlock()
	if behave != nil {
		return behave(ctx, spec, inv)
	}
	return &runtime.Result{Payload: inv.Payload, ContentType: "application/json", LogTail: []byte("START\nREPORT\n")}, nil
}

func (p *fakePool) SetProvisioned(ctx context.Context, spec *runtime.Spec, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.provErr != nil {
		return p.provErr
	}
	if n == 0 {
		delete(p.provisioned, spec.Key)
	} else {
		p.provisioned[spec.Key] = n
	}
	return nil
}

func (p *fakePool) Retire(name string, keep func(string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = append(p.retired, fakeRetire{name, keep})
}

func (p *fakePool) Instances() []runtime.InstanceInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []runtime.InstanceInfo
	for key, n := range p.provisioned {
		for range n {
			out = append(out, runtime.InstanceInfo{Key: key, State: "idle", Provisioned: true})
		}
	}
	return out
}

func (p *fakePool) calls() []fakeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]fakeCall(nil), p.invocations...)
}

func (p *fakePool) provisionedCopy() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.provisioned {
		out[k] = v
	}
	return out
}

func (p *fakePool) retires() []fakeRetire {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]fakeRetire(nil), p.retired...)
}

// env is a real registry (embedded JetStream in a temporary directory) with
// its view started, a fake pool and a Service over both.
type env struct {
	ctx  context.Context
	reg  *function.Service
	pool *fakePool
	svc  *Service
}

func newEnv(t testing.TB, edit ...func(*Options)) *env {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		tt.Parallel()
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := function.New(ctx, function.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.StartView(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e := &env{ctx: ctx, reg: reg, pool: newFakePool()}
	e.svc = e.newService(t, edit...)
	return e
}

func (e *env) newService(t testing.TB, edit ...func(*Options)) *Service {
	t.Helper()
	opts := Options{Registry: e.reg, Pool: e.pool, Logger: slog.New(slog.DiscardHandler)}
	for _, ed := range edit {
		ed(&opts)
	}
	svc, err := New(e.ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(e.ctx) })
	return svc
}

func pyZip(t testing.TB, marker string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("app.py")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("def handler(e, c):\n    return " + `"` + marker + `"` + "\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (e *env) create(t testing.TB, name string, edit ...func(*function.CreateInput)) function.Function {
	t.Helper()
	in := function.CreateInput{
		FunctionName: name,
		Config:       function.Config{Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::000000000000:role/r", Timeout: 7},
		ZipFile:      pyZip(t, name),
	}
	for _, ed := range edit {
		ed(&in)
	}
	f, err := e.reg.Create(e.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// publish changes $LATEST's description and publishes it.
func (e *env) publish(t *testing.T, name, description string) function.Version {
	t.Helper()
	if _, err := e.reg.UpdateConfig(e.ctx, name, function.UpdateConfigInput{Description: &description}); err != nil {
		t.Fatal(err)
	}
	v, err := e.reg.PublishVersion(e.ctx, name, function.PublishInput{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
