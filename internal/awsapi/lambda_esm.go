package awsapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lamina-dev/lamina/internal/esm"
)

// Event source mappings (EventSourceMappingConfiguration), over the
// esm service: POST /2015-03-31/event-source-mappings (create, 202), GET
// on it (list, ?FunctionName=&EventSourceArn=&Marker=&MaxItems=), and
// GET/PUT/DELETE /2015-03-31/event-source-mappings/{UUID} (200, 202, 202).
// The SDKs send the collection path without a trailing slash, AWS's
// documentation and the CLI's older models with one: both are served.

// routeEventSourceMappings registers the Lambda event source mapping
// operations when Options.EventSourceMappings is set.
func (a *API) routeEventSourceMappings() {
	if a.opts.EventSourceMappings == nil {
		return
	}
	std := defaultBodyLimit
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"POST /2015-03-31/event-source-mappings", "CreateEventSourceMapping", a.createEventSourceMapping},
		{"POST /2015-03-31/event-source-mappings/{$}", "CreateEventSourceMapping", a.createEventSourceMapping},
		{"GET /2015-03-31/event-source-mappings", "ListEventSourceMappings", a.listEventSourceMappings},
		{"GET /2015-03-31/event-source-mappings/{$}", "ListEventSourceMappings", a.listEventSourceMappings},
		{"GET /2015-03-31/event-source-mappings/{UUID}", "GetEventSourceMapping", a.getEventSourceMapping},
		{"PUT /2015-03-31/event-source-mappings/{UUID}", "UpdateEventSourceMapping", a.updateEventSourceMapping},
		{"DELETE /2015-03-31/event-source-mappings/{UUID}", "DeleteEventSourceMapping", a.deleteEventSourceMapping},
	} {
		a.mux.Handle(rt.pattern, a.handler(rt.op, std, rt.h))
	}
}

type filterJSON struct {
	Pattern *string `json:"Pattern,omitempty"`
}

type filterCriteriaJSON struct {
	Filters []filterJSON `json:"Filters"`
}

type scalingConfigJSON struct {
	MaximumConcurrency *int `json:"MaximumConcurrency,omitempty"`
}

// esmIn is CreateEventSourceMapping's and UpdateEventSourceMapping's body.
// Members for streams, Kafka and MQ sources are ignored: Lamina maps
// queues only, and the source ARN is refused before they could matter.
type esmIn struct {
	EventSourceArn                 *string             `json:"EventSourceArn"`
	FunctionName                   *string             `json:"FunctionName"`
	Enabled                        *bool               `json:"Enabled"`
	BatchSize                      *int                `json:"BatchSize"`
	MaximumBatchingWindowInSeconds *int                `json:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          *[]string           `json:"FunctionResponseTypes"`
	ScalingConfig                  *scalingConfigJSON  `json:"ScalingConfig"`
	FilterCriteria                 *filterCriteriaJSON `json:"FilterCriteria"`
}

// esmOut is EventSourceMappingConfiguration.
type esmOut struct {
	UUID                           string              `json:"UUID"`
	EventSourceMappingArn          string              `json:"EventSourceMappingArn"`
	EventSourceArn                 string              `json:"EventSourceArn"`
	FunctionArn                    string              `json:"FunctionArn"`
	BatchSize                      int                 `json:"BatchSize"`
	MaximumBatchingWindowInSeconds int                 `json:"MaximumBatchingWindowInSeconds"`
	FunctionResponseTypes          []string            `json:"FunctionResponseTypes"`
	ScalingConfig                  *scalingConfigJSON  `json:"ScalingConfig,omitempty"`
	FilterCriteria                 *filterCriteriaJSON `json:"FilterCriteria,omitempty"`
	// LastModified is a timestamp member: epoch seconds.
	LastModified          float64 `json:"LastModified"`
	LastProcessingResult  string  `json:"LastProcessingResult"`
	State                 string  `json:"State"`
	StateTransitionReason string  `json:"StateTransitionReason"`
}

type listESMOut struct {
	EventSourceMappings []esmOut `json:"EventSourceMappings"`
	NextMarker          string   `json:"NextMarker,omitempty"`
}

// defaultESMPage is ListEventSourceMappings' page size when MaxItems is absent.
const defaultESMPage = 100

func (a *API) renderESM(c *call, m esm.Mapping) esmOut {
	out := esmOut{
		UUID:                           m.UUID,
		EventSourceMappingArn:          "arn:" + partition(c.region) + ":lambda:" + c.region + ":" + a.opts.AccountID + ":event-source-mapping:" + m.UUID,
		EventSourceArn:                 m.EventSourceARN,
		FunctionArn:                    a.inCallerRegion(c, m.FunctionARN),
		BatchSize:                      m.BatchSize,
		MaximumBatchingWindowInSeconds: int(m.MaximumBatchingWindow / time.Second),
		FunctionResponseTypes:          append([]string{}, m.FunctionResponseTypes...),
		LastModified:                   float64(m.LastModified.UnixMilli()) / 1000,
		LastProcessingResult:           m.LastProcessingResult,
		State:                          m.State,
		StateTransitionReason:          m.StateTransitionReason,
	}
	if m.MaximumConcurrency > 0 {
		n := m.MaximumConcurrency
		out.ScalingConfig = &scalingConfigJSON{MaximumConcurrency: &n}
	}
	if len(m.Filters) > 0 {
		fc := &filterCriteriaJSON{Filters: make([]filterJSON, len(m.Filters))}
		for i, f := range m.Filters {
			p := f.Pattern
			fc.Filters[i] = filterJSON{Pattern: &p}
		}
		out.FilterCriteria = fc
	}
	return out
}

func (in *esmIn) filters() []esm.Filter {
	var out []esm.Filter
	for _, f := range in.FilterCriteria.Filters {
		p := ""
		if f.Pattern != nil {
			p = *f.Pattern
		}
		out = append(out, esm.Filter{Pattern: p})
	}
	return out
}

func (in *esmIn) window() *time.Duration {
	if in.MaximumBatchingWindowInSeconds == nil {
		return nil
	}
	d := time.Duration(*in.MaximumBatchingWindowInSeconds) * time.Second
	return &d
}

func (a *API) createEventSourceMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	var in esmIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	ci := esm.CreateInput{
		Enabled:               in.Enabled,
		BatchSize:             in.BatchSize,
		MaximumBatchingWindow: in.window(),
	}
	if in.EventSourceArn != nil {
		ci.EventSourceARN = *in.EventSourceArn
	}
	if in.FunctionName != nil {
		ci.FunctionName = *in.FunctionName
	}
	if in.FunctionResponseTypes != nil {
		ci.FunctionResponseTypes = *in.FunctionResponseTypes
	}
	if in.ScalingConfig != nil {
		ci.MaximumConcurrency = in.ScalingConfig.MaximumConcurrency
	}
	if in.FilterCriteria != nil {
		ci.Filters = in.filters()
	}
	m, err := a.opts.EventSourceMappings.Create(r.Context(), ci)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, a.renderESM(c, m))
}

func (a *API) getEventSourceMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := a.opts.EventSourceMappings.Get(r.Context(), r.PathValue("UUID"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderESM(c, m))
}

func (a *API) updateEventSourceMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	var in esmIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	ui := esm.UpdateInput{
		Enabled:               in.Enabled,
		BatchSize:             in.BatchSize,
		MaximumBatchingWindow: in.window(),
		FunctionResponseTypes: in.FunctionResponseTypes,
	}
	if in.FunctionName != nil {
		if *in.FunctionName == "" {
			return invalidParameter("1 validation error detected: Value '' at 'functionName' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		ui.FunctionName = *in.FunctionName
	}
	if in.ScalingConfig != nil {
		// An empty ScalingConfig removes the limit.
		n := 0
		if in.ScalingConfig.MaximumConcurrency != nil {
			n = *in.ScalingConfig.MaximumConcurrency
			if n == 0 {
				return invalidParameter("1 validation error detected: Value '0' at 'scalingConfig.maximumConcurrency' failed to satisfy constraint: Member must have value greater than or equal to 2")
			}
		}
		ui.MaximumConcurrency = &n
	}
	if in.FilterCriteria != nil {
		ui.Filters, ui.FiltersSet = in.filters(), true
	}
	m, err := a.opts.EventSourceMappings.Update(r.Context(), r.PathValue("UUID"), ui)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, a.renderESM(c, m))
}

func (a *API) deleteEventSourceMapping(w http.ResponseWriter, r *http.Request, c *call) error {
	m, err := a.opts.EventSourceMappings.Delete(r.Context(), r.PathValue("UUID"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, a.renderESM(c, m))
}

func (a *API) listEventSourceMappings(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	fn := q.Get("FunctionName")
	if fn != "" {
		// The caller's region and account, as for every function name.
		if _, err := a.resolve(c, fn, ""); err != nil {
			return err
		}
	}
	maxItems := defaultESMPage
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return invalidParameter("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000", s)
		}
		maxItems = n
	}
	list, err := a.opts.EventSourceMappings.List(r.Context(), fn, q.Get("EventSourceArn"))
	if err != nil {
		return err
	}
	// The marker is the UUID the next page starts at (the list is sorted
	// by UUID, so a page boundary survives mappings added or removed).
	start := 0
	if marker := q.Get("Marker"); marker != "" {
		for start < len(list) && list[start].UUID < marker {
			start++
		}
	}
	out := listESMOut{EventSourceMappings: []esmOut{}}
	end := min(start+maxItems, len(list))
	for _, m := range list[start:end] {
		out.EventSourceMappings = append(out.EventSourceMappings, a.renderESM(c, m))
	}
	if end < len(list) {
		out.NextMarker = list[end].UUID
	}
	return writeJSON(w, http.StatusOK, out)
}
