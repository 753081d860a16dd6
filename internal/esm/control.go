package esm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

// casAttempts bounds the compare-and-set retries of Update and Delete.
const casAttempts = 5

func notFound() error {
	return &fault.Error{Kind: fault.NotFound, Reason: "ResourceNotFoundException", Message: "The resource you requested does not exist."}
}

func conflict(sourceARN, functionARN, existing string) error {
	return &fault.Error{Kind: fault.Conflict, Reason: "ResourceConflictException",
		Message: fmt.Sprintf("The event source arn (\" %s \") and function (\" %s \") provided mapping already exists. Please update or delete the existing mapping with UUID %s",
			sourceARN, functionARN, existing)}
}

func missing(field string) error {
	return validation("null", field, "Member must not be null")
}

// queueOf checks that arn names an existing queue and returns its name.
func (s *Service) queueOf(ctx context.Context, arn string) (string, error) {
	if err := checkSourceARN(arn); err != nil {
		return "", err
	}
	name, err := s.opts.Queues.NameFromARN(arn)
	if err == nil {
		_, err = s.opts.Queues.GetQueue(ctx, name)
	}
	switch {
	case err == nil:
		return name, nil
	case fault.Is(err, fault.NotFound):
		// Lambda reports what its first receive met.
		return "", invalid("Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist.")
	case fault.KindOf(err) != fault.Internal:
		return "", invalid("Invalid event source %s: %s", arn, faultMessage(err))
	}
	return "", fmt.Errorf("esm: read queue %s: %w", arn, err)
}

func faultMessage(err error) string {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return err.Error()
}

// checkVisibility applies Lambda's rule that the queue's visibility timeout
// is at least the function's timeout.
func (s *Service) checkVisibility(ctx context.Context, queueName string, fn Function) error {
	if fn.Timeout <= 0 {
		return nil
	}
	attrs, err := s.opts.Queues.GetAttributes(ctx, queueName, []string{queue.AttrVisibilityTimeout})
	if err != nil {
		return fmt.Errorf("esm: read queue %s: %w", queueName, err)
	}
	secs, err := strconv.Atoi(attrs[queue.AttrVisibilityTimeout])
	if err != nil {
		return nil
	}
	if fsecs := int(fn.Timeout / time.Second); secs < fsecs {
		return invalid("Invalid parameter: Queue visibility timeout: %d seconds is less than Function timeout: %d seconds", secs, fsecs)
	}
	return nil
}

func isFIFO(queueName string) bool { return strings.HasSuffix(queueName, ".fifo") }

// Create validates and stores a mapping; its pollers start at once.
func (s *Service) Create(ctx context.Context, in CreateInput) (Mapping, error) {
	if in.EventSourceARN == "" {
		return Mapping{}, missing("eventSourceArn")
	}
	if in.FunctionName == "" {
		return Mapping{}, missing("functionName")
	}
	queueName, err := s.queueOf(ctx, in.EventSourceARN)
	if err != nil {
		return Mapping{}, err
	}
	fn, err := s.opts.Functions.Resolve(ctx, in.FunctionName)
	if err != nil {
		return Mapping{}, err
	}
	set := settings{
		batchSize:     DefaultBatchSize,
		responseTypes: in.FunctionResponseTypes,
		filters:       in.Filters,
	}
	if in.BatchSize != nil {
		set.batchSize = *in.BatchSize
	}
	if in.MaximumBatchingWindow != nil {
		set.window = *in.MaximumBatchingWindow
	}
	if in.MaximumConcurrency != nil {
		if set.concurrency = *in.MaximumConcurrency; set.concurrency == 0 {
			return Mapping{}, validation(0, "scalingConfig.maximumConcurrency", "Member must have value greater than or equal to 2")
		}
	}
	if err := set.check(isFIFO(queueName)); err != nil {
		return Mapping{}, err
	}
	if err := s.checkVisibility(ctx, queueName, fn); err != nil {
		return Mapping{}, err
	}
	id := in.UUID
	if id == "" {
		id = uuid.NewString()
	} else if _, err := uuid.Parse(id); err != nil {
		return Mapping{}, validation(id, "uUID", "Member must be a UUID")
	}
	d := &definition{
		UUID:                  id,
		EventSourceARN:        in.EventSourceARN,
		FunctionARN:           fn.ARN,
		BatchSize:             set.batchSize,
		WindowSeconds:         int(set.window / time.Second),
		FunctionResponseTypes: set.responseTypes,
		MaximumConcurrency:    set.concurrency,
		Filters:               set.filters,
		Enabled:               in.Enabled == nil || *in.Enabled,
		LastModified:          s.clock.Now().UnixMilli(),
	}
	if err := s.claimPair(ctx, d.EventSourceARN, d.FunctionARN, id); err != nil {
		return Mapping{}, err
	}
	if _, err := s.kv.Create(ctx, mappingKey(id), d.encode()); err != nil {
		s.releasePair(ctx, d.EventSourceARN, d.FunctionARN, id)
		if errors.Is(err, store.ErrExists) {
			return Mapping{}, &fault.Error{Kind: fault.Conflict, Reason: "ResourceConflictException",
				Message: fmt.Sprintf("An event source mapping with UUID %s already exists.", id)}
		}
		return Mapping{}, fmt.Errorf("esm: store mapping: %w", err)
	}
	m := d.mapping()
	m.State = StateCreating
	return m, nil
}

// claimPair records that id is the mapping of (source, function), or fails
// with a conflict naming the mapping that is. A claim whose mapping is gone
// (a crash between the two deletes of Delete) is taken over.
func (s *Service) claimPair(ctx context.Context, sourceARN, functionARN, id string) error {
	key := pairKey(sourceARN, functionARN)
	for attempt := 0; attempt < casAttempts; attempt++ {
		_, err := s.kv.Create(ctx, key, []byte(id))
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrExists) {
			return fmt.Errorf("esm: claim mapping pair: %w", err)
		}
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("esm: read mapping pair: %w", err)
		}
		holder := string(e.Value)
		if holder == id {
			return nil
		}
		if _, err := s.kv.Get(ctx, mappingKey(holder)); errors.Is(err, store.ErrNotFound) {
			if err := s.kv.Delete(ctx, key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("esm: release stale mapping pair: %w", err)
			}
			continue
		} else if err != nil {
			return fmt.Errorf("esm: read mapping: %w", err)
		}
		return conflict(sourceARN, functionARN, holder)
	}
	return fmt.Errorf("esm: claim mapping pair: too much contention")
}

// releasePair removes the claim of (source, function) if id holds it.
func (s *Service) releasePair(ctx context.Context, sourceARN, functionARN, id string) {
	key := pairKey(sourceARN, functionARN)
	e, err := s.kv.Get(ctx, key)
	if err != nil || string(e.Value) != id {
		return
	}
	if err := s.kv.Delete(ctx, key, e.Revision); err != nil {
		s.log.Warn("releasing a mapping pair failed", "uuid", id, "err", err)
	}
}

func (s *Service) load(ctx context.Context, id string) (*definition, uint64, error) {
	if id == "" {
		return nil, 0, notFound()
	}
	e, err := s.kv.Get(ctx, mappingKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, notFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("esm: load mapping %s: %w", id, err)
	}
	d, err := decodeDefinition(e.Value)
	if err != nil {
		return nil, 0, err
	}
	return d, e.Revision, nil
}

// Get returns a mapping with this node's LastProcessingResult.
func (s *Service) Get(ctx context.Context, id string) (Mapping, error) {
	d, _, err := s.load(ctx, id)
	if err != nil {
		return Mapping{}, err
	}
	m := d.mapping()
	m.LastProcessingResult = s.lastResult(id)
	return m, nil
}

// List returns the mappings of a function (name or ARN; unqualified
// matches every version and alias) and/or a source, sorted by UUID.
func (s *Service) List(ctx context.Context, functionName, sourceARN string) ([]Mapping, error) {
	var want function.Ref
	if functionName != "" {
		var err error
		if want, err = function.ParseRef(functionName); err != nil {
			return nil, err
		}
	}
	entries, err := s.kv.List(ctx, mappingPrefix)
	if err != nil {
		return nil, fmt.Errorf("esm: list mappings: %w", err)
	}
	out := []Mapping{}
	for _, e := range entries {
		d, err := decodeDefinition(e.Value)
		if err != nil {
			s.log.Error("unreadable mapping skipped", "key", e.Key, "err", err)
			continue
		}
		if sourceARN != "" && d.EventSourceARN != sourceARN {
			continue
		}
		if functionName != "" && !functionMatches(want, d.FunctionARN) {
			continue
		}
		m := d.mapping()
		m.LastProcessingResult = s.lastResult(d.UUID)
		out = append(out, m)
	}
	return out, nil
}

func functionMatches(want function.Ref, arn string) bool {
	got, err := function.ParseRef(arn)
	if err != nil || got.Name != want.Name {
		return false
	}
	return want.Qualifier == "" || want.Qualifier == got.Qualifier
}

// Update changes a mapping; its pollers restart with the new settings.
func (s *Service) Update(ctx context.Context, id string, in UpdateInput) (Mapping, error) {
	for attempt := 0; attempt < casAttempts; attempt++ {
		d, rev, err := s.load(ctx, id)
		if err != nil {
			return Mapping{}, err
		}
		nd := *d
		queueName, err := s.opts.Queues.NameFromARN(d.EventSourceARN)
		if err != nil {
			return Mapping{}, invalid("Invalid event source %s: %s", d.EventSourceARN, faultMessage(err))
		}
		var fn Function
		if in.FunctionName != "" {
			if fn, err = s.opts.Functions.Resolve(ctx, in.FunctionName); err != nil {
				return Mapping{}, err
			}
			nd.FunctionARN = fn.ARN
		}
		set := settings{
			batchSize:     d.BatchSize,
			window:        time.Duration(d.WindowSeconds) * time.Second,
			responseTypes: d.FunctionResponseTypes,
			concurrency:   d.MaximumConcurrency,
			filters:       d.Filters,
		}
		if in.BatchSize != nil {
			set.batchSize = *in.BatchSize
		}
		if in.MaximumBatchingWindow != nil {
			set.window = *in.MaximumBatchingWindow
		}
		if in.FunctionResponseTypes != nil {
			set.responseTypes = *in.FunctionResponseTypes
		}
		if in.MaximumConcurrency != nil {
			// 0 removes the limit (an empty ScalingConfig on the wire).
			set.concurrency = *in.MaximumConcurrency
		}
		if in.FiltersSet {
			set.filters = in.Filters
		}
		if err := set.check(isFIFO(queueName)); err != nil {
			return Mapping{}, err
		}
		if in.FunctionName != "" {
			if err := s.checkVisibility(ctx, queueName, fn); err != nil {
				return Mapping{}, err
			}
		}
		nd.BatchSize = set.batchSize
		nd.WindowSeconds = int(set.window / time.Second)
		nd.FunctionResponseTypes = set.responseTypes
		nd.MaximumConcurrency = set.concurrency
		nd.Filters = set.filters
		if in.Enabled != nil {
			nd.Enabled = *in.Enabled
		}
		nd.LastModified = s.clock.Now().UnixMilli()
		moved := nd.FunctionARN != d.FunctionARN
		if moved {
			if err := s.claimPair(ctx, nd.EventSourceARN, nd.FunctionARN, id); err != nil {
				return Mapping{}, err
			}
		}
		if _, err := s.kv.Update(ctx, mappingKey(id), nd.encode(), rev); err != nil {
			if moved {
				s.releasePair(ctx, nd.EventSourceARN, nd.FunctionARN, id)
			}
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return Mapping{}, fmt.Errorf("esm: update mapping %s: %w", id, err)
		}
		if moved {
			s.releasePair(ctx, d.EventSourceARN, d.FunctionARN, id)
		}
		m := nd.mapping()
		switch {
		case d.Enabled && !nd.Enabled:
			m.State = StateDisabling
		case !d.Enabled && nd.Enabled:
			m.State = StateEnabling
		default:
			m.State = StateUpdating
		}
		m.LastProcessingResult = s.lastResult(id)
		return m, nil
	}
	return Mapping{}, &fault.Error{Kind: fault.Conflict, Reason: "ResourceInUseException",
		Message: "The operation cannot be performed at this time. The event source mapping is being changed by another request."}
}

// Delete removes a mapping and stops its pollers (a batch in flight
// finishes).
func (s *Service) Delete(ctx context.Context, id string) (Mapping, error) {
	for attempt := 0; attempt < casAttempts; attempt++ {
		d, rev, err := s.load(ctx, id)
		if err != nil {
			return Mapping{}, err
		}
		if err := s.kv.Delete(ctx, mappingKey(id), rev); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return Mapping{}, fmt.Errorf("esm: delete mapping %s: %w", id, err)
		}
		s.releasePair(ctx, d.EventSourceARN, d.FunctionARN, id)
		m := d.mapping()
		m.State = StateDeleting
		m.LastProcessingResult = s.lastResult(id)
		return m, nil
	}
	return Mapping{}, &fault.Error{Kind: fault.Conflict, Reason: "ResourceInUseException",
		Message: "The operation cannot be performed at this time. The event source mapping is being changed by another request."}
}
