package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/affinity"
)

// The Runtime API floor: how fast the benchmark's aws-lambda-go function
// can possibly run on this machine, with n processes (one per concurrent
// invocation, as Lambda and Lamina run them), each polling its own
// Runtime API that answers /next with a fixed event at once and /response
// with 202, and nothing else: no callers, no Invoke API, no pool, no logs.
// No platform that runs the unmodified function can be faster, so the
// report shows how much of the warm throughput target is reachable at all.
//
// The processes are pinned one CPU each, spread round robin, as Lamina
// pins 128 MB instances, so that the floor and Lamina run the function
// under the same conditions.

// floorEvent is the /next answer: the benchmark's event with the headers
// aws-lambda-go requires.
var floorEvent = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
	"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n" +
	"Lambda-Runtime-Deadline-Ms: 32503680000000\r\n" +
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:bench-floor\r\n" +
	"Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0\r\n" +
	"Content-Length: " + strconv.Itoa(len(echoBody)) + "\r\n\r\n" + echoBody)

var floorAccepted = []byte("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")

// FloorResult is what runtimeFloor measured.
type FloorResult struct {
	Stats
	// FunctionCPU is the CPU time (user + system) the function processes
	// themselves spent per invocation: with CPUs cores, no platform can run
	// more than CPUs / FunctionCPU invocations a second, even if it and its
	// callers cost nothing.
	FunctionCPU time.Duration
	CPUs        int
}

// Bound is CPUs / FunctionCPU: invocations per second the function's own
// processes would allow with every core theirs.
func (f FloorResult) Bound() float64 {
	if f.FunctionCPU <= 0 {
		return 0
	}
	return float64(f.CPUs) / f.FunctionCPU.Seconds()
}

// runtimeFloor runs n copies of bootstrap against do-nothing Runtime APIs
// and counts the responses they post during d, after warmup.
func runtimeFloor(ctx context.Context, bootstrap string, n int, warmup, d time.Duration) (FloorResult, error) {
	var responses atomic.Int64
	var wg sync.WaitGroup
	var listeners []net.Listener
	var procs []*exec.Cmd
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
		for _, cmd := range procs {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		wg.Wait()
	}()
	cpus := affinity.Allowed()
	for i := range n {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return FloorResult{}, err
		}
		listeners = append(listeners, ln)
		wg.Go(func() { acceptFloor(ln, &responses, &wg) })
		cmd := exec.Command(bootstrap)
		cmd.Env = append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
		var cpu []int
		if len(cpus) > 1 {
			cpu = []int{cpus[i%len(cpus)]}
		}
		if err := startPinned(cmd, cpu); err != nil {
			return FloorResult{}, fmt.Errorf("start the function: %w", err)
		}
		procs = append(procs, cmd)
	}
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return FloorResult{}, ctx.Err()
	}
	before, cpuBefore := responses.Load(), cpuTime(procs)
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return FloorResult{}, ctx.Err()
	}
	done, cpuSpent := int(responses.Load()-before), cpuTime(procs)-cpuBefore
	if done == 0 {
		return FloorResult{}, errors.New("the function posted no response to the floor's Runtime API")
	}
	return FloorResult{
		Stats:       Stats{Requests: done, Elapsed: d, Throughput: float64(done) / d.Seconds()},
		FunctionCPU: cpuSpent / time.Duration(done),
		CPUs:        max(1, len(cpus)),
	}, nil
}

// cpuTime is the user + system CPU time the processes have used, from
// /proc (in clock ticks of 10 ms: measured windows are seconds long).
func cpuTime(procs []*exec.Cmd) time.Duration {
	var ticks int64
	for _, cmd := range procs {
		if f := procStat(cmd.Process.Pid); len(f) > 12 {
			utime, _ := strconv.ParseInt(f[11], 10, 64)
			stime, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += utime + stime
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// startPinned starts cmd restricted to cpus (all when empty): from a
// locked thread whose affinity the child inherits.
func startPinned(cmd *exec.Cmd, cpus []int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	restore, err := affinity.PinThread(cpus)
	if err != nil {
		return err
	}
	defer restore()
	return cmd.Start()
}

func acceptFloor(ln net.Listener, responses *atomic.Int64, wg *sync.WaitGroup) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		wg.Go(func() {
			defer c.Close()
			serveFloor(c, responses)
		})
	}
}

// serveFloor answers one runtime's requests: just enough HTTP/1.1 for
// aws-lambda-go (Content-Length and chunked bodies).
func serveFloor(c net.Conn, responses *atomic.Int64) {
	br := bufio.NewReaderSize(c, 16<<10)
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		isGet := bytes.HasPrefix(line, []byte("GET "))
		isResponse := bytes.Contains(line, []byte("/response "))
		length, chunked := -1, false
		for {
			h, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			h = bytes.TrimRight(h, "\r\n")
			if len(h) == 0 {
				break
			}
			name, value, _ := bytes.Cut(h, []byte(":"))
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				length, _ = strconv.Atoi(string(value))
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				chunked = bytes.Contains(bytes.ToLower(value), []byte("chunked"))
			}
		}
		if err := discardBody(br, length, chunked); err != nil {
			return
		}
		reply := floorAccepted
		if isGet {
			reply = floorEvent
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
		if isResponse {
			responses.Add(1)
		}
	}
}

func discardBody(br *bufio.Reader, length int, chunked bool) error {
	if !chunked {
		if length > 0 {
			_, err := br.Discard(length)
			return err
		}
		return nil
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return fmt.Errorf("chunk size %q: %w", size, err)
		}
		if n == 0 {
			// Trailers, then the empty line.
			for {
				t, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}
