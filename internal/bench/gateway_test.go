package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRunGatewaySmall runs the gateway benchmark briefly: both paths must
// have answered (200s only, more than none) and the report must print.
func TestRunGatewaySmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and boots the platform; skipped in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := RunGateway(ctx, GatewayOptions{
		Callers: []int{1}, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Callers != 1 {
		t.Fatalf("rows = %+v, want one at 1 caller", rep.Rows)
	}
	row := rep.Rows[0]
	if row.Gateway.Requests == 0 || row.Gateway.Errors != 0 {
		t.Errorf("gateway: %+v", row.Gateway)
	}
	if row.Invoke.Requests == 0 || row.Invoke.Errors != 0 {
		t.Errorf("invoke: %+v", row.Invoke)
	}
	if row.Ratio <= 0 || rep.APIID == "" {
		t.Errorf("ratio %v, API %q", row.Ratio, rep.APIID)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"gateway", "Invoke API", "target: gateway ≥ 0.75x of Invoke at 8 callers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	b, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back GatewayReport
	if err := json.Unmarshal(b, &back); err != nil || len(back.Rows) != 1 {
		t.Errorf("JSON round trip: %v, %s", err, b)
	}
}
