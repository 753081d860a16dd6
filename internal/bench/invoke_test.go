package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	lat := make([]time.Duration, 0, 100)
	for i := 100; i >= 1; i-- { // unsorted on purpose
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	s := summarize(lat, 3, 2*time.Second)
	if s.P50 != 51*time.Millisecond || s.P99 != 100*time.Millisecond {
		t.Errorf("p50/p99 = %s/%s, want 51ms/100ms", s.P50, s.P99)
	}
	if s.Throughput != 50 || s.Requests != 100 || s.Errors != 3 {
		t.Errorf("throughput %v requests %d errors %d, want 50/100/3", s.Throughput, s.Requests, s.Errors)
	}
	if z := summarize(nil, 0, 0); z.P50 != 0 || z.Throughput != 0 {
		t.Errorf("empty summary = %+v", z)
	}
}

// TestRunInvokeSmall runs the whole benchmark briefly: every figure must be
// measured (no failed request, a baseline beside each) and printed.
func TestRunInvokeSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs and boots the platform; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := RunInvoke(ctx, InvokeOptions{
		Callers: []int{1, 2}, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
		ColdStarts: 2, IdleInstances: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warm) != 2 {
		t.Fatalf("%d warm rows, want 2", len(rep.Warm))
	}
	for _, row := range rep.Warm {
		if row.Lamina.Requests == 0 || row.Lamina.Errors != 0 || row.Baseline.Requests == 0 || row.Baseline.Errors != 0 {
			t.Errorf("callers=%d: lamina %+v baseline %+v", row.Callers, row.Lamina, row.Baseline)
		}
		if row.Floor.Requests == 0 || row.Floor.Throughput <= 0 || row.Floor.CPUs < 1 {
			t.Errorf("callers=%d: no floor measured: %+v", row.Callers, row.Floor)
		}
	}
	if rep.ColdLamina.Requests != 2 || rep.ColdLamina.P50 <= 0 || rep.ColdBaseline.P50 <= 0 {
		t.Errorf("cold: lamina %+v baseline %+v", rep.ColdLamina, rep.ColdBaseline)
	}
	if rep.IdleFunctionRSS <= 0 || rep.IdleGoroutines <= 0 {
		t.Errorf("idle: function RSS %d, goroutines per instance %v", rep.IdleFunctionRSS, rep.IdleGoroutines)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"warm invoke", "ceiling", "cold start", "idle", "targets:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
