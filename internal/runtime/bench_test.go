package runtime

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lamina-dev/lamina/internal/telemetry"
	"time"
)

// BenchmarkColdStart measures the first invocation of a static aws-lambda-go
// bootstrap: a new instance per iteration (process start, init until the
// first /next, the event, the response).
func BenchmarkColdStart(b *testing.B) {
	p, _ := newTestPool(b, Options{Logs: discardSink{}})
	spec := goSpec(b, "cold", nil)
	invoke(b, p, spec, `{}`) // extracts the code
	time.Sleep(50 * time.Millisecond)
	var initTotal time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := *spec
		s.Key = spec.Key + ":" + time.Now().String()
		res, err := p.Invoke(context.Background(), &s, &Invocation{Payload: []byte(`{"x":1}`)})
		if err != nil || res.FunctionError != "" {
			b.Fatal(err, res)
		}
		initTotal += res.InitDuration
		b.StopTimer()
		p.Retire("cold", func(string) bool { return false })
		time.Sleep(20 * time.Millisecond)
		b.StartTimer()
	}
	b.ReportMetric(float64(initTotal.Microseconds())/float64(b.N), "init-µs/op")
}

type discardSink struct{}

func (discardSink) WriteLog(telemetry.LogLine) {}

// BenchmarkColdStartBaseline is the floor BenchmarkColdStart is compared
// with: start a tiny static net/http process and get its first answer.
func BenchmarkColdStartBaseline(b *testing.B) {
	bin := filepath.Join(buildBinaries(b), "httpecho")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		addr, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		resp, err := client.Post("http://"+strings.TrimSpace(addr)+"/", "application/json", strings.NewReader(`{"x":1}`))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		b.StopTimer()
		cmd.Process.Kill()
		cmd.Wait()
		time.Sleep(20 * time.Millisecond)
		b.StartTimer()
	}
}

// The warm benchmarks run b.N invocations from a fixed number of callers
// (1 and 8, whatever -cpu says) and report req/s and p50/p99 latency:
//
//	Invoke:   pool.Invoke straight into a warm aws-lambda-go echo instance.
//	HTTP:     the whole path of a sync invoke: an HTTP client, a net/http
//	          front handler calling pool.Invoke (what package invoke adds
//	          on top is not included), the instance, and back.
//	Baseline: the same HTTP client against a one-hop net/http echo process.
func BenchmarkWarmInvoke(b *testing.B) {
	payload := []byte(`{"message":"hello","n":12345}`)
	for _, callers := range []int{1, 8} {
		b.Run(fmt.Sprintf("Invoke/callers=%d", callers), func(b *testing.B) {
			p, spec := warmPool(b, callers)
			runCallers(b, callers, func() {
				res, err := p.Invoke(context.Background(), spec, &Invocation{Payload: payload})
				if err != nil || res.FunctionError != "" {
					b.Fatal(err, res)
				}
			})
		})
		b.Run(fmt.Sprintf("HTTP/callers=%d", callers), func(b *testing.B) {
			p, spec := warmPool(b, callers)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				res, err := p.Invoke(r.Context(), spec, &Invocation{Payload: body})
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				if res.FunctionError != "" {
					w.Header().Set("X-Amz-Function-Error", res.FunctionError)
				}
				w.Write(res.Payload)
			}))
			defer srv.Close()
			runHTTP(b, callers, srv.URL, payload)
		})
		b.Run(fmt.Sprintf("Baseline/callers=%d", callers), func(b *testing.B) {
			cmd := exec.Command(filepath.Join(buildBinaries(b), "httpecho"))
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() { cmd.Process.Kill(); cmd.Wait() }()
			addr, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			runHTTP(b, callers, "http://"+strings.TrimSpace(addr)+"/", payload)
		})
	}
}

// warmPool returns a pool with n warm instances of the echo function.
func warmPool(b *testing.B, n int) (*Pool, *Spec) {
	p, _ := newTestPool(b, Options{Logs: discardSink{}})
	spec := goSpec(b, "warm", nil)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			invoke(b, p, spec, `{"op":"sleep","ms":200}`)
		}()
	}
	wg.Wait()
	time.Sleep(50 * time.Millisecond) // let the cgroup slots settle
	return p, spec
}

func runHTTP(b *testing.B, callers int, url string, payload []byte) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers, MaxConnsPerHost: callers}}
	runCallers(b, callers, func() {
		resp, err := client.Post(url, "application/json", bytes.NewReader(payload))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != int64(len(payload)) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	})
}

// runCallers runs op b.N times from callers goroutines and reports req/s,
// p50 and p99.
func runCallers(b *testing.B, callers int, op func()) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				op()
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
