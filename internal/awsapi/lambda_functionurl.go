package awsapi

import (
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/function"
)

// Function URLs (FunctionUrlConfig): /2021-10-31/functions/{FunctionName}/url
// ?Qualifier= (POST creates, 201; GET; PUT updates; DELETE, 204) and
// /2021-10-31/functions/{FunctionName}/urls (list). The gateway listener
// serves the URLs themselves (package gateway, functionurl.go).

// corsJSON is Lambda's Cors shape; pointers and omitempty keep members the
// caller did not set absent from answers, as AWS does.
type corsJSON struct {
	AllowCredentials *bool    `json:"AllowCredentials,omitempty"`
	AllowHeaders     []string `json:"AllowHeaders,omitempty"`
	AllowMethods     []string `json:"AllowMethods,omitempty"`
	AllowOrigins     []string `json:"AllowOrigins,omitempty"`
	ExposeHeaders    []string `json:"ExposeHeaders,omitempty"`
	MaxAge           *int     `json:"MaxAge,omitempty"`
}

type functionURLIn struct {
	AuthType   *string   `json:"AuthType"`
	Cors       *corsJSON `json:"Cors"`
	InvokeMode *string   `json:"InvokeMode"`
}

type functionURLOut struct {
	FunctionUrl string    `json:"FunctionUrl"`
	FunctionArn string    `json:"FunctionArn"`
	AuthType    string    `json:"AuthType"`
	Cors        *corsJSON `json:"Cors,omitempty"`
	// CreationTime and LastModifiedTime are ISO-8601 strings (not the
	// epoch-seconds timestamps of other Lambda shapes).
	CreationTime string `json:"CreationTime"`
	// LastModifiedTime is not a member of CreateFunctionUrlConfig's output.
	LastModifiedTime string `json:"LastModifiedTime,omitempty"`
	InvokeMode       string `json:"InvokeMode"`
}

type listFunctionURLsOut struct {
	FunctionUrlConfigs []functionURLOut `json:"FunctionUrlConfigs"`
	NextMarker         string           `json:"NextMarker,omitempty"`
}

// functionURLTimeLayout is how Lambda writes a URL config's times
// ("2021-12-06T16:33:30.118734Z").
const functionURLTimeLayout = "2006-01-02T15:04:05.000000Z"

func (a *API) renderFunctionURL(c *call, name string, cfg function.FunctionURLConfig, withModified bool) functionURLOut {
	q := cfg.Qualifier
	if q == function.Latest {
		// The usual URL, of the unqualified function, reports its
		// unqualified ARN.
		q = ""
	}
	out := functionURLOut{
		FunctionUrl:  a.opts.Functions.FunctionURL(cfg.URLID, c.region),
		FunctionArn:  a.functionARN(c, name, q),
		AuthType:     cfg.AuthType,
		CreationTime: cfg.CreationTime.UTC().Format(functionURLTimeLayout),
		InvokeMode:   cfg.InvokeMode,
	}
	if withModified {
		out.LastModifiedTime = cfg.LastModifiedTime.UTC().Format(functionURLTimeLayout)
	}
	if cc := cfg.Cors; cc != nil {
		out.Cors = &corsJSON{
			AllowCredentials: cc.AllowCredentials,
			AllowHeaders:     cc.AllowHeaders,
			AllowMethods:     cc.AllowMethods,
			AllowOrigins:     cc.AllowOrigins,
			ExposeHeaders:    cc.ExposeHeaders,
			MaxAge:           cc.MaxAge,
		}
	}
	return out
}

func (in functionURLIn) input() function.FunctionURLInput {
	out := function.FunctionURLInput{AuthType: in.AuthType, InvokeMode: in.InvokeMode}
	if cc := in.Cors; cc != nil {
		out.Cors = &function.FunctionURLCors{
			AllowCredentials: cc.AllowCredentials,
			AllowHeaders:     cc.AllowHeaders,
			AllowMethods:     cc.AllowMethods,
			AllowOrigins:     cc.AllowOrigins,
			ExposeHeaders:    cc.ExposeHeaders,
			MaxAge:           cc.MaxAge,
		}
	}
	return out
}

func (a *API) createFunctionURLConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	var in functionURLIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	cfg, err := a.opts.Functions.CreateFunctionURL(r.Context(), ref.Name, ref.Qualifier, in.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.renderFunctionURL(c, ref.Name, cfg, false))
}

func (a *API) getFunctionURLConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	cfg, err := a.opts.Functions.GetFunctionURL(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderFunctionURL(c, ref.Name, cfg, true))
}

func (a *API) updateFunctionURLConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	var in functionURLIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	cfg, err := a.opts.Functions.UpdateFunctionURL(r.Context(), ref.Name, ref.Qualifier, in.input())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderFunctionURL(c, ref.Name, cfg, true))
}

func (a *API) deleteFunctionURLConfig(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Functions.DeleteFunctionURL(r.Context(), ref.Name, ref.Qualifier); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) listFunctionURLConfigs(w http.ResponseWriter, r *http.Request, c *call) error {
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
	list, next, err := a.opts.Functions.ListFunctionURLs(r.Context(), name, p)
	if err != nil {
		return err
	}
	out := listFunctionURLsOut{FunctionUrlConfigs: make([]functionURLOut, 0, len(list)), NextMarker: next}
	for _, cfg := range list {
		out.FunctionUrlConfigs = append(out.FunctionUrlConfigs, a.renderFunctionURL(c, name, cfg, true))
	}
	return writeJSON(w, http.StatusOK, out)
}
