package async

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/store"
)

type noopInvoker struct{}

func (noopInvoker) Invoke(_ context.Context, req invoke.Request) (*invoke.Response, error) {
	return &invoke.Response{StatusCode: 200, Payload: []byte(`{"ok":true}`), ExecutedVersion: function.Latest}, nil
}

// BenchmarkEnqueueToCompletion measures the async layer and the store
// alone: events of a function whose invocation is an in-process no-op,
// enqueued in batches of 500 and run by 32 workers.
func BenchmarkEnqueueToCompletion(b *testing.B) {
	ctx := b.Context()
	st, err := store.Open(ctx, store.Config{DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg, err := function.New(ctx, function.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := reg.StartView(ctx); err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	if _, err := reg.Create(ctx, function.CreateInput{FunctionName: "f", ZipFile: pyZip(b),
		Config: function.Config{Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::000000000000:role/r"}}); err != nil {
		b.Fatal(err)
	}
	dl, err := deadletter.Open(ctx, st, deadletter.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	svc, err := New(ctx, Options{Store: st, Registry: reg, Invoker: noopInvoker{}, DeadLetters: dl, Workers: 32,
		Clock: clock.Real{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close(context.Background())
	svc.Start(ctx)
	reqs := make([]Request, 500)
	for i := range reqs {
		reqs[i] = Request{FunctionName: "f", Payload: []byte(`{"message":"hello"}`)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; sent += len(reqs) {
		if _, err := svc.EnqueueBatch(ctx, reqs[:min(len(reqs), b.N-sent)]); err != nil {
			b.Fatal(err)
		}
	}
	for svc.Stats().Succeeded < int64(b.N) {
		if err := ctx.Err(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
