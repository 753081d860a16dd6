package esm

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/queue"
)

// softPayloadLimit stops collecting: a batch whose records reach it is
// sent (Lambda's 6 MB payload limit, less room for one more receive's
// worth of overshoot being split off, see chunks).
const softPayloadLimit = 5 << 20

// recordOverhead estimates a record's JSON beyond its body and attributes.
const recordOverhead = 600

// collect gathers one batch: it long-polls for the first messages, then,
// with a batching window, keeps receiving until BatchSize messages, the
// window's end or softPayloadLimit. The window starts when collecting
// starts (Lambda: "as soon as the previous invocation completes"); it is
// cut at half the visibility timeout after the first message, so that a
// batch is not redelivered while it waits. A window that ends empty goes
// on long-polling and sends what the next receive gives.
func (r *runner) collect() ([]queue.Message, error) {
	now := r.s.clock.Now()
	window := time.Duration(r.def.WindowSeconds) * time.Second
	deadline := now.Add(window)
	var msgs []queue.Message
	size := 0
	for {
		wait := r.s.opts.PollWait
		last := window == 0
		if window > 0 {
			if left := deadline.Sub(now); left > 0 {
				wait = min(wait, left)
			} else if len(msgs) > 0 {
				return msgs, nil
			} else {
				last = true // the window ended empty
			}
		}
		got, err := r.s.opts.Queues.Receive(r.ctx, r.queueName, queue.ReceiveInput{
			Max: r.def.BatchSize - len(msgs), Wait: wait, WaitSet: true,
		})
		if err != nil {
			if len(msgs) > 0 {
				r.s.log.Warn("receiving from the queue failed; sending the batch so far", "uuid", r.def.UUID, "err", err)
				return msgs, nil
			}
			return nil, err
		}
		if len(msgs) == 0 && len(got) > 0 && window > 0 {
			if cut := r.s.clock.Now().Add(r.visibility / 2); cut.Before(deadline) {
				deadline = cut
			}
		}
		msgs = append(msgs, got...)
		for i := range got {
			size += estimateSize(&got[i])
		}
		if last || len(msgs) >= r.def.BatchSize || size >= softPayloadLimit || r.ctx.Err() != nil {
			return msgs, nil
		}
		now = r.s.clock.Now()
	}
}

func estimateSize(m *queue.Message) int {
	n := len(m.Body) + len(m.ReceiptHandle) + recordOverhead
	for name, a := range m.AllAttributes {
		n += len(name) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)*4/3 + 80
	}
	return n
}

// outcome is how a batch went, for the poller's scaling and back-off.
type outcome int

const (
	outcomeOK        outcome = iota // invoked (whatever the function answered)
	outcomeThrottled                // invoked after throttles, or gave up on them
	outcomeError                    // the platform failed: back off
)

// process filters, invokes and deletes one batch. Messages that match no
// filter are deleted without invoking (as Lambda does); the others are
// deleted when the function processed them. Everything to delete goes in
// one Delete call. Invocations run under the service's context, not the
// runner's: a stopped mapping finishes the batch it holds.
func (r *runner) process(msgs []queue.Message) outcome {
	var del []queue.DeleteEntry
	deleteMsg := func(i int) {
		del = append(del, queue.DeleteEntry{ID: strconv.Itoa(len(del)), ReceiptHandle: msgs[i].ReceiptHandle})
	}
	records := make([][]byte, 0, len(msgs))
	index := make([]int, 0, len(msgs)) // message index of each record
	for i := range msgs {
		b, err := r.encodeRecord(&msgs[i])
		if err != nil {
			r.s.log.Error("message cannot be encoded as a record; it returns to the queue", "uuid", r.def.UUID, "messageId", msgs[i].MessageID, "err", err)
			continue
		}
		if len(r.filters) > 0 && !r.matches(b) {
			deleteMsg(i)
			continue
		}
		records = append(records, b)
		index = append(index, i)
	}
	result := outcomeOK
	for _, c := range chunks(records) {
		done, o := r.invoke(records[c[0]:c[1]], msgs, index[c[0]:c[1]])
		for _, i := range done {
			deleteMsg(i)
		}
		if o > result {
			result = o
		}
	}
	if len(del) > 0 {
		res, err := r.s.opts.Queues.Delete(r.s.ctx, r.queueName, del)
		if err != nil {
			r.s.log.Warn("deleting processed messages failed; they will be delivered again", "uuid", r.def.UUID, "messages", len(del), "err", err)
		} else {
			for _, e := range res {
				if e.Err != nil {
					// Typically a visibility timeout shorter than the batch took.
					r.s.log.Debug("deleting a processed message failed", "uuid", r.def.UUID, "err", e.Err)
				}
			}
		}
	}
	return result
}

// matches reports whether a record matches any filter.
func (r *runner) matches(record []byte) bool {
	for _, p := range r.filters {
		if p == nil {
			continue
		}
		if ok, err := p.Match(record); err == nil && ok {
			return true
		}
	}
	return false
}

// eventOverhead is the JSON around the records: {"Records":[...]}.
const eventOverhead = len(`{"Records":[]}`)

// chunks splits records into [from, to) runs whose event fits the
// synchronous payload limit.
func chunks(records [][]byte) [][2]int {
	var out [][2]int
	from, size := 0, eventOverhead
	for i, b := range records {
		if i > from && size+len(b)+1 > invoke.MaxSyncPayload {
			out = append(out, [2]int{from, i})
			from, size = i, eventOverhead
		}
		size += len(b) + 1
	}
	if from < len(records) {
		out = append(out, [2]int{from, len(records)})
	}
	return out
}

func event(records [][]byte) []byte {
	n := eventOverhead
	for _, b := range records {
		n += len(b) + 1
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"Records":[`...)
	for i, b := range records {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	return append(buf, "]}"...)
}

// invoke runs the function on records (of msgs[index[i]]) and returns the
// indexes of the messages to delete. A throttled invocation is retried
// with back-off while the batch has at least half its visibility timeout
// left; after that its messages return to the queue.
func (r *runner) invoke(records [][]byte, msgs []queue.Message, index []int) ([]int, outcome) {
	req := invoke.Request{
		FunctionName:  r.def.FunctionARN,
		Payload:       event(records),
		Region:        r.s.opts.Region,
		Background:    true,
		PayloadIsJSON: true,
	}
	started := r.s.clock.Now()
	delay := r.s.opts.RetryDelay
	throttled := false
	var resp *invoke.Response
	for {
		var err error
		resp, err = r.s.opts.Invoker.Invoke(r.s.ctx, req)
		if err == nil {
			break
		}
		if r.s.ctx.Err() != nil {
			return nil, outcomeError
		}
		if fault.Is(err, fault.Throttled) {
			throttled = true
			if r.s.clock.Now().Add(delay).Sub(started) < r.visibility/2 {
				select {
				case <-r.s.clock.After(delay):
				case <-r.s.ctx.Done():
					return nil, outcomeError
				}
				delay = min(2*delay, r.s.opts.MaxRetryDelay)
				continue
			}
			r.setResult(resultFailed)
			return nil, outcomeThrottled
		}
		if fault.Is(err, fault.NotFound) {
			r.setResult(resultNotFound)
		} else {
			r.setResult(resultFailed)
		}
		r.s.log.Warn("invoking the function failed", "uuid", r.def.UUID, "function", r.def.FunctionARN, "err", err)
		return nil, outcomeError
	}
	o := outcomeOK
	if throttled {
		o = outcomeThrottled
	}
	if resp.FunctionError != "" {
		r.setResult(resultFailed)
		return nil, o
	}
	r.setResult(resultOK)
	if !r.def.reportsBatchItemFailures() {
		return index, o
	}
	failed, ok := batchItemFailures(resp.Payload, msgs, index)
	if !ok {
		r.s.log.Debug("the function's batch item failures are unusable; the whole batch failed", "uuid", r.def.UUID)
		return nil, o
	}
	if len(failed) == 0 {
		return index, o
	}
	done := make([]int, 0, len(index))
	for _, i := range index {
		if !failed[msgs[i].MessageID] {
			done = append(done, i)
		}
	}
	return done, o
}

// batchItemFailures reads a partial batch response. Lambda's rules: an
// empty or null response, or a null or empty list, is complete success;
// anything unparseable, an item without an itemIdentifier, or with one
// that names no message of the batch, is complete failure (ok false).
func batchItemFailures(payload []byte, msgs []queue.Message, index []int) (map[string]bool, bool) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return nil, true
	}
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return nil, false
	}
	if len(resp.BatchItemFailures) == 0 {
		return nil, true
	}
	ids := make(map[string]bool, len(index))
	for _, i := range index {
		ids[msgs[i].MessageID] = true
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == nil || !ids[*f.ItemIdentifier] {
			return nil, false
		}
		failed[*f.ItemIdentifier] = true
	}
	return failed, true
}
