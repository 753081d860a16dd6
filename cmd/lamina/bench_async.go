package main

import (
	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/bench"
)

func newBenchAsyncCommand(g *globals) *cobra.Command {
	var (
		opts       bench.AsyncOptions
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "async",
		Short: "Event invocation throughput, beside the store's raw publish+consume rate",
		Long: `Build a real aws-lambda-go function (needs the Go toolchain), start the store,
registry, runtime pool, invoke and async services in-process (no HTTP edge),
and for each --workers concurrency warm up as many instances, then enqueue
--events Event invocations in batches of --batch and time them from the
first enqueue until the last one completed. How many run at once matters:
too few leave the CPUs waiting on round trips, too many add processes that
take turns. At the fastest concurrency it then times as many synchronous
in-process invocations (the invoke path without the queue) and the async
layer with an in-process no-op function. In the same run, publish as many
messages of the same size to a work-queue stream while a durable consumer
fetches and acknowledges them, and print both rates and their ratio. Each
concurrency is measured --rounds times, interleaved, and reported by its
median.`,
		Example: `  lamina bench async
  lamina bench async --events 100000 --workers 8,16,32,64,128
  lamina bench async --output json > async.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, g, cpuProfile, "bench async", func() (benchReport, error) {
				return bench.RunAsync(cmd.Context(), opts, cmd.ErrOrStderr())
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Events, "events", 20000, "events enqueued in the measured run")
	f.IntSliceVar(&opts.Workers, "workers", []int{16, 32, 64}, "events run at once (as many function instances); one run per value, the other figures at the fastest")
	f.IntVar(&opts.Batch, "batch", 500, "events per EnqueueBatch")
	f.IntVar(&opts.Rounds, "rounds", 3, "times each concurrency is measured (interleaved); each is reported by its median")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (enqueuer and platform) to this file")
	return cmd
}
