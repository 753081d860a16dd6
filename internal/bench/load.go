package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Stats summarises one measured run.
type Stats struct {
	Requests   int
	Errors     int
	Elapsed    time.Duration
	Throughput float64 // requests per second
	P50, P99   time.Duration
}

func (s Stats) String() string {
	return fmt.Sprintf("%8.0f req/s  p50 %8s  p99 %8s", s.Throughput, round(s.P50), round(s.P99))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(100 * time.Nanosecond)
	}
}

// summarize computes percentiles from the latencies (which it sorts).
func summarize(lat []time.Duration, errors int, elapsed time.Duration) Stats {
	slices.Sort(lat)
	s := Stats{Requests: len(lat), Errors: errors, Elapsed: elapsed}
	if elapsed > 0 {
		s.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		s.P50 = lat[len(lat)*50/100]
		s.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return s
}

// load posts body to url from `callers` goroutines, each sending its next
// request as soon as its last one is answered, for warmup (not counted)
// then for d. A request counts only if it answers 200 and check accepts
// the body.
func load(ctx context.Context, client *http.Client, url string, body []byte, callers int, warmup, d time.Duration, check func([]byte) bool) (Stats, error) {
	lat, errs, err := loadLatencies(ctx, client, url, body, callers, warmup, d, check)
	if err != nil {
		return Stats{Errors: errs}, err
	}
	return summarize(lat, errs, d), nil
}

// newClient makes an HTTP client that keeps one connection per caller.
func newClient(callers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = callers * 2
	t.MaxIdleConnsPerHost = callers * 2
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

// loadLatencies is load's measurement: the latencies of the good answers
// and the count of bad ones, unsummarised, so that the gateway benchmark
// can merge the slices of its alternating rounds. It fails only when no
// request succeeded.
func loadLatencies(ctx context.Context, client *http.Client, url string, body []byte, callers int, warmup, d time.Duration, check func([]byte) bool) ([]time.Duration, int, error) {
	var (
		mu       sync.Mutex
		all      []time.Duration
		errCount int
		firstErr error
		wg       sync.WaitGroup
	)
	measureFrom := time.Now().Add(warmup)
	end := measureFrom.Add(d)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 1<<12)
			errs := 0
			var err1 error
			for {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					break
				}
				err := postOnce(ctx, client, url, body, check)
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					errs++
					if err1 == nil {
						err1 = err
					}
					continue
				}
				lat = append(lat, t1.Sub(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errCount += errs
			if firstErr == nil {
				firstErr = err1
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(all) == 0 && firstErr != nil {
		return nil, errCount, firstErr
	}
	return all, errCount, nil
}

// postOnce posts body to url and checks the answer: 200, no function
// error, and a body that check accepts.
func postOnce(ctx context.Context, client *http.Client, url string, body []byte, check func([]byte) bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Amz-Function-Error") != "" || !check(b) {
		return fmt.Errorf("status %d, body %.200q", resp.StatusCode, b)
	}
	return nil
}
