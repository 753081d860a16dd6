package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/internal/store"
)

// ESMOptions configure RunESM. Zero fields take the defaults.
type ESMOptions struct {
	// Messages is how many messages the measured run sends (default 100,000).
	Messages int
	// Senders is how many SDK clients send batches of 10 at once (default 8).
	Senders int
	// BatchSize is the event source mapping's batch size (default 100).
	BatchSize int
	// Progress receives a line per step (nil = discard).
	Progress io.Writer
}

func (o *ESMOptions) setDefaults() {
	if o.Messages <= 0 {
		o.Messages = 100000
	}
	if o.Senders <= 0 {
		o.Senders = 8
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// ESMReport holds the figures of one RunESM.
type ESMReport struct {
	GOMAXPROCS int
	Messages   int
	Senders    int
	BatchSize  int
	// Elapsed is from the first SendMessageBatch to the moment the queue is
	// empty (every message delivered to the function and deleted);
	// Throughput is Messages / Elapsed. SendElapsed is the sending alone
	// (which overlaps with the processing).
	Elapsed     time.Duration
	Throughput  float64
	SendElapsed time.Duration
	// StoreThroughput is the baseline: the store's raw publish+consume rate
	// (a work-queue stream, batched publishes, a durable consumer
	// acknowledging each message) for as many messages, measured in the
	// same run.
	StoreThroughput float64
}

// ESMTarget is issue 6's end-to-end target on this machine.
const ESMTarget = 20000

// RunESM starts Lamina in-process with the no-op aws-lambda-go function,
// maps a queue to it (batch BatchSize), sends Messages messages with
// SendMessageBatch from Senders SDK clients and times until the queue is
// drained; then measures the store's raw rate for the same count.
func RunESM(ctx context.Context, opts ESMOptions) (*ESMReport, error) {
	opts.setDefaults()
	say := func(format string, args ...any) { fmt.Fprintf(opts.Progress, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "lamina-bench-esm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := startEchoPlatform(ctx, dir, say, false)
	if err != nil {
		return nil, err
	}
	rep := &ESMReport{GOMAXPROCS: runtime.GOMAXPROCS(0), Messages: opts.Messages, Senders: opts.Senders, BatchSize: opts.BatchSize}
	client := newSQSClient(p.srv.EdgeURL(), opts.Senders)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("bench-esm")})
	if err != nil {
		p.shutdown(ctx)
		return nil, fmt.Errorf("create queue: %w", err)
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	say("mapping the queue to bench-echo (batch %d)…", opts.BatchSize)
	if _, err := p.client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName:                   aws.String("bench-echo"),
		EventSourceArn:                 aws.String(attrs.Attributes["QueueArn"]),
		BatchSize:                      aws.Int32(int32(opts.BatchSize)),
		MaximumBatchingWindowInSeconds: aws.Int32(1),
	}); err != nil {
		p.shutdown(ctx)
		return nil, fmt.Errorf("create event source mapping: %w", err)
	}

	// A short warm-up so that the function's instances exist.
	if err := sendMessages(ctx, client, q.QueueUrl, 2000, opts.Senders, nil); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	if err := waitDrained(ctx, client, q.QueueUrl, time.Minute); err != nil {
		p.shutdown(ctx)
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	say("sending %d messages from %d clients and processing them…", opts.Messages, opts.Senders)
	start := time.Now()
	var sendDone atomic.Int64
	if err := sendMessages(ctx, client, q.QueueUrl, opts.Messages, opts.Senders, &sendDone); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	rep.SendElapsed = time.Duration(sendDone.Load())
	if err := waitDrained(ctx, client, q.QueueUrl, 10*time.Minute); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	rep.Throughput = float64(opts.Messages) / rep.Elapsed.Seconds()
	p.shutdown(ctx)

	say("baseline: the store's raw publish+consume rate for %d messages…", opts.Messages)
	st, err := store.Open(ctx, store.Config{DataDir: filepath.Join(dir, "raw"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	raw, err := storeBaseline(ctx, st, opts.Messages, 500, 16, 64)
	if err != nil {
		return nil, fmt.Errorf("store baseline: %w", err)
	}
	rep.StoreThroughput = float64(opts.Messages) / raw.Seconds()
	return rep, nil
}

// sendMessages sends n small messages in batches of 10 from senders
// clients; when took is set it receives the time the sending took.
func sendMessages(ctx context.Context, client *sqs.Client, qurl *string, n, senders int, took *atomic.Int64) error {
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := make([]sqstypes.SendMessageBatchRequestEntry, 10)
			for {
				first := int(next.Add(10)) - 10
				if first >= n {
					return
				}
				k := min(10, n-first)
				for i := range k {
					entries[i] = sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(`{"message":"m` + strconv.Itoa(first+i) + `"}`)}
				}
				out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: qurl, Entries: entries[:k]})
				if err == nil && len(out.Failed) > 0 {
					err = errors.New(aws.ToString(out.Failed[0].Message))
				}
				if err != nil {
					errs <- fmt.Errorf("send: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if took != nil {
		took.Store(int64(time.Since(start)))
	}
	close(errs)
	return <-errs
}

// waitDrained polls the queue's counts until no message is visible or in
// flight.
func waitDrained(ctx context.Context, client *sqs.Client, qurl *string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qurl, AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			return err
		}
		if out.Attributes["ApproximateNumberOfMessages"] == "0" && out.Attributes["ApproximateNumberOfMessagesNotVisible"] == "0" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("queue not drained after %s: %v", limit, out.Attributes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Print writes the report with the ratio to the store's raw rate.
func (r *ESMReport) Print(w io.Writer) {
	fmt.Fprintf(w, "Lamina queue → function benchmark (GOMAXPROCS=%d; SDK senders, platform, store and function share this machine)\n\n", r.GOMAXPROCS)
	fmt.Fprintf(w, "SendMessageBatch (%d senders) → event source mapping (batch %d) → aws-lambda-go no-op\n", r.Senders, r.BatchSize)
	fmt.Fprintf(w, "  %d messages in %s: %8.0f msg/s end to end (sending alone took %s)\n", r.Messages, r.Elapsed.Round(time.Millisecond), r.Throughput, r.SendElapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "store raw publish+consume:          %8.0f msg/s\n", r.StoreThroughput)
	ratio := 0.0
	if r.StoreThroughput > 0 {
		ratio = r.Throughput / r.StoreThroughput
	}
	verdict := "met"
	if r.Throughput < ESMTarget {
		verdict = "missed"
	}
	fmt.Fprintf(w, "ratio to the store: %.2fx   target ≥ %d msg/s: %s\n", ratio, ESMTarget, verdict)
}

// JSON is the report for --output json.
func (r *ESMReport) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
