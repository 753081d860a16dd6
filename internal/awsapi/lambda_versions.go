package awsapi

import (
	"net/http"

	"github.com/lamina-dev/lamina/internal/function"
)

func (a *API) publishVersion(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in publishVersionIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	v, err := a.opts.Functions.PublishVersion(r.Context(), name, function.PublishInput{
		CodeSha256:  in.CodeSha256,
		Description: in.Description,
		RevisionID:  in.RevisionId,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.renderConfig(c, v, configView{arnQualifier: v.Version}))
}

func (a *API) listVersionsByFunction(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	versions, next, err := a.opts.Functions.ListVersions(r.Context(), name, p)
	if err != nil {
		return err
	}
	out := listVersionsOut{Versions: make([]functionConfiguration, 0, len(versions)), NextMarker: next}
	for _, v := range versions {
		// Every entry's ARN is qualified, $LATEST's included (…:function:f:$LATEST).
		view := configView{arnQualifier: orDefault(v.Version, function.Latest), list: true}
		out.Versions = append(out.Versions, a.renderConfig(c, v, view))
	}
	return writeJSON(w, http.StatusOK, out)
}
