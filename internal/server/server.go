// Package server wires `lamina serve`: configuration → store → services →
// listeners, and an orderly shutdown in the reverse order. It owns no
// behaviour of its own beyond the health endpoint.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/esm"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/invoke/async"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/runtime"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/schedule/engine"
	"github.com/lamina-dev/lamina/internal/stacks"
	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/telemetry"
	"github.com/lamina-dev/lamina/internal/topic"
)

// Config is everything `lamina serve` can be told. Zero values take the
// defaults documented on each field.
type Config struct {
	// DataDir holds the embedded store's files (default ".lamina").
	DataDir string
	// Listen is the edge address for the AWS-compatible APIs (default 127.0.0.1:4566).
	// Port 0 picks a free port; Server.EdgeURL reports it.
	Listen string
	// GatewayListen is the address of the HTTP API gateway (default 127.0.0.1:3000).
	GatewayListen string
	// NATSURL uses an external NATS server instead of the embedded one.
	NATSURL string
	// NATSListen opens the embedded NATS server's client port ("" = no port).
	NATSListen string
	// NATSToken is required of every client of that port (strongly advised
	// with NATSListen: without it, any local process can read and write all state).
	NATSToken string
	// StoreMaxMemory and StoreMaxStore bound JetStream (zero = the store's defaults).
	StoreMaxMemory int64
	StoreMaxStore  int64
	// SyncInterval is the embedded store's fsync interval (zero = NATS default, 2 min).
	SyncInterval time.Duration
	// Limits for the function registry (zero fields = AWS's defaults).
	// Limits.AccountConcurrency is also the node's invocation capacity
	// (default 1000): functions with reserved concurrency hold their share,
	// the others share the rest; beyond it invocations get 429.
	Limits function.Limits
	// KeepWarm is how long an idle function instance is kept (default 10 min).
	KeepWarm time.Duration
	// InitTimeout bounds a function instance's init phase (default 10 s, as AWS).
	InitTimeout time.Duration
	// AllowRootFunctions lets Python/Node functions run as root when Lamina
	// runs as root and the only interpreter is one the unprivileged sandbox
	// user cannot run (default: such invocations fail with a clear error).
	AllowRootFunctions bool
	// SharedCPUs lets every function instance run on all CPUs; by default
	// each is pinned to the whole CPUs its MemorySize buys on Lambda (one
	// per 1,769 MB, at least one).
	SharedCPUs bool
	// SyncReserve is the capacity background work (async events,
	// schedules) may never take, so synchronous callers always find room
	// (0 = a tenth of the capacity; negative = none).
	SyncReserve int
	// AsyncMaxPayload bounds an Event invocation's payload (default 1 MiB, as AWS).
	AsyncMaxPayload int
	// AsyncRetryDelay is the wait before the first retry of an async event
	// whose function failed (default 1 min, as AWS; doubling, capped at 5
	// min). A local emulator may want it short.
	AsyncRetryDelay time.Duration
	// AsyncWorkers is how many async events run at once on this node (default 256).
	AsyncWorkers int
	// DeadLetterRetention is how long the dead-letter store keeps a record (default 14 days).
	DeadLetterRetention time.Duration
	// ScheduleCatchUp is how far back missed schedule firings are still
	// fired after downtime (default 5 min; older ones are skipped and logged).
	ScheduleCatchUp time.Duration
	// GatewayIntegrationTimeout caps every HTTP API integration's timeout
	// (default 30 s, as AWS; larger when configured).
	GatewayIntegrationTimeout time.Duration
	// NodeID names this node in leases (default: hostname and process id).
	NodeID string
	// Logger for everything (nil = slog.Default()).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.DataDir == "" {
		c.DataDir = ".lamina"
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:4566"
	}
	if c.GatewayListen == "" {
		c.GatewayListen = "127.0.0.1:3000"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.KeepWarm <= 0 {
		c.KeepWarm = 10 * time.Minute
	}
}

// Server is one Lamina node.
type Server struct {
	cfg Config
	log *slog.Logger

	edgeLn, gatewayLn net.Listener
	edge, gateway     *http.Server
	serveErr          chan error

	ready atomic.Bool
	// api is set once the services are up; until then the edge answers 503.
	api atomic.Pointer[http.Handler]

	store     store.Store
	functions *function.Service
	logs      logSink
	pool      *runtime.Pool
	invoker   *invoke.Service

	gatewayDefs *gateway.Service
	gatewayKeys *gateway.Keys
	// gatewayHandler is the gateway listener's handler once the services are up.
	gatewayHandler atomic.Pointer[http.Handler]

	deadLetters *deadletter.Store
	async       *async.Service
	queues      *queue.Service
	topics      *topic.Service
	mappings    *esm.Service
	schedules   *schedule.Service
	// background runs the async workers, the schedule engine and the
	// dead-letter sweeper; cancelled first on shutdown.
	background     context.Context
	stopBackground context.CancelFunc
	engine         *engine.Engine
	engineDone     chan struct{}

	shutdownOnce sync.Once
	shutdownErr  error
}

// New validates cfg. Nothing is opened until Start.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	// Absolute even with an external store: function instances run from
	// <DataDir>/runtime, a local directory in every setup.
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("data dir %q: %w", cfg.DataDir, err)
	}
	cfg.DataDir = abs
	return &Server{cfg: cfg, log: cfg.Logger, serveErr: make(chan error, 2)}, nil
}

// Start binds the listeners (the health endpoint answers 503 "starting"
// at once), opens the store and the services, and returns once the node is
// ready. On error everything opened so far is closed again.
func (s *Server) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			_ = s.Shutdown(context.WithoutCancel(ctx))
		}
	}()
	if s.edgeLn, err = net.Listen("tcp", s.cfg.Listen); err != nil {
		return fmt.Errorf("edge listener: %w", err)
	}
	if s.gatewayLn, err = net.Listen("tcp", s.cfg.GatewayListen); err != nil {
		return fmt.Errorf("gateway listener: %w", err)
	}
	s.edge = s.httpServer(s.edgeHandler())
	s.gateway = s.httpServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := s.gatewayHandler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		gatewayNotReady(w, r)
	}))
	go s.serve(s.edge, s.edgeLn)
	go s.serve(s.gateway, s.gatewayLn)
	s.log.Info("listening", "edge", s.EdgeURL(), "gateway", "http://"+s.gatewayLn.Addr().String())

	st, err := store.Open(ctx, store.Config{
		URL:          s.cfg.NATSURL,
		DataDir:      filepath.Join(s.cfg.DataDir, "store"),
		ClientListen: s.cfg.NATSListen,
		ClientToken:  s.cfg.NATSToken,
		MaxMemory:    s.cfg.StoreMaxMemory,
		MaxStore:     s.cfg.StoreMaxStore,
		SyncInterval: s.cfg.SyncInterval,
		Logger:       s.log,
	})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	s.store = st
	gwPort := s.gatewayPort()
	s.functions, err = function.New(ctx, function.Options{
		Store:  st,
		Limits: s.cfg.Limits,
		Logger: s.log.With("component", "function"),
		FunctionURLBase: func(urlID, region string) string {
			return fmt.Sprintf("http://%s.lambda-url.%s.localhost:%s/", urlID, region, gwPort)
		},
	})
	if err != nil {
		return fmt.Errorf("function registry: %w", err)
	}
	// Invocations read the registry from memory, kept current by a watch.
	if err := s.functions.StartView(ctx); err != nil {
		return fmt.Errorf("function registry: %w", err)
	}
	// Function logs: kept durably in the store, written in the background.
	logs, err := telemetry.NewLogs(ctx, st, telemetry.LogsOptions{Logger: s.log.With("component", "logs")})
	if err != nil {
		return fmt.Errorf("function logs: %w", err)
	}
	s.logs = logs
	s.pool, err = runtime.New(ctx, runtime.Options{
		Dir:         filepath.Join(s.cfg.DataDir, "runtime"),
		Logs:        s.logs,
		KeepWarm:    s.cfg.KeepWarm,
		InitTimeout: s.cfg.InitTimeout,
		AllowRoot:   s.cfg.AllowRootFunctions,
		SharedCPUs:  s.cfg.SharedCPUs,
		EndpointURL: s.functionEndpoint(),
		Logger:      s.log.With("component", "runtime"),
	})
	if err != nil {
		return fmt.Errorf("runtime: %w", err)
	}
	s.invoker, err = invoke.New(ctx, invoke.Options{
		Registry:    s.functions,
		Pool:        s.pool,
		Capacity:    s.functions.Limits().AccountConcurrency,
		SyncReserve: s.cfg.SyncReserve,
		Logger:      s.log.With("component", "invoke"),
	})
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	if err := s.startEvents(ctx); err != nil {
		return err
	}
	if err := s.startMessaging(ctx); err != nil {
		return err
	}
	s.runEvents()
	gw, err := s.startGateway(ctx)
	if err != nil {
		return err
	}
	stackStore, err := stacks.New(ctx, st)
	if err != nil {
		return err
	}
	var api http.Handler = awsapi.New(awsapi.Options{
		Stacks:              stackStore,
		Functions:           s.functions,
		Invoker:             s.invoker,
		Logs:                logs,
		Async:               s.async,
		DeadLetters:         deadLetterAPI{Store: s.deadLetters, async: s.async},
		Scheduler:           s.schedules,
		Gateway:             s.gatewayDefs,
		APIKeys:             s.gatewayKeys,
		Queues:              s.queues,
		Topics:              s.topics,
		EventSourceMappings: s.mappings,
		Logger:              s.log.With("component", "awsapi"),
	})
	s.api.Store(&api)
	s.gatewayHandler.Store(&gw)
	s.ready.Store(true)
	where := "embedded, data in " + s.cfg.DataDir
	if s.cfg.NATSURL != "" {
		where = s.cfg.NATSURL
	}
	s.log.Info("ready", "store", where)
	return nil
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) serve(hs *http.Server, ln net.Listener) {
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.serveErr <- err
	}
}

// Err reports a listener that stopped by itself (for example its socket failed).
func (s *Server) Err() <-chan error { return s.serveErr }

// EdgeURL is the base URL of the AWS-compatible APIs, e.g. http://127.0.0.1:4566.
func (s *Server) EdgeURL() string { return "http://" + s.edgeLn.Addr().String() }

// functionEndpoint is the edge URL functions reach Lamina's APIs on: the
// loopback address when the edge listens on every interface.
func (s *Server) functionEndpoint() string {
	addr, ok := s.edgeLn.Addr().(*net.TCPAddr)
	if !ok {
		return s.EdgeURL()
	}
	if addr.IP.IsUnspecified() {
		return fmt.Sprintf("http://127.0.0.1:%d", addr.Port)
	}
	return s.EdgeURL()
}

// GatewayURL is the base URL of the HTTP API gateway.
func (s *Server) GatewayURL() string { return "http://" + s.gatewayLn.Addr().String() }

// Ready reports whether the store and services are up.
func (s *Server) Ready() bool { return s.ready.Load() }

// Functions exposes the function registry (for in-process embedding and tests).
func (s *Server) Functions() *function.Service { return s.functions }

// Invoker exposes the invocation service (for in-process embedding and tests).
func (s *Server) Invoker() *invoke.Service { return s.invoker }

// Pool exposes the function instances (for in-process embedding and tests).
func (s *Server) Pool() *runtime.Pool { return s.pool }

// logSink is the function log sink with its lifecycle.
type logSink interface {
	telemetry.LogSink
	Close(ctx context.Context) error
}

func (s *Server) edgeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_lamina/health", s.health)
	mux.HandleFunc("GET "+topic.CertPath, s.snsCertificate)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		api := s.api.Load()
		if api == nil {
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"message":"Lamina is starting"}`, http.StatusServiceUnavailable)
			return
		}
		(*api).ServeHTTP(w, r)
	})
	return mux
}

// health answers 200 only when the services are up and the store answers.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	storeState := "ready"
	if !s.ready.Load() {
		status, storeState, code = "starting", "starting", http.StatusServiceUnavailable
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.log.Warn("health: store does not answer", "err", err)
			status, storeState, code = "degraded", "unavailable", http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "store": storeState})
}

// gatewayNotReady answers requests on the gateway port until the services
// are up, in API Gateway's error shape.
func gatewayNotReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"message":"Service Unavailable"}`))
}

// Shutdown stops accepting requests, lets in-flight ones finish until ctx
// ends, then closes the services and the store. It is safe to call more than
// once and after a partial Start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.ready.Store(false)
		var errs []error
		for _, hs := range []*http.Server{s.edge, s.gateway} {
			if hs == nil {
				continue
			}
			if err := hs.Shutdown(ctx); err != nil {
				errs = append(errs, err)
				_ = hs.Close()
			}
		}
		for _, ln := range []net.Listener{s.edgeLn, s.gatewayLn} {
			if ln != nil {
				_ = ln.Close()
			}
		}
		// Background work first: no new firings, no new async events; the
		// running ones finish (until ctx ends) or are redelivered later.
		if s.stopBackground != nil {
			s.stopBackground()
		}
		if s.engineDone != nil {
			select {
			case <-s.engineDone:
			case <-ctx.Done():
			}
		}
		errs = append(errs, s.closeMessaging()...)
		if s.async != nil {
			if err := s.async.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close async: %w", err))
			}
		}
		// Reverse order of Start: invocations stop following the registry,
		// instances stop (they write logs to the end), the log sink
		// flushes, the registry view stops, then the store closes.
		if s.invoker != nil {
			if err := s.invoker.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close invoke: %w", err))
			}
		}
		if s.pool != nil {
			if err := s.pool.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close runtime: %w", err))
			}
		}
		if s.logs != nil {
			if err := s.logs.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("close logs: %w", err))
			}
		}
		if s.gatewayDefs != nil {
			if err := s.gatewayDefs.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close gateway definitions: %w", err))
			}
		}
		if s.functions != nil {
			if err := s.functions.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close function registry: %w", err))
			}
		}
		if s.store != nil {
			if err := s.store.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close store: %w", err))
			}
		}
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}
