package schedule

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/schedule/expr"
	"github.com/lamina-dev/lamina/internal/store"
)

// EventBridge rules and their targets. Only the default event bus exists
// (there is no event bus API yet). A rule with a ScheduleExpression gives
// the engine one Definition per target; a rule with only an EventPattern
// is stored and validated, but nothing fires it until Lamina has an event
// bus.

const (
	maxTargetsPerRequest = 10
	maxTargetInput       = 8192
	maxEventPattern      = 4096
	eventBusArnPattern   = `^arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus/[/\.\-_A-Za-z0-9]+$`
)

var eventBusArnRE = regexp.MustCompile(eventBusArnPattern)

func (s *Service) ruleArn(bus, name string) string {
	if bus != DefaultEventBus {
		return "arn:aws:events:" + s.region + ":" + s.account + ":rule/" + bus + "/" + name
	}
	return "arn:aws:events:" + s.region + ":" + s.account + ":rule/" + name
}

// eventBus resolves an EventBusName (a name or an ARN, "" = default).
func (s *Service) eventBus(nameOrArn string) (string, error) {
	if nameOrArn == "" || nameOrArn == DefaultEventBus {
		return DefaultEventBus, nil
	}
	if err := checkLen(nameOrArn, "eventBusName", 1, 1600); err != nil {
		return "", err
	}
	if strings.HasPrefix(nameOrArn, "arn:") {
		if nameOrArn == "arn:aws:events:"+s.region+":"+s.account+":event-bus/"+DefaultEventBus {
			return DefaultEventBus, nil
		}
		if !eventBusArnRE.MatchString(nameOrArn) {
			return "", constraint(nameOrArn, "eventBusName", "Member must satisfy regular expression pattern: (arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\/\\.\\-_A-Za-z0-9]+")
		}
	}
	return "", fault.New(fault.NotFound, "Event bus %s does not exist.", nameOrArn)
}

func ruleNotFound(name, bus string) error {
	return fault.New(fault.NotFound, "Rule %s does not exist on EventBus %s.", name, bus)
}

// ruleRef validates a rule name and its bus.
func (s *Service) ruleRef(bus, name string) (string, error) {
	if err := checkEventsName(name, "name"); err != nil {
		return "", err
	}
	return s.eventBus(bus)
}

// PutRule creates a rule, or replaces an existing rule's definition (its
// targets stay; tags given are added to its tags).
func (s *Service) PutRule(ctx context.Context, in PutRuleInput) (*Rule, error) {
	bus, err := s.ruleRef(in.EventBusName, in.Name)
	if err != nil {
		return nil, err
	}
	state := in.State
	if state == "" {
		state = StateEnabled
	}
	switch state {
	case StateEnabled, StateDisabled, RuleStateEnabledWithCloudTrail:
	default:
		return nil, constraint(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]")
	}
	if in.ScheduleExpression == "" && in.EventPattern == "" {
		return nil, invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if err := checkLen(in.Description, "description", 0, 512); err != nil {
		return nil, err
	}
	if in.RoleArn != "" {
		if err := checkLen(in.RoleArn, "roleArn", 1, 1600); err != nil {
			return nil, err
		}
	}
	if in.ScheduleExpression != "" {
		if err := checkLen(in.ScheduleExpression, "scheduleExpression", 0, 256); err != nil {
			return nil, err
		}
		// Rules are UTC and have no at(); seconds are a Lamina extension.
		if _, err := expr.Parse(in.ScheduleExpression, expr.ParseOptions{AllowSeconds: true}); err != nil {
			msg := err.Error()
			var fe *fault.Error
			if errors.As(err, &fe) {
				msg = fe.Message
			}
			return nil, invalid("Parameter ScheduleExpression is not valid. (%s)", msg)
		}
	}
	if in.EventPattern != "" {
		if err := checkEventPattern(in.EventPattern); err != nil {
			return nil, err
		}
	}
	tags, err := checkTags(nil, in.Tags, 0)
	if err != nil {
		return nil, err
	}
	key := ruleKey(bus, in.Name)
	for range 8 {
		r := &Rule{
			Name: in.Name, Arn: s.ruleArn(bus, in.Name), EventBusName: bus,
			ScheduleExpression: in.ScheduleExpression, EventPattern: in.EventPattern,
			State: state, Description: in.Description, RoleArn: in.RoleArn,
			Tags: tags, CreationDate: s.now(),
		}
		prev, err := s.getRule(ctx, bus, in.Name)
		switch {
		case err == nil:
			r.Targets, r.CreationDate = prev.Targets, prev.CreationDate
			if r.Tags, err = checkTags(prev.Tags, in.Tags, 0); err != nil {
				return nil, err
			}
			err = s.writeRule(ctx, r, prev.Revision)
		case fault.Is(err, fault.NotFound):
			keys, kerr := s.api.Keys(ctx, "rule."+KeyPart(bus)+".")
			if kerr != nil {
				return nil, fmt.Errorf("count rules: %w", kerr)
			}
			if len(keys) >= s.limits.MaxRules {
				return nil, &fault.Error{Kind: fault.Conflict, Reason: ReasonLimitExceeded,
					Message: fmt.Sprintf("The requested resource exceeds the maximum number allowed: event bus %s already has %d rules.", bus, len(keys))}
			}
			err = s.writeRule(ctx, r, 0)
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return r, s.syncDefinitions(ctx, key)
	}
	return nil, concurrentRuleChange(in.Name)
}

func concurrentRuleChange(name string) error {
	return fault.New(fault.Conflict, "Rule %s was changed by other requests at the same time; retry.", name)
}

// writeRule stores r: created when rev is 0, else replacing revision rev.
// Store conflicts are returned as they are, for the callers to retry.
func (s *Service) writeRule(ctx context.Context, r *Rule, rev uint64) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode rule: %w", err)
	}
	key := ruleKey(r.EventBusName, r.Name)
	if rev == 0 {
		rev, err = s.api.Create(ctx, key, b)
	} else {
		rev, err = s.api.Update(ctx, key, b, rev)
	}
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrNotFound) {
		return store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("store rule %s: %w", key, err)
	}
	r.Revision = rev
	return nil
}

// editRule applies edit to the current rule and stores it, retrying on
// concurrent changes, then syncs its definitions.
func (s *Service) editRule(ctx context.Context, bus, name string, edit func(*Rule) error) (*Rule, error) {
	for range 8 {
		r, err := s.getRule(ctx, bus, name)
		if err != nil {
			return nil, err
		}
		if err := edit(r); err != nil {
			return nil, err
		}
		err = s.writeRule(ctx, r, r.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return r, s.syncDefinitions(ctx, ruleKey(bus, name))
	}
	return nil, concurrentRuleChange(name)
}

// DescribeRule returns a rule.
func (s *Service) DescribeRule(ctx context.Context, bus, name string) (*Rule, error) {
	bus, err := s.ruleRef(bus, name)
	if err != nil {
		return nil, err
	}
	return s.getRule(ctx, bus, name)
}

// ListRules lists rules sorted by name, a page at a time.
func (s *Service) ListRules(ctx context.Context, bus, namePrefix string, limit int, nextToken string) ([]Rule, string, error) {
	rules, after, limit, err := s.listRules(ctx, bus, limit, nextToken)
	if err != nil {
		return nil, "", err
	}
	if namePrefix != "" {
		if err := checkEventsName(namePrefix, "namePrefix"); err != nil {
			return nil, "", err
		}
		rules = slices.DeleteFunc(rules, func(r Rule) bool { return !strings.HasPrefix(r.Name, namePrefix) })
	}
	return page(rules, after, limit, func(r *Rule) string { return r.Name })
}

// ListRuleNamesByTarget lists the names of the rules with a target of ARN
// targetArn.
func (s *Service) ListRuleNamesByTarget(ctx context.Context, bus, targetArn string, limit int, nextToken string) ([]string, string, error) {
	if err := checkLen(targetArn, "targetArn", 1, 1600); err != nil {
		return nil, "", err
	}
	rules, after, limit, err := s.listRules(ctx, bus, limit, nextToken)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, r := range rules {
		if slices.ContainsFunc(r.Targets, func(t RuleTarget) bool { return t.Arn == targetArn }) {
			names = append(names, r.Name)
		}
	}
	return page(names, after, limit, func(n *string) string { return *n })
}

func (s *Service) listRules(ctx context.Context, bus string, limit int, nextToken string) ([]Rule, string, int, error) {
	bus, err := s.eventBus(bus)
	if err != nil {
		return nil, "", 0, err
	}
	if limit, err = pageLimit(limit, "limit"); err != nil {
		return nil, "", 0, err
	}
	after, err := parseToken(nextToken)
	if err != nil {
		return nil, "", 0, err
	}
	entries, err := s.api.List(ctx, "rule."+KeyPart(bus)+".")
	if err != nil {
		return nil, "", 0, fmt.Errorf("list rules: %w", err)
	}
	rules := make([]Rule, 0, len(entries))
	for _, e := range entries {
		r, err := decodeRule(e)
		if err != nil {
			return nil, "", 0, err
		}
		rules = append(rules, *r)
	}
	slices.SortFunc(rules, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	return rules, after, limit, nil
}

// DeleteRule deletes a rule. As on AWS, a rule with targets is kept
// unless force is set, and deleting a missing rule succeeds.
func (s *Service) DeleteRule(ctx context.Context, bus, name string, force bool) error {
	bus, err := s.ruleRef(bus, name)
	if err != nil {
		return err
	}
	for range 8 {
		r, err := s.getRule(ctx, bus, name)
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(r.Targets) > 0 && !force {
			return invalid("Rule can't be deleted since it has targets.")
		}
		err = s.deleteRecord(ctx, ruleKey(bus, name), r.Revision)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return concurrentRuleChange(name)
}

// EnableRule and DisableRule set a rule's state.
func (s *Service) EnableRule(ctx context.Context, bus, name string) error {
	return s.setRuleState(ctx, bus, name, StateEnabled)
}

func (s *Service) DisableRule(ctx context.Context, bus, name string) error {
	return s.setRuleState(ctx, bus, name, StateDisabled)
}

func (s *Service) setRuleState(ctx context.Context, bus, name, state string) error {
	bus, err := s.ruleRef(bus, name)
	if err != nil {
		return err
	}
	_, err = s.editRule(ctx, bus, name, func(r *Rule) error {
		r.State = state
		return nil
	})
	return err
}

// PutTargets adds targets to a rule, or replaces those with the same Id.
// A target Lamina cannot fire is reported in the failed entries; the rest
// are stored.
func (s *Service) PutTargets(ctx context.Context, bus, rule string, targets []RuleTarget) ([]FailedEntry, error) {
	bus, err := s.ruleRef(bus, rule)
	if err != nil {
		return nil, err
	}
	if len(targets) < 1 || len(targets) > maxTargetsPerRequest {
		return nil, constraint(fmt.Sprintf("%d targets", len(targets)), "targets",
			fmt.Sprintf("Member must have length between 1 and %d", maxTargetsPerRequest))
	}
	var ok []RuleTarget
	var failed []FailedEntry
	seen := map[string]bool{}
	for i, t := range targets {
		member := fmt.Sprintf("targets.%d.member", i+1)
		clean, err := checkRuleTarget(t, member)
		if err != nil {
			return nil, err
		}
		if seen[t.ID] {
			return nil, invalid("The target Id %s appears more than once in the request.", t.ID)
		}
		seen[t.ID] = true
		if msg := unsupportedRuleTarget(clean); msg != "" {
			failed = append(failed, FailedEntry{TargetID: t.ID, ErrorCode: "ValidationException", ErrorMessage: msg})
			continue
		}
		ok = append(ok, clean)
	}
	if len(ok) == 0 {
		// Nothing to store, but the rule must still exist.
		_, err := s.getRule(ctx, bus, rule)
		return failed, err
	}
	_, err = s.editRule(ctx, bus, rule, func(r *Rule) error {
		for _, t := range ok {
			if i := slices.IndexFunc(r.Targets, func(x RuleTarget) bool { return x.ID == t.ID }); i >= 0 {
				r.Targets[i] = t
			} else {
				r.Targets = append(r.Targets, t)
			}
		}
		if len(r.Targets) > s.limits.MaxTargetsPerRule {
			return &fault.Error{Kind: fault.Conflict, Reason: ReasonLimitExceeded,
				Message: fmt.Sprintf("The requested resource exceeds the maximum number allowed: a rule can have at most %d targets.", s.limits.MaxTargetsPerRule)}
		}
		slices.SortFunc(r.Targets, func(a, b RuleTarget) int { return strings.Compare(a.ID, b.ID) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return failed, nil
}

// checkRuleTarget validates a target's members and fills in its retry
// policy's defaults.
func checkRuleTarget(t RuleTarget, member string) (RuleTarget, error) {
	if err := checkEventsName(t.ID, member+".id"); err != nil {
		return t, err
	}
	if err := checkLen(t.Arn, member+".arn", 1, 1600); err != nil {
		return t, err
	}
	if t.RoleArn != "" {
		if err := checkLen(t.RoleArn, member+".roleArn", 1, 1600); err != nil {
			return t, err
		}
	}
	if t.Input != nil && t.InputPath != nil {
		return t, invalid("Target %s: only one of Input, InputPath and InputTransformer can be specified.", t.ID)
	}
	if err := checkJSONInput(t.Input, member+".input", maxTargetInput); err != nil {
		return t, err
	}
	if t.InputPath != nil {
		if err := checkLen(*t.InputPath, member+".inputPath", 0, 256); err != nil {
			return t, err
		}
	}
	out := RuleTarget{ID: t.ID, Arn: t.Arn, RoleArn: t.RoleArn}
	if t.Input != nil {
		out.Input = ptr(*t.Input)
	}
	if t.InputPath != nil {
		out.InputPath = ptr(*t.InputPath)
	}
	var err error
	if out.RetryPolicy, err = checkRetryPolicy(t.RetryPolicy, member+".retryPolicy"); err != nil {
		return t, err
	}
	if out.DeadLetterConfig, err = checkDeadLetter(t.DeadLetterConfig, member+".deadLetterConfig"); err != nil {
		return t, err
	}
	return out, nil
}

// unsupportedRuleTarget says why Lamina cannot fire a valid target ("" if
// it can).
func unsupportedRuleTarget(t RuleTarget) string {
	if err := checkTarget(t.Arn); err != nil {
		return err.Error()
	}
	if t.InputPath != nil && *t.InputPath != "$" && *t.InputPath != "" {
		// The engine sends the whole Scheduled Event or a constant Input.
		return fmt.Sprintf("InputPath %s is not supported by Lamina yet: use Input, or no input to receive the whole event.", *t.InputPath)
	}
	return ""
}

// RemoveTargets removes targets from a rule; Ids it does not have are
// ignored.
func (s *Service) RemoveTargets(ctx context.Context, bus, rule string, ids []string) ([]FailedEntry, error) {
	bus, err := s.ruleRef(bus, rule)
	if err != nil {
		return nil, err
	}
	if len(ids) < 1 || len(ids) > 100 {
		return nil, constraint(fmt.Sprintf("%d ids", len(ids)), "ids", "Member must have length between 1 and 100")
	}
	for i, id := range ids {
		if err := checkEventsName(id, fmt.Sprintf("ids.%d.member", i+1)); err != nil {
			return nil, err
		}
	}
	_, err = s.editRule(ctx, bus, rule, func(r *Rule) error {
		r.Targets = slices.DeleteFunc(r.Targets, func(t RuleTarget) bool { return slices.Contains(ids, t.ID) })
		return nil
	})
	return nil, err
}

// ListTargetsByRule lists a rule's targets sorted by Id, a page at a time.
func (s *Service) ListTargetsByRule(ctx context.Context, bus, rule string, limit int, nextToken string) ([]RuleTarget, string, error) {
	bus, err := s.ruleRef(bus, rule)
	if err != nil {
		return nil, "", err
	}
	if limit, err = pageLimit(limit, "limit"); err != nil {
		return nil, "", err
	}
	after, err := parseToken(nextToken)
	if err != nil {
		return nil, "", err
	}
	r, err := s.getRule(ctx, bus, rule)
	if err != nil {
		return nil, "", err
	}
	return page(r.Targets, after, limit, func(t *RuleTarget) string { return t.ID })
}

// ---- rule tags

// ruleOfArn resolves a rule ARN of this region and account.
func (s *Service) ruleOfArn(arn string) (bus, name string, err error) {
	if err := checkLen(arn, "resourceARN", 1, 1600); err != nil {
		return "", "", err
	}
	prefix := "arn:aws:events:" + s.region + ":" + s.account + ":rule/"
	rest, ok := strings.CutPrefix(arn, prefix)
	if !ok || rest == "" {
		return "", "", fault.New(fault.NotFound, "Resource %s does not exist.", arn)
	}
	bus, name = DefaultEventBus, rest
	if b, n, ok := strings.Cut(rest, "/"); ok {
		bus, name = b, n
	}
	if bus, err = s.ruleRef(bus, name); err != nil {
		return "", "", err
	}
	return bus, name, nil
}

// ListRuleTags returns the tags of the rule with ARN arn, sorted by key.
func (s *Service) ListRuleTags(ctx context.Context, arn string) ([]Tag, error) {
	bus, name, err := s.ruleOfArn(arn)
	if err != nil {
		return nil, err
	}
	r, err := s.getRule(ctx, bus, name)
	if err != nil {
		return nil, err
	}
	return sortedTags(r.Tags), nil
}

// TagRule adds or replaces tags of a rule.
func (s *Service) TagRule(ctx context.Context, arn string, tags []Tag) error {
	bus, name, err := s.ruleOfArn(arn)
	if err != nil {
		return err
	}
	_, err = s.editRule(ctx, bus, name, func(r *Rule) error {
		r.Tags, err = checkTags(r.Tags, tags, 0)
		return err
	})
	return err
}

// UntagRule removes tags of a rule (missing keys are ignored).
func (s *Service) UntagRule(ctx context.Context, arn string, keys []string) error {
	bus, name, err := s.ruleOfArn(arn)
	if err != nil {
		return err
	}
	_, err = s.editRule(ctx, bus, name, func(r *Rule) error {
		for _, k := range keys {
			delete(r.Tags, k)
		}
		return nil
	})
	return err
}

// ---- records and definitions

func (s *Service) getRule(ctx context.Context, bus, name string) (*Rule, error) {
	key := ruleKey(bus, name)
	e, err := s.api.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ruleNotFound(name, bus)
	}
	if err != nil {
		return nil, fmt.Errorf("read rule %s: %w", key, err)
	}
	return decodeRule(e)
}

func decodeRule(e store.Entry) (*Rule, error) {
	var r Rule
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return nil, fmt.Errorf("decode rule %s: %w", e.Key, err)
	}
	r.Revision = e.Revision
	return &r, nil
}

// ruleDefinitions are what the engine fires for a rule: one definition per
// target of a scheduled rule.
func ruleDefinitions(r *Rule) []*Definition {
	if r.ScheduleExpression == "" {
		return nil
	}
	out := make([]*Definition, 0, len(r.Targets))
	for _, t := range r.Targets {
		d := &Definition{
			Kind:       KindRule,
			ARN:        r.Arn,
			Group:      r.EventBusName,
			Name:       r.Name,
			TargetID:   t.ID,
			Expression: r.ScheduleExpression,
			Anchor:     r.CreationDate,
			Enabled:    r.State != StateDisabled,
			Target: TargetSpec{
				Arn:                      t.Arn,
				Input:                    t.Input,
				MaximumRetryAttempts:     DefaultMaximumRetryAttempts,
				MaximumEventAgeInSeconds: DefaultMaximumEventAgeInSeconds,
			},
			Revision: int64(r.Revision),
		}
		applyRetry(&d.Target, t.RetryPolicy, t.DeadLetterConfig)
		out = append(out, d)
	}
	return out
}

// checkEventPattern checks that an event pattern is a JSON object whose
// leaves are arrays of match values, as EventBridge requires.
func checkEventPattern(p string) error {
	bad := func(reason string) error {
		return &fault.Error{Kind: fault.Invalid, Reason: ReasonInvalidEventPattern,
			Message: "Event pattern is not valid. Reason: " + reason}
	}
	if len(p) > maxEventPattern {
		return bad(fmt.Sprintf("the pattern is longer than %d characters", maxEventPattern))
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(p)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return bad("it is not valid JSON")
	}
	if dec.More() {
		return bad("unexpected data after the JSON object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return bad("Filter is not an object")
	}
	var walk func(path string, o map[string]any) error
	walk = func(path string, o map[string]any) error {
		if len(o) == 0 {
			return bad("Empty objects are not allowed (at " + cmpPath(path) + ")")
		}
		for k, v := range o {
			p := path + "." + k
			switch v := v.(type) {
			case map[string]any:
				if err := walk(p, v); err != nil {
					return err
				}
			case []any:
				if len(v) == 0 {
					return bad("Empty arrays are not allowed (at " + cmpPath(p) + ")")
				}
				for _, e := range v {
					if _, nested := e.([]any); nested {
						return bad("Match value must be String, number, true, false, null or an object (at " + cmpPath(p) + ")")
					}
				}
			default:
				return bad("\"" + k + "\" must be an object or an array (at " + cmpPath(p) + ")")
			}
		}
		return nil
	}
	return walk("", obj)
}

func cmpPath(p string) string {
	if p == "" {
		return "the top level"
	}
	return strings.TrimPrefix(p, ".")
}
