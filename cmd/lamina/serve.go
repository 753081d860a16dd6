package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lamina-dev/lamina/internal/server"
)

func newServeCommand() *cobra.Command {
	var (
		cfg             server.Config
		logLevel        string
		logFormat       string
		maxMemoryMB     int64
		maxStoreMB      int64
		maxTimeout      int
		maxAsyncRetries int
		maxEventAge     int
		concurrency     int
		shutdownWindow  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Lamina platform",
		Long: `Run the Lamina platform on this machine.

The edge listener serves the AWS-compatible APIs — Lambda, SQS (JSON and query
protocols), SNS, EventBridge Scheduler and rules, API Gateway v2's control
plane, CloudWatch Logs — for any AWS SDK or the AWS CLI pointed at it with
--endpoint-url, plus /_lamina/health; the gateway listener serves the HTTP
APIs and function URLs. All state
lives in NATS JetStream: embedded in this process with its files under
--data-dir, or an external NATS server with --nats-url.

Every flag can also be set with an environment variable: LAMINA_ and the flag
name in upper case with '_' for '-' (for example LAMINA_DATA_DIR). Flags win.

The first SIGINT or SIGTERM drains in-flight requests and closes the store
cleanly; a second one exits at once.`,
		Example: `  # Start with everything embedded, data in ./.lamina
  lamina serve

  # Another data directory and edge port
  lamina serve --data-dir /var/lib/lamina --listen 0.0.0.0:4566

  # Use an external NATS JetStream server
  lamina serve --nats-url nats://127.0.0.1:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyServeEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			cfg.StoreMaxMemory = maxMemoryMB << 20
			cfg.StoreMaxStore = maxStoreMB << 20
			cfg.Limits.MaxTimeout = maxTimeout
			cfg.Limits.AccountConcurrency = concurrency
			cfg.Limits.MaxAsyncRetryAttempts = maxAsyncRetries
			cfg.Limits.MaxEventAge = maxEventAge
			return runServe(cmd.Context(), cfg, shutdownWindow)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", ".lamina", "directory for the embedded store's data")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:4566", "address of the edge listener (AWS APIs, health)")
	f.StringVar(&cfg.GatewayListen, "gateway-listen", "127.0.0.1:3000", "address of the HTTP API gateway listener")
	f.StringVar(&cfg.NATSURL, "nats-url", "", "use this external NATS JetStream server instead of the embedded one")
	f.StringVar(&cfg.NATSListen, "nats-listen", "", "open the embedded NATS server's client port on this address (default: no port)")
	f.StringVar(&cfg.NATSToken, "nats-token", "", "token every client of --nats-listen must present (nats://TOKEN@host:port); without it any local process can read and write all state")
	f.Int64Var(&maxMemoryMB, "store-max-memory", 256, "JetStream memory limit in MiB for the embedded store")
	f.Int64Var(&maxStoreMB, "store-max-disk", 10240, "JetStream disk limit in MiB for the embedded store")
	f.DurationVar(&cfg.SyncInterval, "sync-interval", 0, "how often the embedded store fsyncs (0 = NATS default, 2m; \"always\" is not offered: use a short interval)")
	f.IntVar(&maxTimeout, "max-function-timeout", 900, "largest function Timeout in seconds that the registry accepts")
	f.IntVar(&concurrency, "concurrency", 1000, "concurrent executions this node offers; synchronous calls over it get 429 TooManyRequestsException (reserved concurrency is carved out of it)")
	f.IntVar(&cfg.SyncReserve, "sync-reserve", 0, "concurrency that async events and schedules may never take, kept for synchronous callers (0 = a tenth of --concurrency, -1 = none)")
	f.IntVar(&cfg.AsyncMaxPayload, "async-max-payload", 1<<20, "largest Event (async) invocation payload in bytes")
	f.DurationVar(&cfg.AsyncRetryDelay, "async-retry-delay", time.Minute, "wait before retrying an async event whose function failed (doubles per retry, at most 5m; AWS: ~1m)")
	f.IntVar(&cfg.AsyncWorkers, "async-workers", 256, "async events run at once on this node")
	f.IntVar(&maxAsyncRetries, "max-async-retries", 2, "largest MaximumRetryAttempts an event-invoke config may set (AWS: 2)")
	f.IntVar(&maxEventAge, "max-event-age", 21600, "largest MaximumEventAgeInSeconds an event-invoke config may set (AWS: 21600)")
	f.DurationVar(&cfg.DeadLetterRetention, "dlq-retention", 14*24*time.Hour, "how long the dead-letter store keeps failed events")
	f.DurationVar(&cfg.ScheduleCatchUp, "schedule-catch-up", 5*time.Minute, "after downtime, missed schedule firings this recent are still fired (older ones are skipped)")
	f.DurationVar(&cfg.GatewayIntegrationTimeout, "gateway-integration-timeout", 30*time.Second, "longest HTTP API integration timeout (timeoutInMillis) accepted and applied; AWS: 30s")
	f.DurationVar(&cfg.KeepWarm, "keep-warm", 10*time.Minute, "how long an idle warm instance is kept before it is stopped")
	f.BoolVar(&cfg.AllowRootFunctions, "allow-root-functions", false, "when running as root, let Python/Node functions run as root if no interpreter the sandbox user can run is installed (unsafe)")
	f.BoolVar(&cfg.SharedCPUs, "shared-cpus", false, "let every function instance use all CPUs (default: each gets the whole CPUs its MemorySize buys on Lambda, one per 1,769 MB, at least one, pinned to the least loaded)")
	f.DurationVar(&cfg.InitTimeout, "init-timeout", 10*time.Second, "how long a new instance may take from start to its first Runtime API /next")
	f.DurationVar(&shutdownWindow, "shutdown-timeout", 30*time.Second, "how long a graceful shutdown waits for in-flight requests")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

// applyServeEnv fills every flag the user did not set from LAMINA_<FLAG>.
func applyServeEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "LAMINA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if setErr := f.Value.Set(v); setErr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, setErr)
			}
		}
	})
	return err
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// runServe starts the server and blocks until a signal or a listener failure.
// The first SIGINT/SIGTERM shuts down gracefully; a second exits at once.
func runServe(ctx context.Context, cfg server.Config, shutdownWindow time.Duration) error {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	go func() {
		select {
		case <-sigs: // a signal during start-up abandons it
			cancelStart()
		case <-startCtx.Done():
		}
	}()
	if err := srv.Start(startCtx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	cancelStart()

	var runErr error
	select {
	case sig := <-sigs:
		cfg.Logger.Info("shutting down; send the signal again to force", "signal", sig.String())
	case runErr = <-srv.Err():
		cfg.Logger.Error("listener failed; shutting down", "err", runErr)
	}
	go func() {
		<-sigs
		cfg.Logger.Warn("second signal: exiting now")
		os.Exit(1)
	}()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWindow)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	cfg.Logger.Info("stopped")
	return runErr
}
