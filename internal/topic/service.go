package topic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

// FunctionQueue hands an SNS event to a function's asynchronous invocation
// queue (SNS invokes Lambda asynchronously, so the function's own retry
// and on-failure configuration apply from there). EnqueueEvent returns once
// the event is stored; a *fault.Error of kind NotFound or Invalid means the
// function cannot take it at all.
type FunctionQueue interface {
	EnqueueEvent(ctx context.Context, functionARN string, payload []byte) error
}

// DeadLetter is a delivery that finally failed and whose subscription has
// no RedrivePolicy (or whose dead-letter queue refused it).
type DeadLetter struct {
	TopicARN        string
	SubscriptionARN string
	Protocol        string
	Endpoint        string
	MessageID       string
	// Payload is what would have been delivered (the envelope or raw message).
	Payload      []byte
	ErrorMessage string
	Attempts     int
	PublishedAt  time.Time
	FailedAt     time.Time
}

// DeadLetterSink keeps final delivery failures; the server adapts the
// dead-letter store to it. PutDeadLetter returns once the record is stored.
type DeadLetterSink interface {
	PutDeadLetter(ctx context.Context, dl DeadLetter) error
}

// RetryPolicy is how HTTP/S deliveries are retried: Immediate retries
// without delay, then backoff doubling from MinBackoff up to MaxBackoff,
// Attempts in all (first try included).
type RetryPolicy struct {
	Attempts   int           `json:"attempts"`
	Immediate  int           `json:"immediate"`
	MinBackoff time.Duration `json:"minBackoff"`
	MaxBackoff time.Duration `json:"maxBackoff"`
}

// DefaultRetryPolicy is SNS's policy for HTTP/S endpoints (DeliveryDefaults
// with its three immediate retries).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{Attempts: DeliveryDefaults.Attempts, Immediate: 3,
		MinBackoff: DeliveryDefaults.MinBackoff, MaxBackoff: DeliveryDefaults.MaxBackoff}
}

// Options configure a Service.
type Options struct {
	Store store.Store
	Clock clock.Clock
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
	// AccountID and Region name ARNs (defaults "000000000000", "us-east-1").
	AccountID string
	Region    string
	// Queues delivers to sqs subscriptions and dead-letter queues (nil:
	// sqs subscriptions are refused).
	Queues queue.API
	// Functions delivers to lambda subscriptions (nil: they are refused).
	Functions FunctionQueue
	// HTTPClient posts to http/https subscribers (nil = a client with a
	// 15 s timeout, as SNS).
	HTTPClient *http.Client
	// DeadLetters keeps final failures of subscriptions without a
	// RedrivePolicy (nil: they are logged and dropped).
	DeadLetters DeadLetterSink
	// BaseURL is the edge's base URL ("http://127.0.0.1:4566"), from which
	// SubscribeURL, UnsubscribeURL and SigningCertURL are made; it is a
	// function because the server knows its port only once it listens.
	BaseURL func() string
	// Retry is the HTTP/S retry policy when a subscription's DeliveryPolicy
	// does not set one (zero = DefaultRetryPolicy()).
	Retry RetryPolicy
	// Workers is the number of fan-out workers (default 16) and
	// HTTPWorkers the HTTP deliveries in flight at once (default 64).
	Workers     int
	HTTPWorkers int
}

// Defaults.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
	// CertPath is where the server serves CertificatePEM on the edge.
	CertPath = "/_lamina/v1/sns/cert.pem"
)

// Store layout.
const (
	// Bucket is the KV bucket of topics, subscriptions and dedup records.
	Bucket = "topics"
	// StreamName is the work-queue stream of publishes and HTTP deliveries.
	StreamName   = "SNS"
	subjectBase  = "lamina.sns."
	subjectPub   = subjectBase + "pub."
	subjectHTTP  = subjectBase + "http."
	fanoutName   = "sns-fanout"
	httpConsName = "sns-http"
)

// Service is the topic service. Its methods are safe for concurrent use.
type Service struct {
	opts   Options
	clock  clock.Clock
	log    *slog.Logger
	kv     store.KV
	stream store.Stream
	fanout store.Consumer
	httpC  store.Consumer
	client *http.Client
	signer *signer

	filters filterCache

	mu      sync.Mutex
	closed  bool
	cancel  context.CancelFunc
	loops   sync.WaitGroup
	running sync.WaitGroup
}

var _ API = (*Service)(nil)

// New opens the service's store state and starts its delivery workers,
// which run until Close.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("topic: Options.Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Retry.Attempts <= 0 {
		opts.Retry = DefaultRetryPolicy()
	}
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.HTTPWorkers <= 0 {
		opts.HTTPWorkers = 64
	}
	if opts.BaseURL == nil {
		opts.BaseURL = func() string { return "http://127.0.0.1:4566" }
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	kv, err := opts.Store.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("topic: open bucket: %w", err)
	}
	st, err := opts.Store.Stream(ctx, store.StreamConfig{
		Name:      StreamName,
		Subjects:  []string{subjectBase + ">"},
		WorkQueue: true,
	})
	if err != nil {
		return nil, fmt.Errorf("topic: open stream: %w", err)
	}
	fan, err := st.Consumer(ctx, store.ConsumerConfig{
		Durable: fanoutName, FilterSubject: subjectPub + ">", AckWait: 30 * time.Second,
		MaxAckPending: 4 * opts.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("topic: open fan-out consumer: %w", err)
	}
	hc, err := st.Consumer(ctx, store.ConsumerConfig{
		Durable: httpConsName, FilterSubject: subjectHTTP + ">", AckWait: 30 * time.Second,
		MaxAckPending: 10000,
	})
	if err != nil {
		return nil, fmt.Errorf("topic: open http consumer: %w", err)
	}
	sg, err := loadSigner(ctx, kv)
	if err != nil {
		return nil, err
	}
	s := &Service{
		opts: opts, clock: opts.Clock, log: opts.Logger, kv: kv, stream: st,
		fanout: fan, httpC: hc, client: client, signer: sg,
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.startFanout(runCtx)
	s.startHTTP(runCtx)
	s.loops.Add(1)
	go s.sweepDedup(runCtx)
	return s, nil
}

// Close stops the workers and waits for them. Messages being delivered
// are handed back to the store and delivered again after a restart (or
// by another node).
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.loops.Wait()
	s.running.Wait()
	return nil
}

// CertificatePEM is the PEM certificate whose key signs messages; the
// server serves it at CertPath.
func (s *Service) CertificatePEM() []byte { return s.signer.certPEM }

// settleCtx is a short context for acknowledgements made after the
// workers' context (ctx) may have ended: shutdown must still settle them.
func settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
