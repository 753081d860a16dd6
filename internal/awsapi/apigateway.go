package awsapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// The API Gateway v2 (HTTP API) control plane: restJson1 under /v2/
// (paths, members and success codes from the apigatewayv2 model) over the
// gateway service. Errors are {"message": ...} with x-amzn-ErrorType.

// GatewayService is what the v2 control plane needs of the gateway
// service; *gateway.Service satisfies it.
type GatewayService interface {
	Endpoint(apiID string) string
	APIARN(apiID string) string

	CreateAPI(ctx context.Context, in gateway.CreateAPIInput) (*gateway.APIDoc, error)
	GetAPI(ctx context.Context, id string) (*gateway.APIDoc, error)
	GetAPIs(ctx context.Context, p gateway.Page) ([]*gateway.APIDoc, string, error)
	UpdateAPI(ctx context.Context, in gateway.UpdateAPIInput) (*gateway.APIDoc, error)
	DeleteAPI(ctx context.Context, id string) error
	DeleteCorsConfiguration(ctx context.Context, id string) error

	TagResource(ctx context.Context, arn string, tags map[string]string) error
	UntagResource(ctx context.Context, arn string, keys []string) error
	GetTags(ctx context.Context, arn string) (map[string]string, error)

	CreateRoute(ctx context.Context, in gateway.RouteInput) (*gateway.Route, error)
	GetRoute(ctx context.Context, apiID, routeID string) (*gateway.Route, error)
	GetRoutes(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Route, string, error)
	UpdateRoute(ctx context.Context, in gateway.RouteInput) (*gateway.Route, error)
	DeleteRoute(ctx context.Context, apiID, routeID string) error

	CreateIntegration(ctx context.Context, in gateway.IntegrationInput) (*gateway.Integration, error)
	GetIntegration(ctx context.Context, apiID, id string) (*gateway.Integration, error)
	GetIntegrations(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Integration, string, error)
	UpdateIntegration(ctx context.Context, in gateway.IntegrationInput) (*gateway.Integration, error)
	DeleteIntegration(ctx context.Context, apiID, id string) error

	CreateStage(ctx context.Context, in gateway.StageInput) (*gateway.Stage, error)
	GetStage(ctx context.Context, apiID, name string) (*gateway.Stage, error)
	GetStages(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Stage, string, error)
	UpdateStage(ctx context.Context, in gateway.StageInput) (*gateway.Stage, error)
	DeleteStage(ctx context.Context, apiID, name string) error

	CreateAuthorizer(ctx context.Context, in gateway.AuthorizerInput) (*gateway.Authorizer, error)
	GetAuthorizer(ctx context.Context, apiID, id string) (*gateway.Authorizer, error)
	GetAuthorizers(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Authorizer, string, error)
	UpdateAuthorizer(ctx context.Context, in gateway.AuthorizerInput) (*gateway.Authorizer, error)
	DeleteAuthorizer(ctx context.Context, apiID, id string) error

	CreateModel(ctx context.Context, in gateway.ModelInput) (*gateway.Model, error)
	GetModel(ctx context.Context, apiID, id string) (*gateway.Model, error)
	GetModels(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Model, string, error)
	UpdateModel(ctx context.Context, in gateway.ModelInput) (*gateway.Model, error)
	DeleteModel(ctx context.Context, apiID, id string) error

	CreateDeployment(ctx context.Context, in gateway.DeploymentInput) (*gateway.Deployment, error)
	GetDeployment(ctx context.Context, apiID, id string) (*gateway.Deployment, error)
	GetDeployments(ctx context.Context, apiID string, p gateway.Page) ([]gateway.Deployment, string, error)
	DeleteDeployment(ctx context.Context, apiID, id string) error
}

var _ GatewayService = (*gateway.Service)(nil)

// The v2 catalogue of wire errors (the model's shapes; message member "message").
var (
	errGWBadRequest = &wireError{"BadRequestException", http.StatusBadRequest, "User", "message"}
	errGWNotFound   = &wireError{"NotFoundException", http.StatusNotFound, "User", "message"}
	errGWConflict   = &wireError{"ConflictException", http.StatusConflict, "User", "message"}
	errGWThrottled  = &wireError{"TooManyRequestsException", http.StatusTooManyRequests, "User", "message"}
	// Not modeled: a generic 500 the SDKs report as an unknown error.
	errGWInternal = &wireError{"InternalServerErrorException", http.StatusInternalServerError, "Service", "message"}
)

var gwByKind = map[fault.Kind]*wireError{
	fault.Invalid:            errGWBadRequest,
	fault.InvalidContent:     errGWBadRequest,
	fault.NotFound:           errGWNotFound,
	fault.Conflict:           errGWConflict,
	fault.PreconditionFailed: errGWConflict,
	fault.TooLarge:           errGWBadRequest,
	fault.Throttled:          errGWThrottled,
	fault.Unsupported:        errGWBadRequest,
}

const gatewayBodyLimit int64 = 1 << 20

// routeGateway registers the API Gateway v2 control plane.
func (a *API) routeGateway() {
	const api = "/v2/apis/{apiId}"
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"POST /v2/apis", "CreateApi", a.gwCreateAPI},
		{"GET /v2/apis", "GetApis", a.gwGetAPIs},
		{"GET " + api, "GetApi", a.gwGetAPI},
		{"PATCH " + api, "UpdateApi", a.gwUpdateAPI},
		{"DELETE " + api, "DeleteApi", a.gwDeleteAPI},
		{"DELETE " + api + "/cors", "DeleteCorsConfiguration", a.gwDeleteCors},

		{"POST " + api + "/routes", "CreateRoute", a.gwCreateRoute},
		{"GET " + api + "/routes", "GetRoutes", a.gwGetRoutes},
		{"GET " + api + "/routes/{id}", "GetRoute", a.gwGetRoute},
		{"PATCH " + api + "/routes/{id}", "UpdateRoute", a.gwUpdateRoute},
		{"DELETE " + api + "/routes/{id}", "DeleteRoute", a.gwDeleteRoute},

		{"POST " + api + "/integrations", "CreateIntegration", a.gwCreateIntegration},
		{"GET " + api + "/integrations", "GetIntegrations", a.gwGetIntegrations},
		{"GET " + api + "/integrations/{id}", "GetIntegration", a.gwGetIntegration},
		{"PATCH " + api + "/integrations/{id}", "UpdateIntegration", a.gwUpdateIntegration},
		{"DELETE " + api + "/integrations/{id}", "DeleteIntegration", a.gwDeleteIntegration},

		{"POST " + api + "/stages", "CreateStage", a.gwCreateStage},
		{"GET " + api + "/stages", "GetStages", a.gwGetStages},
		{"GET " + api + "/stages/{id}", "GetStage", a.gwGetStage},
		{"PATCH " + api + "/stages/{id}", "UpdateStage", a.gwUpdateStage},
		{"DELETE " + api + "/stages/{id}", "DeleteStage", a.gwDeleteStage},

		{"POST " + api + "/authorizers", "CreateAuthorizer", a.gwCreateAuthorizer},
		{"GET " + api + "/authorizers", "GetAuthorizers", a.gwGetAuthorizers},
		{"GET " + api + "/authorizers/{id}", "GetAuthorizer", a.gwGetAuthorizer},
		{"PATCH " + api + "/authorizers/{id}", "UpdateAuthorizer", a.gwUpdateAuthorizer},
		{"DELETE " + api + "/authorizers/{id}", "DeleteAuthorizer", a.gwDeleteAuthorizer},

		{"POST " + api + "/models", "CreateModel", a.gwCreateModel},
		{"GET " + api + "/models", "GetModels", a.gwGetModels},
		{"GET " + api + "/models/{id}", "GetModel", a.gwGetModel},
		{"PATCH " + api + "/models/{id}", "UpdateModel", a.gwUpdateModel},
		{"DELETE " + api + "/models/{id}", "DeleteModel", a.gwDeleteModel},

		{"POST " + api + "/deployments", "CreateDeployment", a.gwCreateDeployment},
		{"GET " + api + "/deployments", "GetDeployments", a.gwGetDeployments},
		{"GET " + api + "/deployments/{id}", "GetDeployment", a.gwGetDeployment},
		{"DELETE " + api + "/deployments/{id}", "DeleteDeployment", a.gwDeleteDeployment},

		// The ARN's '/' arrives as %2F, inside one path segment.
		{"POST /v2/tags/{arn}", "TagResource", a.gwTagResource},
		{"GET /v2/tags/{arn}", "GetTags", a.gwGetTags},
		{"DELETE /v2/tags/{arn}", "UntagResource", a.gwUntagResource},
	} {
		a.mux.Handle(rt.pattern, a.wrap(rt.op, gatewayBodyLimit, a.gatewayEnabled(rt.h), a.renderGatewayError))
	}
}

// gatewayEnabled answers every operation with a clear error when the
// edge has no gateway service.
func (a *API) gatewayEnabled(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if a.opts.Gateway == nil {
			return newAPIError(errGWBadRequest, "API Gateway is not enabled on this Lamina server.")
		}
		return h(w, r, c)
	}
}

// renderGatewayError writes err in API Gateway's error shape.
func (a *API) renderGatewayError(w http.ResponseWriter, c *call, err error) {
	wire, message := errGWInternal, internalMessage
	var ae *apiError
	var fe *fault.Error
	switch {
	case errors.As(err, &ae):
		wire, message = ae.wire, ae.message
		if wire.Status < 500 && wire.Status != http.StatusNotFound {
			// The shared catalogue's caller errors (a body too large, ...)
			// become the one v2 shape for them.
			wire = errGWBadRequest
		} else if wire.Status == http.StatusNotFound {
			wire = errGWNotFound
		}
	case errors.As(err, &fe) && fe.Kind != fault.Internal:
		if k, ok := gwByKind[fe.Kind]; ok {
			wire, message = k, fe.Message
		}
	}
	a.writeWireError(w, c, wire, "application/json", map[string]string{"message": message}, err)
}

// gwPage reads maxResults (a string in the model) and nextToken.
func gwPage(r *http.Request) (gateway.Page, error) {
	q := r.URL.Query()
	p := gateway.Page{NextToken: q.Get("nextToken")}
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, fault.New(fault.Invalid, "Invalid maxResults %q: must be a positive integer", s)
		}
		p.MaxResults = n
	}
	return p, nil
}

// ---- APIs

func (a *API) apiOutput(d *gateway.APIDoc) apiOutput {
	x := &d.API
	return apiOutput{
		APIEndpoint: a.opts.Gateway.Endpoint(x.ID), APIID: x.ID,
		APIKeySelectionExpression: "$request.header.x-api-key", CorsConfiguration: toCorsWire(x.Cors),
		CreatedDate: isoTime(x.CreatedDate), Description: x.Description, DisableExecuteAPIEndpoint: x.DisableExecuteAPIEndpoint,
		IPAddressType: "ipv4", Name: x.Name, ProtocolType: x.ProtocolType,
		RouteSelectionExpression: "${request.method} ${request.path}", Tags: x.Tags, Version: x.Version,
	}
}

func (a *API) gwCreateAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createAPIRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	d, err := a.opts.Gateway.CreateAPI(r.Context(), gateway.CreateAPIInput{
		Name: req.Name, ProtocolType: req.ProtocolType, Description: req.Description, Version: req.Version,
		Tags: req.Tags, Cors: req.CorsConfiguration.cors(), DisableExecuteAPIEndpoint: req.DisableExecuteAPIEndpoint,
		Target: req.Target, RouteKey: req.RouteKey, CredentialsArn: req.CredentialsArn,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.apiOutput(d))
}

func (a *API) gwGetAPI(w http.ResponseWriter, r *http.Request, _ *call) error {
	d, err := a.opts.Gateway.GetAPI(r.Context(), r.PathValue("apiId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.apiOutput(d))
}

func (a *API) gwGetAPIs(w http.ResponseWriter, r *http.Request, _ *call) error {
	p, err := gwPage(r)
	if err != nil {
		return err
	}
	docs, next, err := a.opts.Gateway.GetAPIs(r.Context(), p)
	if err != nil {
		return err
	}
	out := listOutput[apiOutput]{Items: make([]apiOutput, len(docs)), NextToken: next}
	for i, d := range docs {
		out.Items[i] = a.apiOutput(d)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) gwUpdateAPI(w http.ResponseWriter, r *http.Request, c *call) error {
	var req updateAPIRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if req.Target != nil || req.RouteKey != nil {
		return fault.New(fault.Unsupported, "Updating the quick-create target or routeKey is not supported by Lamina yet")
	}
	d, err := a.opts.Gateway.UpdateAPI(r.Context(), gateway.UpdateAPIInput{
		APIID: r.PathValue("apiId"), Name: req.Name, Description: req.Description, Version: req.Version,
		Cors: req.CorsConfiguration.cors(), DisableExecuteAPIEndpoint: req.DisableExecuteAPIEndpoint,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.apiOutput(d))
}

func (a *API) gwDeleteAPI(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Gateway.DeleteAPI(r.Context(), r.PathValue("apiId")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) gwDeleteCors(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Gateway.DeleteCorsConfiguration(r.Context(), r.PathValue("apiId")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

// ---- tags

func (a *API) gwTagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	var req tagsBody
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if err := a.opts.Gateway.TagResource(r.Context(), r.PathValue("arn"), req.Tags); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, struct{}{})
}

func (a *API) gwGetTags(w http.ResponseWriter, r *http.Request, _ *call) error {
	tags, err := a.opts.Gateway.GetTags(r.Context(), r.PathValue("arn"))
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return writeJSON(w, http.StatusOK, tagsBody{Tags: tags})
}

func (a *API) gwUntagResource(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.Gateway.UntagResource(r.Context(), r.PathValue("arn"), r.URL.Query()["tagKeys"]); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

// ---- routes

func (req *routeRequest) input(apiID, routeID string) gateway.RouteInput {
	in := gateway.RouteInput{
		APIID: apiID, RouteID: routeID, RouteKey: req.RouteKey, Target: req.Target,
		AuthorizationType: req.AuthorizationType, AuthorizerID: req.AuthorizerID,
		AuthorizationScopes: req.AuthorizationScopes, APIKeyRequired: req.APIKeyRequired, RequestModels: req.RequestModels,
	}
	if req.RequestParameters != nil {
		in.RequestParameters = make(map[string]bool, len(req.RequestParameters))
		for k, v := range req.RequestParameters {
			in.RequestParameters[k] = v.Required
		}
	}
	return in
}

func (a *API) gwCreateRoute(w http.ResponseWriter, r *http.Request, c *call) error {
	var req routeRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	rt, err := a.opts.Gateway.CreateRoute(r.Context(), req.input(r.PathValue("apiId"), ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toRouteOutput(rt))
}

func (a *API) gwUpdateRoute(w http.ResponseWriter, r *http.Request, c *call) error {
	var req routeRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	rt, err := a.opts.Gateway.UpdateRoute(r.Context(), req.input(r.PathValue("apiId"), r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRouteOutput(rt))
}

func (a *API) gwGetRoute(w http.ResponseWriter, r *http.Request, _ *call) error {
	rt, err := a.opts.Gateway.GetRoute(r.Context(), r.PathValue("apiId"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toRouteOutput(rt))
}

func (a *API) gwGetRoutes(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetRoutes, toRouteOutput)
}

func (a *API) gwDeleteRoute(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteRoute)
}

// gwList serves a Get* list of an API's resources.
func gwList[T, U any](w http.ResponseWriter, r *http.Request, list func(context.Context, string, gateway.Page) ([]T, string, error), conv func(*T) U) error {
	p, err := gwPage(r)
	if err != nil {
		return err
	}
	items, next, err := list(r.Context(), r.PathValue("apiId"), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, listOutput[U]{Items: mapList(items, conv), NextToken: next})
}

// gwDelete serves a Delete* of an API's resource named by {id}.
func gwDelete(w http.ResponseWriter, r *http.Request, del func(context.Context, string, string) error) error {
	if err := del(r.Context(), r.PathValue("apiId"), r.PathValue("id")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

// gwGet serves a Get* of an API's resource named by {id}.
func gwGet[T, U any](w http.ResponseWriter, r *http.Request, get func(context.Context, string, string) (*T, error), conv func(*T) U) error {
	v, err := get(r.Context(), r.PathValue("apiId"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, conv(v))
}

// ---- integrations

func (req *integrationRequest) input(apiID, id string) gateway.IntegrationInput {
	return gateway.IntegrationInput{
		APIID: apiID, IntegrationID: id, IntegrationType: req.IntegrationType, IntegrationURI: req.IntegrationURI,
		PayloadFormatVersion: req.PayloadFormatVersion, TimeoutInMillis: req.TimeoutInMillis, Description: req.Description,
	}
}

func (a *API) gwCreateIntegration(w http.ResponseWriter, r *http.Request, c *call) error {
	var req integrationRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	ig, err := a.opts.Gateway.CreateIntegration(r.Context(), req.input(r.PathValue("apiId"), ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toIntegrationOutput(ig))
}

func (a *API) gwUpdateIntegration(w http.ResponseWriter, r *http.Request, c *call) error {
	var req integrationRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	ig, err := a.opts.Gateway.UpdateIntegration(r.Context(), req.input(r.PathValue("apiId"), r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toIntegrationOutput(ig))
}

func (a *API) gwGetIntegration(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwGet(w, r, a.opts.Gateway.GetIntegration, toIntegrationOutput)
}

func (a *API) gwGetIntegrations(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetIntegrations, toIntegrationOutput)
}

func (a *API) gwDeleteIntegration(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteIntegration)
}

// ---- stages

func (req *stageRequest) input(apiID, name string) gateway.StageInput {
	in := gateway.StageInput{
		APIID: apiID, StageName: name, AutoDeploy: req.AutoDeploy, DeploymentID: req.DeploymentID,
		Description: req.Description, StageVariables: req.StageVariables, Tags: req.Tags,
	}
	if req.DefaultRouteSettings != nil {
		s := req.DefaultRouteSettings.settings()
		in.DefaultRouteSettings = &s
	}
	if req.RouteSettings != nil {
		in.RouteSettings = make(map[string]gateway.RouteSettings, len(req.RouteSettings))
		for k, v := range req.RouteSettings {
			in.RouteSettings[k] = v.settings()
		}
	}
	return in
}

func (a *API) gwCreateStage(w http.ResponseWriter, r *http.Request, c *call) error {
	var req stageRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	st, err := a.opts.Gateway.CreateStage(r.Context(), req.input(r.PathValue("apiId"), req.StageName))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toStageOutput(st))
}

func (a *API) gwUpdateStage(w http.ResponseWriter, r *http.Request, c *call) error {
	var req stageRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	in := req.input(r.PathValue("apiId"), r.PathValue("id"))
	in.Tags = nil // not an UpdateStage member
	st, err := a.opts.Gateway.UpdateStage(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toStageOutput(st))
}

func (a *API) gwGetStage(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwGet(w, r, a.opts.Gateway.GetStage, toStageOutput)
}

func (a *API) gwGetStages(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetStages, toStageOutput)
}

func (a *API) gwDeleteStage(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteStage)
}

// ---- authorizers

func (req *authorizerRequest) input(apiID, id string) gateway.AuthorizerInput {
	in := gateway.AuthorizerInput{
		APIID: apiID, AuthorizerID: id, Name: req.Name, AuthorizerType: req.AuthorizerType,
		IdentitySource: req.IdentitySource, AuthorizerURI: req.AuthorizerURI,
		PayloadFormatVersion: req.AuthorizerPayloadFormatVersion, EnableSimpleResponses: req.EnableSimpleResponses,
		ResultTTLSeconds: req.AuthorizerResultTTLInSeconds, IdentityValidationExpression: req.IdentityValidationExpression,
	}
	if j := req.JWTConfiguration; j != nil {
		in.Issuer, in.Audience = j.Issuer, j.Audience
	}
	return in
}

func (a *API) gwCreateAuthorizer(w http.ResponseWriter, r *http.Request, c *call) error {
	var req authorizerRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	au, err := a.opts.Gateway.CreateAuthorizer(r.Context(), req.input(r.PathValue("apiId"), ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toAuthorizerOutput(au))
}

func (a *API) gwUpdateAuthorizer(w http.ResponseWriter, r *http.Request, c *call) error {
	var req authorizerRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	au, err := a.opts.Gateway.UpdateAuthorizer(r.Context(), req.input(r.PathValue("apiId"), r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAuthorizerOutput(au))
}

func (a *API) gwGetAuthorizer(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwGet(w, r, a.opts.Gateway.GetAuthorizer, toAuthorizerOutput)
}

func (a *API) gwGetAuthorizers(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetAuthorizers, toAuthorizerOutput)
}

func (a *API) gwDeleteAuthorizer(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteAuthorizer)
}

// ---- models

func (req *modelRequest) input(apiID, id string) gateway.ModelInput {
	return gateway.ModelInput{
		APIID: apiID, ModelID: id, Name: req.Name, ContentType: req.ContentType, Schema: req.Schema, Description: req.Description,
	}
}

func (a *API) gwCreateModel(w http.ResponseWriter, r *http.Request, c *call) error {
	var req modelRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	m, err := a.opts.Gateway.CreateModel(r.Context(), req.input(r.PathValue("apiId"), ""))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toModelOutput(m))
}

func (a *API) gwUpdateModel(w http.ResponseWriter, r *http.Request, c *call) error {
	var req modelRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	m, err := a.opts.Gateway.UpdateModel(r.Context(), req.input(r.PathValue("apiId"), r.PathValue("id")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toModelOutput(m))
}

func (a *API) gwGetModel(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwGet(w, r, a.opts.Gateway.GetModel, toModelOutput)
}

func (a *API) gwGetModels(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetModels, toModelOutput)
}

func (a *API) gwDeleteModel(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteModel)
}

// ---- deployments

func (a *API) gwCreateDeployment(w http.ResponseWriter, r *http.Request, c *call) error {
	var req deploymentRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	d, err := a.opts.Gateway.CreateDeployment(r.Context(), gateway.DeploymentInput{
		APIID: r.PathValue("apiId"), Description: req.Description, StageName: req.StageName,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, toDeploymentOutput(d))
}

func (a *API) gwGetDeployment(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwGet(w, r, a.opts.Gateway.GetDeployment, toDeploymentOutput)
}

func (a *API) gwGetDeployments(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwList(w, r, a.opts.Gateway.GetDeployments, toDeploymentOutput)
}

func (a *API) gwDeleteDeployment(w http.ResponseWriter, r *http.Request, _ *call) error {
	return gwDelete(w, r, a.opts.Gateway.DeleteDeployment)
}
