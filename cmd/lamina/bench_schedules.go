package main

import (
	"fmt"
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
			rep, err := bench.RunSchedules(cmd.Context(), opts, cmd.ErrOrStderr())
			if err != nil {
				return fmt.Errorf("bench schedules: %w", err)
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
	f.IntVar(&opts.Schedules, "schedules", 1000, "number of schedules")
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "measured stretch of schedule time")
	f.DurationVar(&opts.Rate, "rate", time.Second, "every schedule's period (whole seconds)")
	return cmd
}
