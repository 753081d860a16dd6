package invoke

import (
	"context"
	"testing"

	"github.com/lamina-dev/lamina/internal/runtime"
)

// instantPool answers every invocation at once.
type instantPool struct{ fakePool }

var instant = &runtime.Result{Payload: []byte(`{}`), ContentType: "application/json"}

func (*instantPool) Invoke(context.Context, *runtime.Spec, *runtime.Invocation) (*runtime.Result, error) {
	return instant, nil
}

// BenchmarkInvokeOverhead measures what the service adds to a warm
// invocation (name parsing, resolution, concurrency, spec, ids) over a pool
// that answers at once.
func BenchmarkInvokeOverhead(b *testing.B) {
	e := newEnv(b)
	e.create(b, "fn")
	svc := e.newService(b, func(o *Options) { o.Pool = &instantPool{fakePool: *newFakePool()} })
	req := Request{FunctionName: "fn", Payload: []byte(`{"message":"hello"}`)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Invoke(e.ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
