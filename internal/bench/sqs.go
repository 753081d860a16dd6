package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSOptions configure RunSQS. Zero fields take the defaults.
type SQSOptions struct {
	// Callers is the number of concurrent SDK clients (default 8).
	Callers int
	// Duration of each measured run (default 3 s) after Warmup (default 1 s).
	Duration time.Duration
	Warmup   time.Duration
	// LongPolls is how many long-poll receives are timed (default 200).
	LongPolls int
	// Progress receives a line per step (nil = discard).
	Progress io.Writer
}

func (o *SQSOptions) setDefaults() {
	if o.Callers <= 0 {
		o.Callers = 8
	}
	if o.Duration <= 0 {
		o.Duration = 3 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = time.Second
	}
	if o.LongPolls <= 0 {
		o.LongPolls = 200
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// SQSReport holds the figures of one RunSQS.
type SQSReport struct {
	GOMAXPROCS int
	Callers    int
	Duration   time.Duration
	// Baseline is one net/http hop (a small JSON request and reply) at
	// Callers concurrent callers.
	Baseline Stats
	// Messages is how many messages went through SendMessageBatch →
	// ReceiveMessage → DeleteMessageBatch (10 per call) in Duration;
	// MessagesPerSecond is their rate and Calls the API calls made.
	Messages          int
	Calls             int
	MessagesPerSecond float64
	// Ratio is MessagesPerSecond / Baseline.Throughput (issue 6's target: ≥ 0.8).
	Ratio float64
	// LongPoll is the time from the start of a SendMessage to the answer
	// of a ReceiveMessage that was already waiting (WaitTimeSeconds 20),
	// over LongPolls tries: it includes the send's own round trip.
	LongPollP50, LongPollP99 time.Duration
	// RoundTrip is the p50 of one empty ReceiveMessage (WaitTimeSeconds 0):
	// the floor under the long-poll figure.
	RoundTripP50 time.Duration
}

// Targets of issue 6.
const (
	SQSTargetRatio       = 0.8
	SQSTargetLongPollP50 = 5 * time.Millisecond
)

// RunSQS starts Lamina in-process and measures its SQS API with the
// aws-sdk-go-v2 client beside a plain net/http server in the same run,
// then the latency of a long poll when a message arrives.
func RunSQS(ctx context.Context, opts SQSOptions) (*SQSReport, error) {
	opts.setDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(opts.Progress, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "lamina-bench-sqs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	srv, err := startBarePlatform(ctx, dir, say)
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Shutdown(context.WithoutCancel(ctx)) }()
	rep := &SQSReport{GOMAXPROCS: runtime.GOMAXPROCS(0), Callers: opts.Callers, Duration: opts.Duration}

	say("baseline: one net/http hop at %d callers…", opts.Callers)
	base, stop, err := startJSONBaseline()
	if err != nil {
		return nil, err
	}
	rep.Baseline, err = load(ctx, newClient(opts.Callers), base, []byte(`{"message":"hello"}`), opts.Callers, opts.Warmup, opts.Duration, func([]byte) bool { return true })
	stop()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}

	client := newSQSClient(srv.EdgeURL(), opts.Callers)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-sqs")})
	if err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	qurl := q.QueueUrl
	say("SQS: SendMessageBatch → ReceiveMessage → DeleteMessageBatch, 10 per call, %d callers…", opts.Callers)
	var msgs, calls atomic.Int64
	cycle := func(ctx context.Context, id int, count bool) error {
		entries := make([]sqstypes.SendMessageBatchRequestEntry, 10)
		for i := range entries {
			entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(`{"message":"hello","caller":` + strconv.Itoa(id) + `}`)}
		}
		if _, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: qurl, Entries: entries}); err != nil {
			return err
		}
		got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qurl, MaxNumberOfMessages: 10})
		if err != nil {
			return err
		}
		n := 2
		if len(got.Messages) > 0 {
			del := make([]sqstypes.DeleteMessageBatchRequestEntry, len(got.Messages))
			for i, m := range got.Messages {
				del[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
			}
			out, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: qurl, Entries: del})
			if err != nil {
				return err
			}
			if len(out.Failed) > 0 {
				return fmt.Errorf("delete: %s", aws.ToString(out.Failed[0].Message))
			}
			n++
		}
		if count {
			msgs.Add(int64(len(got.Messages)))
			calls.Add(int64(n))
		}
		return nil
	}
	run := func(d time.Duration, count bool) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, opts.Callers)
		for id := range opts.Callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := cycle(ctx, id, count); err != nil {
						if ctx.Err() == nil {
							errs <- err
						}
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	if err := run(opts.Warmup, false); err != nil {
		return nil, fmt.Errorf("SQS warm-up: %w", err)
	}
	if err := run(opts.Duration, true); err != nil {
		return nil, fmt.Errorf("SQS run: %w", err)
	}
	rep.Messages, rep.Calls = int(msgs.Load()), int(calls.Load())
	rep.MessagesPerSecond = float64(rep.Messages) / opts.Duration.Seconds()
	if rep.Baseline.Throughput > 0 {
		rep.Ratio = rep.MessagesPerSecond / rep.Baseline.Throughput
	}

	say("long poll: %d receives waiting when a message is sent…", opts.LongPolls)
	if rep.LongPollP50, rep.LongPollP99, rep.RoundTripP50, err = longPolls(ctx, srv.EdgeURL(), opts.LongPolls); err != nil {
		return nil, err
	}
	return rep, nil
}

// longPolls times, n times, a ReceiveMessage that is already waiting when
// a SendMessage is answered, and also an empty short receive.
func longPolls(ctx context.Context, edge string, n int) (p50, p99, rt time.Duration, err error) {
	client := newSQSClient(edge, 2)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-longpoll")})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("create queue: %w", err)
	}
	var lat, empty []time.Duration
	for i := range n {
		got := make(chan time.Time, 1)
		failed := make(chan error, 1)
		go func() {
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 1})
			switch {
			case err != nil:
				failed <- err
			case len(out.Messages) != 1:
				failed <- errors.New("long poll returned no message")
			default:
				got <- time.Now()
				_, _ = client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: out.Messages[0].ReceiptHandle})
			}
		}()
		// Give the receive time to arrive and wait on the queue.
		time.Sleep(5 * time.Millisecond)
		// Timed from the start of the send: the message arrives somewhere
		// within the send's round trip, which the figure therefore includes.
		sent := time.Now()
		if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("ping " + strconv.Itoa(i))}); err != nil {
			return 0, 0, 0, fmt.Errorf("send: %w", err)
		}
		select {
		case at := <-got:
			lat = append(lat, max(at.Sub(sent), 0))
		case err := <-failed:
			return 0, 0, 0, fmt.Errorf("long poll: %w", err)
		case <-time.After(25 * time.Second):
			return 0, 0, 0, errors.New("long poll: no answer in 25s")
		}
		start := time.Now()
		if _, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl}); err != nil {
			return 0, 0, 0, fmt.Errorf("receive: %w", err)
		}
		empty = append(empty, time.Since(start))
	}
	slices.Sort(lat)
	slices.Sort(empty)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], empty[len(empty)/2], nil
}

// newSQSClient is an SDK client for the edge with enough idle connections
// for callers.
func newSQSClient(edge string, callers int) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(edge),
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
		HTTPClient:   newClient(callers),
	})
}

// startJSONBaseline serves one small JSON reply per request on a free
// port, in this process: the one-hop net/http baseline.
func startJSONBaseline() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Message string `json:"message"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"echo": ev.Message})
	})}
	go func() { _ = hs.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = hs.Close() }, nil
}

// Print writes the report with the ratios the project tracks.
func (r *SQSReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina SQS benchmark (GOMAXPROCS=%d, %d callers, %s per run; client, platform and store share this machine)\n\n", r.GOMAXPROCS, r.Callers, r.Duration)
	fmt.Fprintf(w, "net/http, one hop:                 %s\n", r.Baseline)
	fmt.Fprintf(w, "SQS API (send+receive+delete ×10): %8.0f msg/s  (%d messages, %.0f API calls/s, durable)\n", r.MessagesPerSecond, r.Messages, float64(r.Calls)/r.Duration.Seconds())
	verdict := "met"
	if r.Ratio < SQSTargetRatio {
		verdict = "missed"
	}
	fmt.Fprintf(w, "ratio: %.2f messages/s per net/http request/s (target ≥ %.1f: %s)\n\n", r.Ratio, SQSTargetRatio, verdict)
	verdict = "met"
	if r.LongPollP50 >= SQSTargetLongPollP50 {
		verdict = "missed"
	}
	fmt.Fprintf(w, "long poll, send started → waiting receive answered: p50 %s  p99 %s  (target p50 < %s: %s)\n", round(r.LongPollP50), round(r.LongPollP99), SQSTargetLongPollP50, verdict)
	fmt.Fprintf(w, "empty ReceiveMessage round trip (the floor):  p50 %s\n", round(r.RoundTripP50))
}

// JSON is the report for --output json.
func (r *SQSReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
