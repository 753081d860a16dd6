package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults applied by Open to zero Config fields.
const (
	DefaultMaxMemory  int64 = 256 << 20 // 256 MiB
	DefaultMaxStore   int64 = 10 << 30  // 10 GiB
	DefaultMaxPayload int32 = 8 << 20   // 8 MiB
)

const (
	// opTimeout bounds a single JetStream API call whose ctx has no deadline.
	opTimeout = 5 * time.Second
	// attemptTimeout bounds one attempt of an idempotent set-up call (opening
	// a bucket, stream or consumer). In a forming cluster such calls hang
	// until their context ends, so they are retried with a fresh short
	// attempt until the caller's context ends.
	attemptTimeout = 5 * time.Second
	// setupTimeout bounds the retries of a set-up call whose ctx has no deadline.
	setupTimeout = 30 * time.Second
	// startTimeout bounds the embedded server's start when ctx has no deadline.
	startTimeout = 60 * time.Second
	// drainTimeout bounds Close's drain of the NATS connection.
	drainTimeout = 5 * time.Second
	// fetchExpiry is the lifetime of one pull request inside Consumer.Fetch.
	fetchExpiry = time.Second
	// objectReadTimeout bounds reading one object whose Get ctx had no deadline.
	objectReadTimeout = 10 * time.Minute

	// storeSubdir is where the embedded server keeps its files under
	// Config.DataDir; NATS itself adds a "jetstream" directory below it.
	storeSubdir    = "nats"
	serverNameFile = "server-name"

	// Prefixes of the JetStream assets backing each kind of store object.
	// KV buckets and lease tables share JetStream's KV namespace, so their
	// prefixes differ in a way no name can bridge.
	kvPrefix     = "lamina_kv_"
	leasePrefix  = "lamina_lease_"
	objectPrefix = "lamina_"
	streamPrefix = "lamina_"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func checkName(kind, name string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%s name %q: must be non-empty and made of [A-Za-z0-9_-]", kind, name)
	}
	return nil
}

// jsStore implements Store on NATS JetStream.
type jsStore struct {
	cfg Config
	log *slog.Logger

	srv  *server.Server // nil when connected to an external server
	lock *os.File       // held on the embedded server's directory
	nc   *nats.Conn
	js   jetstream.JetStream

	closeMu    sync.Mutex // orders goBackground against Close
	closed     atomic.Bool
	done       chan struct{}   // closed by Close
	life       context.Context // the store's lifetime: cancelled by Close
	endLife    context.CancelFunc
	connClosed chan struct{} // closed when the NATS connection is closed
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// Open connects to cfg.URL, or starts an embedded JetStream server in-process
// when cfg.URL is "". The embedded server keeps its files under
// cfg.DataDir/nats and opens no network port unless cfg.ClientListen is set.
// ctx bounds the start-up (a minute when it has no deadline). The returned
// Store must be closed.
func Open(ctx context.Context, cfg Config) (Store, error) {
	if cfg.MaxMemory == 0 {
		cfg.MaxMemory = DefaultMaxMemory
	}
	if cfg.MaxStore == 0 {
		cfg.MaxStore = DefaultMaxStore
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultMaxPayload
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	s := &jsStore{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "store"),
		done:       make(chan struct{}),
		connClosed: make(chan struct{}),
	}
	var err error
	if cfg.URL == "" {
		err = s.startEmbedded(ctx)
	} else {
		err = s.connectExternal(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.js, err = jetstream.New(s.nc, jetstream.WithDefaultTimeout(opTimeout))
	if err != nil {
		s.shutdown()
		return nil, fmt.Errorf("store: jetstream context: %w", err)
	}
	if err := s.checkJetStream(ctx); err != nil {
		s.shutdown()
		return nil, err
	}
	// Background work outlives Open's ctx (which bounds only the start-up)
	// but not the store.
	s.life, s.endLife = context.WithCancel(context.WithoutCancel(ctx))
	return s, nil
}

// natsOptions are the connection options common to both modes.
func (s *jsStore) natsOptions() []nats.Option {
	log := s.log
	return []nats.Option{
		nats.Name("lamina"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(s.connClosed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil && !s.closed.Load() {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("nats async error", "subject", subj, "err", err)
		}),
	}
}

func (s *jsStore) connectExternal(ctx context.Context) error {
	opts := s.natsOptions()
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d > 0 && d < nats.DefaultTimeout {
			opts = append(opts, nats.Timeout(d))
		}
	}
	nc, err := nats.Connect(s.cfg.URL, opts...)
	if err != nil {
		return fmt.Errorf("store: connect to nats at %s: %w", redactURL(s.cfg.URL), err)
	}
	s.nc = nc
	if mp := nc.MaxPayload(); mp < int64(s.cfg.MaxPayload) {
		s.log.Warn("nats server accepts smaller messages than configured; large payloads will be rejected",
			"server_max_payload", mp, "configured_max_payload", s.cfg.MaxPayload)
	}
	return nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

func (s *jsStore) startEmbedded(ctx context.Context) error {
	if s.cfg.DataDir == "" {
		return errors.New("store: Config.DataDir is required for the embedded server")
	}
	storeDir := filepath.Join(s.cfg.DataDir, storeSubdir)
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return fmt.Errorf("store: data dir %q is unusable: %w", s.cfg.DataDir, err)
	}
	probe, err := os.CreateTemp(storeDir, ".probe-*")
	if err != nil {
		return fmt.Errorf("store: data dir %q is not writable: %w", s.cfg.DataDir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	lock, err := lockDir(storeDir)
	if err != nil {
		return fmt.Errorf("store: data dir %q: %w", s.cfg.DataDir, err)
	}
	s.lock = lock
	ok := false
	defer func() {
		if !ok {
			s.unlock()
		}
	}()
	name, err := serverName(storeDir)
	if err != nil {
		return fmt.Errorf("store: data dir %q: %w", s.cfg.DataDir, err)
	}

	opts := &server.Options{
		ServerName:             name,
		JetStream:              true,
		StoreDir:               storeDir,
		JetStreamMaxMemory:     s.cfg.MaxMemory,
		JetStreamMaxStore:      s.cfg.MaxStore,
		MaxPayload:             s.cfg.MaxPayload,
		SyncInterval:           s.cfg.SyncInterval,
		DontListen:             s.cfg.ClientListen == "",
		NoSigs:                 true,
		DisableJetStreamBanner: true,
		Authorization:          s.cfg.ClientToken,
	}
	if s.cfg.ClientListen != "" {
		host, portStr, err := net.SplitHostPort(s.cfg.ClientListen)
		if err != nil {
			return fmt.Errorf("store: client listen address %q: %w", s.cfg.ClientListen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("store: client listen address %q: bad port", s.cfg.ClientListen)
		}
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, port
	}
	if int64(opts.MaxPayload) > server.MAX_PENDING_SIZE {
		opts.MaxPending = int64(opts.MaxPayload)
	}

	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("store: configure embedded nats server: %w", err)
	}
	logger := newNATSLogger(s.cfg.Logger.With("component", "nats"))
	srv.SetLoggerV2(logger, false, false, false)
	go srv.Start()

	stop := func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		if msg := logger.fatal(); msg != "" {
			stop()
			return fmt.Errorf("store: embedded nats server in %q failed to start: %s", storeDir, msg)
		}
		if err := ctx.Err(); err != nil {
			stop()
			return fmt.Errorf("store: embedded nats server in %q not ready: %w", storeDir, err)
		}
	}
	if msg := logger.fatal(); msg != "" || !srv.JetStreamEnabled() {
		stop()
		if msg == "" {
			msg = "jetstream is not enabled"
		}
		return fmt.Errorf("store: embedded nats server in %q failed to start: %s", storeDir, msg)
	}
	s.srv = srv

	copts := append(s.natsOptions(), nats.InProcessServer(srv))
	if s.cfg.ClientToken != "" {
		copts = append(copts, nats.Token(s.cfg.ClientToken))
	}
	nc, err := nats.Connect("", copts...)
	if err != nil {
		stop()
		return fmt.Errorf("store: connect to embedded nats server: %w", err)
	}
	s.nc = nc
	ok = true
	if s.cfg.ClientListen != "" {
		s.log.Info("embedded nats server listening", "url", srv.ClientURL())
		if s.cfg.ClientToken == "" {
			s.log.Warn("the embedded nats client port has no authentication: any process that can reach it, "+
				"including every function when it is on loopback, can read and write all durable state; "+
				"set a client token or do not open the port", "listen", s.cfg.ClientListen)
		}
	}
	return nil
}

// serverName returns the embedded server's name, stable across restarts: it
// is made once and kept in the store directory.
func serverName(dir string) (string, error) {
	path := filepath.Join(dir, serverNameFile)
	if b, err := os.ReadFile(path); err == nil {
		if n := strings.TrimSpace(string(b)); n != "" {
			return n, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read server name: %w", err)
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, host)
	if len(host) > 32 {
		host = host[:32]
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	name := "lamina-" + hex.EncodeToString(rnd[:])
	if host != "" {
		name = "lamina-" + host + "-" + hex.EncodeToString(rnd[:])
	}
	if err := os.WriteFile(path, []byte(name+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("write server name: %w", err)
	}
	return name, nil
}

// checkJetStream waits until JetStream answers, failing at once when the
// server does not have it enabled.
func (s *jsStore) checkJetStream(ctx context.Context) error {
	err := s.retry(ctx, func(ctx context.Context) error {
		_, err := s.js.AccountInfo(ctx)
		return err
	})
	switch {
	case err == nil:
		return nil
	case isJSNotEnabled(err):
		return fmt.Errorf("store: nats server at %s does not have JetStream enabled (start it with -js): %w",
			s.where(), err)
	default:
		return fmt.Errorf("store: jetstream at %s does not answer: %w", s.where(), err)
	}
}

func (s *jsStore) where() string {
	if s.srv != nil {
		return "embedded server"
	}
	return redactURL(s.cfg.URL)
}

func isJSNotEnabled(err error) bool {
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, nats.ErrJetStreamNotEnabled) ||
		errors.Is(err, nats.ErrJetStreamNotEnabledForAccount)
}

// transient reports whether err may go away by itself (a cluster still
// forming, a leader election, a reconnect).
func transient(err error) bool {
	if err == nil || isJSNotEnabled(err) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrDisconnected) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 503 {
		return true
	}
	return false
}

// retry runs an idempotent set-up call with a short timeout per attempt,
// again and again while it fails transiently, until ctx ends (or, when ctx
// has no deadline, setupTimeout has passed).
func (s *jsStore) retry(ctx context.Context, fn func(context.Context) error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, setupTimeout)
		defer cancel()
	}
	backoff := 25 * time.Millisecond
	for {
		if err := s.check(); err != nil {
			return err
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := fn(actx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("jetstream call failed, retrying", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		case <-s.done:
			t.Stop()
			return ErrClosed
		}
		backoff = min(2*backoff, time.Second)
	}
}

// goBackground runs f in a goroutine that Close waits for; it reports false,
// running nothing, once the store is closed. f must return soon after s.done
// is closed.
func (s *jsStore) goBackground(f func()) bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// check returns ErrClosed once the store is closed.
func (s *jsStore) check() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// mapErr translates NATS errors into the package's errors, keeping the
// original in the chain.
func (s *jsStore) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed), errors.Is(err, ErrNotFound), errors.Is(err, ErrExists),
		errors.Is(err, ErrConflict), errors.Is(err, ErrHeld):
		return err
	case s.closed.Load(), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrMsgNotFound),
		errors.Is(err, jetstream.ErrObjectNotFound), errors.Is(err, jetstream.ErrStreamNotFound),
		errors.Is(err, jetstream.ErrConsumerNotFound), errors.Is(err, jetstream.ErrBucketNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch), isWrongLastSeq(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

// isWrongLastSeq reports a compare-and-set conflict: error 10071 on one
// node, 10164 on replicated streams.
func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// opCtx gives ctx a deadline when it has none, so a single call cannot hang.
func opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, opTimeout)
}

// Ping reports whether JetStream answers, with one account-info request.
func (s *jsStore) Ping(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", s.mapErr(err))
	}
	return nil
}

// Close drains the connection and shuts the embedded server down. It is
// idempotent; later calls on the store return ErrClosed.
func (s *jsStore) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed.Store(true)
		close(s.done)
		s.endLife()
		s.closeMu.Unlock()
		s.wg.Wait()
		s.closeErr = s.shutdown()
	})
	return s.closeErr
}

// shutdown closes the connection and stops the embedded server.
func (s *jsStore) shutdown() error {
	var err error
	if s.nc != nil {
		if derr := s.nc.Drain(); derr != nil {
			s.nc.Close()
		}
		t := time.NewTimer(drainTimeout + time.Second)
		select {
		case <-s.connClosed:
		case <-t.C:
			s.nc.Close()
			err = errors.New("store: close: nats connection did not drain in time")
		}
		t.Stop()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	s.unlock()
	return err
}

func (s *jsStore) unlock() {
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}

// natsLogger routes the embedded server's logs into slog.
type natsLogger struct {
	log *slog.Logger

	mu       sync.Mutex
	fatalMsg string
}

func newNATSLogger(l *slog.Logger) *natsLogger { return &natsLogger{log: l} }

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Info(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level and remembers the message; unlike NATS's own
// logger it never exits the process.
func (l *natsLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg, "fatal", true)
	l.mu.Lock()
	if l.fatalMsg == "" {
		l.fatalMsg = msg
	}
	l.mu.Unlock()
}

func (l *natsLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalMsg
}

func (s *jsStore) KV(ctx context.Context, name string) (KV, error) {
	if err := checkName("kv bucket", name); err != nil {
		return nil, err
	}
	kv, err := s.openKV(ctx, kvPrefix+name)
	if err != nil {
		return nil, fmt.Errorf("store: open kv bucket %q: %w", name, err)
	}
	return &kvBucket{s: s, name: name, kv: kv}, nil
}

func (s *jsStore) openKV(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		kv, err = s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:   bucket,
			History:  1,
			Storage:  jetstream.FileStorage,
			Replicas: s.cfg.Replicas,
		})
		return err
	})
	return kv, s.mapErr(err)
}

func (s *jsStore) Leases(ctx context.Context, name string) (Leases, error) {
	if err := checkName("lease table", name); err != nil {
		return nil, err
	}
	kv, err := s.openKV(ctx, leasePrefix+name)
	if err != nil {
		return nil, fmt.Errorf("store: open lease table %q: %w", name, err)
	}
	return &leaseTable{s: s, name: name, kv: kv}, nil
}

func (s *jsStore) Objects(ctx context.Context, name string) (Objects, error) {
	if err := checkName("object store", name); err != nil {
		return nil, err
	}
	var obs jetstream.ObjectStore
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		obs, err = s.js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:   objectPrefix + name,
			Storage:  jetstream.FileStorage,
			Replicas: s.cfg.Replicas,
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open object store %q: %w", name, s.mapErr(err))
	}
	return &objectStore{s: s, name: name, obs: obs}, nil
}

func (s *jsStore) DeleteStream(ctx context.Context, name string) error {
	if err := checkName("stream", name); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	err := s.retry(ctx, func(ctx context.Context) error {
		return s.js.DeleteStream(ctx, streamPrefix+name)
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("store: delete stream %q: %w", name, s.mapErr(err))
	}
	return nil
}

func (s *jsStore) Stream(ctx context.Context, cfg StreamConfig) (Stream, error) {
	if err := checkName("stream", cfg.Name); err != nil {
		return nil, err
	}
	if len(cfg.Subjects) == 0 {
		return nil, fmt.Errorf("store: open stream %q: no subjects", cfg.Name)
	}
	if cfg.MaxAge < 0 || cfg.MaxBytes < 0 || cfg.DuplicateWindow < 0 {
		return nil, fmt.Errorf("store: open stream %q: negative limit", cfg.Name)
	}
	sc := jetstream.StreamConfig{
		Name:       streamPrefix + cfg.Name,
		Subjects:   cfg.Subjects,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     cfg.MaxAge,
		MaxBytes:   cfg.MaxBytes,
		Duplicates: cfg.DuplicateWindow,
		Storage:    jetstream.FileStorage,
		Replicas:   s.cfg.Replicas,
	}
	if cfg.WorkQueue {
		sc.Retention = jetstream.WorkQueuePolicy
	}
	if sc.MaxBytes == 0 {
		sc.MaxBytes = -1
	}
	var st jetstream.Stream
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		st, err = s.js.CreateOrUpdateStream(ctx, sc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: open stream %q: %w", cfg.Name, s.mapErr(err))
	}
	return &stream{s: s, name: cfg.Name, st: st}, nil
}
