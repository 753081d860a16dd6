package awsapi

import (
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/function"
)

// Asynchronous-invocation config (FunctionEventInvokeConfig):
// /2019-09-25/functions/{FunctionName}/event-invoke-config?Qualifier=
// (PUT replaces, POST merges, GET, DELETE) and
// /2019-09-25/functions/{FunctionName}/event-invoke-config/list.

type destinationIn struct {
	Destination *string `json:"Destination"`
}

type destinationConfigIn struct {
	OnSuccess *destinationIn `json:"OnSuccess"`
	OnFailure *destinationIn `json:"OnFailure"`
}

type eventInvokeIn struct {
	MaximumRetryAttempts     *int                 `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int                 `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *destinationConfigIn `json:"DestinationConfig"`
}

type destinationOut struct {
	Destination string `json:"Destination,omitempty"`
}

// destinationConfigOut is always sent with both members, empty objects for
// "none", as AWS does.
type destinationConfigOut struct {
	OnSuccess destinationOut `json:"OnSuccess"`
	OnFailure destinationOut `json:"OnFailure"`
}

type eventInvokeOut struct {
	FunctionArn string `json:"FunctionArn"`
	// LastModified is a timestamp member: epoch seconds (unlike
	// FunctionConfiguration's string).
	LastModified             float64              `json:"LastModified"`
	MaximumRetryAttempts     *int                 `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int                 `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        destinationConfigOut `json:"DestinationConfig"`
}

type listEventInvokeOut struct {
	FunctionEventInvokeConfigs []eventInvokeOut `json:"FunctionEventInvokeConfigs"`
	NextMarker                 string           `json:"NextMarker,omitempty"`
}

func (a *API) renderEventInvoke(c *call, name string, cfg function.EventInvokeConfig) eventInvokeOut {
	return eventInvokeOut{
		FunctionArn:              a.functionARN(c, name, cfg.Qualifier),
		LastModified:             float64(cfg.LastModified.UnixMilli()) / 1000,
		MaximumRetryAttempts:     cfg.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: cfg.MaximumEventAgeInSeconds,
		DestinationConfig: destinationConfigOut{
			OnSuccess: destinationOut{cfg.OnSuccess},
			OnFailure: destinationOut{cfg.OnFailure},
		},
	}
}

// destination reads one side of a DestinationConfig that the request has:
// an absent side or Destination means none ("").
func destination(d *destinationIn) *string {
	s := ""
	if d != nil && d.Destination != nil {
		s = *d.Destination
	}
	return &s
}

func (a *API) putFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.writeEventInvokeConfig(w, r, c, true)
}

func (a *API) updateFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.writeEventInvokeConfig(w, r, c, false)
}

// writeEventInvokeConfig serves Put (replace) and Update (merge). Update
// merges member by member; a DestinationConfig it carries replaces the
// stored one as a whole.
func (a *API) writeEventInvokeConfig(w http.ResponseWriter, r *http.Request, c *call, replace bool) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	var in eventInvokeIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	u := function.EventInvokeUpdate{
		Replace:                  replace,
		MaximumRetryAttempts:     in.MaximumRetryAttempts,
		MaximumEventAgeInSeconds: in.MaximumEventAgeInSeconds,
	}
	if dc := in.DestinationConfig; dc != nil {
		u.OnSuccess, u.OnFailure = destination(dc.OnSuccess), destination(dc.OnFailure)
	}
	cfg, err := a.opts.Functions.PutEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderEventInvoke(c, ref.Name, cfg))
}

func (a *API) getFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	cfg, err := a.opts.Functions.GetEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderEventInvoke(c, ref.Name, cfg))
}

func (a *API) deleteFunctionEventInvokeConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Functions.DeleteEventInvokeConfig(r.Context(), ref.Name, ref.Qualifier); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) listFunctionEventInvokeConfigs(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := function.Page{Marker: q.Get("Marker")}
	if s := q.Get("MaxItems"); s != "" {
		// The registry checks the upper bound (50); 0 would mean "absent" there.
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return invalidParameter("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1", s)
		}
		p.MaxItems = n
	}
	list, next, err := a.opts.Functions.ListEventInvokeConfigs(r.Context(), name, p)
	if err != nil {
		return err
	}
	out := listEventInvokeOut{FunctionEventInvokeConfigs: make([]eventInvokeOut, 0, len(list)), NextMarker: next}
	for _, cfg := range list {
		out.FunctionEventInvokeConfigs = append(out.FunctionEventInvokeConfigs, a.renderEventInvoke(c, name, cfg))
	}
	return writeJSON(w, http.StatusOK, out)
}
