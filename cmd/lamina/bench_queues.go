package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/bench"
)

func newBenchSQSCommand(g *globals) *cobra.Command {
	var (
		opts       bench.SQSOptions
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "sqs",
		Short: "SQS API throughput beside one net/http hop, and long-poll latency",
		Long: `Start the platform in-process and measure, in the same run:

  baseline  a plain net/http server answering a small JSON request, at
            --callers concurrent callers (requests/s);
  sqs       --callers aws-sdk-go-v2 SQS clients each looping SendMessageBatch
            (10) → ReceiveMessage (10) → DeleteMessageBatch, durably stored
            (messages/s; the ratio to the baseline's requests/s is the figure
            issue 6 tracks, target ≥ 0.8);
  long poll a ReceiveMessage already waiting (WaitTimeSeconds 20) when a
            SendMessage is answered: time until the receive answers
            (target p50 < 5 ms), beside an empty receive's round trip.`,
		Example: `  lamina bench sqs
  lamina bench sqs --duration 10s --callers 16
  lamina bench sqs --output json > sqs.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			return runBench(cmd, g, cpuProfile, "bench sqs", func() (benchReport, error) {
				return bench.RunSQS(cmd.Context(), opts)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Callers, "callers", 8, "concurrent callers of both runs")
	f.DurationVar(&opts.Duration, "duration", 3*time.Second, "length of each measured run")
	f.DurationVar(&opts.Warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	f.IntVar(&opts.LongPolls, "long-polls", 200, "long-poll receives timed")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and platform) to this file")
	return cmd
}

func newBenchESMCommand(g *globals) *cobra.Command {
	var (
		opts       bench.ESMOptions
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "esm",
		Short: "Queue → event source mapping → function throughput, beside the store's raw rate",
		Long: `Build a real aws-lambda-go no-op function (needs the Go toolchain), start the
platform in-process, map a queue to the function (--batch-size, batching
window 1 s), send --messages messages with SendMessageBatch from --senders
aws-sdk-go-v2 clients, and time until the queue is drained: every message
delivered to the function and deleted. Then measure the store's raw
publish+consume rate for as many messages (the baseline). Issue 6's target
is 20,000 messages/s end to end.`,
		Example: `  lamina bench esm
  lamina bench esm --messages 200000 --batch-size 1000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Progress = cmd.ErrOrStderr()
			return runBench(cmd, g, cpuProfile, "bench esm", func() (benchReport, error) {
				return bench.RunESM(cmd.Context(), opts)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Messages, "messages", 100000, "messages sent in the measured run")
	f.IntVar(&opts.Senders, "senders", 8, "concurrent SDK clients sending batches of 10")
	f.IntVar(&opts.BatchSize, "batch-size", 100, "the event source mapping's BatchSize")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and platform) to this file")
	return cmd
}
