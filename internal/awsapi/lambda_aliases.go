package awsapi

import (
	"net/http"

	"github.com/lamina-dev/lamina/internal/function"
)

func (a *API) createAlias(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in createAliasIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	al := function.Alias{
		FunctionName:    name,
		Name:            in.Name,
		FunctionVersion: in.FunctionVersion,
		Description:     in.Description,
	}
	if in.RoutingConfig != nil {
		al.AdditionalVersionWeights = in.RoutingConfig.AdditionalVersionWeights
	}
	out, err := a.opts.Functions.CreateAlias(r.Context(), name, al)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.renderAlias(c, withFunction(out, name)))
}

func (a *API) getAlias(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	out, err := a.opts.Functions.GetAlias(r.Context(), name, r.PathValue("Name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderAlias(c, withFunction(out, name)))
}

func (a *API) listAliases(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	aliases, next, err := a.opts.Functions.ListAliases(r.Context(), name, r.URL.Query().Get("FunctionVersion"), p)
	if err != nil {
		return err
	}
	out := listAliasesOut{Aliases: make([]aliasConfiguration, 0, len(aliases)), NextMarker: next}
	for _, al := range aliases {
		out.Aliases = append(out.Aliases, a.renderAlias(c, withFunction(al, name)))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) updateAlias(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in updateAliasIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	u := function.AliasUpdate{
		FunctionVersion: in.FunctionVersion,
		Description:     in.Description,
		RevisionID:      in.RevisionId,
	}
	if in.RoutingConfig != nil {
		// RoutingConfig:{} (no weights) removes the split.
		weights := in.RoutingConfig.AdditionalVersionWeights
		if weights == nil {
			weights = map[string]float64{}
		}
		u.AdditionalVersionWeights = &weights
	}
	out, err := a.opts.Functions.UpdateAlias(r.Context(), name, r.PathValue("Name"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderAlias(c, withFunction(out, name)))
}

func (a *API) deleteAlias(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Functions.DeleteAlias(r.Context(), name, r.PathValue("Name")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

// withFunction fills the alias's function name when the registry left it out.
func withFunction(al function.Alias, name string) function.Alias {
	if al.FunctionName == "" {
		al.FunctionName = name
	}
	return al
}
