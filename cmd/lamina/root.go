package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Defaults of the client flags.
const (
	defaultEndpoint = "http://127.0.0.1:4566"
	defaultRegion   = "us-east-1"
	outputTable     = "table"
	outputJSON      = "json"
)

// globals are the persistent flags shared by the client commands. They are
// resolved (flags over environment over defaults) before a command runs.
type globals struct {
	Endpoint string
	Output   string
	Region   string
}

// newRootCommand builds the whole command tree. Each call returns a fresh
// tree with its own flag values, so tests can run commands in-process.
func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "lamina",
		Short: "Run AWS Lambda functions on your own machines",
		Long: `Lamina is a self-hosted serverless platform in one binary. It runs unmodified
AWS Lambda functions and speaks the AWS wire APIs, so the AWS SDKs, the AWS CLI
and your existing tools work against it: on a laptop as a fast local emulator,
or on your own servers as a production platform.

"lamina serve" runs the platform. Every other subcommand is a client of its
HTTP API (the same API the AWS SDKs use) at --endpoint.`,
		Example: `  # Start the platform (API on http://127.0.0.1:4566)
  lamina serve

  # In another terminal: build and deploy a Go function, then list functions
  lamina deploy ./hello --name hello --runtime provided.al2023
  lamina functions list

  # Talk to a Lamina elsewhere, with JSON output
  LAMINA_ENDPOINT=http://lamina.internal:4566 lamina functions list --output json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolve(cmd.Flags(), os.Getenv)
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())
	})

	pf := root.PersistentFlags()
	pf.StringVar(&g.Endpoint, "endpoint", defaultEndpoint, "URL of the Lamina API (env LAMINA_ENDPOINT)")
	pf.StringVar(&g.Output, "output", outputTable, "output format: table or json")
	pf.StringVar(&g.Region, "region", defaultRegion, "AWS region to sign requests for (env AWS_REGION)")

	root.AddCommand(
		newServeCommand(),
		newVersionCommand(),
		newFunctionsCommand(g),
		newDeployCommand(g),
		newBenchCommand(g),
		newInvokeCommand(g),
		newLogsCommand(g),
		newSchedulesCommand(g),
		newDLQCommand(g),
		newQueuesCommand(g),
		newTopicsCommand(g),
		newStacksCommand(g),
		newUpCommand(g),
	)
	return root
}

// resolve applies the environment to the flags the user did not set, and
// checks the values: a flag given on the command line wins over its
// environment variable, which wins over the default.
func (g *globals) resolve(fs *pflag.FlagSet, getenv func(string) string) error {
	fromEnv := func(flag, env string, dst *string) {
		if f := fs.Lookup(flag); f != nil && f.Changed {
			return
		}
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	fromEnv("endpoint", "LAMINA_ENDPOINT", &g.Endpoint)
	fromEnv("region", "AWS_REGION", &g.Region)

	switch g.Output {
	case outputTable, outputJSON:
	default:
		return fmt.Errorf("invalid --output %q: want table or json", g.Output)
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a message that says what is missing.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s needs %s (got %d arguments)\nUsage: %s", cmd.CommandPath(), what, len(args), cmd.UseLine())
		}
		return nil
	}
}
