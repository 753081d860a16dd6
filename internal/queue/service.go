package queue

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/store"
)

// Options configure a Service.
type Options struct {
	Store     store.Store
	Clock     clock.Clock  // nil = clock.Real{}
	Logger    *slog.Logger // nil = slog.Default()
	AccountID string       // "" = "000000000000"
	Region    string       // "" = "us-east-1"
}

// Service is the queue engine; it implements API.
type Service struct {
	st      store.Store
	clk     clock.Clock
	log     *slog.Logger
	account string
	region  string
	kv      store.KV

	// adminMu serialises changes to queue definitions (create, delete,
	// set attributes, tags) so that the KV bucket and the table agree.
	adminMu sync.Mutex

	mu     sync.RWMutex
	queues map[string]*queue
	tasks  map[string]*moveTask // by handle

	compactKick chan struct{}
	ctx         context.Context // background work; cancelled by Close
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	closeOnce   sync.Once
}

var _ API = (*Service)(nil)

// definition is what the "queues" bucket keeps of a queue.
type definition struct {
	Name     string            `json:"n"`
	ID       uint64            `json:"i"` // incarnation: names the journal
	Attrs    map[string]string `json:"a"`
	Tags     map[string]string `json:"t,omitempty"`
	Created  int64             `json:"c"` // epoch seconds
	Modified int64             `json:"m"`
}

const (
	bucketName = "queues"
	keyPrefix  = "q."
	// journalMargin is kept beyond the retention period so that the
	// store's age limit never drops a record the engine still needs.
	journalMargin = time.Hour
	// compactEvery bounds how often a queue's journal is compacted.
	compactEvery = time.Second
	// purgeInterval is how often PurgeQueue may run on one queue.
	purgeInterval = 60 * time.Second
	// Send records are split so that each fits a store message.
	maxRecordBytes    = 4 << 20
	maxRecordMessages = 1 << 16
)

// New loads every queue from the store, replays its journal and starts
// the timers and the compactor.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("queue: Options.Store is required")
	}
	s := &Service{
		st:          opts.Store,
		clk:         opts.Clock,
		log:         opts.Logger,
		account:     opts.AccountID,
		region:      opts.Region,
		queues:      make(map[string]*queue),
		tasks:       make(map[string]*moveTask),
		compactKick: make(chan struct{}, 1),
	}
	if s.clk == nil {
		s.clk = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	kv, err := s.st.KV(ctx, bucketName)
	if err != nil {
		return nil, fmt.Errorf("queue: open bucket: %w", err)
	}
	s.kv = kv
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	entries, err := kv.List(ctx, keyPrefix)
	if err != nil {
		return nil, fmt.Errorf("queue: list queues: %w", err)
	}
	for _, e := range entries {
		var def definition
		if err := json.Unmarshal(e.Value, &def); err != nil {
			s.log.Error("queue: skipping unreadable definition", "key", e.Key, "err", err)
			continue
		}
		q, err := s.open(ctx, def)
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := q.replay(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("queue: replay %s: %w", def.Name, err)
		}
		s.queues[def.Name] = q
	}
	s.wg.Add(1)
	go s.compactor()
	return s, nil
}

// Close stops the timers, the compactor and the move tasks. It does not
// close the store.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.mu.Lock()
		for _, q := range s.queues {
			q.stop()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return nil
}

func newIncarnation() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) | 1
}

func journalConfig(def definition) store.StreamConfig {
	name := streamName(def.ID)
	return store.StreamConfig{
		Name:     name,
		Subjects: []string{name + ".>"},
		MaxAge:   parseConfig(def.Attrs).retention + journalMargin,
	}
}

// open opens def's journal and starts its timer goroutine.
func (s *Service) open(ctx context.Context, def definition) (*queue, error) {
	st, err := s.st.Stream(ctx, journalConfig(def))
	if err != nil {
		return nil, fmt.Errorf("queue: open journal of %s: %w", def.Name, err)
	}
	q := newQueue(s, def, st)
	s.wg.Add(1)
	go q.runTimers()
	return q, nil
}

func (q *queue) stop() {
	q.stopped.Do(func() { close(q.done) })
}

// runTimers applies delay, visibility and retention expiries as the clock
// reaches them. One goroutine per queue owns the queue's clock timer.
func (q *queue) runTimers() {
	defer q.svc.wg.Done()
	clk := q.svc.clk
	t := clk.NewTimer(time.Hour)
	t.Stop()
	for {
		q.mu.Lock()
		now := clk.Now()
		q.fireDue(now)
		next, ok := q.nextDeadline()
		if ok {
			q.armed = next
		} else {
			q.armed = time.Time{}
		}
		q.mu.Unlock()
		if ok {
			t.Reset(next.Sub(now))
		} else {
			t.Stop()
		}
		select {
		case <-t.C():
		case <-q.kick:
		case <-q.done:
			t.Stop()
			return
		}
	}
}

// queue returns the live queue called name.
func (s *Service) queue(name string) (*queue, error) {
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, errNoQueue()
	}
	return q, nil
}

func (s *Service) queueByARN(arn string) (*queue, error) {
	name, err := s.NameFromARN(arn)
	if err != nil {
		return nil, err
	}
	return s.queue(name)
}

func (s *Service) saveDef(ctx context.Context, def definition) error {
	b, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("queue: encode definition: %w", err)
	}
	if _, err := s.kv.Put(ctx, keyPrefix+def.Name, b); err != nil {
		return fmt.Errorf("queue: save definition of %s: %w", def.Name, err)
	}
	return nil
}

// names lists the queues whose name starts with prefix, sorted.
func (s *Service) names(prefix string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.queues))
	for n := range s.queues {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
