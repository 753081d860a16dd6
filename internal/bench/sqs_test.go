package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunSQSSmall runs the SQS benchmark briefly: messages must have gone
// through, the long polls must have been timed, and the report must print
// the figures the issue tracks.
func TestRunSQSSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the platform; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := RunSQS(ctx, SQSOptions{Callers: 2, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond, LongPolls: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages == 0 || rep.Calls < 3 || rep.Baseline.Requests == 0 || rep.Ratio <= 0 {
		t.Errorf("report %+v", rep)
	}
	if rep.LongPollP50 <= 0 || rep.LongPollP99 < rep.LongPollP50 || rep.RoundTripP50 <= 0 {
		t.Errorf("long poll p50 %s p99 %s, round trip %s", rep.LongPollP50, rep.LongPollP99, rep.RoundTripP50)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"net/http, one hop", "messages/s per net/http request/s (target ≥ 0.8", "long poll", "target p50 < 5ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, err := rep.JSON()
	var back SQSReport
	if err != nil || json.Unmarshal(b, &back) != nil || back.Messages != rep.Messages {
		t.Errorf("JSON round trip: %s (%v)", b, err)
	}
}

// TestRunESMSmall runs the queue → function benchmark on a few thousand
// messages: every one must be processed and the store baseline measured.
func TestRunESMSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and boots the platform; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := RunESM(ctx, ESMOptions{Messages: 3000, Senders: 2, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Throughput <= 0 || rep.StoreThroughput <= 0 || rep.Elapsed < rep.SendElapsed || rep.SendElapsed <= 0 {
		t.Errorf("report %+v", rep)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"event source mapping (batch 100)", "store raw publish+consume", "target ≥ 20000 msg/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
