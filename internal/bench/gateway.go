package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// GatewayOptions configure RunGateway. Zero fields take the defaults.
type GatewayOptions struct {
	// Callers are the concurrency levels (default 1, 8, 64).
	Callers []int
	// Duration of each path's measured time per caller count (default
	// 3 s), after Warmup (default 1 s) on each path.
	Duration time.Duration
	Warmup   time.Duration
	// Rounds splits Duration into that many slices, run alternately on the
	// two paths (invoke, gateway, invoke, …), so that drift on a shared
	// machine weighs on both alike (default 3).
	Rounds int
	// Progress receives a line per step (nil = discard).
	Progress io.Writer
}

func (o *GatewayOptions) setDefaults() {
	if len(o.Callers) == 0 {
		o.Callers = []int{1, 8, 64}
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = time.Second
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// GatewayRow is one concurrency level: the same function called through
// the HTTP API gateway and through the Invoke API.
type GatewayRow struct {
	Callers         int
	Gateway, Invoke Stats
	// Ratio is Gateway.Throughput / Invoke.Throughput.
	Ratio float64
}

// GatewayReport holds every figure of one run.
type GatewayReport struct {
	GOMAXPROCS int
	Duration   time.Duration
	Rounds     int
	APIID      string
	// GatewayURL and InvokeURL are what the two paths called.
	GatewayURL, InvokeURL string
	Rows                  []GatewayRow
}

// GatewayTargetCallers and GatewayTargetRatio are issue 5's target: the
// gateway path at least 0.75x of the Invoke API's throughput at 8 callers.
const (
	GatewayTargetCallers = 8
	GatewayTargetRatio   = 0.75
)

// gatewayOK accepts the gateway's answer: the function's reply (a plain
// JSON object, which payload 2.0 infers as a 200 with that body).
func gatewayOK(b []byte) bool { return bytes.Contains(b, []byte(`"echo":`)) }

// RunGateway boots a platform in-process, deploys the echo function,
// quick-creates an HTTP API in front of it (route "ANY /{proxy+}",
// payload 2.0) and measures, at each caller count and in the same run,
// requests through the gateway listener beside the Invoke API on the
// edge, with the same small JSON body.
func RunGateway(ctx context.Context, opts GatewayOptions) (*GatewayReport, error) {
	opts.setDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(opts.Progress, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "lamina-bench-gateway-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	p, err := startEchoPlatform(ctx, dir, say, false)
	if err != nil {
		return nil, err
	}
	defer p.shutdown(ctx)
	srv, client := p.srv, p.client
	const fn = "bench-echo"
	got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
	if err != nil {
		return nil, fmt.Errorf("get function %s: %w", fn, err)
	}
	fnARN := aws.ToString(got.Configuration.FunctionArn)

	say("creating the HTTP API (quick create, ANY /{proxy+} → %s)…", fn)
	apiID, err := quickCreateAPI(ctx, srv.EdgeURL(), "bench-gateway", fnARN, "ANY /{proxy+}")
	if err != nil {
		return nil, err
	}
	rep := &GatewayReport{
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Duration:   opts.Duration,
		Rounds:     opts.Rounds,
		APIID:      apiID,
		GatewayURL: srv.GatewayURL() + "/" + apiID + "/echo",
		InvokeURL:  srv.EdgeURL() + "/2015-03-31/functions/" + fn + "/invocations",
	}
	// The gateway's view of the definitions follows the store; wait until
	// the new API answers.
	if err := waitGateway(ctx, rep.GatewayURL); err != nil {
		return nil, err
	}

	slice := opts.Duration / time.Duration(opts.Rounds)
	for _, n := range opts.Callers {
		hc := newClient(n)
		var invLat, gwLat []time.Duration
		var invErrs, gwErrs int
		for i := range opts.Rounds {
			warmup := time.Duration(0)
			if i == 0 {
				warmup = opts.Warmup
			}
			say("%d caller(s), round %d/%d: Invoke API…", n, i+1, opts.Rounds)
			lat, errs, err := loadLatencies(ctx, hc, rep.InvokeURL, []byte(echoBody), n, warmup, slice, echoOK)
			if err != nil {
				return nil, fmt.Errorf("invoke API at %d callers: %w", n, err)
			}
			invLat, invErrs = append(invLat, lat...), invErrs+errs
			say("%d caller(s), round %d/%d: gateway…", n, i+1, opts.Rounds)
			lat, errs, err = loadLatencies(ctx, hc, rep.GatewayURL, []byte(echoBody), n, warmup, slice, gatewayOK)
			if err != nil {
				return nil, fmt.Errorf("gateway at %d callers: %w", n, err)
			}
			gwLat, gwErrs = append(gwLat, lat...), gwErrs+errs
		}
		hc.CloseIdleConnections()
		elapsed := slice * time.Duration(opts.Rounds)
		row := GatewayRow{Callers: n, Gateway: summarize(gwLat, gwErrs, elapsed), Invoke: summarize(invLat, invErrs, elapsed)}
		if row.Invoke.Throughput > 0 {
			row.Ratio = row.Gateway.Throughput / row.Invoke.Throughput
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, nil
}

// quickCreateAPI calls CreateApi on the edge (the API Gateway v2 control
// plane) with a Lambda target and returns the new API's id.
func quickCreateAPI(ctx context.Context, edge, name, target, routeKey string) (string, error) {
	body, _ := json.Marshal(map[string]string{
		"name": name, "protocolType": "HTTP", "target": target, "routeKey": routeKey,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, edge+"/v2/apis", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("create API: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create API: status %d: %.300s", resp.StatusCode, b)
	}
	var out struct {
		APIID string `json:"apiId"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.APIID == "" {
		return "", fmt.Errorf("create API: no apiId in %.300s", b)
	}
	return out.APIID, nil
}

// waitGateway posts to url until it answers the function's reply (10 s at most).
func waitGateway(ctx context.Context, url string) error {
	hc := newClient(1)
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := postOnce(ctx, hc, url, []byte(echoBody), gatewayOK)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not serve the new API within 10s: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Print writes the report as a table with the ratio the project tracks.
func (r *GatewayReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina gateway benchmark (GOMAXPROCS=%d, %s per path and caller count in %d alternating rounds; client, platform and function share this machine)\n", r.GOMAXPROCS, r.Duration, r.Rounds)
	fmt.Fprintf(w, "gateway: POST %s (HTTP API, payload 2.0)   invoke: POST %s\n\n", r.GatewayURL, r.InvokeURL)
	fmt.Fprintf(w, "callers  %-42s  %-42s  throughput  p50 added\n", "gateway → aws-lambda-go", "Invoke API → aws-lambda-go")
	for _, row := range r.Rows {
		fmt.Fprintf(w, "%7d  %-42s  %-42s  %9.2fx  %9s\n", row.Callers, row.Gateway, row.Invoke, row.Ratio, round(row.Gateway.P50-row.Invoke.P50))
	}
	fmt.Fprintf(w, "\ntarget: gateway ≥ %.2fx of Invoke at %d callers", GatewayTargetRatio, GatewayTargetCallers)
	for _, row := range r.Rows {
		if row.Callers == GatewayTargetCallers {
			verdict := "met"
			if row.Ratio < GatewayTargetRatio {
				verdict = "missed"
			}
			fmt.Fprintf(w, " — measured %.2fx (%s)", row.Ratio, verdict)
		}
	}
	fmt.Fprintln(w)
}

// JSON is the report for --output json.
func (r *GatewayReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
