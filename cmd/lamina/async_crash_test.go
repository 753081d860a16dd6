package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// TestAsyncEventsSurviveSIGKILL enqueues 10,000 Event invocations of a real
// aws-lambda-go function that records each event's id, kills the server
// with SIGKILL while events are both arriving and running, restarts it on
// the same data directory, enqueues the rest, and expects every event that
// was answered 202 to have run at least once.
func TestAsyncEventsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lamina and runs 10,000 async events")
	}
	const total = 10000
	bin := buildLamina(t)
	zipFile := gofnBootstrapZip(t)

	// The function runs as an unprivileged user: the record file must be
	// reachable and writable by it.
	recDir, err := os.MkdirTemp("", "lamina-async-crash-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(recDir) })
	if err := os.Chmod(recDir, 0o777); err != nil {
		t.Fatal(err)
	}
	recFile := filepath.Join(recDir, "ids")
	if err := os.WriteFile(recFile, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(recFile, 0o666); err != nil {
		t.Fatal(err)
	}

	dataDir := t.TempDir()
	// Four workers and 2 ms per event keep a backlog, so that the kill
	// finds events queued, held and running.
	env := []string{"LAMINA_ASYNC_WORKERS=4"}
	srv := startServe(t, bin, dataDir, env...)
	ctx := context.Background()
	client := srv.client()
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("recorder"),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/lamina"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: zipFile},
		Timeout:      aws.Int32(30),
		Environment:  &types.Environment{Variables: map[string]string{"RECORD_FILE": recFile}},
	}); err != nil {
		t.Fatal(err)
	}

	var accepted [total]atomic.Bool
	var nAccepted atomic.Int64
	// enqueue sends every id not yet accepted, with 16 callers, until stop
	// says so or each has been tried once.
	enqueue := func(c *lambda.Client, stop func() bool) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= total || stop() {
						return
					}
					if accepted[i].Load() {
						continue
					}
					payload := fmt.Sprintf(`{"op":"record","text":"%d","ms":2}`, i)
					out, err := c.Invoke(ctx, &lambda.InvokeInput{
						FunctionName:   aws.String("recorder"),
						InvocationType: types.InvocationTypeEvent,
						Payload:        []byte(payload),
					}, func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
					if err == nil && out.StatusCode == 202 {
						accepted[i].Store(true)
						nAccepted.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}

	// Kill once half the events are accepted, while the workers are busy.
	killed := make(chan struct{})
	go func() {
		for nAccepted.Load() < total/2 {
			time.Sleep(time.Millisecond)
		}
		_ = srv.cmd.Process.Signal(syscall.SIGKILL)
		_ = srv.wait()
		close(killed)
	}()
	enqueue(client, func() bool {
		select {
		case <-killed:
			return true
		default:
			return false
		}
	})
	<-killed
	ranBefore := len(readRecorded(t, recFile))
	t.Logf("killed with %d events accepted and %d runs recorded", nAccepted.Load(), ranBefore)
	if ranBefore >= int(nAccepted.Load()) {
		t.Fatalf("every accepted event had run before the kill (%d runs): the test did not kill mid-way", ranBefore)
	}

	srv = startServe(t, bin, dataDir, env...)
	enqueue(srv.client(), func() bool { return false })
	if n := nAccepted.Load(); n != total {
		t.Fatalf("only %d of %d events were accepted after the restart", n, total)
	}

	deadline := time.Now().Add(3 * time.Minute)
	for {
		seen := readRecorded(t, recFile)
		missing := 0
		for i := range total {
			if accepted[i].Load() && seen[i] == 0 {
				missing++
			}
		}
		if missing == 0 {
			runs := 0
			for _, n := range seen {
				runs += n
			}
			t.Logf("all %d accepted events ran; %d runs in all (%d duplicates, allowed: at-least-once)", total, runs, runs-total)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d accepted events never ran; server logs:\n%s", missing, tail(srv.logs.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// readRecorded counts the runs of each id in the record file.
func readRecorded(t *testing.T, path string) map[int]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[int]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id, err := strconv.Atoi(sc.Text()); err == nil {
			seen[id]++
		}
	}
	return seen
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
