package topic

// How a publish record is fanned out
//
// One fetch loop pulls publish records from the durable consumer and hands
// each to one of Options.Workers workers: records of a FIFO topic always
// to the same worker (by topic), so that a topic's messages are handed on
// in publish order; others round-robin. A worker delivers every message of
// the record to every confirmed subscription whose filter policy matches,
// and acknowledges the record only when each delivery was handed on
// durably (queue, function queue, HTTP delivery record, dead-letter
// destination). A transient failure hands the whole record back with a
// delay (a FIFO record is retried in place instead, to keep its topic's
// order): the deliveries already made are repeated (duplicates, never
// losses). On Close, records not finished are handed back at once.

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/pattern"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

func (s *Service) startFanout(ctx context.Context) {
	chans := make([]chan store.Message, s.opts.Workers)
	for i := range chans {
		chans[i] = make(chan store.Message, 4)
		s.loops.Add(1)
		go s.fanWorker(ctx, chans[i])
	}
	s.loops.Add(1)
	go s.fanFetch(ctx, chans)
}

func (s *Service) fanFetch(ctx context.Context, chans []chan store.Message) {
	defer s.loops.Done()
	defer func() {
		for _, ch := range chans {
			close(ch)
		}
	}()
	rr := 0
	for ctx.Err() == nil {
		msgs, err := s.fanout.Fetch(ctx, len(chans))
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("topic: fetch publish records", "err", err)
			pause(ctx, time.Second)
			continue
		}
		for i, m := range msgs {
			var w int
			if sub := m.Subject(); strings.HasSuffix(sub, "=fifo") {
				h := fnv.New32a()
				_, _ = h.Write([]byte(sub))
				w = int(h.Sum32() % uint32(len(chans)))
			} else {
				// The first worker with room, so that one slow delivery
				// does not hold up the records behind it.
				w = rr % len(chans)
				for k := range len(chans) {
					if c := chans[(rr+k)%len(chans)]; len(c) < cap(c) {
						w = (rr + k) % len(chans)
						break
					}
				}
				rr = w + 1
			}
			select {
			case chans[w] <- m:
			case <-ctx.Done():
				for _, rest := range msgs[i:] {
					s.handBack(ctx, rest)
				}
				return
			}
		}
	}
}

// pause waits d of real time (store retries are paced in real time) or
// until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// handBack returns a message to the store for immediate redelivery.
func (s *Service) handBack(ctx context.Context, m store.Message) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	if err := m.Nak(sctx, 0); err != nil {
		s.log.Debug("topic: hand back", "err", err)
	}
}

func (s *Service) fanWorker(ctx context.Context, ch <-chan store.Message) {
	defer s.loops.Done()
	for m := range ch {
		if ctx.Err() != nil {
			s.handBack(ctx, m)
			continue
		}
		s.fanOne(ctx, m)
	}
}

// retryDelay paces the redelivery of a record whose fan-out failed.
func retryDelay(delivered int) time.Duration {
	d := time.Second
	for i := 1; i < delivered && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

func (s *Service) fanOne(ctx context.Context, msg store.Message) {
	// Deliveries may be slow (a queue under load, a retried FIFO record):
	// keep the record inside its AckWait meanwhile.
	stop := make(chan struct{})
	defer close(stop)
	go s.heartbeat(ctx, msg, stop)

	settle := func(err error) {
		sctx, cancel := settleCtx(ctx)
		defer cancel()
		switch {
		case ctx.Err() != nil:
			_ = msg.Nak(sctx, 0)
		case err != nil:
			s.log.Warn("topic: fan-out failed; retrying", "seq", msg.Sequence(), "attempt", msg.Delivered(), "err", err)
			_ = msg.Nak(sctx, retryDelay(msg.Delivered()))
		default:
			if aerr := msg.Ack(sctx); aerr != nil {
				s.log.Debug("topic: ack publish record", "err", aerr)
			}
		}
	}
	var rec pubRecord
	if err := json.Unmarshal(msg.Data(), &rec); err != nil {
		s.log.Error("topic: undecodable publish record dropped", "seq", msg.Sequence(), "err", err)
		sctx, cancel := settleCtx(ctx)
		defer cancel()
		_ = msg.Term(sctx)
		return
	}
	for attempt := 1; ; attempt++ {
		fifo, err := s.fanRecord(ctx, &rec, msg.Sequence())
		if err == nil || !fifo || ctx.Err() != nil {
			settle(err)
			return
		}
		// A FIFO record is retried in place: handing it back would let the
		// topic's next records overtake it. (Deliveries already made are
		// repeated; FIFO queues drop them by their deduplication id.)
		s.log.Warn("topic: FIFO fan-out failed; retrying in order", "seq", msg.Sequence(), "attempt", attempt, "err", err)
		pause(ctx, retryDelay(attempt))
	}
}

// fanRecord delivers every message of rec to every matching subscription;
// fifo reports whether the topic is a FIFO topic.
func (s *Service) fanRecord(ctx context.Context, rec *pubRecord, seq uint64) (fifo bool, err error) {
	name, err := s.parseTopicARN(rec.TopicARN, "TopicArn")
	if err != nil {
		return false, nil // not ours (another region or account): nothing to deliver
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		if isNotFound(err) {
			return false, nil // deleted since: its subscriptions went with it
		}
		return false, err
	}
	subs, err := s.listSubs(ctx, name)
	if err != nil {
		return t.fifo(), err
	}
	var failed error
	for i := range rec.Msgs {
		m := &rec.Msgs[i]
		for _, sub := range subs {
			// A subscription made after the publish does not get it, even
			// when the fan-out runs later.
			if !sub.Confirmed || sub.Created.After(m.Time) || !s.matches(sub, m) {
				continue
			}
			if err := s.deliver(ctx, t, m, sub, seq); err != nil {
				failed = errors.Join(failed, err)
			}
		}
	}
	return t.fifo(), failed
}

// matches applies sub's filter policy to m.
func (s *Service) matches(sub *subRec, m *pubMsg) bool {
	p, err := s.filters.get(sub.Attrs)
	if err != nil {
		s.log.Warn("topic: filter policy does not compile; delivering nothing", "subscription", sub.ARN, "err", err)
		return false
	}
	if p == nil {
		return true
	}
	if scopeOf(sub.Attrs) == pattern.MessageBody {
		ok, _ := p.Match([]byte(m.body(sub.Protocol)))
		return ok
	}
	attrs := make(map[string]pattern.Attribute, len(m.Attrs))
	for k, a := range m.Attrs {
		attrs[k] = pattern.Attribute{Type: a.DataType, Value: a.StringValue}
	}
	return p.MatchAttributes(attrs)
}

// permanent reports a failure that retrying will not cure: the target
// does not exist or refuses the message.
func permanent(err error) bool {
	switch fault.KindOf(err) {
	case fault.NotFound, fault.Invalid, fault.InvalidContent, fault.TooLarge, fault.Unsupported, fault.Conflict:
		return true
	}
	return false
}

// deliver hands m on to sub durably. A nil error means delivered or
// durably handed on (a permanent failure included: it went to the
// dead-letter destination).
func (s *Service) deliver(ctx context.Context, t *topicRec, m *pubMsg, sub *subRec, seq uint64) error {
	body := m.body(sub.Protocol)
	raw := sub.Attrs[SubAttrRawMessageDelivery] == "true"
	seqNo := ""
	if t.fifo() {
		seqNo = sequenceNumber(seq, m.Index)
	}
	switch sub.Protocol {
	case "sqs":
		payload := body
		var attrs map[string]queue.Attribute
		if raw {
			attrs = queueAttrs(m.Attrs)
		} else {
			payload = string(marshal(s.notification(t, m, sub, body, seqNo)))
		}
		err := s.sendToQueue(ctx, sub.Endpoint, payload, attrs, m.Group, m.Dedup, m.MessageID)
		if err != nil && permanent(err) {
			return s.deadLetter(ctx, sub, m.MessageID, m.Group, m.Time, []byte(payload), err.Error(), 1)
		}
		return err
	case "lambda":
		payload := s.lambdaPayload(t, m, sub, body)
		err := s.opts.Functions.EnqueueEvent(ctx, sub.Endpoint, payload)
		if err != nil && permanent(err) {
			return s.deadLetter(ctx, sub, m.MessageID, m.Group, m.Time, payload, err.Error(), 1)
		}
		return err
	case "http", "https":
		payload := body
		if !raw {
			payload = string(marshal(s.notification(t, m, sub, body, seqNo)))
		}
		return s.enqueueHTTP(ctx, t, &httpDelivery{
			Kind: "Notification", TopicARN: t.ARN, SubscriptionARN: sub.ARN, Endpoint: sub.Endpoint,
			MessageID: m.MessageID, Body: payload, Raw: raw, PublishedAt: m.Time,
		})
	}
	s.log.Warn("topic: subscription with an unknown protocol skipped", "subscription", sub.ARN, "protocol", sub.Protocol)
	return nil
}

func queueAttrs(attrs map[string]Attribute) map[string]queue.Attribute {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]queue.Attribute, len(attrs))
	for k, a := range attrs {
		out[k] = queue.Attribute{DataType: a.DataType, StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	return out
}

// sendToQueue sends one message to the queue of arn. A FIFO queue gets the
// message group (or the topic's default) and a deduplication id.
func (s *Service) sendToQueue(ctx context.Context, arn, body string, attrs map[string]queue.Attribute, group, dedup, messageID string) error {
	if s.opts.Queues == nil {
		return fault.New(fault.Unsupported, "no queue service")
	}
	name, err := s.opts.Queues.NameFromARN(arn)
	if err != nil {
		return err
	}
	in := queue.SendInput{Body: body, Attributes: attrs}
	if strings.HasSuffix(name, ".fifo") {
		in.MessageGroupID = group
		if in.MessageGroupID == "" {
			in.MessageGroupID = "default"
		}
		in.DeduplicationID = dedup
		if in.DeduplicationID == "" {
			in.DeduplicationID = messageID
		}
	} else if group != "" {
		in.MessageGroupID = group
	}
	res, err := s.opts.Queues.Send(ctx, name, []queue.SendInput{in})
	if err != nil {
		return err
	}
	if len(res) == 1 && res[0].Err != nil {
		return res[0].Err
	}
	return nil
}
