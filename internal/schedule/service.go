package schedule

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/schedule/expr"
	"github.com/lamina-dev/lamina/internal/store"
)

// This file holds the Service (the EventBridge Scheduler API and the
// EventBridge rules API behind the edge) and its schedules; groups.go has
// the schedule groups and tags, rules.go the rules and their targets.
//
// Every resource is a record in APIBucket, the source of truth. The
// engine's Definitions are derived from the records: a write stores the
// record first, then brings the record's definitions in line with it
// (syncDefinitions), and New reconciles all of them, so a crash between
// the two writes leaves at most a stale definition until the next start.
// A deletion removes the definitions first, so an interrupted one leaves a
// schedule that does not fire rather than a firing without a schedule.

// APIBucket holds the API-level records: "group.<group>",
// "schedule.<group>.<name>", "rule.<bus>.<name>" (names escaped by KeyPart).
const APIBucket = "schedule-api"

// Options configure a Service.
type Options struct {
	Store store.Store
	// Region and AccountID name resources in ARNs (default us-east-1 and
	// 000000000000).
	Region    string
	AccountID string
	// Clock stamps creation and modification times (nil = the wall clock).
	Clock  clock.Clock
	Logger *slog.Logger
	Limits Limits
}

// Limits are the service's quotas; zero values mean the defaults.
type Limits struct {
	// MaxSchedules bounds the schedules of the account (0 = unlimited;
	// AWS's quota is 1,000,000, and counting them costs a key listing).
	MaxSchedules int
	// MaxGroups bounds the schedule groups (default 500, AWS's quota).
	MaxGroups int
	// MaxRules bounds the rules of the event bus (default 300, AWS's quota).
	MaxRules int
	// MaxTargetsPerRule bounds a rule's targets (default 5, AWS's quota).
	MaxTargetsPerRule int
}

// Defaults of Options.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
)

// Service stores schedules, schedule groups and rules, and the engine's
// definitions derived from them.
type Service struct {
	api     store.KV
	defs    store.KV
	region  string
	account string
	clock   clock.Clock
	log     *slog.Logger
	limits  Limits
}

// New opens the service's buckets, makes sure the default schedule group
// exists, and reconciles the definitions with the records.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("schedule: Options.Store is required")
	}
	s := &Service{
		region:  cmp.Or(opts.Region, DefaultRegion),
		account: cmp.Or(opts.AccountID, DefaultAccountID),
		clock:   opts.Clock,
		log:     opts.Logger,
		limits:  opts.Limits,
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.limits.MaxGroups = cmp.Or(s.limits.MaxGroups, 500)
	s.limits.MaxRules = cmp.Or(s.limits.MaxRules, 300)
	s.limits.MaxTargetsPerRule = cmp.Or(s.limits.MaxTargetsPerRule, 5)
	var err error
	if s.api, err = opts.Store.KV(ctx, APIBucket); err != nil {
		return nil, fmt.Errorf("schedule: open %s: %w", APIBucket, err)
	}
	if s.defs, err = opts.Store.KV(ctx, DefinitionsBucket); err != nil {
		return nil, fmt.Errorf("schedule: open %s: %w", DefinitionsBucket, err)
	}
	if err := s.ensureDefaultGroup(ctx); err != nil {
		return nil, err
	}
	if err := s.reconcile(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Region and AccountID are those the service names resources with.
func (s *Service) Region() string    { return s.region }
func (s *Service) AccountID() string { return s.account }

func (s *Service) now() time.Time { return toMillis(s.clock.Now()) }

// ---- keys and ARNs

func groupKey(group string) string { return "group." + KeyPart(group) }

func scheduleKey(group, name string) string {
	return "schedule." + KeyPart(group) + "." + KeyPart(name)
}

func ruleKey(bus, name string) string { return "rule." + KeyPart(bus) + "." + KeyPart(name) }

func (s *Service) scheduleArn(group, name string) string {
	return "arn:aws:scheduler:" + s.region + ":" + s.account + ":schedule/" + group + "/" + name
}

func (s *Service) groupArn(group string) string {
	return "arn:aws:scheduler:" + s.region + ":" + s.account + ":schedule-group/" + group
}

// ---- schedules

// CreateSchedule validates and stores a new schedule. A retry with the
// ClientToken of the request that created it answers as that one did.
func (s *Service) CreateSchedule(ctx context.Context, in ScheduleInput) (*Schedule, error) {
	sc, err := s.buildSchedule(in, nil)
	if err != nil {
		return nil, err
	}
	if _, err := s.activeGroup(ctx, sc.GroupName); err != nil {
		return nil, err
	}
	key := scheduleKey(sc.GroupName, sc.Name)
	if s.limits.MaxSchedules > 0 {
		keys, err := s.api.Keys(ctx, "schedule.")
		if err != nil {
			return nil, fmt.Errorf("count schedules: %w", err)
		}
		if len(keys) >= s.limits.MaxSchedules {
			return nil, &fault.Error{Kind: fault.Conflict, Reason: ReasonLimitExceeded,
				Message: fmt.Sprintf("The account already has %d schedules, the most it may have.", len(keys))}
		}
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode schedule: %w", err)
	}
	rev, err := s.api.Create(ctx, key, b)
	if errors.Is(err, store.ErrExists) {
		prev, gerr := s.getSchedule(ctx, sc.GroupName, sc.Name)
		if gerr == nil && in.ClientToken != "" && prev.ClientToken == in.ClientToken {
			// The response to the first request was lost; its definition may
			// have been too.
			return prev, s.syncDefinitions(ctx, key)
		}
		return nil, fault.New(fault.Conflict, "Schedule %s already exists.", sc.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("store schedule %s: %w", key, err)
	}
	sc.Revision = rev
	if _, err := s.activeGroup(ctx, sc.GroupName); err != nil {
		// The group was deleted meanwhile: its deletion may have missed this
		// schedule, so it goes too.
		_ = s.deleteRecord(ctx, key, rev)
		return nil, err
	}
	if err := s.syncDefinitions(ctx, key); err != nil {
		return nil, err
	}
	s.log.Debug("schedule created", "arn", sc.Arn, "expression", sc.ScheduleExpression)
	return sc, nil
}

// UpdateSchedule replaces every member of an existing schedule with the
// request's (omitted members take their defaults, as on AWS).
func (s *Service) UpdateSchedule(ctx context.Context, in ScheduleInput) (*Schedule, error) {
	group := cmp.Or(in.GroupName, DefaultGroup)
	if err := checkSchedulerName(group, "groupName"); err != nil {
		return nil, err
	}
	if err := checkSchedulerName(in.Name, "name"); err != nil {
		return nil, err
	}
	prev, err := s.getSchedule(ctx, group, in.Name)
	if err != nil {
		return nil, err
	}
	sc, err := s.buildSchedule(in, prev)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(sc)
	if err != nil {
		return nil, fmt.Errorf("encode schedule: %w", err)
	}
	key := scheduleKey(group, in.Name)
	rev, err := s.api.Update(ctx, key, b, prev.Revision)
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, fault.New(fault.Conflict, "Schedule %s was changed by another request at the same time; retry.", in.Name)
	case errors.Is(err, store.ErrNotFound):
		return nil, scheduleNotFound(in.Name)
	case err != nil:
		return nil, fmt.Errorf("store schedule %s: %w", key, err)
	}
	sc.Revision = rev
	if err := s.syncDefinitions(ctx, key); err != nil {
		return nil, err
	}
	return sc, nil
}

// GetSchedule returns a schedule ("" group = default).
func (s *Service) GetSchedule(ctx context.Context, group, name string) (*Schedule, error) {
	group = cmp.Or(group, DefaultGroup)
	if err := checkSchedulerName(group, "groupName"); err != nil {
		return nil, err
	}
	if err := checkSchedulerName(name, "name"); err != nil {
		return nil, err
	}
	return s.getSchedule(ctx, group, name)
}

// DeleteSchedule deletes a schedule ("" group = default).
func (s *Service) DeleteSchedule(ctx context.Context, group, name string) error {
	sc, err := s.GetSchedule(ctx, group, name)
	if err != nil {
		return err
	}
	err = s.deleteRecord(ctx, scheduleKey(sc.GroupName, sc.Name), sc.Revision)
	if errors.Is(err, store.ErrConflict) {
		return fault.New(fault.Conflict, "Schedule %s was changed by another request at the same time; retry.", name)
	}
	return err
}

// ListSchedules lists schedules sorted by group and name, a page at a time.
func (s *Service) ListSchedules(ctx context.Context, in ListSchedulesInput) ([]Schedule, string, error) {
	limit, err := pageLimit(in.MaxResults, "maxResults")
	if err != nil {
		return nil, "", err
	}
	after, err := parseToken(in.NextToken)
	if err != nil {
		return nil, "", err
	}
	prefix := "schedule."
	if in.GroupName != "" {
		if err := checkSchedulerName(in.GroupName, "groupName"); err != nil {
			return nil, "", err
		}
		if _, err := s.getGroup(ctx, in.GroupName); err != nil {
			return nil, "", err
		}
		prefix = "schedule." + KeyPart(in.GroupName) + "."
	}
	if in.NamePrefix != "" {
		if err := checkSchedulerName(in.NamePrefix, "namePrefix"); err != nil {
			return nil, "", err
		}
	}
	switch in.State {
	case "", StateEnabled, StateDisabled:
	default:
		return nil, "", constraint(in.State, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	entries, err := s.api.List(ctx, prefix)
	if err != nil {
		return nil, "", fmt.Errorf("list schedules: %w", err)
	}
	var all []Schedule
	for _, e := range entries {
		sc, err := decodeSchedule(e)
		if err != nil {
			return nil, "", err
		}
		if !strings.HasPrefix(sc.Name, in.NamePrefix) || (in.State != "" && sc.State != in.State) {
			continue
		}
		all = append(all, *sc)
	}
	// NUL sorts before every name character: by group, then by name.
	sortKey := func(sc *Schedule) string { return sc.GroupName + "\x00" + sc.Name }
	slices.SortFunc(all, func(a, b Schedule) int { return strings.Compare(sortKey(&a), sortKey(&b)) })
	return page(all, after, limit, sortKey)
}

// page returns up to limit items whose sort key follows after, and the
// token of the next page ("" when there is none).
func page[T any](all []T, after string, limit int, key func(*T) string) ([]T, string, error) {
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(all, after, func(x T, k string) int {
			if key(&x) <= k {
				return -1
			}
			return 1
		})
	}
	all = all[start:]
	if len(all) <= limit {
		return all, "", nil
	}
	return all[:limit], pageToken(key(&all[limit-1])), nil
}

// DeleteCompleted deletes the schedule of a one-time Definition whose
// ActionAfterCompletion is DELETE, once the engine has fired it. It does
// nothing when the schedule has changed since d was read (a newer
// definition, or none), so an update made meanwhile survives.
func (s *Service) DeleteCompleted(ctx context.Context, d *Definition) error {
	if d == nil || d.Kind != KindSchedule {
		return nil
	}
	key := DefinitionKey(d)
	cur, err := s.defs.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read definition %s: %w", key, err)
	}
	var def Definition
	if err := json.Unmarshal(cur.Value, &def); err != nil {
		return fmt.Errorf("decode definition %s: %w", key, err)
	}
	if def.Revision != d.Revision || !def.DeleteAfterCompletion {
		return nil
	}
	rec, err := s.api.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return s.syncDefinitions(ctx, key)
	}
	if err != nil {
		return fmt.Errorf("read schedule %s: %w", key, err)
	}
	err = s.deleteRecord(ctx, key, rec.Revision)
	if errors.Is(err, store.ErrConflict) {
		// Updated at this moment: the update wins.
		return nil
	}
	if err == nil {
		s.log.Info("completed schedule deleted", "arn", d.ARN)
	}
	return err
}

// buildSchedule validates in and makes the record to store; prev is the
// schedule it replaces (nil on create).
func (s *Service) buildSchedule(in ScheduleInput, prev *Schedule) (*Schedule, error) {
	now := s.now()
	sc := &Schedule{
		Name:                       in.Name,
		GroupName:                  cmp.Or(in.GroupName, DefaultGroup),
		ScheduleExpression:         in.ScheduleExpression,
		ScheduleExpressionTimezone: in.ScheduleExpressionTimezone,
		Description:                in.Description,
		State:                      cmp.Or(in.State, StateEnabled),
		ActionAfterCompletion:      cmp.Or(in.ActionAfterCompletion, ActionNone),
		KmsKeyArn:                  in.KmsKeyArn,
		CreationDate:               now,
		LastModificationDate:       now,
		ClientToken:                in.ClientToken,
	}
	if prev != nil {
		sc.CreationDate = prev.CreationDate
		sc.ClientToken = prev.ClientToken
	}
	if err := checkSchedulerName(sc.Name, "name"); err != nil {
		return nil, err
	}
	if err := checkSchedulerName(sc.GroupName, "groupName"); err != nil {
		return nil, err
	}
	sc.Arn = s.scheduleArn(sc.GroupName, sc.Name)
	if in.ClientToken != "" {
		if err := checkPattern(in.ClientToken, "clientToken", 1, 64, clientTokenRE, clientTokenPattern); err != nil {
			return nil, err
		}
	}
	if err := checkLen(sc.Description, "description", 0, 512); err != nil {
		return nil, err
	}
	switch sc.State {
	case StateEnabled, StateDisabled:
	default:
		return nil, constraint(sc.State, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
	}
	switch sc.ActionAfterCompletion {
	case ActionNone, ActionDelete:
	default:
		return nil, constraint(sc.ActionAfterCompletion, "actionAfterCompletion", "Member must satisfy enum value set: [NONE, DELETE]")
	}
	if sc.KmsKeyArn != "" {
		if err := checkPattern(sc.KmsKeyArn, "kmsKeyArn", 1, 2048, kmsKeyArnRE, kmsKeyArnPattern); err != nil {
			return nil, err
		}
	}

	// When: the time zone, then the expression in it.
	loc := time.UTC
	if tz := sc.ScheduleExpressionTimezone; tz != "" {
		if err := checkLen(tz, "scheduleExpressionTimezone", 1, 50); err != nil {
			return nil, err
		}
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			return nil, invalid("Invalid ScheduleExpressionTimezone: %s is not a time zone of the IANA database.", tz)
		}
		loc = l
	}
	if sc.ScheduleExpression == "" {
		return nil, invalid("1 validation error detected: Value null at 'scheduleExpression' failed to satisfy constraint: Member must not be null")
	}
	if err := checkLen(sc.ScheduleExpression, "scheduleExpression", 1, 256); err != nil {
		return nil, err
	}
	if in.StartDate != nil {
		sc.StartDate = ptr(toMillis(*in.StartDate))
	}
	if in.EndDate != nil {
		sc.EndDate = ptr(toMillis(*in.EndDate))
	}
	e, err := expr.Parse(sc.ScheduleExpression, expr.ParseOptions{
		Location: loc, Anchor: scheduleAnchor(sc), AllowSeconds: true, AllowAt: true,
	})
	if err != nil {
		return nil, err
	}
	if !e.OneTime() {
		// AWS ignores both dates for one-time schedules, and checks them
		// for recurring ones. An update that keeps the stored StartDate is
		// not refused for it having passed.
		keeps := prev != nil && prev.StartDate != nil && sc.StartDate != nil && prev.StartDate.Equal(*sc.StartDate)
		if sc.StartDate != nil && !keeps && sc.StartDate.Before(now.Add(-5*time.Minute)) {
			return nil, invalid("The StartDate you specify cannot be earlier than 5 minutes ago.")
		}
		if sc.StartDate != nil && sc.EndDate != nil && !sc.EndDate.After(*sc.StartDate) {
			return nil, invalid("The EndDate you specify must be after the StartDate.")
		}
	}

	// How: the window and the target.
	w := in.FlexibleTimeWindow
	if w == nil {
		return nil, invalid("1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null")
	}
	switch w.Mode {
	case ModeOff:
		if w.MaximumWindowInMinutes != nil {
			return nil, invalid("MaximumWindowInMinutes can be set only when FlexibleTimeWindow.Mode is FLEXIBLE.")
		}
		sc.FlexibleTimeWindow = FlexibleTimeWindow{Mode: ModeOff}
	case ModeFlexible:
		if w.MaximumWindowInMinutes == nil {
			return nil, invalid("MaximumWindowInMinutes is required when FlexibleTimeWindow.Mode is FLEXIBLE.")
		}
		if err := checkRange(*w.MaximumWindowInMinutes, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440); err != nil {
			return nil, err
		}
		sc.FlexibleTimeWindow = FlexibleTimeWindow{Mode: ModeFlexible, MaximumWindowInMinutes: ptr(*w.MaximumWindowInMinutes)}
	default:
		return nil, constraint(w.Mode, "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]")
	}
	t := in.Target
	if t == nil {
		return nil, invalid("1 validation error detected: Value null at 'target' failed to satisfy constraint: Member must not be null")
	}
	if t.Arn == "" {
		return nil, invalid("1 validation error detected: Value null at 'target.arn' failed to satisfy constraint: Member must not be null")
	}
	if err := checkLen(t.Arn, "target.arn", 1, 1600); err != nil {
		return nil, err
	}
	if t.RoleArn == "" {
		return nil, invalid("1 validation error detected: Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null")
	}
	if err := checkPattern(t.RoleArn, "target.roleArn", 1, 1600, roleArnRE, roleArnPattern); err != nil {
		return nil, err
	}
	if err := checkTarget(t.Arn); err != nil {
		return nil, err
	}
	if err := checkJSONInput(t.Input, "target.input", 0); err != nil {
		return nil, err
	}
	rp, err := checkRetryPolicy(t.RetryPolicy, "target.retryPolicy")
	if err != nil {
		return nil, err
	}
	dl, err := checkDeadLetter(t.DeadLetterConfig, "target.deadLetterConfig")
	if err != nil {
		return nil, err
	}
	sc.Target = ScheduleTarget{Arn: t.Arn, RoleArn: t.RoleArn, RetryPolicy: rp, DeadLetterConfig: dl}
	if t.Input != nil {
		sc.Target.Input = ptr(*t.Input)
	}
	return sc, nil
}

// scheduleAnchor is the origin of a schedule's rate(): StartDate, else
// its creation.
func scheduleAnchor(sc *Schedule) time.Time {
	if sc.StartDate != nil {
		return *sc.StartDate
	}
	return sc.CreationDate
}

func scheduleNotFound(name string) error {
	return fault.New(fault.NotFound, "Schedule %s does not exist.", name)
}

func (s *Service) getSchedule(ctx context.Context, group, name string) (*Schedule, error) {
	key := scheduleKey(group, name)
	e, err := s.api.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, scheduleNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule %s: %w", key, err)
	}
	return decodeSchedule(e)
}

func decodeSchedule(e store.Entry) (*Schedule, error) {
	var sc Schedule
	if err := json.Unmarshal(e.Value, &sc); err != nil {
		return nil, fmt.Errorf("decode schedule %s: %w", e.Key, err)
	}
	sc.Revision = e.Revision
	return &sc, nil
}

// scheduleDefinition is what the engine fires for a schedule.
func scheduleDefinition(sc *Schedule) *Definition {
	d := &Definition{
		Kind:                  KindSchedule,
		ARN:                   sc.Arn,
		Group:                 sc.GroupName,
		Name:                  sc.Name,
		Expression:            sc.ScheduleExpression,
		Timezone:              sc.ScheduleExpressionTimezone,
		Anchor:                scheduleAnchor(sc),
		Enabled:               sc.State == StateEnabled,
		DeleteAfterCompletion: sc.ActionAfterCompletion == ActionDelete,
		Target: TargetSpec{
			Arn:                      sc.Target.Arn,
			Input:                    sc.Target.Input,
			MaximumRetryAttempts:     DefaultMaximumRetryAttempts,
			MaximumEventAgeInSeconds: DefaultMaximumEventAgeInSeconds,
		},
		Revision: int64(sc.Revision),
	}
	if strings.HasPrefix(sc.ScheduleExpression, "at(") {
		// One-time schedules ignore both dates, as AWS's do.
		d.Anchor = sc.CreationDate
	} else {
		if sc.StartDate != nil {
			d.StartDate = *sc.StartDate
		}
		if sc.EndDate != nil {
			d.EndDate = *sc.EndDate
		}
	}
	if w := sc.FlexibleTimeWindow; w.Mode == ModeFlexible && w.MaximumWindowInMinutes != nil {
		d.FlexibleWindow = time.Duration(*w.MaximumWindowInMinutes) * time.Minute
	}
	applyRetry(&d.Target, sc.Target.RetryPolicy, sc.Target.DeadLetterConfig)
	return d
}

func applyRetry(t *TargetSpec, rp *RetryPolicy, dl *DeadLetterConfig) {
	if rp != nil && rp.MaximumRetryAttempts != nil {
		t.MaximumRetryAttempts = int(*rp.MaximumRetryAttempts)
	}
	if rp != nil && rp.MaximumEventAgeInSeconds != nil {
		t.MaximumEventAgeInSeconds = int(*rp.MaximumEventAgeInSeconds)
	}
	if dl != nil {
		t.DeadLetterArn = dl.Arn
	}
}

// ---- definitions

// defEntry is a stored definition with its store revision.
type defEntry struct {
	def *Definition
	rev uint64
}

// definitionPrefix is how the definitions of a record are found: a
// schedule has one under its own key, a rule one per target under its key
// and a dot.
func definitionPrefix(recordKey string) (prefix string, exact bool) {
	if strings.HasPrefix(recordKey, "rule.") {
		return recordKey + ".", false
	}
	return recordKey, true
}

// ownerOf is the record key a definition key derives from.
func ownerOf(defKey string) string {
	if strings.HasPrefix(defKey, "rule.") {
		if i := strings.LastIndexByte(defKey, '.'); i > 0 {
			return defKey[:i]
		}
	}
	return defKey
}

// existingDefinitions reads the definitions of a record.
func (s *Service) existingDefinitions(ctx context.Context, recordKey string) (map[string]defEntry, error) {
	prefix, exact := definitionPrefix(recordKey)
	var entries []store.Entry
	if exact {
		e, err := s.defs.Get(ctx, prefix)
		switch {
		case err == nil:
			entries = []store.Entry{e}
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("read definition %s: %w", prefix, err)
		}
	} else {
		var err error
		if entries, err = s.defs.List(ctx, prefix); err != nil {
			return nil, fmt.Errorf("list definitions %s: %w", prefix, err)
		}
	}
	out := make(map[string]defEntry, len(entries))
	for _, e := range entries {
		var d Definition
		if err := json.Unmarshal(e.Value, &d); err != nil {
			// A definition that cannot be read is replaced.
			s.log.Warn("unreadable schedule definition", "key", e.Key, "err", err)
			d = Definition{}
		}
		out[e.Key] = defEntry{def: &d, rev: e.Revision}
	}
	return out, nil
}

// desiredDefinitions derives the definitions of a record (none when the
// record is missing).
func (s *Service) desiredDefinitions(rec *store.Entry) (map[string]*Definition, error) {
	out := map[string]*Definition{}
	if rec == nil {
		return out, nil
	}
	var defs []*Definition
	switch {
	case strings.HasPrefix(rec.Key, "schedule."):
		sc, err := decodeSchedule(*rec)
		if err != nil {
			return nil, err
		}
		defs = []*Definition{scheduleDefinition(sc)}
	case strings.HasPrefix(rec.Key, "rule."):
		r, err := decodeRule(*rec)
		if err != nil {
			return nil, err
		}
		defs = ruleDefinitions(r)
	}
	for _, d := range defs {
		out[DefinitionKey(d)] = d
	}
	return out, nil
}

// syncDefinitions brings the definitions of one record in line with the
// record as it is now. It is safe to run concurrently with itself and with
// writers: definitions are only ever replaced by those of a newer record
// revision, and every write is a compare-and-set that restarts on conflict.
func (s *Service) syncDefinitions(ctx context.Context, recordKey string) error {
	var err error
	for range 8 {
		err = s.syncOnce(ctx, recordKey)
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrExists) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("sync definitions of %s: %w", recordKey, err)
	}
	return nil
}

func (s *Service) syncOnce(ctx context.Context, recordKey string) error {
	// The definitions first, then the record: a definition written after
	// this read belongs to a record revision at least as new as the one
	// read below, so it is never mistaken for an orphan.
	existing, err := s.existingDefinitions(ctx, recordKey)
	if err != nil {
		return err
	}
	var rec *store.Entry
	e, err := s.api.Get(ctx, recordKey)
	switch {
	case err == nil:
		rec = &e
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read %s: %w", recordKey, err)
	}
	desired, err := s.desiredDefinitions(rec)
	if err != nil {
		return err
	}
	return s.applyDefinitions(ctx, existing, desired)
}

// applyDefinitions writes desired over existing: new and changed
// definitions are stored, those no longer desired deleted.
func (s *Service) applyDefinitions(ctx context.Context, existing map[string]defEntry, desired map[string]*Definition) error {
	for key, d := range desired {
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode definition %s: %w", key, err)
		}
		cur, ok := existing[key]
		switch {
		case !ok:
			_, err = s.defs.Create(ctx, key, b)
		case cur.def.Revision > d.Revision || sameDefinition(cur.def, d):
			// Newer (written for a later record revision), or no change: a
			// rewrite would only restart the engine's sequence.
			continue
		default:
			_, err = s.defs.Update(ctx, key, b, cur.rev)
		}
		if err != nil {
			return fmt.Errorf("store definition %s: %w", key, err)
		}
	}
	for key, cur := range existing {
		if _, ok := desired[key]; ok {
			continue
		}
		if err := s.defs.Delete(ctx, key, cur.rev); err != nil {
			return fmt.Errorf("delete definition %s: %w", key, err)
		}
	}
	return nil
}

// sameDefinition compares two definitions but for their revisions.
func sameDefinition(a, b *Definition) bool {
	x, y := *a, *b
	x.Revision, y.Revision = 0, 0
	bx, err1 := json.Marshal(&x)
	by, err2 := json.Marshal(&y)
	return err1 == nil && err2 == nil && bytes.Equal(bx, by)
}

// deleteRecord deletes a schedule or rule record at revision rev: its
// definitions first, then the record (store.ErrConflict if it changed
// meanwhile, in which case its definitions are restored).
func (s *Service) deleteRecord(ctx context.Context, key string, rev uint64) error {
	existing, err := s.existingDefinitions(ctx, key)
	if err != nil {
		return err
	}
	for dk, cur := range existing {
		if cur.def.Revision > int64(rev) {
			continue // belongs to a newer revision: the delete below fails
		}
		if err := s.defs.Delete(ctx, dk, cur.rev); err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("delete definition %s: %w", dk, err)
		}
	}
	delErr := s.api.Delete(ctx, key, rev)
	if delErr != nil && !errors.Is(delErr, store.ErrConflict) {
		return fmt.Errorf("delete %s: %w", key, delErr)
	}
	// Whatever happened meanwhile (a concurrent update, a create racing a
	// deletion), leave the definitions as the record now is.
	if err := s.syncDefinitions(ctx, key); err != nil {
		return err
	}
	return delErr
}

// reconcile brings every definition in line with the records, finishing
// what a crash interrupted: group deletions, and the definition writes
// that follow record writes.
func (s *Service) reconcile(ctx context.Context) error {
	groups, err := s.api.List(ctx, "group.")
	if err != nil {
		return fmt.Errorf("reconcile: list groups: %w", err)
	}
	active := map[string]bool{}
	for _, e := range groups {
		g, err := decodeGroup(e)
		if err != nil {
			return err
		}
		if g.State == GroupStateDeleting {
			s.log.Info("finishing an interrupted schedule group deletion", "group", g.Name)
			if err := s.deleteGroup(ctx, g); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			continue
		}
		active[KeyPart(g.Name)] = true
	}

	// Definitions first, then records (see syncOnce).
	defEntries, err := s.defs.List(ctx, "")
	if err != nil {
		return fmt.Errorf("reconcile: list definitions: %w", err)
	}
	records, err := s.api.List(ctx, "")
	if err != nil {
		return fmt.Errorf("reconcile: list records: %w", err)
	}
	existing := map[string]map[string]defEntry{}
	for _, e := range defEntries {
		var d Definition
		if err := json.Unmarshal(e.Value, &d); err != nil {
			s.log.Warn("unreadable schedule definition", "key", e.Key, "err", err)
		}
		owner := ownerOf(e.Key)
		if existing[owner] == nil {
			existing[owner] = map[string]defEntry{}
		}
		existing[owner][e.Key] = defEntry{def: &d, rev: e.Revision}
	}
	desired := map[string]map[string]*Definition{}
	for _, rec := range records {
		if strings.HasPrefix(rec.Key, "group.") {
			continue
		}
		if g, ok := strings.CutPrefix(rec.Key, "schedule."); ok {
			if g, _, _ = strings.Cut(g, "."); !active[g] {
				// Created while its group was being deleted.
				s.log.Info("deleting a schedule of a deleted group", "key", rec.Key)
				if err := s.api.Delete(ctx, rec.Key, rec.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("reconcile: delete %s: %w", rec.Key, err)
				}
				continue
			}
		}
		d, err := s.desiredDefinitions(&rec)
		if err != nil {
			s.log.Error("reconcile: unreadable record", "key", rec.Key, "err", err)
			continue
		}
		desired[rec.Key] = d
	}
	fixed := 0
	for owner := range merged(existing, desired) {
		if !needsApply(existing[owner], desired[owner]) {
			continue
		}
		fixed++
		if err := s.applyDefinitions(ctx, existing[owner], desired[owner]); err != nil {
			// Raced with a live request (another node): redo this one carefully.
			if err := s.syncDefinitions(ctx, owner); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
		}
	}
	if fixed > 0 {
		s.log.Info("schedule definitions reconciled", "records", fixed)
	}
	return nil
}

func merged[A, B any](a map[string]A, b map[string]B) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func needsApply(existing map[string]defEntry, desired map[string]*Definition) bool {
	if len(existing) != len(desired) {
		return true
	}
	for k, d := range desired {
		cur, ok := existing[k]
		if !ok || (cur.def.Revision <= d.Revision && !sameDefinition(cur.def, d)) {
			return true
		}
	}
	return false
}
