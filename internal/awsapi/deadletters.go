package awsapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
)

// Lamina's own dead-letter API (JSON; errors in the same REST-JSON shape as
// the Lambda API):
//
//	GET  /_lamina/v1/dead-letters?function=F&limit=N  {"deadLetters":[record...],"truncated":bool}
//	GET  /_lamina/v1/dead-letters/{id}                record
//	POST /_lamina/v1/dead-letters/redrive             {"function":F,"ids":[...],"all":bool} → {"redriven":N}
//	POST /_lamina/v1/dead-letters/purge               {"function":F,"ids":[...],"all":bool} → {"purged":N}
//
// Records are listed oldest first. Redrive and purge act on every record
// only with "all": true, so a request that forgot its filter cannot replay
// or delete everything.

// DeadLetterService is what the dead-letter API needs: the dead-letter
// store's reads and purge, and the async service's redrive.
type DeadLetterService interface {
	List(ctx context.Context, f deadletter.Filter) ([]deadletter.Record, error)
	// Get returns a record or fault.NotFound.
	Get(ctx context.Context, id string) (*deadletter.Record, error)
	Purge(ctx context.Context, f deadletter.Filter) (int, error)
	// Redrive queues the selected records' events again and removes the
	// records, reporting how many.
	Redrive(ctx context.Context, f deadletter.Filter) (int, error)
}

// Listing limits: records carry payloads of up to 1 MiB, so a listing is
// bounded.
const (
	DeadLetterListDefault = 100
	DeadLetterListMax     = 1000
)

// deadLetterBodyLimit bounds a redrive or purge body (a list of IDs).
const deadLetterBodyLimit int64 = 1 << 20

func (a *API) routeDeadLetters() {
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"GET /_lamina/v1/dead-letters", "ListDeadLetters", a.listDeadLetters},
		{"GET /_lamina/v1/dead-letters/{id}", "GetDeadLetter", a.getDeadLetter},
		{"POST /_lamina/v1/dead-letters/redrive", "RedriveDeadLetters", a.redriveDeadLetters},
		{"POST /_lamina/v1/dead-letters/purge", "PurgeDeadLetters", a.purgeDeadLetters},
	} {
		a.mux.Handle(rt.pattern, a.handler(rt.op, deadLetterBodyLimit, rt.h))
	}
}

// deadLetters returns the service, or the error that says it is missing.
func (a *API) deadLetters() (DeadLetterService, error) {
	if a.opts.DeadLetters == nil {
		return nil, fault.New(fault.Unsupported, "The dead-letter store is not enabled on this server.")
	}
	return a.opts.DeadLetters, nil
}

type deadLetterList struct {
	DeadLetters []deadletter.Record `json:"deadLetters"`
	// Truncated says more records match than were returned.
	Truncated bool `json:"truncated"`
}

func (a *API) listDeadLetters(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.deadLetters()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := DeadLetterListDefault
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > DeadLetterListMax {
			return invalidParameter("limit must be a number from 1 to %d, not %q", DeadLetterListMax, s)
		}
		limit = n
	}
	// One more than asked tells whether there are more.
	recs, err := svc.List(r.Context(), deadletter.Filter{FunctionName: q.Get("function"), Limit: limit + 1})
	if err != nil {
		return err
	}
	out := deadLetterList{DeadLetters: recs, Truncated: len(recs) > limit}
	if out.Truncated {
		out.DeadLetters = recs[:limit]
	}
	if out.DeadLetters == nil {
		out.DeadLetters = []deadletter.Record{}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getDeadLetter(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.deadLetters()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	rec, err := svc.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if rec == nil {
		return fault.New(fault.NotFound, "dead letter %s not found", id)
	}
	return writeJSON(w, http.StatusOK, rec)
}

// deadLetterSelection is the body of redrive and purge.
type deadLetterSelection struct {
	Function string   `json:"function"`
	IDs      []string `json:"ids"`
	All      bool     `json:"all"`
}

// filter checks the selection: it must name a function or IDs, or say
// "all" and nothing else.
func (s *deadLetterSelection) filter(verb string) (deadletter.Filter, error) {
	named := s.Function != "" || len(s.IDs) > 0
	switch {
	case s.All && named:
		return deadletter.Filter{}, invalidParameter(`"all" cannot be combined with "function" or "ids"`)
	case !s.All && !named:
		return deadletter.Filter{}, invalidParameter(`name the dead letters to %s with "function" or "ids", or set "all": true for every one`, verb)
	}
	for _, id := range s.IDs {
		if id == "" {
			return deadletter.Filter{}, invalidParameter(`"ids" must not contain an empty ID`)
		}
	}
	return deadletter.Filter{FunctionName: s.Function, IDs: s.IDs}, nil
}

func (a *API) redriveDeadLetters(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.deadLetters()
	if err != nil {
		return err
	}
	var in deadLetterSelection
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	f, err := in.filter("redrive")
	if err != nil {
		return err
	}
	n, err := svc.Redrive(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"redriven": n})
}

func (a *API) purgeDeadLetters(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.deadLetters()
	if err != nil {
		return err
	}
	var in deadLetterSelection
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	f, err := in.filter("purge")
	if err != nil {
		return err
	}
	n, err := svc.Purge(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"purged": n})
}
