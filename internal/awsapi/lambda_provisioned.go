package awsapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
)

// Provisioned concurrency: /2019-09-30/functions/{FunctionName}/provisioned-concurrency
// (?Qualifier= for Put, Get and Delete; ?List=ALL for List, on the same
// path as Get).

type putProvisionedIn struct {
	ProvisionedConcurrentExecutions *int `json:"ProvisionedConcurrentExecutions"`
}

type provisionedOut struct {
	RequestedProvisionedConcurrentExecutions int    `json:"RequestedProvisionedConcurrentExecutions"`
	AvailableProvisionedConcurrentExecutions int    `json:"AvailableProvisionedConcurrentExecutions"`
	AllocatedProvisionedConcurrentExecutions int    `json:"AllocatedProvisionedConcurrentExecutions"`
	Status                                   string `json:"Status"`
	StatusReason                             string `json:"StatusReason,omitempty"`
	LastModified                             string `json:"LastModified,omitempty"`
	// FunctionArn is set in list items only.
	FunctionArn string `json:"FunctionArn,omitempty"`
}

type listProvisionedOut struct {
	ProvisionedConcurrencyConfigs []provisionedOut `json:"ProvisionedConcurrencyConfigs"`
	NextMarker                    string           `json:"NextMarker,omitempty"`
}

func renderProvisioned(st invoke.ProvisionedStatus) provisionedOut {
	out := provisionedOut{
		RequestedProvisionedConcurrentExecutions: st.Requested,
		AvailableProvisionedConcurrentExecutions: st.Available,
		AllocatedProvisionedConcurrentExecutions: st.Allocated,
		Status:                                   st.Status,
		StatusReason:                             st.StatusReason,
	}
	if !st.LastModified.IsZero() {
		out.LastModified = formatLastModified(st.LastModified)
	}
	return out
}

// provisionedError renders "no setting for this qualifier" as its own
// exception; everything else as usual.
func provisionedError(err error) error {
	if errors.Is(err, function.ErrNoProvisionedConfig) {
		return newAPIError(errProvisionedConfigNotFound, "No Provisioned Concurrency Config found for this function")
	}
	return err
}

// provisionedTarget resolves {FunctionName} with ?Qualifier=, which these
// operations require.
func (a *API) provisionedTarget(r *http.Request, c *call) (function.Ref, error) {
	if a.opts.Invoker == nil {
		return function.Ref{}, errNoInvoker()
	}
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return ref, err
	}
	if ref.Qualifier == "" {
		return ref, invalidParameter("1 validation error detected: Value null at 'qualifier' failed to satisfy constraint: Member must not be null")
	}
	return ref, nil
}

func (a *API) putProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.provisionedTarget(r, c)
	if err != nil {
		return err
	}
	var in putProvisionedIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if in.ProvisionedConcurrentExecutions == nil {
		return invalidParameter("1 validation error detected: Value null at 'provisionedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	st, err := a.opts.Invoker.PutProvisioned(r.Context(), ref.Name, ref.Qualifier, *in.ProvisionedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, renderProvisioned(st))
}

// getProvisionedConcurrencyConfig serves GetProvisionedConcurrencyConfig
// and, with ?List=ALL, ListProvisionedConcurrencyConfigs.
func (a *API) getProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.URL.Query().Get("List") == "ALL" {
		return a.listProvisionedConcurrencyConfigs(w, r, c)
	}
	ref, err := a.provisionedTarget(r, c)
	if err != nil {
		return err
	}
	st, err := a.opts.Invoker.GetProvisioned(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return provisionedError(err)
	}
	return writeJSON(w, http.StatusOK, renderProvisioned(st))
}

func (a *API) listProvisionedConcurrencyConfigs(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.opts.Invoker == nil {
		return errNoInvoker()
	}
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	p := function.Page{Marker: q.Get("Marker")}
	if s := q.Get("MaxItems"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			return invalidParameter("1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 50", s)
		}
		p.MaxItems = n
	}
	list, next, err := a.opts.Invoker.ListProvisioned(r.Context(), name, p)
	if err != nil {
		return err
	}
	out := listProvisionedOut{ProvisionedConcurrencyConfigs: make([]provisionedOut, 0, len(list)), NextMarker: next}
	for _, st := range list {
		item := renderProvisioned(st)
		item.FunctionArn = a.functionARN(c, name, st.Qualifier)
		out.ProvisionedConcurrencyConfigs = append(out.ProvisionedConcurrencyConfigs, item)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteProvisionedConcurrencyConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.provisionedTarget(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Invoker.DeleteProvisioned(r.Context(), ref.Name, ref.Qualifier); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}
