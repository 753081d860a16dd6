package main

import (
	"fmt"
	"os"
	"runtime/pprof"

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
warm up --workers instances, then enqueue --events Event invocations in
batches of --batch and time them from the first enqueue until the last one
completed. In the same run, publish as many messages of the same size to a
work-queue stream while a durable consumer fetches and acknowledges them,
and print both rates and their ratio.`,
		Example: `  lamina bench async
  lamina bench async --events 100000 --workers 64
  lamina bench async --output json > async.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			rep, err := bench.RunAsync(cmd.Context(), opts, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("bench async: %w", err)
			}
			if g.Output == outputJSON {
				b, err := rep.JSON()
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			rep.Print(cmd.OutOrStdout())
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Events, "events", 20000, "events enqueued in the measured run")
	f.IntVar(&opts.Workers, "workers", 16, "events run at once (as many function instances)")
	f.IntVar(&opts.Batch, "batch", 500, "events per EnqueueBatch")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (enqueuer and platform) to this file")
	return cmd
}
