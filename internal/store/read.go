package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// This file holds the stream operations built for high-volume append-only
// data such as logs: PublishBatch pipelines writes, Read scans and follows a
// stream with an ephemeral consumer instead of a durable one.

const (
	// publishWindow bounds the unconfirmed writes of one PublishBatch. NATS
	// stalls an async publisher past 4000 unacknowledged messages; staying
	// far below keeps concurrent batches clear of that.
	publishWindow = 256
	// readPrefetch is how many messages a reader buffers ahead of its caller.
	readPrefetch = 128
	// readIdleCheck is how long a reader that is not following waits for a
	// message before it asks the server whether anything is left to read.
	readIdleCheck = 2 * time.Second
	// readInactive is how long the server keeps a reader's consumer after the
	// reader stopped pulling (for example because its process died).
	readInactive = time.Minute
	// readRetryMax bounds the pause before a reader reopens after a failure.
	readRetryMax = 2 * time.Second
)

func (st *stream) PublishBatch(ctx context.Context, msgs []BatchMessage) ([]uint64, error) {
	if err := st.s.check(); err != nil {
		return nil, err
	}
	seqs := make([]uint64, len(msgs))
	if len(msgs) == 0 {
		return seqs, nil
	}
	ctx, cancel := opCtx(ctx)
	defer cancel()
	ackTimeout := opTimeout
	if dl, ok := ctx.Deadline(); ok {
		ackTimeout = max(time.Until(dl), 10*time.Millisecond)
	}
	// A JetStream context of its own, whose unanswered writes time out:
	// a lost acknowledgement can then never hold a slot of the async
	// publisher for good, and CleanupPublisher releases its reply
	// subscription when the batch is done.
	js, err := jetstream.New(st.s.nc,
		jetstream.WithPublishAsyncTimeout(ackTimeout),
		jetstream.WithPublishAsyncMaxPending(2*publishWindow))
	if err != nil {
		return nil, st.fail("publish batch", err)
	}
	defer js.CleanupPublisher()

	streamName := st.st.CachedInfo().Config.Name
	futures := make([]jetstream.PubAckFuture, len(msgs))
	errs := make([]error, len(msgs))
	wait := func(i int) {
		f := futures[i]
		if f == nil {
			return
		}
		select {
		case ack := <-f.Ok():
			seqs[i] = ack.Sequence
		case err := <-f.Err():
			errs[i] = err
		case <-ctx.Done():
			errs[i] = ctx.Err()
		case <-st.s.done:
			errs[i] = ErrClosed
		}
	}
	waited := 0
	for i, bm := range msgs {
		for i-waited >= publishWindow {
			wait(waited)
			waited++
		}
		if err := ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		msg := &nats.Msg{Subject: bm.Subject, Data: bm.Data}
		pubOpts := []jetstream.PublishOpt{jetstream.WithExpectStream(streamName)}
		if o := bm.Opts; o != nil {
			if len(o.Header) > 0 {
				msg.Header = make(nats.Header, len(o.Header))
				for k, v := range o.Header {
					msg.Header[k] = []string{v}
				}
			}
			if o.MsgID != "" {
				pubOpts = append(pubOpts, jetstream.WithMsgID(o.MsgID))
			}
		}
		futures[i], errs[i] = js.PublishMsgAsync(msg, pubOpts...)
	}
	for ; waited < len(msgs); waited++ {
		wait(waited)
	}

	failed, first := 0, error(nil)
	for _, err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if failed == 0 {
		return seqs, nil
	}
	return seqs, st.fail(fmt.Sprintf("publish batch: %d of %d writes failed", failed, len(msgs)), first)
}

// errStopped ends a read whose caller broke out of the loop.
var errStopped = errors.New("read stopped by its caller")

func (st *stream) Read(ctx context.Context, opts ReadOptions) iter.Seq2[*RawMessage, error] {
	return func(yield func(*RawMessage, error) bool) {
		r := &reader{st: st, opts: opts}
		if err := r.run(ctx, yield); err != nil && !errors.Is(err, errStopped) {
			yield(nil, err)
		}
	}
}

// reader is one Read in progress: an ephemeral, unacknowledged pull
// consumer that is made again from the last delivered sequence when it
// fails (a reconnect, a server restart, a consumer removed for inactivity).
type reader struct {
	st      *stream
	opts    ReadOptions
	lastSeq uint64 // the last sequence delivered to the caller
	// remaining counts, for a read that does not follow, the messages
	// selected when it started that are still to be delivered.
	remaining uint64
	opened    bool
}

func (r *reader) run(ctx context.Context, yield func(*RawMessage, error) bool) error {
	backoff := 50 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.st.s.check(); err != nil {
			return err
		}
		cons, err := r.open(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return r.st.fail("read: open reader", err)
		}
		done, err := r.drain(ctx, cons, yield)
		r.release(cons)
		if done || err != nil {
			return err
		}
		// The consumer failed; open another from where this one stopped.
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-r.st.s.done:
			t.Stop()
			return ErrClosed
		}
		backoff = min(2*backoff, readRetryMax)
	}
}

// open creates the consumer for the next part of the read.
func (r *reader) open(ctx context.Context) (jetstream.Consumer, error) {
	cc := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: readInactive,
		MemoryStorage:     true,
		Replicas:          1,
	}
	switch len(r.opts.Subjects) {
	case 0:
	case 1:
		cc.FilterSubject = r.opts.Subjects[0]
	default:
		cc.FilterSubjects = r.opts.Subjects
	}
	switch {
	case r.lastSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, r.lastSeq+1
	case r.opts.StartSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, r.opts.StartSeq
	case !r.opts.Since.IsZero():
		since := r.opts.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	var cons jetstream.Consumer
	err := r.st.s.retry(ctx, func(ctx context.Context) error {
		var err error
		cons, err = r.st.st.CreateConsumer(ctx, cc)
		return err
	})
	if err != nil {
		return nil, err
	}
	pending := cons.CachedInfo().NumPending
	if !r.opened || pending < r.remaining {
		r.remaining = pending
	}
	r.opened = true
	return cons, nil
}

// drain delivers cons's messages to yield. It reports done when the read
// is over (caught up without Follow, or the caller stopped it), and
// (false, nil) when the consumer failed and the read should go on with
// another.
func (r *reader) drain(ctx context.Context, cons jetstream.Consumer, yield func(*RawMessage, error) bool) (bool, error) {
	follow := r.opts.Follow
	if !follow && r.remaining == 0 {
		return true, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessagesWithBytesLimit(readPrefetch, r.fetchBytes()))
	if err != nil {
		return false, nil
	}
	defer it.Stop()
	// Consumer sequences of an unacknowledged consumer count up by one per
	// delivery; a jump means the client dropped messages (a slow consumer),
	// so the read starts again after the last one delivered, as an ordered
	// consumer would.
	var consSeq uint64
	for {
		nctx, cancel := ctx, context.CancelFunc(func() {})
		if !follow {
			nctx, cancel = context.WithTimeout(ctx, readIdleCheck)
		}
		m, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return true, ctx.Err()
			case r.st.s.closed.Load():
				return true, ErrClosed
			case !follow && errors.Is(err, context.DeadlineExceeded):
				// Nothing came for a while: finished, unless the server
				// still has messages for this reader.
				info, ierr := cons.Info(ctx)
				if ierr == nil && info.NumPending == 0 {
					return true, nil
				}
				if ierr == nil {
					continue
				}
			}
			r.st.s.log.Debug("read: reader failed; reopening", "stream", r.st.name, "after_seq", r.lastSeq, "err", err)
			return false, nil
		}
		md, err := m.Metadata()
		if err != nil {
			r.st.s.log.Debug("read: message without metadata; reopening", "stream", r.st.name, "err", err)
			return false, nil
		}
		if md.Sequence.Consumer != consSeq+1 {
			r.st.s.log.Debug("read: gap in deliveries; reopening", "stream", r.st.name, "after_seq", r.lastSeq)
			return false, nil
		}
		consSeq = md.Sequence.Consumer
		r.lastSeq = md.Sequence.Stream
		raw := &RawMessage{
			Subject:  m.Subject(),
			Sequence: md.Sequence.Stream,
			Data:     m.Data(),
			Header:   flattenHeader(m.Headers()),
			Time:     md.Timestamp,
		}
		if !yield(raw, nil) {
			return true, errStopped
		}
		if !follow {
			if r.remaining > 0 {
				r.remaining--
			}
			if r.remaining == 0 || md.NumPending == 0 {
				return true, nil
			}
		}
	}
}

// fetchBytes bounds one pull request of a reader; it must exceed the
// largest message the server accepts, or a reader would stall on it.
func (r *reader) fetchBytes() int {
	return int(max(16<<20, 2*r.st.s.nc.MaxPayload()))
}

// release removes the reader's consumer in the background (the server
// would remove it after readInactive anyway).
func (r *reader) release(cons jetstream.Consumer) {
	name := cons.CachedInfo().Name
	r.st.s.goBackground(func() {
		ctx, cancel := context.WithTimeout(r.st.s.life, opTimeout)
		defer cancel()
		_ = r.st.st.DeleteConsumer(ctx, name)
	})
}
