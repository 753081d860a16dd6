package awsapi

import (
	"net/http"
)

func (a *API) putFunctionConcurrency(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in putConcurrencyIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if in.ReservedConcurrentExecutions == nil {
		return invalidParameter("1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null")
	}
	if n := *in.ReservedConcurrentExecutions; n < 0 {
		return invalidParameter("1 validation error detected: Value '%d' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0", n)
	}
	n, err := a.opts.Functions.PutConcurrency(r.Context(), name, *in.ReservedConcurrentExecutions)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, concurrencyOut{ReservedConcurrentExecutions: &n})
}

func (a *API) getFunctionConcurrency(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	n, err := a.opts.Functions.GetConcurrency(r.Context(), name)
	if err != nil {
		return err
	}
	// {} when none is reserved, as AWS.
	return writeJSON(w, http.StatusOK, concurrencyOut{ReservedConcurrentExecutions: n})
}

func (a *API) deleteFunctionConcurrency(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Functions.DeleteConcurrency(r.Context(), name); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}
