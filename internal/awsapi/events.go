package awsapi

import (
	"errors"
	"net/http"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/schedule"
)

// The EventBridge rules API (awsJson1_1, target prefix AWSEvents) over the
// schedule service: scheduled rules and their targets. Rules with an
// EventPattern are kept and validated but not matched (there is no event
// bus yet); only the default event bus exists.

// The EventBridge catalogue of wire errors. ValidationException is not
// modeled (the SDKs return a generic error with that code), the rest are.
var (
	errEventsValidation     = &wireError{"ValidationException", http.StatusBadRequest, "User", "message"}
	errEventsNotFound       = &wireError{"ResourceNotFoundException", http.StatusBadRequest, "User", "message"}
	errEventsConcurrent     = &wireError{"ConcurrentModificationException", http.StatusBadRequest, "User", "message"}
	errEventsLimitExceeded  = &wireError{"LimitExceededException", http.StatusBadRequest, "User", "message"}
	errEventsInvalidPattern = &wireError{"InvalidEventPatternException", http.StatusBadRequest, "User", "message"}
	errEventsThrottling     = &wireError{"ThrottlingException", http.StatusBadRequest, "User", "message"}
	errEventsInternal       = &wireError{"InternalException", http.StatusInternalServerError, "Service", "message"}
)

var eventsByKind = map[fault.Kind]*wireError{
	fault.Invalid:            errEventsValidation,
	fault.NotFound:           errEventsNotFound,
	fault.Conflict:           errEventsConcurrent,
	fault.PreconditionFailed: errEventsConcurrent,
	fault.TooLarge:           errEventsValidation,
	fault.Throttled:          errEventsThrottling,
	fault.Unsupported:        errEventsValidation,
}

const (
	eventsTargetPrefix       = "AWSEvents"
	eventsBodyLimit    int64 = 1 << 20
)

// routeEvents registers the EventBridge (AWSEvents, JSON 1.1) rules API.
func (a *API) routeEvents() {
	svc := &jsonService{
		prefix:      eventsTargetPrefix,
		contentType: contentTypeJSON11,
		byKind:      eventsByKind,
		internal:    errEventsInternal,
	}
	ops := []jsonOp{
		{"PutRule", eventsBodyLimit, a.putRule},
		{"DescribeRule", eventsBodyLimit, a.describeRule},
		{"ListRules", eventsBodyLimit, a.listRules},
		{"ListRuleNamesByTarget", eventsBodyLimit, a.listRuleNamesByTarget},
		{"DeleteRule", eventsBodyLimit, a.deleteRule},
		{"EnableRule", eventsBodyLimit, a.enableRule},
		{"DisableRule", eventsBodyLimit, a.disableRule},
		{"PutTargets", eventsBodyLimit, a.putTargets},
		{"RemoveTargets", eventsBodyLimit, a.removeTargets},
		{"ListTargetsByRule", eventsBodyLimit, a.listTargetsByRule},
		{"TagResource", eventsBodyLimit, a.eventsTagResource},
		{"UntagResource", eventsBodyLimit, a.eventsUntagResource},
		{"ListTagsForResource", eventsBodyLimit, a.eventsListTags},
	}
	for i := range ops {
		ops[i].h = a.eventsOp(ops[i].h)
	}
	a.registerJSON(svc, ops)
}

// eventsOp refuses every operation when the edge has no schedule service,
// and gives the service's refined failures their EventBridge exceptions.
func (a *API) eventsOp(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if a.opts.Scheduler == nil {
			return newAPIError(errSchedulerDisabled, "EventBridge rules are not enabled on this Lamina server.")
		}
		err := h(w, r, c)
		var fe *fault.Error
		if errors.As(err, &fe) {
			switch fe.Reason {
			case schedule.ReasonLimitExceeded:
				return newAPIError(errEventsLimitExceeded, "%s", fe.Message)
			case schedule.ReasonInvalidEventPattern:
				return newAPIError(errEventsInvalidPattern, "%s", fe.Message)
			}
		}
		return err
	}
}

// bodyLimit checks an optional Limit member: absent is 0 (the default).
func bodyLimit(limit *int) (int, error) {
	if limit == nil {
		return 0, nil
	}
	if *limit < 1 || *limit > 100 {
		return 0, fault.New(fault.Invalid, "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *limit)
	}
	return *limit, nil
}

func (a *API) writeEvents(w http.ResponseWriter, v any) error {
	return writeTargetJSON(w, contentTypeJSON11, v)
}

func (a *API) putRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req putRuleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	rule, err := a.opts.Scheduler.PutRule(r.Context(), schedule.PutRuleInput{
		Name: req.Name, EventBusName: req.EventBusName, ScheduleExpression: req.ScheduleExpression,
		EventPattern: req.EventPattern, State: req.State, Description: req.Description,
		RoleArn: req.RoleArn, Tags: fromWireTags(req.Tags),
	})
	if err != nil {
		return err
	}
	return a.writeEvents(w, putRuleOutput{RuleArn: rule.Arn})
}

func (a *API) describeRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req ruleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	rule, err := a.opts.Scheduler.DescribeRule(r.Context(), req.EventBusName, req.Name)
	if err != nil {
		return err
	}
	out := toEventsRule(rule)
	out.CreatedBy = a.opts.AccountID
	return a.writeEvents(w, out)
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request, c *call) error {
	var req listRulesRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	limit, err := bodyLimit(req.Limit)
	if err != nil {
		return err
	}
	rules, next, err := a.opts.Scheduler.ListRules(r.Context(), req.EventBusName, req.NamePrefix, limit, req.NextToken)
	if err != nil {
		return err
	}
	out := listRulesOutput{NextToken: next, Rules: make([]eventsRule, len(rules))}
	for i := range rules {
		out.Rules[i] = toEventsRule(&rules[i])
	}
	return a.writeEvents(w, out)
}

func (a *API) listRuleNamesByTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	var req listRuleNamesByTargetRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	limit, err := bodyLimit(req.Limit)
	if err != nil {
		return err
	}
	names, next, err := a.opts.Scheduler.ListRuleNamesByTarget(r.Context(), req.EventBusName, req.TargetArn, limit, req.NextToken)
	if err != nil {
		return err
	}
	if names == nil {
		names = []string{}
	}
	return a.writeEvents(w, listRuleNamesByTargetOutput{NextToken: next, RuleNames: names})
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req deleteRuleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.DeleteRule(r.Context(), req.EventBusName, req.Name, req.Force); err != nil {
		return err
	}
	return a.writeEvents(w, struct{}{})
}

func (a *API) enableRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req ruleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.EnableRule(r.Context(), req.EventBusName, req.Name); err != nil {
		return err
	}
	return a.writeEvents(w, struct{}{})
}

func (a *API) disableRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req ruleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.DisableRule(r.Context(), req.EventBusName, req.Name); err != nil {
		return err
	}
	return a.writeEvents(w, struct{}{})
}

func (a *API) putTargets(w http.ResponseWriter, r *http.Request, c *call) error {
	var req putTargetsRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	out := targetsResultOutput{FailedEntries: []failedEntry{}}
	var targets []schedule.RuleTarget
	for i := range req.Targets {
		t := &req.Targets[i]
		if m := t.unsupported(); m != "" {
			out.FailedEntries = append(out.FailedEntries, failedEntry{TargetId: t.Id, ErrorCode: "ValidationException",
				ErrorMessage: "Target " + t.Id + ": " + m + " is not supported by Lamina yet."})
			continue
		}
		targets = append(targets, t.toService())
	}
	if len(targets) == 0 && len(req.Targets) > 0 {
		// Nothing Lamina can store; the rule must exist all the same.
		if _, err := a.opts.Scheduler.DescribeRule(r.Context(), req.EventBusName, req.Rule); err != nil {
			return err
		}
	} else {
		failed, err := a.opts.Scheduler.PutTargets(r.Context(), req.EventBusName, req.Rule, targets)
		if err != nil {
			return err
		}
		for _, f := range failed {
			out.FailedEntries = append(out.FailedEntries, failedEntry{TargetId: f.TargetID, ErrorCode: f.ErrorCode, ErrorMessage: f.ErrorMessage})
		}
	}
	out.FailedEntryCount = len(out.FailedEntries)
	return a.writeEvents(w, out)
}

func (a *API) removeTargets(w http.ResponseWriter, r *http.Request, c *call) error {
	var req removeTargetsRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	failed, err := a.opts.Scheduler.RemoveTargets(r.Context(), req.EventBusName, req.Rule, req.Ids)
	if err != nil {
		return err
	}
	out := targetsResultOutput{FailedEntries: []failedEntry{}}
	for _, f := range failed {
		out.FailedEntries = append(out.FailedEntries, failedEntry{TargetId: f.TargetID, ErrorCode: f.ErrorCode, ErrorMessage: f.ErrorMessage})
	}
	out.FailedEntryCount = len(out.FailedEntries)
	return a.writeEvents(w, out)
}

func (a *API) listTargetsByRule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req listTargetsByRuleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	limit, err := bodyLimit(req.Limit)
	if err != nil {
		return err
	}
	targets, next, err := a.opts.Scheduler.ListTargetsByRule(r.Context(), req.EventBusName, req.Rule, limit, req.NextToken)
	if err != nil {
		return err
	}
	out := listTargetsByRuleOutput{NextToken: next, Targets: make([]eventsTarget, len(targets))}
	for i := range targets {
		out.Targets[i] = toEventsTarget(&targets[i])
	}
	return a.writeEvents(w, out)
}

func (a *API) eventsTagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	var req eventsTagRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.TagRule(r.Context(), req.ResourceARN, fromWireTags(req.Tags)); err != nil {
		return err
	}
	return a.writeEvents(w, struct{}{})
}

func (a *API) eventsUntagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	var req eventsTagRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.UntagRule(r.Context(), req.ResourceARN, req.TagKeys); err != nil {
		return err
	}
	return a.writeEvents(w, struct{}{})
}

func (a *API) eventsListTags(w http.ResponseWriter, r *http.Request, c *call) error {
	var req eventsTagRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	tags, err := a.opts.Scheduler.ListRuleTags(r.Context(), req.ResourceARN)
	if err != nil {
		return err
	}
	return a.writeEvents(w, tagsOutput{Tags: toWireTags(tags)})
}
