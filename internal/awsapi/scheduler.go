package awsapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/schedule"
)

// The EventBridge Scheduler API (restJson1; paths, query names and success
// codes from the service model) over the schedule service, and the
// EventBridge rules API (events.go) over the same service.

// SchedulerService is what the Scheduler and rules APIs need of the
// schedule service; *schedule.Service satisfies it.
type SchedulerService interface {
	CreateSchedule(ctx context.Context, in schedule.ScheduleInput) (*schedule.Schedule, error)
	UpdateSchedule(ctx context.Context, in schedule.ScheduleInput) (*schedule.Schedule, error)
	GetSchedule(ctx context.Context, group, name string) (*schedule.Schedule, error)
	DeleteSchedule(ctx context.Context, group, name string) error
	ListSchedules(ctx context.Context, in schedule.ListSchedulesInput) ([]schedule.Schedule, string, error)

	CreateScheduleGroup(ctx context.Context, name string, tags []schedule.Tag, clientToken string) (*schedule.ScheduleGroup, error)
	GetScheduleGroup(ctx context.Context, name string) (*schedule.ScheduleGroup, error)
	DeleteScheduleGroup(ctx context.Context, name string) error
	ListScheduleGroups(ctx context.Context, namePrefix string, maxResults int, nextToken string) ([]schedule.ScheduleGroup, string, error)

	TagResource(ctx context.Context, arn string, tags []schedule.Tag) error
	UntagResource(ctx context.Context, arn string, keys []string) error
	ListTagsForResource(ctx context.Context, arn string) ([]schedule.Tag, error)

	PutRule(ctx context.Context, in schedule.PutRuleInput) (*schedule.Rule, error)
	DescribeRule(ctx context.Context, bus, name string) (*schedule.Rule, error)
	ListRules(ctx context.Context, bus, namePrefix string, limit int, nextToken string) ([]schedule.Rule, string, error)
	ListRuleNamesByTarget(ctx context.Context, bus, targetArn string, limit int, nextToken string) ([]string, string, error)
	DeleteRule(ctx context.Context, bus, name string, force bool) error
	EnableRule(ctx context.Context, bus, name string) error
	DisableRule(ctx context.Context, bus, name string) error
	PutTargets(ctx context.Context, bus, rule string, targets []schedule.RuleTarget) ([]schedule.FailedEntry, error)
	RemoveTargets(ctx context.Context, bus, rule string, ids []string) ([]schedule.FailedEntry, error)
	ListTargetsByRule(ctx context.Context, bus, rule string, limit int, nextToken string) ([]schedule.RuleTarget, string, error)
	TagRule(ctx context.Context, arn string, tags []schedule.Tag) error
	UntagRule(ctx context.Context, arn string, keys []string) error
	ListRuleTags(ctx context.Context, arn string) ([]schedule.Tag, error)
}

var _ SchedulerService = (*schedule.Service)(nil)

// The Scheduler catalogue of wire errors (all modeled, with the message
// member "Message"; status codes from the model).
var (
	errSchedValidation = &wireError{"ValidationException", http.StatusBadRequest, "User", "Message"}
	errSchedNotFound   = &wireError{"ResourceNotFoundException", http.StatusNotFound, "User", "Message"}
	errSchedConflict   = &wireError{"ConflictException", http.StatusConflict, "User", "Message"}
	errSchedQuota      = &wireError{"ServiceQuotaExceededException", http.StatusPaymentRequired, "User", "Message"}
	errSchedThrottling = &wireError{"ThrottlingException", http.StatusTooManyRequests, "User", "Message"}
	errSchedInternal   = &wireError{"InternalServerException", http.StatusInternalServerError, "Service", "Message"}
	// errSchedulerDisabled answers every Scheduler and rules operation of
	// an edge without a schedule service (not modeled: a generic error).
	errSchedulerDisabled = &wireError{"UnsupportedOperationException", http.StatusBadRequest, "User", "Message"}
)

var schedByKind = map[fault.Kind]*wireError{
	fault.Invalid:            errSchedValidation,
	fault.InvalidContent:     errSchedValidation,
	fault.NotFound:           errSchedNotFound,
	fault.Conflict:           errSchedConflict,
	fault.PreconditionFailed: errSchedConflict,
	fault.TooLarge:           errSchedValidation,
	fault.Throttled:          errSchedThrottling,
	fault.Unsupported:        errSchedValidation,
}

const schedulerBodyLimit int64 = 1 << 20

// routeScheduler registers the EventBridge Scheduler REST-JSON API.
func (a *API) routeScheduler() {
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"POST /schedules/{Name}", "CreateSchedule", a.createSchedule},
		{"GET /schedules/{Name}", "GetSchedule", a.getSchedule},
		{"PUT /schedules/{Name}", "UpdateSchedule", a.updateSchedule},
		{"DELETE /schedules/{Name}", "DeleteSchedule", a.deleteSchedule},
		{"GET /schedules", "ListSchedules", a.listSchedules},

		{"POST /schedule-groups/{Name}", "CreateScheduleGroup", a.createScheduleGroup},
		{"GET /schedule-groups/{Name}", "GetScheduleGroup", a.getScheduleGroup},
		{"DELETE /schedule-groups/{Name}", "DeleteScheduleGroup", a.deleteScheduleGroup},
		{"GET /schedule-groups", "ListScheduleGroups", a.listScheduleGroups},

		// The ARN's '/' arrives as %2F, inside one path segment.
		{"POST /tags/{ResourceArn}", "TagResource", a.schedTagResource},
		{"DELETE /tags/{ResourceArn}", "UntagResource", a.schedUntagResource},
		{"GET /tags/{ResourceArn}", "ListTagsForResource", a.schedListTags},
	} {
		a.mux.Handle(rt.pattern, a.wrap(rt.op, schedulerBodyLimit, a.schedulerEnabled(rt.h), a.renderSchedulerError))
	}
}

// schedulerEnabled answers every operation with a clear error when the
// edge has no schedule service.
func (a *API) schedulerEnabled(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if a.opts.Scheduler == nil {
			return newAPIError(errSchedulerDisabled, "EventBridge Scheduler is not enabled on this Lamina server.")
		}
		return h(w, r, c)
	}
}

// renderSchedulerError writes err in the Scheduler's restJson1 error shape.
func (a *API) renderSchedulerError(w http.ResponseWriter, c *call, err error) {
	wire, message := errSchedInternal, internalMessage
	var ae *apiError
	var fe *fault.Error
	switch {
	case errors.As(err, &ae):
		wire, message = ae.wire, ae.message
	case errors.As(err, &fe) && fe.Kind == fault.Conflict && fe.Reason == schedule.ReasonLimitExceeded:
		wire, message = errSchedQuota, fe.Message
	case errors.As(err, &fe) && fe.Kind != fault.Internal:
		if k, ok := schedByKind[fe.Kind]; ok {
			wire, message = k, fe.Message
		}
	}
	a.writeWireError(w, c, wire, "application/json", map[string]string{wire.MessageMember: message}, err)
}

// queryLimit reads an optional page size from the query (0 when absent),
// which must be 1-100 when given.
func queryLimit(r *http.Request, name string) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, fault.New(fault.Invalid, "1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", s)
	}
	return n, nil
}

// ---- schedules

func (a *API) createSchedule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req scheduleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	in, err := req.input(r.PathValue("Name"))
	if err != nil {
		return err
	}
	sc, err := a.opts.Scheduler.CreateSchedule(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleArnOutput{ScheduleArn: sc.Arn})
}

func (a *API) updateSchedule(w http.ResponseWriter, r *http.Request, c *call) error {
	var req scheduleRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	in, err := req.input(r.PathValue("Name"))
	if err != nil {
		return err
	}
	sc, err := a.opts.Scheduler.UpdateSchedule(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleArnOutput{ScheduleArn: sc.Arn})
}

func (a *API) getSchedule(w http.ResponseWriter, r *http.Request, _ *call) error {
	sc, err := a.opts.Scheduler.GetSchedule(r.Context(), r.URL.Query().Get("groupName"), r.PathValue("Name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toScheduleOutput(sc))
}

func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Scheduler.DeleteSchedule(r.Context(), r.URL.Query().Get("groupName"), r.PathValue("Name")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request, _ *call) error {
	q := r.URL.Query()
	maxResults, err := queryLimit(r, "MaxResults")
	if err != nil {
		return err
	}
	list, next, err := a.opts.Scheduler.ListSchedules(r.Context(), schedule.ListSchedulesInput{
		GroupName:  q.Get("ScheduleGroup"),
		NamePrefix: q.Get("NamePrefix"),
		State:      q.Get("State"),
		MaxResults: maxResults,
		NextToken:  q.Get("NextToken"),
	})
	if err != nil {
		return err
	}
	out := listSchedulesOutput{NextToken: next, Schedules: make([]scheduleSummary, len(list))}
	for i, sc := range list {
		s := &out.Schedules[i]
		s.Arn, s.GroupName, s.Name, s.State = sc.Arn, sc.GroupName, sc.Name, sc.State
		s.CreationDate, s.LastModificationDate = epochSeconds(sc.CreationDate), epochSeconds(sc.LastModificationDate)
		s.Target.Arn = sc.Target.Arn
	}
	return writeJSON(w, http.StatusOK, out)
}

// ---- schedule groups

func (a *API) createScheduleGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createScheduleGroupRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	g, err := a.opts.Scheduler.CreateScheduleGroup(r.Context(), r.PathValue("Name"), fromWireTags(req.Tags), req.ClientToken)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, scheduleGroupArnOutput{ScheduleGroupArn: g.Arn})
}

func (a *API) getScheduleGroup(w http.ResponseWriter, r *http.Request, _ *call) error {
	g, err := a.opts.Scheduler.GetScheduleGroup(r.Context(), r.PathValue("Name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toGroupOutput(g))
}

func (a *API) deleteScheduleGroup(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Scheduler.DeleteScheduleGroup(r.Context(), r.PathValue("Name")); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) listScheduleGroups(w http.ResponseWriter, r *http.Request, _ *call) error {
	q := r.URL.Query()
	maxResults, err := queryLimit(r, "MaxResults")
	if err != nil {
		return err
	}
	list, next, err := a.opts.Scheduler.ListScheduleGroups(r.Context(), q.Get("NamePrefix"), maxResults, q.Get("NextToken"))
	if err != nil {
		return err
	}
	out := listScheduleGroupsOutput{NextToken: next, ScheduleGroups: make([]scheduleGroupOutput, len(list))}
	for i := range list {
		out.ScheduleGroups[i] = toGroupOutput(&list[i])
	}
	return writeJSON(w, http.StatusOK, out)
}

// ---- tags (schedule groups only)

func (a *API) schedTagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	var req tagsRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Scheduler.TagResource(r.Context(), r.PathValue("ResourceArn"), fromWireTags(req.Tags)); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) schedUntagResource(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Scheduler.UntagResource(r.Context(), r.PathValue("ResourceArn"), r.URL.Query()["TagKeys"]); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct{}{})
}

func (a *API) schedListTags(w http.ResponseWriter, r *http.Request, _ *call) error {
	tags, err := a.opts.Scheduler.ListTagsForResource(r.Context(), r.PathValue("ResourceArn"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tagsOutput{Tags: toWireTags(tags)})
}
