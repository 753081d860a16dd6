package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/bench"
)

func newBenchSchedulesCommand(g *globals) *cobra.Command {
	var opts bench.SchedulesOptions
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "How late the schedule engine fires, beside a bare timer loop",
		Long: `Write --schedules schedules at rate(--rate), all due at the same instants, into
an embedded store in a temporary directory, run the schedule engine for
--duration with a target that records how late each firing arrives (and
stores nothing), then run a bare timer loop calling one callback per
schedule at the same rate with no store. Print p50/p99/max lateness of both
and the ratio of the p99s, and check that every occurrence fired once.`,
		Example: `  lamina bench schedules
  lamina bench schedules --schedules 5000 --duration 30s
  lamina bench schedules --output json > schedules.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd, g, "", "bench schedules", func() (benchReport, error) {
				return bench.RunSchedules(cmd.Context(), opts, cmd.ErrOrStderr())
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Schedules, "schedules", 1000, "number of schedules")
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "measured stretch of schedule time")
	f.DurationVar(&opts.Rate, "rate", time.Second, "every schedule's period (whole seconds)")
	return cmd
}
