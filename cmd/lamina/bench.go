package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/bench"
)

func newBenchCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Lamina against baselines on this machine",
		Long: `Measure Lamina on this machine, each figure beside a baseline measured in the
same run, and print the ratios. A benchmark starts its own platform in-process
(temporary data directory, free ports); it does not use a running server.`,
		Example: `  lamina bench invoke`,
	}
	cmd.AddCommand(newBenchInvokeCommand(g))
	cmd.AddCommand(newBenchSchedulesCommand(g))
	cmd.AddCommand(newBenchAsyncCommand(g))
	cmd.AddCommand(newBenchGatewayCommand(g))
	cmd.AddCommand(newBenchSQSCommand(g))
	cmd.AddCommand(newBenchESMCommand(g))
	return cmd
}

func newBenchInvokeCommand(g *globals) *cobra.Command {
	var (
		opts       bench.InvokeOptions
		callers    []int
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "invoke",
		Short: "Warm invoke throughput and latency, cold starts, idle cost",
		Long: `Build a real aws-lambda-go function (needs the Go toolchain) and the same handler
logic as a plain net/http server, then measure:

  warm    throughput and p50/p99 latency at each --callers level, Lamina's
          Invoke API beside one net/http hop;
  cold    the first invoke after CreateFunction, beside starting a net/http
          process and getting its first answer;
  idle    what an idle warm instance costs the Lamina process, and the
          function process's own memory.`,
		Example: `  lamina bench invoke
  lamina bench invoke --duration 10s --callers 1,8,64,128
  lamina bench invoke --output json > bench.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Callers = callers
			opts.Progress = cmd.ErrOrStderr()
			return runBench(cmd, g, cpuProfile, "bench invoke", func() (benchReport, error) {
				return bench.RunInvoke(cmd.Context(), opts)
			})
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&callers, "callers", []int{1, 8, 64}, "concurrent callers of the warm runs")
	f.DurationVar(&opts.Duration, "duration", 3*time.Second, "length of each measured warm run")
	f.DurationVar(&opts.Warmup, "warmup", time.Second, "unmeasured warm-up before each warm run")
	f.IntVar(&opts.ColdStarts, "cold", 30, "number of cold starts timed")
	f.IntVar(&opts.IdleInstances, "idle", 32, "idle instances the memory figure is averaged over")
	f.BoolVar(&opts.SharedCPUs, "shared-cpus", false, "run every function instance on all CPUs, as `lamina serve --shared-cpus` does (default: pinned to its memory's share)")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process (client and platform) to this file")
	return cmd
}

// benchReport is what every benchmark returns.
type benchReport interface {
	JSON() ([]byte, error)
	Print(w io.Writer)
}

// runBench runs one benchmark under an optional CPU profile and prints its
// report as a table or, with --output json, as JSON.
func runBench(cmd *cobra.Command, g *globals, cpuProfile, what string, run func() (benchReport, error)) error {
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
	rep, err := run()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
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
}
