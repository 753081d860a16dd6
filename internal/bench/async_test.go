package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunAsyncSmall runs the async benchmark briefly: every event of each
// phase must complete, and the report must carry every figure.
func TestRunAsyncSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a function and boots the platform; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := RunAsync(ctx, AsyncOptions{Events: 300, Workers: []int{2, 4}, Rounds: 2, Batch: 64}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 300 || rep.Succeeded != 300 || rep.Failed != 0 || rep.StoreMessages != 300 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Workers != 2 || rep.Runs[1].Workers != 4 {
		t.Fatalf("runs %+v, want one at 2 workers and one at 4", rep.Runs)
	}
	for _, run := range rep.Runs {
		if run.Succeeded != 300 || run.Failed != 0 || run.Throughput <= 0 || len(run.Rounds) != 2 {
			t.Errorf("run %+v", run)
		}
		if run.Throughput > rep.Throughput {
			t.Errorf("run at %d workers (%.0f/s) is faster than the reported fastest (%d workers, %.0f/s)", run.Workers, run.Throughput, rep.Workers, rep.Throughput)
		}
	}
	if rep.Throughput <= 0 || rep.LayerThroughput <= 0 || rep.StoreThroughput <= 0 || rep.Ratio() <= 0 {
		t.Errorf("rates: async %v, layer %v, store %v", rep.Throughput, rep.LayerThroughput, rep.StoreThroughput)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"async invoke", "async layer", "store", "ratio", "target:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
