package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Send validates msgs, journals the valid ones (a batch is one record)
// and answers once the store has confirmed them.
func (s *Service) Send(ctx context.Context, name string, msgs []SendInput) ([]SendResult, error) {
	q, err := s.queue(name)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, newErr(fault.Invalid, CodeEmptyBatchRequest, "There should be at least one SendMessageBatchRequestEntry in the request.")
	}
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
	now := s.clk.Now()
	results := make([]SendResult, len(msgs))
	// One allocation each for the batch's records and their ids: the
	// records are copied into their messages once stored.
	slab := make([]rec, len(msgs))
	ids := newMessageIDs(len(msgs))
	recs := make([]*rec, 0, len(msgs))
	idxs := make([]int, 0, len(msgs))
	total := 0
	for i := range msgs {
		results[i].ID = msgs[i].ID
		r := &slab[i]
		size, err := s.prepare(&cfg, &msgs[i], now, r, ids[i])
		if err != nil {
			results[i].Err = err
			continue
		}
		total += size
		recs = append(recs, r)
		idxs = append(idxs, i)
	}
	if len(msgs) > 1 && total > cfg.maxSize {
		return nil, newErr(fault.TooLarge, CodeBatchRequestTooLong,
			"Batch requests cannot be longer than %d bytes. You have sent %d bytes.", cfg.maxSize, total)
	}
	if len(recs) == 0 {
		return results, nil
	}
	if cfg.fifo {
		if err := q.sendFIFO(ctx, recs, idxs, results); err != nil {
			return nil, err
		}
		return results, nil
	}
	if _, err := q.appendRecs(ctx, recs); err != nil {
		return nil, err
	}
	for j, r := range recs {
		results[idxs[j]].MessageID = r.id
	}
	return results, nil
}

// sendFIFO deduplicates and journals recs in order. A duplicate (of an
// earlier send within the window, or of an earlier entry of this batch)
// succeeds with the original's MessageId and SequenceNumber and stores
// nothing.
func (q *queue) sendFIFO(ctx context.Context, recs []*rec, idxs []int, results []SendResult) error {
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	now := q.svc.clk.Now()
	fresh := make([]*rec, 0, len(recs))
	freshIdx := make([]int, 0, len(recs))
	inBatch := make(map[string]int)
	type dup struct{ result, of int }
	var dups []dup
	q.mu.Lock()
	q.trimDedup(now)
	for j, r := range recs {
		i := idxs[j]
		k := q.dedupKey(r)
		if e, ok := q.dedup[k]; ok && e.exp.After(now) {
			results[i].MessageID, results[i].SequenceNumber = e.id, e.seq
			continue
		}
		if f, ok := inBatch[k]; ok {
			dups = append(dups, dup{i, f})
			continue
		}
		inBatch[k] = len(fresh)
		fresh = append(fresh, r)
		freshIdx = append(freshIdx, i)
	}
	q.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	keys, err := q.appendRecs(ctx, fresh)
	if err != nil {
		return err
	}
	q.mu.Lock()
	for f, r := range fresh {
		seq := seqNumber(keys[f])
		exp := r.sent.Add(DedupWindow)
		k := q.dedupKey(r)
		q.dedup[k] = dedupEntry{id: r.id, seq: seq, exp: exp}
		q.dedupQ = append(q.dedupQ, dedupRef{key: k, exp: exp})
		results[freshIdx[f]].MessageID, results[freshIdx[f]].SequenceNumber = r.id, seq
	}
	q.mu.Unlock()
	for _, d := range dups {
		results[d.result].MessageID = results[freshIdx[d.of]].MessageID
		results[d.result].SequenceNumber = results[freshIdx[d.of]].SequenceNumber
	}
	return nil
}

// prepare validates one message for a queue with cfg, fills r with its
// journal form under message id id, and returns its size as SQS counts it.
// On an error r is left partly filled and unused.
func (s *Service) prepare(cfg *config, in *SendInput, now time.Time, r *rec, id string) (int, error) {
	if in.Body == "" {
		return 0, errMissing("MessageBody")
	}
	if !validBody(in.Body) {
		return 0, errContents()
	}
	attrSize, err := checkAttributes(in.Attributes)
	if err != nil {
		return 0, err
	}
	*r = rec{
		id:      id,
		body:    in.Body,
		sent:    now,
		delay:   cfg.delay,
		sender:  s.account,
		group:   in.MessageGroupID,
		dedup:   in.DeduplicationID,
		bodyMD5: in.BodyMD5,
	}
	for name, a := range in.SystemAttributes {
		if name != SysAWSTraceHeader || baseType(a.DataType) != "String" || a.StringValue == "" {
			return 0, errInvalidParam("Message system attribute name '%s' is invalid.", name)
		}
		r.trace = a.StringValue
		attrSize += len(name) + len(a.DataType) + len(a.StringValue)
	}
	size := len(in.Body) + attrSize
	if size > cfg.maxSize {
		return 0, errInvalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", cfg.maxSize)
	}
	if in.DelaySet {
		secs := int64(in.Delay / time.Second)
		if cfg.fifo {
			return 0, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", secs)
		}
		if in.Delay < 0 || in.Delay > MaxDelay {
			return 0, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", secs)
		}
		r.delay = in.Delay
	}
	if cfg.fifo {
		if r.group == "" {
			return 0, errMissing("MessageGroupId")
		}
		if !validFIFOID(r.group) {
			return 0, errInvalidParam("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", r.group)
		}
		switch {
		case r.dedup != "":
			if !validFIFOID(r.dedup) {
				return 0, errInvalidParam("Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.", r.dedup)
			}
		case cfg.contentDedup:
			sum := sha256.Sum256([]byte(in.Body))
			r.dedup = hex.EncodeToString(sum[:])
		default:
			return 0, errInvalidParam("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
	} else {
		if r.dedup != "" {
			return 0, errInvalidParam("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request include parameter that is not valid for this queue type.", r.dedup)
		}
		if r.group != "" && !validFIFOID(r.group) {
			return 0, errInvalidParam("Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.", r.group)
		}
	}
	if len(in.Attributes) > 0 {
		r.attrs = make(map[string]Attribute, len(in.Attributes))
		for k, a := range in.Attributes {
			a.BinaryValue = bytes.Clone(a.BinaryValue)
			r.attrs[k] = a
		}
	}
	return size, nil
}
