package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSchedulesSmall runs the schedules benchmark briefly: every
// occurrence must fire exactly once, in the engine and in the baseline.
// Speed is not asserted (the machine may be busy).
func TestRunSchedulesSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := RunSchedules(ctx, SchedulesOptions{Schedules: 50, Duration: 3 * time.Second}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]Lateness{"lamina": rep.Lamina, "baseline": rep.Baseline} {
		if l.Expected != 150 || l.Firings != 150 || l.Missing != 0 || l.Duplicates != 0 {
			t.Errorf("%s: %+v, want 150 of 150, none missing or repeated", name, l)
		}
		if l.P50 < 0 || l.P99 < l.P50 || l.Max < l.P99 {
			t.Errorf("%s: percentiles out of order: %+v", name, l)
		}
	}
	if rep.Engine.Firings < 150 || rep.Engine.FireErrors != 0 || rep.Engine.Batches < 3 {
		t.Errorf("engine stats %+v", rep.Engine)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"Lamina engine", "bare timer loop", "ratio (p99)", "target:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "baseline") {
		t.Errorf("progress: %q", progress.String())
	}
}

func TestSchedulesOptions(t *testing.T) {
	o := SchedulesOptions{}
	if err := o.setDefaults(); err != nil || o.Schedules != 1000 || o.Duration != 10*time.Second || o.Rate != time.Second {
		t.Errorf("defaults %+v, %v", o, err)
	}
	o = SchedulesOptions{Rate: 1500 * time.Millisecond}
	if err := o.setDefaults(); err == nil {
		t.Error("a rate of 1.5 s was accepted")
	}
}
