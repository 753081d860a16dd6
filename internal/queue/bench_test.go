package queue

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lamina-dev/lamina/internal/clock"
)

// BenchmarkSendReceiveDelete measures the whole life of a message in
// process: batches of ten sent, received and deleted by 8 goroutines.
func BenchmarkSendReceiveDelete(b *testing.B) {
	e := newEnv(b)
	// Visibility timeouts use the real clock here: nothing waits on them.
	e.svc.Close()
	e.st.Close()
	e.clk = nil
	e.open2(clock.Real{})
	if _, err := e.svc.CreateQueue(e.ctx, "bench", nil, nil); err != nil {
		b.Fatal(err)
	}
	batch := make([]SendInput, 10)
	for i := range batch {
		batch[i] = SendInput{ID: fmt.Sprint(i), Body: "a message of about fifty bytes, like a small event"}
	}
	const workers = 8
	var left atomic.Int64
	left.Store(int64(b.N))
	var done atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if _, err := e.svc.Send(e.ctx, "bench", batch); err != nil {
					b.Error(err)
					return
				}
				got := 0
				for got < 10 {
					ms, err := e.svc.Receive(e.ctx, "bench", ReceiveInput{Max: 10, WaitSet: true})
					if err != nil {
						b.Error(err)
						return
					}
					if len(ms) == 0 {
						continue
					}
					del := make([]DeleteEntry, len(ms))
					for i, m := range ms {
						del[i] = DeleteEntry{ID: fmt.Sprint(i), ReceiptHandle: m.ReceiptHandle}
					}
					if _, err := e.svc.Delete(e.ctx, "bench", del); err != nil {
						b.Error(err)
						return
					}
					got += len(ms)
				}
				done.Add(10)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(done.Load())/b.Elapsed().Seconds(), "msgs/s")
}
