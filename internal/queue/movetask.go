package queue

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/lamina-dev/lamina/internal/fault"
)

// Move task statuses.
const (
	TaskRunning    = "RUNNING"
	TaskCompleted  = "COMPLETED"
	TaskCancelling = "CANCELLING"
	TaskCancelled  = "CANCELLED"
	TaskFailed     = "FAILED"
)

const (
	maxMoveRate  = 500 // MaxNumberOfMessagesPerSecond limit, as SQS
	keptTasks    = 10  // tasks remembered per source queue
	moveBatchMax = 10
)

// moveTask is a message move task; tasks live in memory only (a restart
// forgets them, like an interrupted task in SQS they can be started again).
type moveTask struct {
	mu     sync.Mutex
	info   MoveTask
	cancel chan struct{}
}

func (t *moveTask) snapshot() MoveTask {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.info
}

func errNoResource(param string) error {
	return newErr(fault.NotFound, CodeResourceNotFound, "The resource that you specified for the %s parameter doesn't exist.", param)
}

// StartMoveTask starts moving the messages of a dead-letter queue to
// destARN, or each to its original source when destARN is "".
func (s *Service) StartMoveTask(ctx context.Context, sourceARN, destARN string, maxPerSecond int) (string, error) {
	src, err := s.queueByARN(sourceARN)
	if err != nil {
		return "", errNoResource("SourceArn")
	}
	if src.fifo {
		return "", errUnsupported("Message move tasks are supported for standard queues only.")
	}
	if len(s.sourcesOf(src.arn)) == 0 {
		return "", errInvalidParam("Source queue must be configured as a Dead Letter Queue.")
	}
	var dst *queue
	if destARN != "" {
		if dst, err = s.queueByARN(destARN); err != nil {
			return "", errNoResource("DestinationArn")
		}
		if dst == src {
			return "", errInvalidParam("Source queue and destination queue must be different.")
		}
		if dst.fifo {
			return "", errUnsupported("Message move tasks are supported for standard queues only.")
		}
	}
	if maxPerSecond < 0 || maxPerSecond > maxMoveRate {
		return "", errInvalidParam("Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and %d.", maxPerSecond, maxMoveRate)
	}
	s.mu.Lock()
	for _, t := range s.tasks {
		if i := t.snapshot(); i.SourceARN == src.arn && (i.Status == TaskRunning || i.Status == TaskCancelling) {
			s.mu.Unlock()
			return "", errUnsupported("There is already a task running. Only one active task is allowed for a source queue arn at a given time.")
		}
	}
	src.mu.Lock()
	toMove := src.nReady
	src.mu.Unlock()
	hb, _ := json.Marshal(map[string]string{"taskId": uuid.NewString(), "sourceArn": src.arn})
	t := &moveTask{
		info: MoveTask{
			TaskHandle:                        base64.StdEncoding.EncodeToString(hb),
			Status:                            TaskRunning,
			SourceARN:                         src.arn,
			DestinationARN:                    destARN,
			MaxNumberOfMessagesPerSecond:      maxPerSecond,
			ApproximateNumberOfMessagesToMove: int64(toMove),
			StartedTimestamp:                  s.clk.Now(),
		},
		cancel: make(chan struct{}),
	}
	s.tasks[t.info.TaskHandle] = t
	s.forgetOldTasks(src.arn)
	s.wg.Add(1)
	s.mu.Unlock()
	go s.runMove(t, src, dst, toMove)
	return t.info.TaskHandle, nil
}

// forgetOldTasks keeps the newest keptTasks finished tasks of a source.
// Called with s.mu held.
func (s *Service) forgetOldTasks(srcARN string) {
	var ts []*moveTask
	for _, t := range s.tasks {
		if t.snapshot().SourceARN == srcARN {
			ts = append(ts, t)
		}
	}
	if len(ts) <= keptTasks {
		return
	}
	sort.Slice(ts, func(i, j int) bool {
		return ts[i].snapshot().StartedTimestamp.After(ts[j].snapshot().StartedTimestamp)
	})
	for _, t := range ts[keptTasks:] {
		if st := t.snapshot().Status; st != TaskRunning && st != TaskCancelling {
			delete(s.tasks, t.snapshot().TaskHandle)
		}
	}
}

// sourcesOf lists the queues whose dead-letter queue is arn.
func (s *Service) sourcesOf(arn string) []*queue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*queue
	for _, q := range s.queues {
		q.mu.Lock()
		p := q.cfg.redrive
		q.mu.Unlock()
		if p != nil && p.Target == arn {
			out = append(out, q)
		}
	}
	return out
}

// CancelMoveTask cancels a running task.
func (s *Service) CancelMoveTask(ctx context.Context, taskHandle string) (int64, error) {
	s.mu.RLock()
	t := s.tasks[taskHandle]
	s.mu.RUnlock()
	if t == nil {
		return 0, errNoResource("TaskHandle")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.info.Status != TaskRunning {
		return 0, errUnsupported("Only a task with status RUNNING can be cancelled.")
	}
	t.info.Status = TaskCancelling
	close(t.cancel)
	return t.info.ApproximateNumberOfMessagesMoved, nil
}

// ListMoveTasks lists the newest tasks of sourceARN, newest first.
func (s *Service) ListMoveTasks(ctx context.Context, sourceARN string, max int) ([]MoveTask, error) {
	src, err := s.queueByARN(sourceARN)
	if err != nil {
		return nil, errNoResource("SourceArn")
	}
	if max <= 0 {
		max = 1
	}
	max = min(max, keptTasks)
	s.mu.RLock()
	var out []MoveTask
	for _, t := range s.tasks {
		if i := t.snapshot(); i.SourceARN == src.arn {
			out = append(out, i)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].StartedTimestamp.After(out[j].StartedTimestamp) })
	if len(out) > max {
		out = out[:max]
	}
	return out, nil
}

// runMove moves up to toMove ready messages from src, at most
// MaxNumberOfMessagesPerSecond, then ends COMPLETED (or CANCELLED, or
// FAILED when a destination is missing or the store fails).
func (s *Service) runMove(t *moveTask, src, dst *queue, toMove int) {
	defer s.wg.Done()
	rate := t.info.MaxNumberOfMessagesPerSecond
	start := s.clk.Now()
	moved := 0
	finish := func(status, reason string) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.info.Status == TaskCancelling {
			status, reason = TaskCancelled, ""
		}
		t.info.Status = status
		t.info.FailureReason = reason
	}
	for moved < toMove {
		select {
		case <-t.cancel:
			finish(TaskCancelled, "")
			return
		case <-s.ctx.Done():
			finish(TaskFailed, "The service stopped.")
			return
		default:
		}
		n := min(moveBatchMax, toMove-moved)
		if rate > 0 {
			n = min(n, rate)
			// Pace: after moving m messages, wait until m/rate seconds
			// have passed since the start.
			due := start.Add(time.Duration(moved) * time.Second / time.Duration(rate))
			if d := due.Sub(s.clk.Now()); d > 0 {
				select {
				case <-s.clk.After(d):
				case <-t.cancel:
					finish(TaskCancelled, "")
					return
				case <-s.ctx.Done():
					finish(TaskFailed, "The service stopped.")
					return
				}
			}
		}
		src.mu.Lock()
		if src.deleted {
			src.mu.Unlock()
			finish(TaskFailed, CodeQueueDoesNotExist)
			return
		}
		var batch []*message
		for len(batch) < n {
			e, ok := src.ready.pop()
			if !ok {
				break
			}
			m := e.m
			if m.gone || m.gen != e.gen || m.state != stReady {
				continue
			}
			src.setState(m, stMoving)
			batch = append(batch, m)
		}
		src.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		// Group by destination: the given one, or each message's source.
		byDst := make(map[*queue][]*message)
		var failed bool
		for _, m := range batch {
			d := dst
			if d == nil {
				q, err := s.queueByARN(m.dlqSource)
				if err != nil {
					failed = true
					src.mu.Lock()
					if !m.gone && m.state == stMoving {
						src.makeReady(m)
					}
					src.mu.Unlock()
					continue
				}
				d = q
			}
			byDst[d] = append(byDst[d], m)
		}
		for d, ms := range byDst {
			// As in SQS, a moved message is a new message: new
			// MessageId, new SentTimestamp (so its retention starts over).
			err := s.transfer(s.ctx, src, d, ms, func(r *rec) {
				r.id = uuid.NewString()
				r.dlqSource = ""
				r.delay = 0
				r.sent = s.clk.Now()
			})
			if err != nil {
				finish(TaskFailed, "The messages could not be moved: "+CodeQueueDoesNotExist)
				return
			}
			moved += len(ms)
			t.mu.Lock()
			t.info.ApproximateNumberOfMessagesMoved = int64(moved)
			t.mu.Unlock()
		}
		if failed {
			finish(TaskFailed, "The original source queue of a message does not exist: "+CodeQueueDoesNotExist)
			return
		}
	}
	finish(TaskCompleted, "")
}
