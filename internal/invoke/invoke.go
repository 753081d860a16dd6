// Package invoke is the front door for every invocation. It resolves the
// function and qualifier from the registry's in-memory view (alias weights
// included), applies the concurrency limits (per-function reserved
// concurrency and the node's capacity: over them, fault.Throttled with
// AWS's Reason), builds what the runtime needs and hands the event to the
// pool. It also keeps the pool in step with the registry: instances of
// changed or deleted functions are retired, and provisioned concurrency is
// applied.
//
// Files: invoke.go (the synchronous path), limits.go (concurrency),
// provisioned.go (provisioned concurrency and the background worker that
// follows registry changes).
//
// The invocation path does no store I/O and starts no goroutine: a map
// lookup for the function, atomic counters for concurrency, a cached
// runtime.Spec per version.
package invoke

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/runtime"
)

// Invocation types (X-Amz-Invocation-Type) and log types (X-Amz-Log-Type).
const (
	RequestResponse = "RequestResponse"
	Event           = "Event"
	DryRun          = "DryRun"
	LogNone         = "None"
	LogTail         = "Tail"
)

// Limits, as AWS.
const (
	// MaxSyncPayload is the largest synchronous request payload (6 MB).
	MaxSyncPayload = 6291456
	// MaxClientContext is the largest X-Amz-Client-Context (base64, bytes).
	MaxClientContext = 3583
	// DefaultCapacity is the node's concurrency when Options leave it 0.
	DefaultCapacity = 1000
)

// Pool is what invocations need of the runtime; *runtime.Pool satisfies it.
type Pool interface {
	Invoke(ctx context.Context, spec *runtime.Spec, inv *runtime.Invocation) (*runtime.Result, error)
	SetProvisioned(ctx context.Context, spec *runtime.Spec, n int) error
	Prepare(ctx context.Context, spec *runtime.Spec) error
	Retire(functionName string, keep func(key string) bool)
	Instances() []runtime.InstanceInfo
}

var _ Pool = (*runtime.Pool)(nil)

// Registry is what invocations need of the function registry;
// *function.Service satisfies it.
type Registry interface {
	// Snapshot returns a function from the in-memory view (fault.NotFound when missing).
	Snapshot(ctx context.Context, name string) (*function.Snapshot, error)
	Snapshots() []*function.Snapshot
	OnChange(fn func(name string, snap *function.Snapshot)) (cancel func())
	ReadPackage(ctx context.Context, v function.Version) ([]byte, error)
	ARN(name, qualifier string) string

	PutProvisioned(ctx context.Context, name, qualifier string, n int) (function.ProvisionedConfig, error)
	GetProvisioned(ctx context.Context, name, qualifier string) (function.ProvisionedConfig, error)
	ListProvisioned(ctx context.Context, name string, page function.Page) ([]function.ProvisionedConfig, string, error)
	DeleteProvisioned(ctx context.Context, name, qualifier string) error
}

var _ Registry = (*function.Service)(nil)

// Options configure a Service.
type Options struct {
	Registry Registry
	Pool     Pool
	// Capacity is how many invocations this node runs at once (default
	// 1000). Functions with reserved concurrency hold their share of it;
	// the others share the rest.
	Capacity int
	// Region and AccountID go into the ARNs and the functions' environment
	// (defaults us-east-1 and 000000000000).
	Region    string
	AccountID string
	// SyncReserve is how much of the node's unreserved capacity background
	// invocations (Request.Background: async events, schedules, event
	// sources) may never take, so that synchronous callers always find room
	// (default: a tenth of Capacity, at least 1; negative = none).
	SyncReserve int
	// ProvisionTimeout bounds how long applying a provisioned-concurrency
	// setting waits for its instances (default 60 s).
	ProvisionTimeout time.Duration
	Clock            clock.Clock
	Logger           *slog.Logger
}

// Request is one invocation as a caller asks for it.
type Request struct {
	// FunctionName is a name, name:qualifier, or a full or partial ARN.
	FunctionName string
	// Qualifier is a version, an alias or $LATEST ("" = unqualified); it
	// must agree with a qualifier in FunctionName.
	Qualifier string
	// InvocationType is RequestResponse (default), Event or DryRun.
	InvocationType string
	// LogType is None (default) or Tail.
	LogType string
	// ClientContext is the base64 of a JSON document ("" = none).
	ClientContext string
	Payload       []byte
	// Region the caller addressed ("" = Options.Region); used in the ARN
	// handed to the function.
	Region string
	// RequestID to use ("" = a new UUID).
	RequestID string
	// TraceID to propagate ("" = a new one).
	TraceID string
	// Background marks an invocation made by the platform rather than a
	// waiting caller (async events, schedules, event sources): it may not
	// use the capacity kept for synchronous callers (Options.SyncReserve).
	Background bool
	// MaxPayload overrides the payload limit (0 = MaxSyncPayload); the
	// async path has already applied its own.
	MaxPayload int
	// PayloadIsJSON says the caller produced Payload with a JSON encoder
	// itself (the gateway's events), so it is not validated again.
	PayloadIsJSON bool
}

// Response is the outcome of an invocation that the platform accepted.
type Response struct {
	// StatusCode is 200 (sync; also for function errors) or 204 (DryRun).
	StatusCode int
	// Payload is the function's result, or its error document when
	// FunctionError is set.
	Payload []byte
	// FunctionError is "Unhandled" when the function failed.
	FunctionError string
	// ContentType of Payload ("" for DryRun).
	ContentType string
	// ExecutedVersion is the version that ran ($LATEST or a number).
	ExecutedVersion string
	// LogResult is the base64 of the last 4 KB of log, when LogType was Tail.
	LogResult string
	RequestID string
}

// Service runs invocations. Its methods are safe for concurrent use.
type Service struct {
	opts  Options
	reg   Registry
	pool  Pool
	clock clock.Clock
	log   *slog.Logger

	limits limiter
	// states holds per-function state by name (*fnState).
	states sync.Map

	// work is the background worker (provisioned.go).
	work worker

	unsubscribe func()
	closeOnce   sync.Once
}

// fnState is what the invocation path keeps per function.
type fnState struct {
	// reservedInUse counts invocations running against reserved concurrency.
	reservedInUse atomic.Int64
	// specs caches the runtime.Spec of each version by Target.Key.
	specs sync.Map
}

// New returns a Service following the registry's changes (so call
// StartView on the registry first). Close it before closing the pool.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Registry == nil || opts.Pool == nil {
		return nil, errors.New("invoke: Options.Registry and Options.Pool are required")
	}
	if opts.Capacity <= 0 {
		opts.Capacity = DefaultCapacity
	}
	if opts.Region == "" {
		opts.Region = function.DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = function.DefaultAccountID
	}
	switch {
	case opts.SyncReserve == 0:
		opts.SyncReserve = max(1, opts.Capacity/10)
	case opts.SyncReserve < 0:
		opts.SyncReserve = 0
	}
	if opts.ProvisionTimeout <= 0 {
		opts.ProvisionTimeout = 60 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Service{opts: opts, reg: opts.Registry, pool: opts.Pool, clock: opts.Clock, log: opts.Logger}
	s.limits.init(int64(opts.Capacity), int64(opts.SyncReserve))
	s.work.init(ctx, s)
	s.unsubscribe = s.reg.OnChange(s.changed)
	for _, snap := range s.reg.Snapshots() {
		s.limits.setReserved(snap.Name, snap.Reserved)
		if len(snap.Provisioned) > 0 {
			s.work.queue(snap.Name)
		}
	}
	return s, nil
}

// Close stops following the registry and waits for the background worker.
// It leaves the pool alone.
func (s *Service) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.unsubscribe()
		s.work.stop()
	})
	return nil
}

// changed hears of every registry change (under the registry view's lock:
// it must not block). Instances are retired and provisioned concurrency
// applied by the worker.
func (s *Service) changed(name string, snap *function.Snapshot) {
	var reserved *int
	if snap != nil {
		reserved = snap.Reserved
	}
	s.limits.setReserved(name, reserved)
	if v, ok := s.states.Load(name); ok {
		st := v.(*fnState)
		st.specs.Range(func(k, _ any) bool {
			if !snap.Current(k.(string)) {
				st.specs.Delete(k)
			}
			return true
		})
		if snap == nil {
			s.states.Delete(name)
		}
	}
	s.work.queue(name)
}

func (s *Service) state(name string) *fnState {
	if v, ok := s.states.Load(name); ok {
		return v.(*fnState)
	}
	v, _ := s.states.LoadOrStore(name, &fnState{})
	return v.(*fnState)
}

// spec returns the cached runtime.Spec of t, building it on first use.
func (s *Service) spec(st *fnState, t *function.Target) *runtime.Spec {
	if v, ok := st.specs.Load(t.Key); ok {
		return v.(*runtime.Spec)
	}
	v := &t.Version
	reg := s.reg
	spec := &runtime.Spec{
		Key:          t.Key,
		FunctionName: v.FunctionName,
		Version:      v.Version,
		Runtime:      v.Runtime,
		Handler:      v.Handler,
		CodeSha256:   v.CodeSha256,
		Code: func(ctx context.Context) ([]byte, error) {
			return reg.ReadPackage(ctx, t.Version)
		},
		MemoryMB:         v.MemorySize,
		Timeout:          time.Duration(v.Timeout) * time.Second,
		EphemeralStorage: v.EphemeralStorage,
		// Shared with the registry's snapshot: neither side modifies it.
		Environment: v.Environment,
		Region:      s.opts.Region,
		AccountID:   s.opts.AccountID,
		LogGroup:    v.LogGroup,
		LogFormat:   v.LogFormat,
	}
	got, _ := st.specs.LoadOrStore(t.Key, spec)
	return got.(*runtime.Spec)
}

// Invoke runs one invocation. Errors are *fault.Error for everything the
// caller can act on (bad input, unknown function, throttling); a function
// that fails is not an error but a Response with FunctionError set.
func (s *Service) Invoke(ctx context.Context, req Request) (*Response, error) {
	switch req.InvocationType {
	case "", RequestResponse, DryRun:
	case Event:
		// Event invocations are queued by package invoke/async, which
		// calls back here with RequestResponse and Background set.
		return nil, fault.New(fault.Unsupported, "asynchronous invocation is handled by the async service")
	default:
		return nil, validation(req.InvocationType, "invocationType", "Member must satisfy enum value set: [Event, RequestResponse, DryRun]")
	}
	switch req.LogType {
	case "", LogNone, LogTail:
	default:
		return nil, validation(req.LogType, "logType", "Member must satisfy enum value set: [None, Tail]")
	}
	name, qualifier, err := s.ref(req)
	if err != nil {
		return nil, err
	}
	maxPayload := MaxSyncPayload
	if req.MaxPayload > 0 {
		maxPayload = req.MaxPayload
	}
	if len(req.Payload) > maxPayload {
		return nil, ErrTooLarge()
	}
	clientContext, err := decodeClientContext(req.ClientContext)
	if err != nil {
		return nil, err
	}
	payload := req.Payload
	if !req.PayloadIsJSON {
		if payload, err = CheckPayload(req.Payload); err != nil {
			return nil, err
		}
	}

	snap, err := s.reg.Snapshot(ctx, name)
	if err != nil {
		if qualifier != "" && fault.Is(err, fault.NotFound) {
			return nil, fault.New(fault.NotFound, "Function not found: %s", s.reg.ARN(name, qualifier))
		}
		return nil, err
	}
	t, alias, err := snap.Resolve(ctx, qualifier)
	if err != nil {
		return nil, err
	}
	if alias != nil && len(alias.AdditionalVersionWeights) > 0 {
		if t, err = pickWeighted(ctx, snap, t, alias.AdditionalVersionWeights, rand.Float64()); err != nil {
			return nil, err
		}
	}
	requestID := req.RequestID
	if requestID == "" {
		requestID = uuid.NewString()
	}
	if req.InvocationType == DryRun {
		return &Response{StatusCode: 204, ExecutedVersion: t.Version.Version, RequestID: requestID}, nil
	}

	st := s.state(name)
	inUse, err := s.limits.acquire(st, snap.Reserved, req.Background)
	if err != nil {
		return nil, err
	}
	defer inUse.Add(-1)

	spec := s.spec(st, t)
	now := s.clock.Now()
	traceID := req.TraceID
	if traceID == "" {
		traceID = newTraceID(now)
	}
	region := req.Region
	if region == "" {
		region = s.opts.Region
	}
	inv := &runtime.Invocation{
		RequestID:          requestID,
		Payload:            payload,
		Deadline:           now.Add(spec.Timeout),
		InvokedFunctionARN: function.ARN(region, s.opts.AccountID, name, qualifier),
		TraceID:            traceID,
		ClientContext:      clientContext,
		WantLogTail:        req.LogType == LogTail,
	}
	res, err := s.pool.Invoke(ctx, spec, inv)
	if err != nil {
		return nil, err
	}
	resp := &Response{
		StatusCode:      200,
		Payload:         res.Payload,
		FunctionError:   res.FunctionError,
		ContentType:     res.ContentType,
		ExecutedVersion: t.Version.Version,
		RequestID:       requestID,
	}
	if resp.ContentType == "" {
		resp.ContentType = "application/json"
	}
	if req.LogType == LogTail {
		resp.LogResult = base64.StdEncoding.EncodeToString(res.LogTail)
	}
	return resp, nil
}

// ref parses the function name and merges its qualifier with the Qualifier
// parameter.
func (s *Service) ref(req Request) (name, qualifier string, err error) {
	region := req.Region
	if region == "" {
		region = s.opts.Region
	}
	return ParseTarget(req.FunctionName, req.Qualifier, region, s.opts.AccountID)
}

// ParseTarget parses an invocation's function name (a name, name:qualifier,
// or a full or partial ARN) and merges its qualifier with the Qualifier
// parameter, as Lambda does for every invocation type. A function of
// another account or region is not found.
func ParseTarget(functionName, qualifierParam, region, accountID string) (name, qualifier string, err error) {
	ref, err := function.ParseRef(functionName)
	if err != nil {
		return "", "", err
	}
	qualifier = ref.Qualifier
	if qualifierParam != "" {
		if ref.Qualifier != "" && ref.Qualifier != qualifierParam {
			return "", "", fault.New(fault.Invalid, "The derived qualifier from the function name does not match the specified qualifier.")
		}
		if !validQualifier(qualifierParam) {
			return "", "", validation(qualifierParam, "qualifier", "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
		}
		qualifier = qualifierParam
	}
	if ref.Region != "" && ref.Region != region || ref.Account != "" && ref.Account != accountID {
		return "", "", fault.New(fault.NotFound, "Function not found: %s", functionName)
	}
	return ref.Name, qualifier, nil
}

// pickWeighted chooses the version that runs for an alias with routing
// weights: each additional version with its weight, the primary with the
// rest. r is uniform in [0, 1).
func pickWeighted(ctx context.Context, snap *function.Snapshot, primary *function.Target, weights map[string]float64, r float64) (*function.Target, error) {
	for v, w := range weights {
		if r < w {
			return snap.Version(ctx, v)
		}
		r -= w
	}
	return primary, nil
}

// ErrTooLarge is the error for a synchronous payload over MaxSyncPayload.
func ErrTooLarge() error {
	return fault.New(fault.TooLarge, "Request must be smaller than %d bytes for the InvokeFunction operation", MaxSyncPayload)
}

// decodeClientContext returns the JSON inside X-Amz-Client-Context.
func decodeClientContext(b64 string) (string, error) {
	if b64 == "" {
		return "", nil
	}
	if len(b64) > MaxClientContext {
		return "", fault.New(fault.Invalid, "Client context must be at most %d bytes (base64-encoded).", MaxClientContext)
	}
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !json.Valid(doc) || !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{")) {
		return "", fault.New(fault.InvalidContent, "Client context must be a valid Base64-encoded JSON object.")
	}
	return string(doc), nil
}

// CheckPayload applies AWS's rule that a payload is JSON; an empty one is {}.
func CheckPayload(p []byte) ([]byte, error) {
	if len(bytes.TrimSpace(p)) == 0 {
		return []byte("{}"), nil
	}
	if json.Valid(p) {
		return p, nil
	}
	var v any
	err := json.Unmarshal(p, &v)
	detail := "malformed JSON"
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		detail = fmt.Sprintf("%v (at byte %d)", syn, syn.Offset)
	}
	return nil, fault.New(fault.InvalidContent, "Could not parse request body into json: Could not parse payload into json: %s", detail)
}

// newTraceID makes an X-Ray trace header:
// Root=1-<8 hex: time>-<24 hex>;Parent=<16 hex>;Sampled=0.
func newTraceID(now time.Time) string {
	const layout = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
	var r [24]byte
	binary.BigEndian.PutUint32(r[0:], uint32(now.Unix()))
	binary.LittleEndian.PutUint64(r[4:], rand.Uint64())
	binary.LittleEndian.PutUint64(r[12:], rand.Uint64())
	binary.LittleEndian.PutUint32(r[20:], rand.Uint32())
	var b [len(layout)]byte
	copy(b[:], layout)
	hex.Encode(b[7:15], r[0:4])
	hex.Encode(b[16:40], r[4:16])
	hex.Encode(b[48:64], r[16:24])
	return string(b[:])
}

// validQualifier reports whether q may name a version or alias:
// $LATEST or 1-128 of [a-zA-Z0-9_-].
func validQualifier(q string) bool {
	if q == function.Latest {
		return true
	}
	if len(q) == 0 || len(q) > 128 {
		return false
	}
	for i := 0; i < len(q); i++ {
		c := q[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validation returns AWS's ValidationException wording as a fault.Invalid.
func validation(value any, field, constraint string) *fault.Error {
	return fault.New(fault.Invalid, "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}
