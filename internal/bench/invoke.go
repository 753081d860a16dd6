package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// InvokeOptions configure RunInvoke. Zero fields take the defaults.
type InvokeOptions struct {
	// Callers are the concurrency levels of the warm runs (default 1, 8, 64).
	Callers []int
	// Duration of each measured warm run (default 3 s), after Warmup (default 1 s).
	Duration time.Duration
	Warmup   time.Duration
	// ColdStarts is how many first invocations are timed (default 30).
	ColdStarts int
	// IdleInstances is how many idle instances the memory figure is taken over (default 32).
	IdleInstances int
	// SharedCPUs runs the platform with every instance on all CPUs instead
	// of pinned to its memory's share (`lamina serve --shared-cpus`).
	SharedCPUs bool
	// Progress receives a line per step (nil = discard).
	Progress io.Writer
}

func (o *InvokeOptions) setDefaults() {
	if len(o.Callers) == 0 {
		o.Callers = []int{1, 8, 64}
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = time.Second
	}
	if o.ColdStarts <= 0 {
		o.ColdStarts = 30
	}
	if o.IdleInstances <= 0 {
		o.IdleInstances = 32
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// WarmRow is one concurrency level of the warm comparison.
type WarmRow struct {
	Callers          int
	Lamina, Baseline Stats
	// Floor is the function alone (as many processes as callers) against
	// do-nothing Runtime APIs, without callers: throughput only, and the
	// CPU the function's own processes use per invocation.
	Floor FloorResult
}

// InvokeReport holds every figure of one run.
type InvokeReport struct {
	GOMAXPROCS int
	Duration   time.Duration
	Warm       []WarmRow
	// ColdLamina times the first invoke after CreateFunction; ColdBaseline
	// the start of a net/http process until its first answer.
	ColdLamina, ColdBaseline Stats
	// IdlePlatformBytes is what one idle warm instance costs the Lamina
	// process itself (live heap and goroutine stacks per instance), and
	// IdleGoroutines the goroutines it keeps; IdleFunctionRSS is the
	// function process's own resident memory.
	IdlePlatformBytes int64
	IdleGoroutines    float64
	IdleFunctionRSS   int64
	IdleInstances     int
}

// The warm target: at WarmTargetCallers callers, WarmTarget of the
// one-hop baseline's throughput.
const (
	WarmTarget        = 0.40
	WarmTargetCallers = 8
)

const echoBody = `{"message":"hello from the benchmark"}`

func echoOK(b []byte) bool { return bytes.Contains(b, []byte(`"echo":"hello from the benchmark"`)) }

// RunInvoke measures warm invoke throughput and latency, cold starts and
// the cost of idle instances, each beside its baseline.
func RunInvoke(ctx context.Context, opts InvokeOptions) (*InvokeReport, error) {
	opts.setDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(opts.Progress, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "lamina-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	p, err := startEchoPlatform(ctx, dir, say, opts.SharedCPUs)
	if err != nil {
		return nil, err
	}
	defer p.shutdown(ctx)
	srv, client, zipped := p.srv, p.client, p.zipped
	bootstrapPath, baselinePath := p.bootstrapPath, p.baselinePath

	say("starting the net/http baseline…")
	base, err := startBaseline(ctx, baselinePath)
	if err != nil {
		return nil, err
	}
	defer base.stop()

	rep := &InvokeReport{GOMAXPROCS: runtime.GOMAXPROCS(0), Duration: opts.Duration, IdleInstances: opts.IdleInstances}
	invokeURL := srv.EdgeURL() + "/2015-03-31/functions/bench-echo/invocations"
	for _, n := range opts.Callers {
		hc := newClient(n)
		say("warm, %d caller(s): net/http baseline…", n)
		b, err := load(ctx, hc, base.url, []byte(echoBody), n, opts.Warmup, opts.Duration, echoOK)
		if err != nil {
			return nil, fmt.Errorf("baseline at %d callers: %w", n, err)
		}
		say("warm, %d caller(s): Lamina…", n)
		l, err := load(ctx, hc, invokeURL, []byte(echoBody), n, opts.Warmup, opts.Duration, echoOK)
		if err != nil {
			return nil, fmt.Errorf("lamina at %d callers: %w", n, err)
		}
		hc.CloseIdleConnections()
		say("warm, %d caller(s): the function alone against a do-nothing Runtime API…", n)
		f, err := runtimeFloor(ctx, bootstrapPath, n, opts.Warmup, opts.Duration)
		if err != nil {
			return nil, fmt.Errorf("runtime floor at %d callers: %w", n, err)
		}
		rep.Warm = append(rep.Warm, WarmRow{Callers: n, Lamina: l, Baseline: b, Floor: f})
	}

	say("cold starts: %d first invocations after CreateFunction…", opts.ColdStarts)
	if rep.ColdLamina, err = coldLamina(ctx, client, srv.EdgeURL(), bootstrapPath, opts.ColdStarts); err != nil {
		return nil, err
	}
	say("cold starts: %d net/http process starts…", opts.ColdStarts)
	if rep.ColdBaseline, err = coldBaseline(ctx, baselinePath, opts.ColdStarts); err != nil {
		return nil, err
	}

	say("idle instances: starting %d…", opts.IdleInstances)
	if err := idleCost(ctx, client, srv.EdgeURL(), zipped, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func createFunction(ctx context.Context, c *lambda.Client, name string, zipped []byte) error {
	_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         aws.String("arn:aws:iam::000000000000:role/bench"),
		Code:         &types.FunctionCode{ZipFile: zipped},
		Timeout:      aws.Int32(30),
	})
	if err != nil {
		return fmt.Errorf("create function %s: %w", name, err)
	}
	return nil
}

func invokeOnce(ctx context.Context, hc *http.Client, url, body string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" {
		return fmt.Errorf("invoke: status %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// coldLamina creates a new function (with a distinct package each time, so
// nothing is cached) and times its first invocation.
func coldLamina(ctx context.Context, c *lambda.Client, edge, bootstrap string, n int) (Stats, error) {
	hc := newClient(1)
	lat := make([]time.Duration, 0, n)
	for i := range n {
		name := "bench-cold-" + strconv.Itoa(i)
		zipped, err := zipBootstrap(bootstrap, []byte(name))
		if err != nil {
			return Stats{}, err
		}
		if err := createFunction(ctx, c, name, zipped); err != nil {
			return Stats{}, err
		}
		t0 := time.Now()
		if err := invokeOnce(ctx, hc, edge+"/2015-03-31/functions/"+name+"/invocations", echoBody); err != nil {
			return Stats{}, fmt.Errorf("cold invoke %s: %w", name, err)
		}
		lat = append(lat, time.Since(t0))
		if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err != nil {
			return Stats{}, err
		}
	}
	return summarize(lat, 0, 0), nil
}

type baselineProc struct {
	cmd *exec.Cmd
	url string
}

func (b *baselineProc) stop() {
	_ = b.cmd.Process.Kill()
	_ = b.cmd.Wait()
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// startBaseline starts the net/http program and returns once it answered.
func startBaseline(ctx context.Context, path string) (*baselineProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = append(os.Environ(), "PORT="+port)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &baselineProc{cmd: cmd, url: "http://127.0.0.1:" + port + "/"}
	// A client per start: a fresh connection is part of what is measured.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := invokeOnce(ctx, hc, b.url, echoBody); err == nil {
			return b, nil
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, errors.New("the net/http baseline did not answer within 10s")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func coldBaseline(ctx context.Context, path string, n int) (Stats, error) {
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		b, err := startBaseline(ctx, path)
		if err != nil {
			return Stats{}, err
		}
		lat = append(lat, time.Since(t0))
		b.stop()
	}
	return summarize(lat, 0, 0), nil
}

// idleCost starts IdleInstances instances at once (each invocation sleeps
// so that none can be reused), lets them go idle, and compares the Lamina
// process's resident memory before and after.
func idleCost(ctx context.Context, c *lambda.Client, edge string, zipped []byte, rep *InvokeReport) error {
	if err := createFunction(ctx, c, "bench-idle", zipped); err != nil {
		return err
	}
	// Live heap and goroutine stacks after a GC: the process's RSS is no
	// measure here, since the warm runs before left freed memory that the
	// runtime returns to the OS at its own pace.
	settle := func() (int64, int) {
		var ms runtime.MemStats
		for range 2 {
			runtime.GC()
			time.Sleep(100 * time.Millisecond)
		}
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc + ms.StackInuse), runtime.NumGoroutine()
	}
	before, goroutinesBefore := settle()
	children := childPIDs()
	hc := newClient(rep.IdleInstances)
	var wg sync.WaitGroup
	errs := make(chan error, rep.IdleInstances)
	for range rep.IdleInstances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- invokeOnce(ctx, hc, edge+"/2015-03-31/functions/bench-idle/invocations", `{"message":"idle","sleepMs":500}`)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("starting idle instances: %w", err)
		}
	}
	hc.CloseIdleConnections()
	after, goroutinesAfter := settle()
	rep.IdlePlatformBytes = (after - before) / int64(rep.IdleInstances)
	rep.IdleGoroutines = float64(goroutinesAfter-goroutinesBefore) / float64(rep.IdleInstances)
	var rss, count int64
	for _, pid := range childPIDs() {
		if !slicesContains(children, pid) {
			rss += rssOf(pid)
			count++
		}
	}
	if count > 0 {
		rep.IdleFunctionRSS = rss / count
	}
	return nil
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// rssOf reads a process's resident set size from /proc (0 when unknown).
func rssOf(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// procStat returns the fields of /proc/<pid>/stat after the command name
// (which may hold spaces): f[0] is the state, f[1] the parent, f[11] and
// f[12] the user and system CPU in clock ticks. nil when unreadable.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// childPIDs lists this process's direct children.
func childPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(pid); len(f) > 1 {
			if ppid, _ := strconv.Atoi(f[1]); ppid == self {
				out = append(out, pid)
			}
		}
	}
	return out
}

// Print writes the report as a table with the ratios the project tracks.
func (r *InvokeReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina invoke benchmark (GOMAXPROCS=%d, %s per run; client, platform and functions share this machine)\n\n", r.GOMAXPROCS, r.Duration)
	fmt.Fprintf(w, "warm invoke  callers  %-42s  %-42s  throughput  p50 added\n", "Lamina (Invoke API → aws-lambda-go)", "one net/http hop (same handler)")
	for _, row := range r.Warm {
		ratio := 0.0
		if row.Baseline.Throughput > 0 {
			ratio = row.Lamina.Throughput / row.Baseline.Throughput
		}
		fmt.Fprintf(w, "             %7d  %-42s  %-42s  %9.2fx  %9s\n", row.Callers, row.Lamina, row.Baseline, ratio, round(row.Lamina.P50-row.Baseline.P50))
	}
	fmt.Fprintf(w, "\nceiling      callers  the function alone: as many aws-lambda-go processes polling do-nothing Runtime APIs, no callers, no Invoke API\n")
	for _, row := range r.Warm {
		ratio := func(a, b float64) float64 {
			if b <= 0 {
				return 0
			}
			return a / b
		}
		fmt.Fprintf(w, "             %7d  %8.0f inv/s = %.2fx of the net/http hop; Lamina reaches %.2f of it\n",
			row.Callers, row.Floor.Throughput, ratio(row.Floor.Throughput, row.Baseline.Throughput), ratio(row.Lamina.Throughput, row.Floor.Throughput))
	}
	// The CPU budget the warm target leaves: at WarmTarget of the
	// baseline, the machine's CPUs per invocation minus what the function
	// itself uses is all the caller, the Invoke API hop and the two Runtime
	// API exchanges may cost together.
	for _, row := range r.Warm {
		if row.Callers != WarmTargetCallers || row.Baseline.Throughput <= 0 || row.Floor.FunctionCPU <= 0 {
			continue
		}
		cpus := float64(row.Floor.CPUs)
		perInvoke := time.Duration(cpus / (WarmTarget * row.Baseline.Throughput) * float64(time.Second))
		hop := time.Duration(cpus / row.Baseline.Throughput * float64(time.Second))
		fmt.Fprintf(w, "budget       at %.2fx with %d callers (%.0f/s on %d CPUs) an invocation may use %s of CPU in all; the function's processes use %s of it,\n"+
			"             leaving %s for the caller, the Invoke API hop and two Runtime API exchanges; one net/http hop (client and server) uses %s here\n",
			WarmTarget, row.Callers, WarmTarget*row.Baseline.Throughput, row.Floor.CPUs, round(perInvoke), round(row.Floor.FunctionCPU),
			round(perInvoke-row.Floor.FunctionCPU), round(hop))
	}
	coldRatio := 0.0
	if r.ColdBaseline.P50 > 0 {
		coldRatio = float64(r.ColdLamina.P50) / float64(r.ColdBaseline.P50)
	}
	fmt.Fprintf(w, "\ncold start   Lamina first invoke after create: p50 %s p99 %s   net/http process to first answer: p50 %s p99 %s   ratio (p50) %.2fx\n",
		round(r.ColdLamina.P50), round(r.ColdLamina.P99), round(r.ColdBaseline.P50), round(r.ColdBaseline.P99), coldRatio)
	fmt.Fprintf(w, "idle         per idle warm instance (%d measured): Lamina process +%s live memory, %.1f goroutines; the function process itself %s RSS\n",
		r.IdleInstances, bytesString(r.IdlePlatformBytes), r.IdleGoroutines, bytesString(r.IdleFunctionRSS))
	fmt.Fprintf(w, "\ntargets: warm throughput ≥ 0.40x at 8 callers; p50 added ≤ 120µs at 1 caller; cold start ≤ 2.0x\n")
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 || n <= -1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// MarshalJSON-friendly form for --output json.
func (r *InvokeReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
