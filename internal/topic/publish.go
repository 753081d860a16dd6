package topic

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// DedupWindow is how long a FIFO topic remembers deduplication ids.
const DedupWindow = 5 * time.Minute

// pubRecord is one stream message: everything one Publish or PublishBatch
// call accepted for one topic.
type pubRecord struct {
	TopicARN string   `json:"topicArn"`
	Msgs     []pubMsg `json:"msgs"`
}

// pubMsg is one published message.
type pubMsg struct {
	MessageID string `json:"messageId"`
	// Index is the message's place in its record; with the record's stream
	// sequence it makes the FIFO SequenceNumber.
	Index   int    `json:"index,omitempty"`
	Message string `json:"message"`
	Subject string `json:"subject,omitempty"`
	// Structure holds the per-protocol messages of MessageStructure json.
	Structure map[string]string    `json:"structure,omitempty"`
	Attrs     map[string]Attribute `json:"attrs,omitempty"`
	Group     string               `json:"group,omitempty"`
	Dedup     string               `json:"dedup,omitempty"`
	Time      time.Time            `json:"time"`
}

// body is the message delivered to a subscriber of protocol.
func (m *pubMsg) body(protocol string) string {
	if m.Structure == nil {
		return m.Message
	}
	if v, ok := m.Structure[protocol]; ok {
		return v
	}
	return m.Structure["default"]
}

// sequenceNumber is the FIFO SequenceNumber of message index of the
// record stored at seq: increasing in publish order, 20 digits as SNS's.
func sequenceNumber(seq uint64, index int) string {
	return fmt.Sprintf("%020d", seq*MaxBatchEntries+uint64(index))
}

// dedupRec remembers a FIFO deduplication id.
type dedupRec struct {
	MessageID string    `json:"messageId"`
	Sequence  string    `json:"sequence"`
	At        time.Time `json:"at"`
}

// prepare validates in for topic t and builds its message.
func (s *Service) prepare(t *topicRec, in PublishInput, now time.Time) (pubMsg, error) {
	m := pubMsg{MessageID: uuid.NewString(), Message: in.Message, Subject: in.Subject, Attrs: in.Attributes, Time: now}
	if in.Message == "" {
		return m, invalidParam("Empty message")
	}
	if err := checkSubject(in.Subject); err != nil {
		return m, err
	}
	switch in.MessageStructure {
	case "":
	case "json":
		st, err := checkStructure(in.Message)
		if err != nil {
			return m, err
		}
		m.Structure = st
	default:
		return m, invalidParam("MessageStructure")
	}
	asize, err := checkAttributes(in.Attributes)
	if err != nil {
		return m, err
	}
	if len(in.Message)+asize > MaxMessageSize {
		return m, invalidParam("Message too long")
	}
	if !t.fifo() {
		if in.DeduplicationID != "" {
			return m, invalidParam("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
		}
		if in.MessageGroupID != "" && !validDedupOrGroup(in.MessageGroupID) {
			return m, invalidParam("MessageGroupId")
		}
		return m, nil
	}
	if in.MessageGroupID == "" {
		return m, invalidParam("The MessageGroupId parameter is required for FIFO topics")
	}
	if !validDedupOrGroup(in.MessageGroupID) {
		return m, invalidParam("MessageGroupId")
	}
	m.Group = in.MessageGroupID
	switch {
	case in.DeduplicationID != "":
		if !validDedupOrGroup(in.DeduplicationID) {
			return m, invalidParam("MessageDeduplicationId")
		}
		m.Dedup = in.DeduplicationID
	case t.Attrs[AttrContentBasedDeduplication] == "true":
		sum := sha256.Sum256([]byte(in.Message))
		m.Dedup = hex.EncodeToString(sum[:])
	default:
		return m, invalidParam("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
	}
	return m, nil
}

func dedupHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

// seenDedup returns the earlier message of a FIFO dedup id still inside
// the window, if any.
func (s *Service) seenDedup(ctx context.Context, t *topicRec, id string, now time.Time) (*dedupRec, error) {
	e, err := s.kv.Get(ctx, dedupKey(t.Name, dedupHash(id)))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("topic: read dedup record: %w", err)
	}
	var d dedupRec
	if json.Unmarshal(e.Value, &d) != nil || now.Sub(d.At) >= DedupWindow {
		return nil, nil
	}
	return &d, nil
}

// store appends rec and returns its stream sequence once the store has
// confirmed it.
func (s *Service) storeRecord(ctx context.Context, t *topicRec, rec *pubRecord) (uint64, error) {
	seq, err := s.stream.Publish(ctx, subjectPub+nameToken(t.Name), marshal(rec), nil)
	if err != nil {
		return 0, fmt.Errorf("topic: publish to %s: %w", t.Name, err)
	}
	return seq, nil
}

// rememberDedup writes the dedup records of rec's messages. A failure
// only weakens deduplication (duplicates are allowed), so it is logged.
func (s *Service) rememberDedup(ctx context.Context, t *topicRec, rec *pubRecord, seq uint64) {
	for i := range rec.Msgs {
		m := &rec.Msgs[i]
		d := dedupRec{MessageID: m.MessageID, Sequence: sequenceNumber(seq, m.Index), At: m.Time}
		if _, err := s.kv.Put(ctx, dedupKey(t.Name, dedupHash(m.Dedup)), marshal(d)); err != nil {
			s.log.Warn("topic: dedup record not stored", "topic", t.ARN, "err", err)
		}
	}
}

// Publish validates in and stores it durably; delivery follows.
func (s *Service) Publish(ctx context.Context, in PublishInput) (PublishResult, error) {
	name, err := s.parseTopicARN(in.TopicARN, "TopicArn")
	if err != nil {
		return PublishResult{}, err
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		return PublishResult{}, err
	}
	now := s.clock.Now()
	m, err := s.prepare(t, in, now)
	if err != nil {
		return PublishResult{}, err
	}
	if t.fifo() {
		d, err := s.seenDedup(ctx, t, m.Dedup, now)
		if err != nil {
			return PublishResult{}, err
		}
		if d != nil {
			return PublishResult{MessageID: d.MessageID, SequenceNumber: d.Sequence}, nil
		}
	}
	rec := &pubRecord{TopicARN: t.ARN, Msgs: []pubMsg{m}}
	seq, err := s.storeRecord(ctx, t, rec)
	if err != nil {
		return PublishResult{}, err
	}
	res := PublishResult{MessageID: m.MessageID}
	if t.fifo() {
		s.rememberDedup(ctx, t, rec, seq)
		res.SequenceNumber = sequenceNumber(seq, 0)
	}
	return res, nil
}

func batchError(code, msg string) *fault.Error {
	e := fault.New(fault.Invalid, "%s", msg)
	e.Reason = code
	return e
}

// PublishBatch validates the batch as a whole (entry count, ids, total
// size), then each entry; the valid entries are stored as one record.
func (s *Service) PublishBatch(ctx context.Context, topicARN string, entries []PublishInput) ([]PublishResult, error) {
	name, err := s.parseTopicARN(topicARN, "TopicArn")
	if err != nil {
		return nil, err
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	switch {
	case len(entries) == 0:
		return nil, batchError(CodeEmptyBatchRequest, "The batch request doesn't contain any entries")
	case len(entries) > MaxBatchEntries:
		return nil, batchError(CodeTooManyEntriesInBatch, "The batch request contains more entries than permissible")
	}
	ids := map[string]bool{}
	total := 0
	for _, e := range entries {
		if !validBatchID(e.ID) {
			return nil, batchError(CodeInvalidBatchEntryID, "The Id of a batch entry in a batch request doesn't abide by the specification")
		}
		if ids[e.ID] {
			return nil, batchError(CodeBatchEntryIdsNotDistinct, "Two or more batch entries in the request have the same Id")
		}
		ids[e.ID] = true
		total += len(e.Message)
		for k, a := range e.Attributes {
			total += len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
		}
	}
	if total > MaxMessageSize {
		return nil, batchError(CodeBatchRequestTooLong, "The length of all the messages put together is more than the limit")
	}

	now := s.clock.Now()
	results := make([]PublishResult, len(entries))
	rec := &pubRecord{TopicARN: t.ARN}
	// pos[i] is entry i's index in rec.Msgs, or -1.
	pos := make([]int, len(entries))
	// An entry repeating an earlier entry's dedup id is that entry.
	sameAs := make([]int, len(entries))
	batchDedup := map[string]int{}
	for i, e := range entries {
		pos[i], sameAs[i] = -1, -1
		results[i].ID = e.ID
		m, err := s.prepare(t, e, now)
		if err != nil {
			results[i].Err = err
			continue
		}
		if t.fifo() {
			if j, ok := batchDedup[m.Dedup]; ok {
				sameAs[i] = j
				continue
			}
			d, err := s.seenDedup(ctx, t, m.Dedup, now)
			if err != nil {
				return nil, err
			}
			if d != nil {
				results[i].MessageID, results[i].SequenceNumber = d.MessageID, d.Sequence
				continue
			}
			batchDedup[m.Dedup] = i
		}
		m.Index = len(rec.Msgs)
		pos[i] = m.Index
		rec.Msgs = append(rec.Msgs, m)
	}
	if len(rec.Msgs) > 0 {
		seq, err := s.storeRecord(ctx, t, rec)
		if err != nil {
			return nil, err
		}
		if t.fifo() {
			s.rememberDedup(ctx, t, rec, seq)
		}
		for i := range entries {
			if p := pos[i]; p >= 0 {
				results[i].MessageID = rec.Msgs[p].MessageID
				if t.fifo() {
					results[i].SequenceNumber = sequenceNumber(seq, p)
				}
			}
		}
	}
	for i, j := range sameAs {
		if j >= 0 {
			results[i].MessageID, results[i].SequenceNumber = results[j].MessageID, results[j].SequenceNumber
		}
	}
	return results, nil
}

// dedupSweepEvery is how often (real time) expired dedup records are
// removed; they are small, so a lazy sweep is enough.
const dedupSweepEvery = time.Minute

// sweepDedup removes FIFO dedup records older than DedupWindow, every
// dedupSweepEvery until ctx ends. Expiry is judged on the injected clock.
func (s *Service) sweepDedup(ctx context.Context) {
	defer s.loops.Done()
	tick := time.NewTicker(dedupSweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if _, err := s.SweepDedup(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("topic: sweep dedup records", "err", err)
		}
	}
}

// SweepDedup removes the FIFO dedup records older than DedupWindow and
// reports how many it removed.
func (s *Service) SweepDedup(ctx context.Context) (int, error) {
	entries, err := s.kv.List(ctx, "d.")
	if err != nil {
		return 0, fmt.Errorf("topic: list dedup records: %w", err)
	}
	cutoff := s.clock.Now().Add(-DedupWindow)
	n := 0
	for _, e := range entries {
		var d dedupRec
		if json.Unmarshal(e.Value, &d) == nil && d.At.After(cutoff) {
			continue
		}
		// Deleting at the read revision leaves a record renewed meanwhile.
		if err := s.kv.Delete(ctx, e.Key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
			return n, fmt.Errorf("topic: delete dedup record: %w", err)
		}
		n++
	}
	return n, nil
}
