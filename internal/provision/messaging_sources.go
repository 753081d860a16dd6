package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	stypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// ---- event source mappings

type esmHandler struct{ p *Provisioner }

// esmDefinition resolves the mapping's function, source and settings.
func esmDefinition(req *deploy.Request) (fn, source string, spec *manifest.EventSourceMappingSpec, filters *ltypes.FilterCriteria, err error) {
	es, ok := req.Resource.Spec.(*manifest.EventSourceMappingSpec)
	if !ok {
		return "", "", nil, nil, errors.New("no event source mapping definition")
	}
	if fn, err = str(es.Function, req.Resolver); err != nil {
		return "", "", nil, nil, fmt.Errorf("FunctionName: %w", err)
	}
	if source, err = str(es.EventSourceArn, req.Resolver); err != nil {
		return "", "", nil, nil, fmt.Errorf("EventSourceArn: %w", err)
	}
	if es.FilterCriteria != nil {
		x, err := plain(es.FilterCriteria, req.Resolver)
		if err != nil {
			return "", "", nil, nil, fmt.Errorf("FilterCriteria: %w", err)
		}
		m, _ := x.(map[string]any)
		items, _ := m["Filters"].([]any)
		filters = &ltypes.FilterCriteria{Filters: []ltypes.Filter{}}
		for _, it := range items {
			f, _ := it.(map[string]any)
			pattern, err := jsonText(manifestValue(f["Pattern"]), req.Resolver)
			if err != nil {
				return "", "", nil, nil, fmt.Errorf("FilterCriteria: %w", err)
			}
			filters.Filters = append(filters.Filters, ltypes.Filter{Pattern: aws.String(pattern)})
		}
	}
	return fn, source, es, filters, nil
}

// manifestValue wraps a plain value (a pattern string or map) back into a
// Value for jsonText.
func manifestValue(x any) *manifest.Value {
	if s, ok := x.(string); ok {
		return manifest.Str(s)
	}
	v := manifest.NewMap(manifest.Pos{})
	if m, ok := x.(map[string]any); ok {
		for k, it := range m {
			v.Set(k, plainValue(it))
		}
	}
	return v
}

func plainValue(x any) *manifest.Value {
	switch t := x.(type) {
	case map[string]any:
		return manifestValue(t)
	case []any:
		items := make([]*manifest.Value, 0, len(t))
		for _, it := range t {
			items = append(items, plainValue(it))
		}
		return manifest.NewList(items...)
	case bool:
		return &manifest.Value{Kind: manifest.Bool, Text: fmt.Sprint(t)}
	case float64, int, int64:
		return &manifest.Value{Kind: manifest.Number, Text: fmt.Sprint(t)}
	case nil:
		return &manifest.Value{Kind: manifest.Null}
	}
	return manifest.Str(fmt.Sprint(x))
}

func responseTypes(in []string) []ltypes.FunctionResponseType {
	out := make([]ltypes.FunctionResponseType, 0, len(in))
	for _, s := range in {
		out = append(out, ltypes.FunctionResponseType(s))
	}
	return out
}

func (h esmHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	fn, source, es, filters, err := esmDefinition(req)
	if err != nil {
		return nil, err
	}
	in := &lambda.CreateEventSourceMappingInput{
		FunctionName:          aws.String(fn),
		EventSourceArn:        aws.String(source),
		Enabled:               aws.Bool(es.Enabled),
		FunctionResponseTypes: responseTypes(es.FunctionResponseTypes),
		FilterCriteria:        filters,
	}
	if es.BatchSize > 0 {
		in.BatchSize = aws.Int32(int32(es.BatchSize))
	}
	if es.MaximumBatchingWindowInSeconds != nil {
		in.MaximumBatchingWindowInSeconds = aws.Int32(int32(*es.MaximumBatchingWindowInSeconds))
	}
	if es.MaximumConcurrency != nil {
		in.ScalingConfig = &ltypes.ScalingConfig{MaximumConcurrency: aws.Int32(int32(*es.MaximumConcurrency))}
	}
	if es.StartingPosition != "" {
		in.StartingPosition = ltypes.EventSourcePosition(es.StartingPosition)
	}
	out, err := h.p.lambda.CreateEventSourceMapping(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("map %s to %s: %w", source, fn, err)
	}
	id := aws.ToString(out.UUID)
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"Id": id, "EventSourceMappingArn": aws.ToString(out.EventSourceMappingArn)},
		Data: map[string]string{"function": fn, "source": source}}, nil
}

func (h esmHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	fn, source, es, filters, err := esmDefinition(req)
	if err != nil {
		return nil, err
	}
	if req.Previous.Data["source"] != source {
		// A mapping's source cannot change: replace it.
		if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	if filters == nil {
		filters = &ltypes.FilterCriteria{Filters: []ltypes.Filter{}}
	}
	in := &lambda.UpdateEventSourceMappingInput{
		UUID:                  aws.String(req.Previous.PhysicalID),
		FunctionName:          aws.String(fn),
		Enabled:               aws.Bool(es.Enabled),
		FunctionResponseTypes: responseTypes(es.FunctionResponseTypes),
		FilterCriteria:        filters,
	}
	if es.BatchSize > 0 {
		in.BatchSize = aws.Int32(int32(es.BatchSize))
	}
	window := 0
	if es.MaximumBatchingWindowInSeconds != nil {
		window = *es.MaximumBatchingWindowInSeconds
	}
	in.MaximumBatchingWindowInSeconds = aws.Int32(int32(window))
	if es.MaximumConcurrency != nil {
		in.ScalingConfig = &ltypes.ScalingConfig{MaximumConcurrency: aws.Int32(int32(*es.MaximumConcurrency))}
	}
	out, err := h.p.lambda.UpdateEventSourceMapping(ctx, in)
	if notFound(err) {
		return h.create(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("update the mapping of %s to %s: %w", source, fn, err)
	}
	id := aws.ToString(out.UUID)
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"Id": id, "EventSourceMappingArn": aws.ToString(out.EventSourceMappingArn)},
		Data: map[string]string{"function": fn, "source": source}}, nil
}

func (h esmHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.lambda.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete event source mapping %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// ---- schedules (EventBridge Scheduler)

type scheduleHandler struct{ p *Provisioner }

type scheduleDef struct {
	name, group string
	expr        string
	tz          *string // nil: UTC
	state       stypes.ScheduleState
	target      *stypes.Target
	window      *stypes.FlexibleTimeWindow
	description *string
}

func (h scheduleHandler) definition(req *deploy.Request) (*scheduleDef, error) {
	ss, ok := req.Resource.Spec.(*manifest.ScheduleSpec)
	if !ok {
		return nil, errors.New("no schedule definition")
	}
	r := req.Resolver
	d := &scheduleDef{expr: ss.ScheduleExpression, state: stypes.ScheduleStateEnabled}
	if ss.ScheduleExpressionTimezone != "" {
		d.tz = aws.String(ss.ScheduleExpressionTimezone)
	}
	var err error
	if d.name, err = str(ss.Name, r); err != nil {
		return nil, fmt.Errorf("Name: %w", err)
	}
	if d.name == "" {
		d.name = physicalName(req.Stack, req.Resource.LogicalID, 64, "")
	}
	if d.group, err = str(ss.GroupName, r); err != nil {
		return nil, fmt.Errorf("GroupName: %w", err)
	}
	if d.group == "" {
		d.group = "default"
	}
	if ss.State == "DISABLED" {
		d.state = stypes.ScheduleStateDisabled
	}
	arn, err := str(ss.TargetArn, r)
	if err != nil {
		return nil, fmt.Errorf("Target.Arn: %w", err)
	}
	role := fmt.Sprintf("arn:aws:iam::%s:role/lamina-scheduler", h.p.cfg.AccountID)
	if t := prop(req, "Target"); t != nil && t.Get("RoleArn") != nil {
		if role, err = str(t.Get("RoleArn"), r); err != nil {
			return nil, fmt.Errorf("Target.RoleArn: %w", err)
		}
	}
	d.target = &stypes.Target{Arn: aws.String(arn), RoleArn: aws.String(role)}
	if ss.Input != nil {
		in, err := jsonText(ss.Input, r)
		if err != nil {
			return nil, fmt.Errorf("Target.Input: %w", err)
		}
		d.target.Input = aws.String(in)
	}
	if ss.RetryPolicy != nil {
		age, attempts, err := retryPolicy(ss.RetryPolicy, r)
		if err != nil {
			return nil, err
		}
		d.target.RetryPolicy = &stypes.RetryPolicy{MaximumEventAgeInSeconds: age, MaximumRetryAttempts: attempts}
	}
	if ss.DeadLetterArn != nil {
		dl, err := str(ss.DeadLetterArn, r)
		if err != nil {
			return nil, fmt.Errorf("DeadLetterConfig: %w", err)
		}
		d.target.DeadLetterConfig = &stypes.DeadLetterConfig{Arn: aws.String(dl)}
	}
	d.window = &stypes.FlexibleTimeWindow{Mode: stypes.FlexibleTimeWindowModeOff}
	if ss.FlexibleTimeWindow != nil {
		x, err := plain(ss.FlexibleTimeWindow, r)
		if err != nil {
			return nil, fmt.Errorf("FlexibleTimeWindow: %w", err)
		}
		m, _ := x.(map[string]any)
		if mode, _ := m["Mode"].(string); mode != "" {
			d.window.Mode = stypes.FlexibleTimeWindowMode(mode)
		}
		if n, ok := toInt(m["MaximumWindowInMinutes"]); ok {
			d.window.MaximumWindowInMinutes = aws.Int32(int32(n))
		}
	}
	if d.description, err = optStr(prop(req, "Description"), r); err != nil {
		return nil, err
	}
	return d, nil
}

func (h scheduleHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	in := &scheduler.CreateScheduleInput{Name: aws.String(d.name), GroupName: aws.String(d.group), ScheduleExpression: aws.String(d.expr),
		State: d.state, Target: d.target, FlexibleTimeWindow: d.window, ScheduleExpressionTimezone: d.tz, Description: d.description}
	out, err := h.p.scheduler.CreateSchedule(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create schedule %s: %w", d.name, err)
	}
	arn := aws.ToString(out.ScheduleArn)
	return &deploy.Outcome{PhysicalID: d.name, Attrs: map[string]string{"Arn": arn}, Data: map[string]string{"group": d.group}}, nil
}

func (h scheduleHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	if req.Previous.PhysicalID != d.name || req.Previous.Data["group"] != d.group {
		if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	in := &scheduler.UpdateScheduleInput{Name: aws.String(d.name), GroupName: aws.String(d.group), ScheduleExpression: aws.String(d.expr),
		State: d.state, Target: d.target, FlexibleTimeWindow: d.window, ScheduleExpressionTimezone: d.tz, Description: d.description}
	out, err := h.p.scheduler.UpdateSchedule(ctx, in)
	if notFound(err) {
		return h.create(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("update schedule %s: %w", d.name, err)
	}
	return &deploy.Outcome{PhysicalID: d.name, Attrs: map[string]string{"Arn": aws.ToString(out.ScheduleArn)}, Data: map[string]string{"group": d.group}}, nil
}

func (h scheduleHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	group := req.State.Data["group"]
	if group == "" {
		group = "default"
	}
	_, err := h.p.scheduler.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(req.State.PhysicalID), GroupName: aws.String(group)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete schedule %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// ---- EventBridge rules

type ruleHandler struct{ p *Provisioner }

func (h ruleHandler) put(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	rs, ok := req.Resource.Spec.(*manifest.RuleSpec)
	if !ok {
		return nil, errors.New("no rule definition")
	}
	r := req.Resolver
	name, err := str(rs.Name, r)
	if err != nil {
		return nil, fmt.Errorf("Name: %w", err)
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 64, "")
	}
	if req.Previous != nil && req.Previous.PhysicalID != "" && req.Previous.PhysicalID != name {
		if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
			return nil, err
		}
	}
	bus, err := str(rs.EventBusName, r)
	if err != nil {
		return nil, fmt.Errorf("EventBusName: %w", err)
	}
	in := &eventbridge.PutRuleInput{Name: aws.String(name), State: ebtypes.RuleStateEnabled}
	if rs.State == "DISABLED" {
		in.State = ebtypes.RuleStateDisabled
	}
	if bus != "" {
		in.EventBusName = aws.String(bus)
	}
	if rs.ScheduleExpression != "" {
		in.ScheduleExpression = aws.String(rs.ScheduleExpression)
	}
	if rs.EventPattern != nil {
		pattern, err := jsonText(rs.EventPattern, r)
		if err != nil {
			return nil, fmt.Errorf("EventPattern: %w", err)
		}
		in.EventPattern = aws.String(pattern)
	}
	out, err := h.p.events.PutRule(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("put rule %s: %w", name, err)
	}
	var targets []ebtypes.Target
	ids := map[string]bool{}
	for _, t := range rs.Targets {
		arn, err := str(t.Arn, r)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.ID, err)
		}
		et := ebtypes.Target{Id: aws.String(t.ID), Arn: aws.String(arn)}
		if t.Input != nil {
			s, err := jsonText(t.Input, r)
			if err != nil {
				return nil, fmt.Errorf("target %s Input: %w", t.ID, err)
			}
			et.Input = aws.String(s)
		}
		if t.InputPath != nil {
			s, err := str(t.InputPath, r)
			if err != nil {
				return nil, fmt.Errorf("target %s InputPath: %w", t.ID, err)
			}
			et.InputPath = aws.String(s)
		}
		if t.DeadLetterArn != nil {
			s, err := str(t.DeadLetterArn, r)
			if err != nil {
				return nil, fmt.Errorf("target %s DeadLetterConfig: %w", t.ID, err)
			}
			et.DeadLetterConfig = &ebtypes.DeadLetterConfig{Arn: aws.String(s)}
		}
		if t.RetryPolicy != nil {
			age, attempts, err := retryPolicy(t.RetryPolicy, r)
			if err != nil {
				return nil, fmt.Errorf("target %s: %w", t.ID, err)
			}
			et.RetryPolicy = &ebtypes.RetryPolicy{MaximumEventAgeInSeconds: age, MaximumRetryAttempts: attempts}
		}
		targets = append(targets, et)
		ids[t.ID] = true
	}
	// Targets the template no longer has go first.
	cur, err := h.p.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: in.EventBusName})
	if err != nil {
		return nil, fmt.Errorf("targets of rule %s: %w", name, err)
	}
	var gone []string
	for _, t := range cur.Targets {
		if !ids[aws.ToString(t.Id)] {
			gone = append(gone, aws.ToString(t.Id))
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		if _, err := h.p.events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), EventBusName: in.EventBusName, Ids: gone}); err != nil {
			return nil, fmt.Errorf("remove targets of rule %s: %w", name, err)
		}
	}
	if len(targets) > 0 {
		res, err := h.p.events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: in.EventBusName, Targets: targets})
		if err != nil {
			return nil, fmt.Errorf("put targets of rule %s: %w", name, err)
		}
		if res.FailedEntryCount > 0 && len(res.FailedEntries) > 0 {
			f := res.FailedEntries[0]
			return nil, fmt.Errorf("put target %s of rule %s: %s", aws.ToString(f.TargetId), name, aws.ToString(f.ErrorMessage))
		}
	}
	return &deploy.Outcome{PhysicalID: name, Attrs: map[string]string{"Arn": aws.ToString(out.RuleArn)}, Data: map[string]string{"bus": bus}}, nil
}

func (h ruleHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req)
}

func (h ruleHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req)
}

func (h ruleHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	name := req.State.PhysicalID
	if name == "" {
		return nil
	}
	var bus *string
	if b := req.State.Data["bus"]; b != "" {
		bus = aws.String(b)
	}
	cur, err := h.p.events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: bus})
	if notFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("targets of rule %s: %w", name, err)
	}
	if len(cur.Targets) > 0 {
		ids := make([]string, 0, len(cur.Targets))
		for _, t := range cur.Targets {
			ids = append(ids, aws.ToString(t.Id))
		}
		if _, err := h.p.events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), EventBusName: bus, Ids: ids}); err != nil {
			return fmt.Errorf("remove targets of rule %s: %w", name, err)
		}
	}
	_, err = h.p.events.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(name), EventBusName: bus})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete rule %s: %w", name, err)
	}
	return nil
}

// retryPolicy reads {MaximumEventAgeInSeconds, MaximumRetryAttempts}, the
// shape Scheduler targets and EventBridge targets share.
func retryPolicy(v *manifest.Value, r manifest.Resolver) (age, attempts *int32, err error) {
	x, err := plain(v, r)
	if err != nil {
		return nil, nil, fmt.Errorf("RetryPolicy: %w", err)
	}
	m := asMap(x)
	if n, ok := toInt(m["MaximumEventAgeInSeconds"]); ok {
		age = aws.Int32(int32(n))
	}
	if n, ok := toInt(m["MaximumRetryAttempts"]); ok {
		attempts = aws.Int32(int32(n))
	}
	return age, attempts, nil
}
