package queue

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/lamina-dev/lamina/internal/fault"
)

const maxTags = 50

// CreateQueue creates a queue, or returns the existing one when every
// attribute given matches its current value.
func (s *Service) CreateQueue(ctx context.Context, name string, attrs, tags map[string]string) (QueueInfo, error) {
	if !validName(name) {
		if isFIFOName(name) {
			return QueueInfo{}, errInvalidParam("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return QueueInfo{}, errInvalidParam("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	fifo := isFIFOName(name)
	if v, ok := attrs[AttrFifoQueue]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return QueueInfo{}, errAttrValue(AttrFifoQueue)
		}
		if b != fifo {
			return QueueInfo{}, errInvalidParam("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
	} else if fifo {
		return QueueInfo{}, errInvalidParam("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	norm, err := normalizeAttrs(attrs, fifo, true)
	if err != nil {
		return QueueInfo{}, err
	}
	if !fifo {
		delete(norm, AttrFifoQueue)
	}
	if err := checkTags(tags, 0); err != nil {
		return QueueInfo{}, err
	}
	info := QueueInfo{Name: name, ARN: s.ARN(name), FIFO: fifo}

	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if q, _ := s.queue(name); q != nil {
		q.mu.Lock()
		cur := q.def.Attrs
		q.mu.Unlock()
		for k, v := range norm {
			if cv, ok := cur[k]; cv != v && (ok || v != "") {
				return QueueInfo{}, newErr(fault.Conflict, CodeQueueNameExists,
					"A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return info, nil
	}
	merged := merge(defaultAttrs(fifo), norm)
	if err := checkCombined(merged); err != nil {
		return QueueInfo{}, err
	}
	if err := s.checkRedrive(info.ARN, fifo, merged[AttrRedrivePolicy]); err != nil {
		return QueueInfo{}, err
	}
	now := s.clk.Now().Unix()
	def := definition{Name: name, ID: newIncarnation(), Attrs: merged, Tags: maps.Clone(tags), Created: now, Modified: now}
	q, err := s.open(ctx, def)
	if err != nil {
		return QueueInfo{}, errInternal(err, "could not create queue %s", name)
	}
	if err := s.saveDef(ctx, def); err != nil {
		q.stop()
		_ = s.st.DeleteStream(ctx, streamName(def.ID))
		return QueueInfo{}, errInternal(err, "could not create queue %s", name)
	}
	s.mu.Lock()
	s.queues[name] = q
	s.mu.Unlock()
	return info, nil
}

// checkRedrive checks a RedrivePolicy value of the queue srcARN: its
// target must exist, be of the same type and allow srcARN.
func (s *Service) checkRedrive(srcARN string, fifo bool, v string) error {
	if v == "" {
		return nil
	}
	p, err := parseRedrive(v)
	if err != nil {
		return err
	}
	dlq, err := s.queueByARN(p.Target)
	if err != nil {
		return redriveErr(v, "Dead letter target does not exist.")
	}
	if dlq.fifo != fifo {
		return redriveErr(v, "Dead-letter queue must be same type of queue as the source.")
	}
	dlq.mu.Lock()
	allow := dlq.cfg.allow
	dlq.mu.Unlock()
	if !allow.allows(srcARN) {
		return redriveErr(v, "Dead-letter queue's RedriveAllowPolicy does not allow this source queue.")
	}
	return nil
}

func checkTags(tags map[string]string, have int) error {
	if have+len(tags) > maxTags {
		return errInvalidParam("Too many tags added for queue. A queue can have at most %d tags.", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 {
			return errInvalidParam("Tag keys must be between 1 and 128 characters in length.")
		}
		if len(v) > 256 {
			return errInvalidParam("Tag values must be between 0 and 256 characters in length.")
		}
	}
	return nil
}

// GetQueue describes name.
func (s *Service) GetQueue(ctx context.Context, name string) (QueueInfo, error) {
	q, err := s.queue(name)
	if err != nil {
		return QueueInfo{}, err
	}
	return QueueInfo{Name: q.name, ARN: q.arn, FIFO: q.fifo}, nil
}

// DeleteQueue removes name, its journal and its messages. The name may be
// used again at once.
func (s *Service) DeleteQueue(ctx context.Context, name string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	q, err := s.queue(name)
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, keyPrefix+name, 0); err != nil {
		return errInternal(err, "could not delete queue %s", name)
	}
	s.mu.Lock()
	delete(s.queues, name)
	s.mu.Unlock()
	q.mu.Lock()
	q.deleted = true
	close(q.wake)
	q.wake = make(chan struct{})
	q.mu.Unlock()
	q.stop()
	if err := s.st.DeleteStream(ctx, streamName(q.inc)); err != nil {
		s.log.Warn("queue: could not delete journal of deleted queue", "queue", name, "err", err)
	}
	return nil
}

// ListQueues lists queue names starting with prefix, sorted.
func (s *Service) ListQueues(ctx context.Context, prefix string) ([]string, error) {
	return s.names(prefix), nil
}

// GetAttributes returns the named attributes.
func (s *Service) GetAttributes(ctx context.Context, name string, names []string) (map[string]string, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	all := false
	for _, n := range names {
		switch {
		case n == AttrAll:
			all = true
		case settable(n) || readOnly[n]:
		default:
			return nil, errUnknownAttr(n)
		}
	}
	q.mu.Lock()
	full := maps.Clone(q.def.Attrs)
	c := q.counts()
	full[AttrQueueArn] = q.arn
	full[AttrApproximateNumberOfMessages] = strconv.Itoa(c.Visible)
	full[AttrApproximateNumberOfMessagesNotVisible] = strconv.Itoa(c.NotVisible)
	full[AttrApproximateNumberOfMessagesDelayed] = strconv.Itoa(c.Delayed)
	full[AttrCreatedTimestamp] = strconv.FormatInt(q.def.Created, 10)
	full[AttrLastModifiedTimestamp] = strconv.FormatInt(q.def.Modified, 10)
	q.mu.Unlock()
	if all {
		return full, nil
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		if v, ok := full[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

// SetAttributes validates and applies attrs.
func (s *Service) SetAttributes(ctx context.Context, name string, attrs map[string]string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	q, err := s.queue(name)
	if err != nil {
		return err
	}
	norm, err := normalizeAttrs(attrs, q.fifo, false)
	if err != nil {
		return err
	}
	q.mu.Lock()
	def := q.def
	q.mu.Unlock()
	merged := merge(def.Attrs, norm)
	if err := checkCombined(merged); err != nil {
		return err
	}
	if v, ok := norm[AttrRedrivePolicy]; ok {
		if err := s.checkRedrive(q.arn, q.fifo, v); err != nil {
			return err
		}
	}
	def.Attrs = merged
	def.Modified = s.clk.Now().Unix()
	cfg := parseConfig(merged)
	oldRetention := parseConfig(def.Attrs).retention
	if cfg.retention != oldRetention {
		// Keep the journal's age limit above the retention period.
		if _, err := s.st.Stream(ctx, journalConfig(def)); err != nil {
			return errInternal(err, "could not update queue %s", name)
		}
	}
	if err := s.saveDef(ctx, def); err != nil {
		return errInternal(err, "could not update queue %s", name)
	}
	q.mu.Lock()
	q.def = def
	q.cfg = cfg
	if m := q.retained.top(); m != nil && cfg.retention < oldRetention {
		q.kickTimer(m.sent.Add(cfg.retention))
	}
	q.mu.Unlock()
	return nil
}

// TagQueue adds or replaces tags.
func (s *Service) TagQueue(ctx context.Context, name string, tags map[string]string) error {
	return s.editTags(ctx, name, func(cur map[string]string) error {
		added := 0
		for k := range tags {
			if _, ok := cur[k]; !ok {
				added++
			}
		}
		if err := checkTags(tags, len(cur)+added-len(tags)); err != nil {
			return err
		}
		maps.Copy(cur, tags)
		return nil
	})
}

// UntagQueue removes tags by key.
func (s *Service) UntagQueue(ctx context.Context, name string, keys []string) error {
	return s.editTags(ctx, name, func(cur map[string]string) error {
		for _, k := range keys {
			delete(cur, k)
		}
		return nil
	})
}

func (s *Service) editTags(ctx context.Context, name string, edit func(map[string]string) error) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	q, err := s.queue(name)
	if err != nil {
		return err
	}
	q.mu.Lock()
	def := q.def
	q.mu.Unlock()
	tags := maps.Clone(def.Tags)
	if tags == nil {
		tags = make(map[string]string)
	}
	if err := edit(tags); err != nil {
		return err
	}
	def.Tags = tags
	if err := s.saveDef(ctx, def); err != nil {
		return errInternal(err, "could not tag queue %s", name)
	}
	q.mu.Lock()
	q.def = def
	q.mu.Unlock()
	return nil
}

// ListQueueTags returns the queue's tags.
func (s *Service) ListQueueTags(ctx context.Context, name string) (map[string]string, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := maps.Clone(q.def.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// PurgeQueue deletes every message stored before the call. Messages whose
// sends are still in progress survive, as SQS allows.
func (s *Service) PurgeQueue(ctx context.Context, name string) error {
	q, err := s.queue(name)
	if err != nil {
		return err
	}
	q.mu.Lock()
	now := s.clk.Now()
	if !q.lastPurge.IsZero() && now.Sub(q.lastPurge) < purgeInterval {
		q.mu.Unlock()
		return newErr(fault.Conflict, CodePurgeQueueInProgress,
			"Only one PurgeQueue operation on %s is allowed every 60 seconds.", name)
	}
	q.lastPurge = now
	below := q.highSeq + 1
	for _, f := range q.pending {
		below = min(below, f)
	}
	q.clearMessages(below)
	q.mu.Unlock()
	if err := q.stream.PurgeBefore(ctx, below); err != nil {
		return errInternal(fmt.Errorf("purge journal: %w", err), "could not purge queue %s", name)
	}
	return nil
}

// ListDeadLetterSourceQueues lists the queues whose RedrivePolicy targets
// name.
func (s *Service) ListDeadLetterSourceQueues(ctx context.Context, name string) ([]string, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range s.names("") {
		src, err := s.queue(n)
		if err != nil {
			continue
		}
		src.mu.Lock()
		p := src.cfg.redrive
		src.mu.Unlock()
		if p != nil && p.Target == q.arn {
			out = append(out, n)
		}
	}
	return out, nil
}
