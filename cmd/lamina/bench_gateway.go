package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/bench"
)

func newBenchGatewayCommand(g *globals) *cobra.Command {
	var (
		opts       bench.GatewayOptions
		callers    []int
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "HTTP API gateway throughput and latency, beside the Invoke API",
		Long: `Build a real aws-lambda-go function (needs the Go toolchain), start the platform
in-process, quick-create an HTTP API in front of it (route "ANY /{proxy+}",
payload 2.0), and at each --callers level measure, in the same run, the
throughput and p50/p99 latency of:

  gateway  POST /{apiId}/echo on the gateway listener, a small JSON body;
  invoke   the Lambda Invoke API on the edge, with the same body;

and print the ratio gateway/invoke. Each path gets --duration per caller count,
split into --rounds slices run alternately (invoke, gateway, invoke, …) so
that drift on a shared machine weighs on both paths alike.`,
		Example: `  lamina bench gateway
  lamina bench gateway --duration 10s --callers 1,8,64
  lamina bench gateway --cpuprofile gateway.pprof
  lamina bench gateway --output json > gateway.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Callers = callers
			opts.Progress = cmd.ErrOrStderr()
			return runBench(cmd, g, cpuProfile, "bench gateway", func() (benchReport, error) {
				return bench.RunGateway(cmd.Context(), opts)
			})
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&callers, "callers", []int{1, 8, 64}, "concurrent callers of each run")
	f.DurationVar(&opts.Duration, "duration", 3*time.Second, "measured time per path and caller count")
	f.DurationVar(&opts.Warmup, "warmup", time.Second, "unmeasured warm-up on each path before each caller count")
	f.IntVar(&opts.Rounds, "rounds", 3, "alternating slices --duration is split into on each path")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and platform) to this file")
	return cmd
}
