package manifest

import (
	"strings"
)

// eventProperties lists, per supported event type, the properties SAM accepts.
var eventProperties = map[string]map[string]bool{
	"Api": toSet("Path", "Method", "RestApiId", "Stage", "Auth", "RequestModel", "RequestParameters",
		"TimeoutInMillis", "ResponseTransferMode"),
	"HttpApi": toSet("Path", "Method", "ApiId", "Stage", "Auth", "TimeoutInMillis", "PayloadFormatVersion",
		"RouteSettings"),
	"Schedule": toSet("Schedule", "Input", "Enabled", "State", "Name", "Description", "DeadLetterConfig",
		"RetryPolicy", "Target"),
	"ScheduleV2": toSet("ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "Name",
		"GroupName", "State", "Description", "StartDate", "EndDate", "KmsKeyArn", "Input", "RoleArn",
		"DeadLetterConfig", "RetryPolicy", "PermissionsBoundary", "OmitName"),
	"SQS": toSet("Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "Enabled", "FilterCriteria",
		"FunctionResponseTypes", "ScalingConfig", "KmsKeyArn", "MetricsConfig"),
	"SNS": toSet("Topic", "Region", "FilterPolicy", "FilterPolicyScope", "SqsSubscription", "RedrivePolicy"),
	"EventBridgeRule": toSet("Pattern", "EventBusName", "Input", "InputPath", "InputTransformer",
		"DeadLetterConfig", "RetryPolicy", "Target", "RuleName", "State", "Enabled"),
}

// otherEventTypes are SAM event types Lamina does not deploy yet.
var otherEventTypes = toSet("S3", "Kinesis", "DynamoDB", "CloudWatchLogs", "IoTRule", "AlexaSkill", "Cognito",
	"MSK", "MQ", "SelfManagedKafka", "DocumentDB")

func init() {
	eventProperties["CloudWatchEvent"] = eventProperties["EventBridgeRule"]
}

// event is one entry of a function's Events.
type event struct {
	fn    *fn
	name  string
	id    string // <Fn><Ev>
	typ   string
	props *Value
	pos   Pos
}

func (x *expander) events(r *RawResource, p *Value, f *fn) error {
	evs := p.Get("Events")
	if evs.IsNull() {
		return nil
	}
	id := r.LogicalID
	if evs.Kind != Map {
		return errorf(evs.Pos, id, "Events must be a map")
	}
	var list []*event
	for _, ef := range evs.Fields {
		if !logicalIDPattern.MatchString(ef.Key) {
			return errorf(ef.Pos, id, "event name %q must be alphanumeric", ef.Key)
		}
		body := ef.Value
		if body.Kind != Map {
			return errorf(ef.Pos, id, "event %q must be a map with a Type", ef.Key)
		}
		typ, ok := body.Get("Type").AsString()
		if !ok {
			return errorf(ef.Pos, id, "event %q needs a Type", ef.Key)
		}
		props := body.Get("Properties")
		if props == nil || props.IsNull() {
			props = NewMap(body.Pos)
		}
		if props.Kind != Map {
			return errorf(ef.Pos, id, "event %q: Properties must be a map", ef.Key)
		}
		allowed, known := eventProperties[typ]
		if !known {
			if otherEventTypes[typ] {
				msg := "event " + ef.Key + ": event type " + typ + " is not supported by Lamina yet"
				if x.opts.AllowUnsupported {
					x.app.Warnings = append(x.app.Warnings, "resource \""+id+"\": skipped "+msg)
					continue
				}
				return errUnsupported{err: errorf(ef.Pos, id, "%s", msg)}
			}
			return errorf(ef.Pos, id, "event %q has unknown Type %q", ef.Key, typ)
		}
		for _, pf := range props.Fields {
			if !allowed[pf.Key] {
				return errorf(pf.Pos, id, "event %q: property %q is not defined for %s events", ef.Key, pf.Key, typ)
			}
		}
		list = append(list, &event{fn: f, name: ef.Key, id: id + ef.Key, typ: typ, props: props, pos: ef.Pos})
	}
	// An HTTP API $default route on a function already grants API Gateway
	// access to every route of that API, so SAM leaves out the others'
	// permissions.
	defaultRoute := map[string]bool{}
	for _, e := range list {
		if e.typ == "HttpApi" && e.props.Get("Path") == nil && e.props.Get("Method") == nil {
			api, err := x.httpAPIFor(e)
			if err != nil {
				return err
			}
			defaultRoute[api.id] = true
		}
	}
	for _, e := range list {
		var err error
		switch e.typ {
		case "Api":
			err = x.apiEvent(e)
		case "HttpApi":
			err = x.httpAPIEvent(e, defaultRoute)
		case "Schedule":
			err = x.scheduleEvent(e)
		case "ScheduleV2":
			err = x.scheduleV2Event(e)
		case "SQS":
			err = x.sqsEvent(e)
		case "SNS":
			err = x.snsEvent(e)
		case "EventBridgeRule", "CloudWatchEvent":
			err = x.ruleEvent(e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (x *expander) efail(e *event, pos Pos, format string, args ...any) *Error {
	err := errorf(pos, e.fn.id, format, args...)
	err.Msg = "event " + e.name + ": " + err.Msg
	return err
}

func (x *expander) required(e *event, key string) (*Value, error) {
	v := e.props.Get(key)
	if v == nil || v.IsNull() {
		return nil, x.efail(e, e.pos, "%s events need %s", e.typ, key)
	}
	return v, nil
}

func (x *expander) scheduleEvent(e *event) error {
	sched, err := x.required(e, "Schedule")
	if err != nil {
		return err
	}
	expr, ok := sched.AsString()
	if !ok {
		return x.efail(e, sched.Pos, "Schedule must be a rate() or cron() expression")
	}
	state, err := x.state(e)
	if err != nil {
		return err
	}
	target := RuleTarget{ID: e.id + "LambdaTarget", Arn: e.fn.arn(), Input: e.props.Get("Input"),
		RetryPolicy: e.props.Get("RetryPolicy")}
	if t := e.props.Get("Target"); t != nil {
		if s := str(t.Get("Id")); s != "" {
			target.ID = s
		}
	}
	if target.DeadLetterArn, err = x.ruleDLQ(e); err != nil {
		return err
	}
	spec := &RuleSpec{Name: e.props.Get("Name"), ScheduleExpression: expr, State: state, Targets: []RuleTarget{target}}
	return x.rule(e, spec)
}

func (x *expander) ruleEvent(e *event) error {
	pattern, err := x.required(e, "Pattern")
	if err != nil {
		return err
	}
	state, err := x.state(e)
	if err != nil {
		return err
	}
	target := RuleTarget{ID: e.id + "LambdaTarget", Arn: e.fn.arn(), Input: e.props.Get("Input"),
		InputPath: e.props.Get("InputPath"), RetryPolicy: e.props.Get("RetryPolicy")}
	if t := e.props.Get("Target"); t != nil {
		if s := str(t.Get("Id")); s != "" {
			target.ID = s
		}
	}
	if target.DeadLetterArn, err = x.ruleDLQ(e); err != nil {
		return err
	}
	spec := &RuleSpec{Name: e.props.Get("RuleName"), EventPattern: pattern, EventBusName: e.props.Get("EventBusName"),
		State: state, Targets: []RuleTarget{target}}
	return x.rule(e, spec)
}

func (x *expander) rule(e *event, spec *RuleSpec) error {
	props := NewMap(e.pos)
	if spec.ScheduleExpression != "" {
		props.Set("ScheduleExpression", Str(spec.ScheduleExpression))
	}
	if spec.EventPattern != nil {
		props.Set("EventPattern", spec.EventPattern)
	}
	props.Set("State", Str(spec.State))
	t := NewMap(e.pos)
	t.Set("Id", Str(spec.Targets[0].ID))
	t.Set("Arn", spec.Targets[0].Arn)
	props.Set("Targets", NewList(t))
	if err := x.add(&Resource{LogicalID: e.id, Type: TypeRule, CFNType: "AWS::Events::Rule", Source: e.fn.id,
		Pos: e.pos, Properties: props, Spec: spec}); err != nil {
		return err
	}
	return x.permission(e.id+"Permission", e.fn.id, e.fn.name(), "lambda:InvokeFunction",
		Str("events.amazonaws.com"), GetAttOf(e.id, "Arn"), e.pos)
}

// state reads Enabled (bool) or State (ENABLED/DISABLED); they are exclusive.
func (x *expander) state(e *event) (string, error) {
	en, st := e.props.Get("Enabled"), e.props.Get("State")
	if en != nil && st != nil {
		return "", x.efail(e, e.pos, "give Enabled or State, not both")
	}
	if en != nil {
		b, ok := en.AsBool()
		if !ok {
			return "", x.efail(e, en.Pos, "Enabled must be true or false")
		}
		if !b {
			return "DISABLED", nil
		}
	}
	if st != nil {
		// EventBridge takes the state case-insensitively ("Enabled" is common).
		s := strings.ToUpper(str(st))
		if s != "ENABLED" && s != "DISABLED" {
			return "", x.efail(e, st.Pos, "State must be ENABLED or DISABLED")
		}
		return s, nil
	}
	return "ENABLED", nil
}

// ruleDLQ reads a rule/schedule target's DeadLetterConfig: {Arn} or
// {Type: SQS[, QueueLogicalId]}, the latter creating a queue.
func (x *expander) ruleDLQ(e *event) (*Value, error) {
	d := e.props.Get("DeadLetterConfig")
	if d == nil {
		return nil, nil
	}
	if d.Kind != Map {
		return nil, x.efail(e, d.Pos, "DeadLetterConfig must be a map")
	}
	arn, typ := d.Get("Arn"), d.Get("Type")
	switch {
	case arn != nil && typ != nil:
		return nil, x.efail(e, d.Pos, "DeadLetterConfig: give Arn or Type, not both")
	case arn != nil:
		return arn, nil
	case typ == nil:
		return nil, x.efail(e, d.Pos, "DeadLetterConfig needs Arn or Type")
	case str(typ) != "SQS":
		return nil, x.efail(e, typ.Pos, "DeadLetterConfig Type must be SQS")
	}
	qid := e.id + "Queue"
	if q := d.Get("QueueLogicalId"); q != nil {
		s, ok := q.AsString()
		if !ok || !logicalIDPattern.MatchString(s) {
			return nil, x.efail(e, q.Pos, "QueueLogicalId must be a logical id string")
		}
		qid = s
	}
	if err := x.add(&Resource{LogicalID: qid, Type: TypeQueue, CFNType: "AWS::SQS::Queue", Source: e.fn.id,
		Pos: d.Pos, Properties: NewMap(d.Pos), Spec: &QueueSpec{}}); err != nil {
		return nil, err
	}
	if err := x.queuePolicy(qid+"Policy", e.fn.id, qid, d.Pos); err != nil {
		return nil, err
	}
	return GetAttOf(qid, "Arn"), nil
}

func (x *expander) queuePolicy(id, source, queue string, pos Pos) error {
	props := NewMap(pos)
	props.Set("Queues", NewList(RefTo(queue)))
	return x.add(&Resource{LogicalID: id, Type: TypeQueuePolicy, CFNType: "AWS::SQS::QueuePolicy", Source: source,
		Pos: pos, Properties: props})
}

func (x *expander) scheduleV2Event(e *event) error {
	expr, err := x.required(e, "ScheduleExpression")
	if err != nil {
		return err
	}
	s, ok := expr.AsString()
	if !ok {
		return x.efail(e, expr.Pos, "ScheduleExpression must be a string")
	}
	state := "ENABLED"
	if st := e.props.Get("State"); st != nil {
		state = strings.ToUpper(str(st))
		if state != "ENABLED" && state != "DISABLED" {
			return x.efail(e, st.Pos, "State must be ENABLED or DISABLED")
		}
	}
	ftw := e.props.Get("FlexibleTimeWindow")
	if ftw == nil {
		ftw = NewMap(e.pos)
		ftw.Set("Mode", Str("OFF"))
	}
	spec := &ScheduleSpec{Name: e.props.Get("Name"), GroupName: e.props.Get("GroupName"), ScheduleExpression: s,
		ScheduleExpressionTimezone: str(e.props.Get("ScheduleExpressionTimezone")), State: state,
		TargetArn: e.fn.arn(), Input: e.props.Get("Input"), RetryPolicy: e.props.Get("RetryPolicy"),
		FlexibleTimeWindow: ftw}
	if spec.DeadLetterArn, err = x.ruleDLQ(e); err != nil {
		return err
	}
	roleArn := e.props.Get("RoleArn")
	if roleArn == nil {
		role := e.id + "Role"
		if err := x.add(&Resource{LogicalID: role, Type: TypeRole, CFNType: "AWS::IAM::Role", Source: e.fn.id,
			Pos: e.pos, Properties: NewMap(e.pos)}); err != nil {
			return err
		}
		roleArn = GetAttOf(role, "Arn")
	}
	props := NewMap(e.pos)
	props.Set("ScheduleExpression", Str(s))
	props.Set("FlexibleTimeWindow", ftw)
	props.Set("State", Str(state))
	target := NewMap(e.pos)
	target.Set("Arn", spec.TargetArn)
	target.Set("RoleArn", roleArn)
	props.Set("Target", target)
	return x.add(&Resource{LogicalID: e.id, Type: TypeSchedule, CFNType: "AWS::Scheduler::Schedule",
		Source: e.fn.id, Pos: e.pos, Properties: props, Spec: spec})
}

func (x *expander) sqsEvent(e *event) error {
	q, err := x.required(e, "Queue")
	if err != nil {
		return err
	}
	return x.esm(e, e.id, q, 10)
}

// esm adds an event source mapping from a queue to the function.
func (x *expander) esm(e *event, id string, source *Value, defBatch int) error {
	spec := &EventSourceMappingSpec{EventSourceArn: source, Function: e.fn.name(), Enabled: true}
	var err error
	if spec.BatchSize, err = intOr(e.props.Get("BatchSize"), defBatch, e.fn.id, "BatchSize"); err != nil {
		return err
	}
	if spec.BatchSize < 1 || spec.BatchSize > 10000 {
		return x.efail(e, e.pos, "BatchSize must be between 1 and 10000")
	}
	if spec.MaximumBatchingWindowInSeconds, err = optInt(e.props.Get("MaximumBatchingWindowInSeconds"), e.fn.id, "MaximumBatchingWindowInSeconds"); err != nil {
		return err
	}
	if en := e.props.Get("Enabled"); en != nil {
		b, ok := en.AsBool()
		if !ok {
			return x.efail(e, en.Pos, "Enabled must be true or false")
		}
		spec.Enabled = b
	}
	if frt := e.props.Get("FunctionResponseTypes"); frt != nil {
		if frt.Kind != List {
			return x.efail(e, frt.Pos, "FunctionResponseTypes must be a list")
		}
		for _, it := range frt.Items {
			if str(it) != "ReportBatchItemFailures" {
				return x.efail(e, it.Pos, "FunctionResponseTypes may only hold ReportBatchItemFailures")
			}
			spec.FunctionResponseTypes = append(spec.FunctionResponseTypes, "ReportBatchItemFailures")
		}
	}
	spec.FilterCriteria = e.props.Get("FilterCriteria")
	if sc := e.props.Get("ScalingConfig"); sc != nil {
		if spec.MaximumConcurrency, err = optInt(sc.Get("MaximumConcurrency"), e.fn.id, "ScalingConfig.MaximumConcurrency"); err != nil {
			return err
		}
	}
	props := e.props.Clone()
	props.Delete("Queue")
	props.Delete("SqsSubscription")
	props.Set("EventSourceArn", source)
	props.Set("FunctionName", spec.Function)
	return x.add(&Resource{LogicalID: id, Type: TypeEventSourceMapping, CFNType: "AWS::Lambda::EventSourceMapping",
		Source: e.fn.id, Pos: e.pos, Properties: props, Spec: spec})
}

func (x *expander) snsEvent(e *event) error {
	topic, err := x.required(e, "Topic")
	if err != nil {
		return err
	}
	sub := &SubscriptionSpec{TopicArn: topic, Protocol: "lambda", Endpoint: e.fn.arn(),
		FilterPolicy: e.props.Get("FilterPolicy"), FilterPolicyScope: str(e.props.Get("FilterPolicyScope")),
		RedrivePolicy: e.props.Get("RedrivePolicy")}
	if s := sub.FilterPolicyScope; s != "" && s != "MessageAttributes" && s != "MessageBody" {
		return x.efail(e, e.pos, "FilterPolicyScope must be MessageAttributes or MessageBody")
	}
	sqs := e.props.Get("SqsSubscription")
	useSQS := false
	if sqs != nil {
		if b, ok := sqs.AsBool(); ok {
			useSQS = b
		} else if sqs.Kind == Map {
			useSQS = true
		} else {
			return x.efail(e, sqs.Pos, "SqsSubscription must be true or a map")
		}
	}
	if !useSQS {
		if err := x.subscription(e, e.id, sub); err != nil {
			return err
		}
		return x.permission(e.id+"Permission", e.fn.id, e.fn.name(), "lambda:InvokeFunction",
			Str("sns.amazonaws.com"), topic, e.pos)
	}
	// SNS → SQS → function: SAM creates the queue unless one is given.
	var queueArn *Value
	policy := e.id + "QueuePolicy"
	queue := ""
	if sqs.Kind == Map {
		queueArn = sqs.Get("QueueArn")
		if queueArn == nil || sqs.Get("QueueUrl") == nil {
			return x.efail(e, sqs.Pos, "SqsSubscription as a map needs QueueArn and QueueUrl (or use true to have a queue created)")
		}
		if s := str(sqs.Get("QueuePolicyLogicalId")); s != "" {
			policy = s
		}
	}
	if queueArn == nil {
		queue = e.id + "Queue"
		if err := x.add(&Resource{LogicalID: queue, Type: TypeQueue, CFNType: "AWS::SQS::Queue", Source: e.fn.id,
			Pos: e.pos, Properties: NewMap(e.pos), Spec: &QueueSpec{}}); err != nil {
			return err
		}
		queueArn = GetAttOf(queue, "Arn")
	}
	props := NewMap(e.pos)
	if queue != "" {
		props.Set("Queues", NewList(RefTo(queue)))
	} else {
		props.Set("Queues", NewList(sqs.Get("QueueUrl")))
	}
	if err := x.add(&Resource{LogicalID: policy, Type: TypeQueuePolicy, CFNType: "AWS::SQS::QueuePolicy",
		Source: e.fn.id, Pos: e.pos, Properties: props}); err != nil {
		return err
	}
	sub.Protocol, sub.Endpoint = "sqs", queueArn
	if err := x.subscription(e, e.id, sub); err != nil {
		return err
	}
	batch := 10
	if sqs.Kind == Map {
		inner := &event{fn: e.fn, name: e.name, id: e.id, typ: e.typ, props: sqs, pos: e.pos}
		return x.esm(inner, e.id+"EventSourceMapping", queueArn, batch)
	}
	return x.esm(&event{fn: e.fn, name: e.name, id: e.id, typ: e.typ, props: NewMap(e.pos), pos: e.pos},
		e.id+"EventSourceMapping", queueArn, batch)
}

func (x *expander) subscription(e *event, id string, s *SubscriptionSpec) error {
	props := NewMap(e.pos)
	props.Set("Protocol", Str(s.Protocol))
	props.Set("Endpoint", s.Endpoint)
	props.Set("TopicArn", s.TopicArn)
	for _, k := range []string{"Region", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"} {
		if v := e.props.Get(k); v != nil {
			props.Set(k, v)
		}
	}
	return x.add(&Resource{LogicalID: id, Type: TypeSubscription, CFNType: "AWS::SNS::Subscription",
		Source: e.fn.id, Pos: e.pos, Properties: props, Spec: s})
}

// upperMethod normalises an event's Method: "any" → ANY.
func upperMethod(m string) string { return strings.ToUpper(m) }
