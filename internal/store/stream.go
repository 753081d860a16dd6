package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// stream implements Stream on a JetStream stream (file storage).
type stream struct {
	s    *jsStore
	name string
	st   jetstream.Stream
}

func (st *stream) Name() string { return st.name }

func (st *stream) fail(op string, err error) error {
	return fmt.Errorf("store: stream %q: %s: %w", st.name, op, st.s.mapErr(err))
}

func (st *stream) Publish(ctx context.Context, subject string, data []byte, opts *PublishOptions) (uint64, error) {
	if err := st.s.check(); err != nil {
		return 0, err
	}
	msg := &nats.Msg{Subject: subject, Data: data}
	pubOpts := []jetstream.PublishOpt{jetstream.WithExpectStream(st.st.CachedInfo().Config.Name)}
	if opts != nil {
		if len(opts.Header) > 0 {
			msg.Header = make(nats.Header, len(opts.Header))
			for k, v := range opts.Header {
				msg.Header[k] = []string{v}
			}
		}
		if opts.MsgID != "" {
			pubOpts = append(pubOpts, jetstream.WithMsgID(opts.MsgID))
		}
	}
	ack, err := st.s.js.PublishMsg(ctx, msg, pubOpts...)
	if err != nil {
		return 0, st.fail(fmt.Sprintf("publish to %q", subject), err)
	}
	return ack.Sequence, nil
}

func (st *stream) Consumer(ctx context.Context, cfg ConsumerConfig) (Consumer, error) {
	if err := checkName("consumer", cfg.Durable); err != nil {
		return nil, fmt.Errorf("store: stream %q: %w", st.name, err)
	}
	if cfg.AckWait < 0 || cfg.MaxAckPending < 0 {
		return nil, fmt.Errorf("store: stream %q: consumer %q: negative limit", st.name, cfg.Durable)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
		FilterSubject: cfg.FilterSubject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if cc.MaxDeliver <= 0 {
		cc.MaxDeliver = -1
	}
	var c jetstream.Consumer
	err := st.s.retry(ctx, func(ctx context.Context) error {
		if err := st.s.check(); err != nil {
			return err
		}
		var err error
		c, err = st.st.CreateOrUpdateConsumer(ctx, cc)
		return err
	})
	if err != nil {
		return nil, st.fail(fmt.Sprintf("open consumer %q", cfg.Durable), err)
	}
	return &consumer{st: st, durable: cfg.Durable, c: c}, nil
}

func (st *stream) DeleteConsumer(ctx context.Context, durable string) error {
	if err := st.s.check(); err != nil {
		return err
	}
	err := st.s.retry(ctx, func(ctx context.Context) error {
		return st.st.DeleteConsumer(ctx, durable)
	})
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return st.fail(fmt.Sprintf("delete consumer %q", durable), err)
	}
	return nil
}

func (st *stream) Info(ctx context.Context) (StreamInfo, error) {
	if err := st.s.check(); err != nil {
		return StreamInfo{}, err
	}
	info, err := st.st.Info(ctx)
	if err != nil {
		return StreamInfo{}, st.fail("info", err)
	}
	return StreamInfo{
		Messages: info.State.Msgs,
		Bytes:    info.State.Bytes,
		FirstSeq: info.State.FirstSeq,
		LastSeq:  info.State.LastSeq,
	}, nil
}

func (st *stream) Get(ctx context.Context, seq uint64) (*RawMessage, error) {
	if err := st.s.check(); err != nil {
		return nil, err
	}
	m, err := st.st.GetMsg(ctx, seq)
	if err != nil {
		return nil, st.fail(fmt.Sprintf("get message %d", seq), err)
	}
	return &RawMessage{
		Subject:  m.Subject,
		Sequence: m.Sequence,
		Data:     m.Data,
		Header:   flattenHeader(m.Header),
		Time:     m.Time,
	}, nil
}

func (st *stream) Purge(ctx context.Context, subject string) error {
	if err := st.s.check(); err != nil {
		return err
	}
	var opts []jetstream.StreamPurgeOpt
	if subject != "" {
		opts = append(opts, jetstream.WithPurgeSubject(subject))
	}
	if err := st.st.Purge(ctx, opts...); err != nil {
		return st.fail(fmt.Sprintf("purge %q", subject), err)
	}
	return nil
}

func (st *stream) PurgeBefore(ctx context.Context, seq uint64) error {
	if err := st.s.check(); err != nil {
		return err
	}
	if seq <= 1 {
		return nil
	}
	if err := st.st.Purge(ctx, jetstream.WithPurgeSequence(seq)); err != nil {
		return st.fail(fmt.Sprintf("purge before %d", seq), err)
	}
	return nil
}

func flattenHeader(h nats.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// consumer implements Consumer on a durable pull consumer. Every Fetch makes
// its own pull requests, so any number of goroutines may fetch at once.
type consumer struct {
	st      *stream
	durable string
	c       jetstream.Consumer
}

func (c *consumer) fail(err error) error {
	return fmt.Errorf("store: stream %q: consumer %q: fetch: %w", c.st.name, c.durable, c.st.s.mapErr(err))
}

// Fetch waits for at least one message with a series of short pull
// requests, then collects what else is ready at once, up to max.
func (c *consumer) Fetch(ctx context.Context, max int) ([]Message, error) {
	if err := c.st.s.check(); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		first, err := c.waitOne(ctx)
		if err != nil {
			return nil, err
		}
		if first == nil {
			continue // the pull request expired empty
		}
		msgs := []Message{first}
		if max > 1 {
			more, err := c.noWait(max - 1)
			if err != nil {
				// The first message is ours; return it rather than lose it
				// until its AckWait passes.
				c.st.s.log.Debug("fetch: collecting more messages failed", "stream", c.st.name,
					"consumer", c.durable, "err", err)
			}
			msgs = append(msgs, more...)
		}
		return msgs, nil
	}
}

// waitOne makes one pull request for a single message that lives
// fetchExpiry at most. It returns (nil, nil) when the request expired empty.
// If ctx ends first it returns at once; a message that still arrives for the
// abandoned request is handed back to the consumer with a Nak.
func (c *consumer) waitOne(ctx context.Context) (Message, error) {
	expiry := fetchExpiry
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < expiry {
			expiry = max(d, 10*time.Millisecond)
		}
	}
	batch, err := c.c.Fetch(1, jetstream.FetchMaxWait(expiry))
	if err != nil {
		return nil, c.fail(err)
	}
	select {
	case m, ok := <-batch.Messages():
		if !ok {
			err := batch.Error()
			switch {
			case err == nil, errors.Is(err, nats.ErrTimeout):
				return nil, nil
			case transientPullErr(err):
				// The request was dropped but may be made again shortly.
				c.st.s.log.Debug("fetch: pull request ended; retrying", "stream", c.st.name,
					"consumer", c.durable, "err", err)
				t := time.NewTimer(100 * time.Millisecond)
				defer t.Stop()
				select {
				case <-t.C:
					return nil, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-c.st.s.done:
					return nil, ErrClosed
				}
			default:
				return nil, c.fail(err)
			}
		}
		return c.wrap(m), nil
	case <-ctx.Done():
		go c.abandon(batch)
		return nil, ctx.Err()
	case <-c.st.s.done:
		return nil, ErrClosed
	}
}

// transientPullErr reports a pull request ended by the server for reasons
// that pass by themselves: a consumer leader change, a server shutting down
// in a cluster, or too many pull requests waiting at once.
func transientPullErr(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerLeadershipChanged) ||
		errors.Is(err, jetstream.ErrServerShutdown) ||
		strings.Contains(strings.ToLower(err.Error()), "exceeded maxwaiting")
}

// abandon naks whatever still arrives for a pull request nobody waits for,
// so it is redelivered at once instead of after AckWait.
func (c *consumer) abandon(batch jetstream.MessageBatch) {
	for {
		select {
		case m, ok := <-batch.Messages():
			if !ok {
				return
			}
			ctx, cancel := context.WithTimeout(c.st.s.life, opTimeout)
			_ = c.wrap(m).Nak(ctx, 0)
			cancel()
		case <-c.st.s.done:
			return
		}
	}
}

// noWait collects up to n messages that are ready now.
func (c *consumer) noWait(n int) ([]Message, error) {
	batch, err := c.c.FetchNoWait(n)
	if err != nil {
		return nil, err
	}
	var msgs []Message
	for m := range batch.Messages() {
		msgs = append(msgs, c.wrap(m))
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return msgs, err
	}
	return msgs, nil
}

func (c *consumer) wrap(m jetstream.Msg) *message {
	msg := &message{c: c, m: m}
	if md, err := m.Metadata(); err == nil {
		msg.md = *md
	}
	return msg
}

// message implements Message. Ack is confirmed by the server (double ack);
// so are Nak, Term and InProgress, which are sent as requests.
type message struct {
	c  *consumer
	m  jetstream.Msg
	md jetstream.MsgMetadata

	mu   sync.Mutex
	done bool // acked, nak'd or termed
}

func (m *message) Subject() string           { return m.m.Subject() }
func (m *message) Data() []byte              { return m.m.Data() }
func (m *message) Header() map[string]string { return flattenHeader(m.m.Headers()) }
func (m *message) Sequence() uint64          { return m.md.Sequence.Stream }
func (m *message) Delivered() int            { return int(m.md.NumDelivered) }
func (m *message) Published() time.Time      { return m.md.Timestamp }

func (m *message) fail(op string, err error) error {
	return fmt.Errorf("store: stream %q: consumer %q: %s message %d: %w",
		m.c.st.name, m.c.durable, op, m.Sequence(), m.c.st.s.mapErr(err))
}

var errAlreadyDone = errors.New("message already acknowledged, nak'd or terminated")

// settle runs fn unless the message was already settled, and marks it
// settled when fn succeeds and final is set.
func (m *message) settle(op string, final bool, fn func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.c.st.s.check(); err != nil {
		return err
	}
	if m.done {
		return m.fail(op, errAlreadyDone)
	}
	if err := fn(); err != nil {
		return m.fail(op, err)
	}
	if final {
		m.done = true
	}
	return nil
}

func (m *message) Ack(ctx context.Context) error {
	return m.settle("ack", true, func() error { return m.m.DoubleAck(ctx) })
}

func (m *message) AckNoWait() error {
	return m.settle("ack", true, m.m.Ack)
}

func (m *message) Nak(ctx context.Context, delay time.Duration) error {
	body := "-NAK"
	if delay > 0 {
		body = `-NAK {"delay": ` + strconv.FormatInt(delay.Nanoseconds(), 10) + `}`
	}
	return m.settle("nak", true, func() error { return m.request(ctx, body) })
}

func (m *message) Term(ctx context.Context) error {
	return m.settle("term", true, func() error { return m.request(ctx, "+TERM") })
}

func (m *message) InProgress(ctx context.Context) error {
	return m.settle("mark in progress", false, func() error { return m.request(ctx, "+WPI") })
}

// request sends an acknowledgement and waits for the server to confirm it.
func (m *message) request(ctx context.Context, body string) error {
	reply := m.m.Reply()
	if reply == "" {
		return jetstream.ErrMsgNoReply
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	_, err := m.c.st.s.nc.RequestWithContext(ctx, reply, []byte(body))
	return err
}
