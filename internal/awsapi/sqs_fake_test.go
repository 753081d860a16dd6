package awsapi_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/queue"
)

// fakeQueues is a small in-memory queue.API for the wire tests: enough
// behaviour (visibility, receipt handles, purge, tags, move tasks) for each
// operation to have something to show, and the service's error codes. The
// real service is tested in internal/queue.
type fakeQueues struct {
	mu     sync.Mutex
	queues map[string]*fakeQueue
	seq    int
	tasks  []queue.MoveTask
	// lastReceive is the last ReceiveInput seen, for assertions.
	lastReceive queue.ReceiveInput
	// polling counts the receives under way.
	polling atomic.Int32
}

type fakeQueue struct {
	attrs  map[string]string
	tags   map[string]string
	msgs   []*fakeQueueMsg
	purged bool
}

type fakeQueueMsg struct {
	id, body, handle string
	attrs            map[string]queue.Attribute
	sys              map[string]queue.Attribute
	inflight         bool
	receives         int
}

func newFakeQueues() *fakeQueues { return &fakeQueues{queues: map[string]*fakeQueue{}} }

var _ queue.API = (*fakeQueues)(nil)

func fqErr(kind fault.Kind, code, format string, args ...any) error {
	e := fault.New(kind, format, args...)
	e.Reason = code
	return e
}

func fqNoQueue() error {
	return fqErr(fault.NotFound, queue.CodeQueueDoesNotExist, "The specified queue does not exist.")
}

func (f *fakeQueues) get(name string) (*fakeQueue, error) {
	q := f.queues[name]
	if q == nil {
		return nil, fqNoQueue()
	}
	return q, nil
}

func (f *fakeQueues) CreateQueue(ctx context.Context, name string, attrs, tags map[string]string) (queue.QueueInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" || len(name) > 80 || strings.ContainsAny(name, " /:") {
		return queue.QueueInfo{}, fqErr(fault.Invalid, queue.CodeInvalidParameterValue, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	for k := range attrs {
		if k == "Bogus" {
			return queue.QueueInfo{}, fqErr(fault.Invalid, queue.CodeInvalidAttributeName, "Unknown Attribute %s.", k)
		}
	}
	if q, ok := f.queues[name]; ok {
		if !maps.Equal(q.attrs, attrs) && len(attrs) > 0 {
			return queue.QueueInfo{}, fqErr(fault.Conflict, queue.CodeQueueNameExists, "A queue already exists with the same name and a different value for attribute(s)")
		}
		return f.info(name), nil
	}
	f.queues[name] = &fakeQueue{attrs: maps.Clone(attrs), tags: maps.Clone(tags)}
	if f.queues[name].attrs == nil {
		f.queues[name].attrs = map[string]string{}
	}
	if f.queues[name].tags == nil {
		f.queues[name].tags = map[string]string{}
	}
	return f.info(name), nil
}

func (f *fakeQueues) info(name string) queue.QueueInfo {
	return queue.QueueInfo{Name: name, ARN: f.ARN(name), FIFO: strings.HasSuffix(name, ".fifo")}
}

func (f *fakeQueues) GetQueue(ctx context.Context, name string) (queue.QueueInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(name); err != nil {
		return queue.QueueInfo{}, err
	}
	return f.info(name), nil
}

func (f *fakeQueues) DeleteQueue(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(name); err != nil {
		return err
	}
	delete(f.queues, name)
	return nil
}

func (f *fakeQueues) ListQueues(ctx context.Context, prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.queues {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeQueues) GetAttributes(ctx context.Context, name string, names []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return nil, err
	}
	all := maps.Clone(q.attrs)
	all[queue.AttrQueueArn] = f.ARN(name)
	all[queue.AttrApproximateNumberOfMessages] = fmt.Sprint(len(q.msgs))
	out := map[string]string{}
	for _, n := range names {
		switch {
		case n == queue.AttrAll:
			return all, nil
		case n == "Bogus":
			return nil, fqErr(fault.Invalid, queue.CodeInvalidAttributeName, "Unknown Attribute %s.", n)
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	return out, nil
}

func (f *fakeQueues) SetAttributes(ctx context.Context, name string, attrs map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return err
	}
	for k, v := range attrs {
		if k == queue.AttrVisibilityTimeout && strings.HasPrefix(v, "-") {
			return fqErr(fault.Invalid, queue.CodeInvalidAttributeValue, "Invalid value for the parameter VisibilityTimeout.")
		}
		q.attrs[k] = v
	}
	return nil
}

func (f *fakeQueues) TagQueue(ctx context.Context, name string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return err
	}
	maps.Copy(q.tags, tags)
	return nil
}

func (f *fakeQueues) UntagQueue(ctx context.Context, name string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(q.tags, k)
	}
	return nil
}

func (f *fakeQueues) ListQueueTags(ctx context.Context, name string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(q.tags), nil
}

func (f *fakeQueues) PurgeQueue(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return err
	}
	if q.purged {
		return fqErr(fault.Conflict, queue.CodePurgeQueueInProgress, "Only one PurgeQueue operation on %s is allowed every 60 seconds.", name)
	}
	q.msgs, q.purged = nil, true
	return nil
}

func (f *fakeQueues) ListDeadLetterSourceQueues(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(name); err != nil {
		return nil, err
	}
	var out []string
	for n, q := range f.queues {
		if strings.Contains(q.attrs[queue.AttrRedrivePolicy], f.ARN(name)) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (f *fakeQueues) Counts(ctx context.Context, name string) (queue.Counts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return queue.Counts{}, err
	}
	var c queue.Counts
	for _, m := range q.msgs {
		if m.inflight {
			c.NotVisible++
		} else {
			c.Visible++
		}
	}
	return c, nil
}

func (f *fakeQueues) Send(ctx context.Context, name string, msgs []queue.SendInput) ([]queue.SendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return nil, err
	}
	out := make([]queue.SendResult, len(msgs))
	for i, in := range msgs {
		out[i].ID = in.ID
		if strings.Contains(in.Body, "\x00") {
			out[i].Err = fqErr(fault.Invalid, queue.CodeInvalidMessageContents, "Invalid binary character '#x0' was found in the message body.")
			continue
		}
		if in.DeduplicationID != "" && !strings.HasSuffix(name, ".fifo") {
			out[i].Err = fqErr(fault.Invalid, queue.CodeInvalidParameterValue, "The request include parameter that is not valid for this queue type.")
			continue
		}
		f.seq++
		m := &fakeQueueMsg{id: fmt.Sprintf("00000000-0000-4000-8000-%012d", f.seq), body: in.Body, attrs: in.Attributes, sys: in.SystemAttributes}
		q.msgs = append(q.msgs, m)
		out[i].MessageID = m.id
		if strings.HasSuffix(name, ".fifo") {
			out[i].SequenceNumber = fmt.Sprintf("%020d", f.seq)
		}
	}
	return out, nil
}

// fqSelectAttrs applies ReceiveInput.AttributeNames as SQS does.
func fqSelectAttrs(all map[string]queue.Attribute, names []string) map[string]queue.Attribute {
	out := map[string]queue.Attribute{}
	for k, v := range all {
		for _, n := range names {
			if n == "All" || n == ".*" || n == k || strings.HasSuffix(n, ".*") && strings.HasPrefix(k, strings.TrimSuffix(n, "*")) {
				out[k] = v
			}
		}
	}
	return out
}

func (f *fakeQueues) Receive(ctx context.Context, name string, in queue.ReceiveInput) ([]queue.Message, error) {
	f.polling.Add(1)
	defer f.polling.Add(-1)
	deadline := time.Now().Add(in.Wait)
	for {
		f.mu.Lock()
		f.lastReceive = in
		q, err := f.get(name)
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		var out []queue.Message
		for _, m := range q.msgs {
			if len(out) == max(in.Max, 1) {
				break
			}
			if m.inflight {
				continue
			}
			f.seq++
			m.inflight, m.handle = true, fmt.Sprintf("rh-%d-%s", f.seq, m.id)
			m.receives++
			sys := map[string]string{}
			for _, n := range in.SystemAttributeNames {
				if n == "All" || n == queue.SysApproximateReceiveCount {
					sys[queue.SysApproximateReceiveCount] = fmt.Sprint(m.receives)
				}
				if n == "All" || n == queue.SysSentTimestamp {
					sys[queue.SysSentTimestamp] = "1700000000000"
				}
			}
			out = append(out, queue.Message{MessageID: m.id, ReceiptHandle: m.handle, Body: m.body,
				Attributes: fqSelectAttrs(m.attrs, in.AttributeNames), SystemAttributes: sys, AllAttributes: m.attrs, ReceiveCount: m.receives})
		}
		f.mu.Unlock()
		if len(out) > 0 || !in.WaitSet || time.Now().After(deadline) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (f *fakeQueues) find(q *fakeQueue, handle string) (int, error) {
	if !strings.HasPrefix(handle, "rh-") {
		return -1, fqErr(fault.Invalid, queue.CodeReceiptHandleIsInvalid, "The input receipt handle \"%s\" is not a valid receipt handle.", handle)
	}
	for i, m := range q.msgs {
		if m.handle == handle {
			return i, nil
		}
	}
	return -1, fqErr(fault.Invalid, queue.CodeMessageNotInflight, "Message does not exist or is not available for visibility timeout change.")
}

func (f *fakeQueues) Delete(ctx context.Context, name string, entries []queue.DeleteEntry) ([]queue.EntryResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return nil, err
	}
	out := make([]queue.EntryResult, len(entries))
	for i, e := range entries {
		out[i].ID = e.ID
		j, err := f.find(q, e.ReceiptHandle)
		if err != nil {
			if fault.Is(err, fault.Invalid) && strings.HasPrefix(e.ReceiptHandle, "rh-") {
				continue // deleting a deleted message succeeds, as in SQS
			}
			out[i].Err = err
			continue
		}
		q.msgs = slices.Delete(q.msgs, j, j+1)
	}
	return out, nil
}

func (f *fakeQueues) ChangeVisibility(ctx context.Context, name string, changes []queue.VisibilityChange) ([]queue.EntryResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q, err := f.get(name)
	if err != nil {
		return nil, err
	}
	out := make([]queue.EntryResult, len(changes))
	for i, c := range changes {
		out[i].ID = c.ID
		j, err := f.find(q, c.ReceiptHandle)
		if err != nil {
			out[i].Err = err
			continue
		}
		if c.Timeout == 0 {
			q.msgs[j].inflight = false
		}
	}
	return out, nil
}

func (f *fakeQueues) StartMoveTask(ctx context.Context, sourceARN, destARN string, maxPerSecond int) (string, error) {
	src, err := f.NameFromARN(sourceARN)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.queues[src]; !ok {
		return "", fqErr(fault.NotFound, queue.CodeResourceNotFound, "The resource that you specified for the SourceArn parameter doesn't exist.")
	}
	handle := fmt.Sprintf("task-%d", len(f.tasks)+1)
	f.tasks = append([]queue.MoveTask{{TaskHandle: handle, Status: "RUNNING", SourceARN: sourceARN, DestinationARN: destARN,
		MaxNumberOfMessagesPerSecond: maxPerSecond, ApproximateNumberOfMessagesToMove: 3, StartedTimestamp: time.UnixMilli(1700000000123)}}, f.tasks...)
	return handle, nil
}

func (f *fakeQueues) CancelMoveTask(ctx context.Context, handle string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.tasks {
		if f.tasks[i].TaskHandle == handle && f.tasks[i].Status == "RUNNING" {
			f.tasks[i].Status = "CANCELLING"
			return 1, nil
		}
	}
	return 0, fqErr(fault.NotFound, queue.CodeResourceNotFound, "Task does not exist.")
}

func (f *fakeQueues) ListMoveTasks(ctx context.Context, sourceARN string, max int) ([]queue.MoveTask, error) {
	if _, err := f.NameFromARN(sourceARN); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []queue.MoveTask
	for _, t := range f.tasks {
		if t.SourceARN == sourceARN && len(out) < max {
			out = append(out, t)
		}
	}
	return out, nil
}

const fakeQueueARNPrefix = "arn:aws:sqs:us-east-1:000000000000:"

func (f *fakeQueues) ARN(name string) string { return fakeQueueARNPrefix + name }

func (f *fakeQueues) NameFromARN(arn string) (string, error) {
	name, ok := strings.CutPrefix(arn, fakeQueueARNPrefix)
	if !ok || name == "" {
		return "", fqErr(fault.Invalid, queue.CodeInvalidParameterValue, "Value %s for parameter SourceArn is invalid.", arn)
	}
	return name, nil
}
