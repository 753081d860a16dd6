package gateway

import (
	"context"
	"sort"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway/route"
)

// RouteInput is CreateRoute's and UpdateRoute's request; nil members are
// absent (left unchanged by an update). RouteKey is required on create.
type RouteInput struct {
	APIID   string
	RouteID string // update only
	// RouteKey: "METHOD /path", "ANY /path" or "$default".
	RouteKey *string
	// Target: "integrations/{integrationId}" ("" removes it).
	Target              *string
	AuthorizationType   *string
	AuthorizerID        *string
	AuthorizationScopes []string
	APIKeyRequired      *bool
	RequestModels       map[string]string
	RequestParameters   map[string]bool
}

// IntegrationInput is CreateIntegration's and UpdateIntegration's request;
// nil members are absent.
type IntegrationInput struct {
	APIID         string
	IntegrationID string // update only
	// IntegrationType must be AWS_PROXY (required on create).
	IntegrationType *string
	// IntegrationURI is a function ARN, bare or in the long
	// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations form.
	IntegrationURI       *string
	PayloadFormatVersion *string // "1.0" or "2.0", required on create
	TimeoutInMillis      *int
	Description          *string
}

// ---- routes

// CreateRoute adds a route.
func (s *Service) CreateRoute(ctx context.Context, in RouteInput) (*Route, error) {
	if in.RouteKey == nil || *in.RouteKey == "" {
		return nil, badRequest("RouteKey is required")
	}
	var out Route
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		if len(d.Routes) >= maxRoutes {
			return badRequest("Maximum number of Routes for this API has been reached (%d)", maxRoutes)
		}
		r := Route{ID: newSubID(d.Routes), AuthorizationType: AuthNone}
		if err := in.applyTo(&r); err != nil {
			return err
		}
		if err := validRoute(d, r); err != nil {
			return err
		}
		if d.Routes == nil {
			d.Routes = map[string]Route{}
		}
		d.Routes[r.ID] = r
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateRoute changes the members set in in.
func (s *Service) UpdateRoute(ctx context.Context, in RouteInput) (*Route, error) {
	var out Route
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		r, ok := d.Routes[in.RouteID]
		if !ok {
			return routeNotFound(in.RouteID)
		}
		if r.Managed {
			return errManaged("Route")
		}
		if err := in.applyTo(&r); err != nil {
			return err
		}
		if err := validRoute(d, r); err != nil {
			return err
		}
		d.Routes[r.ID] = r
		out = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (in RouteInput) applyTo(r *Route) error {
	setIf(&r.Key, in.RouteKey)
	if in.Target != nil {
		switch id, ok := strings.CutPrefix(*in.Target, "integrations/"); {
		case *in.Target == "":
			r.IntegrationID = ""
		case !ok || id == "":
			return badRequest("Invalid target %q: must be integrations/{integrationId}", *in.Target)
		default:
			r.IntegrationID = id
		}
	}
	setIf(&r.AuthorizationType, in.AuthorizationType)
	setIf(&r.AuthorizerID, in.AuthorizerID)
	if in.AuthorizationScopes != nil {
		r.AuthorizationScopes = in.AuthorizationScopes
	}
	setIf(&r.APIKeyRequired, in.APIKeyRequired)
	if in.RequestModels != nil {
		r.RequestModels = in.RequestModels
	}
	if in.RequestParameters != nil {
		r.RequestParameters = in.RequestParameters
	}
	if r.AuthorizationType == "" {
		r.AuthorizationType = AuthNone
	}
	return nil
}

// validRoute checks r against the rest of the API.
func validRoute(d *APIDoc, r Route) error {
	if err := validRouteKey(r.Key); err != nil {
		return err
	}
	for _, o := range d.Routes {
		if o.ID != r.ID && o.Key == r.Key {
			return fault.New(fault.Conflict, "Route with key %s already exists for this API", r.Key)
		}
	}
	if r.IntegrationID != "" && !hasKey(d.Integrations, r.IntegrationID) {
		return badRequest("Invalid target integrations/%s: no such Integration in this API", r.IntegrationID)
	}
	switch r.AuthorizationType {
	case AuthNone, AuthIAM:
		if r.AuthorizerID != "" {
			return badRequest("AuthorizerId is only allowed with authorizationType JWT or CUSTOM")
		}
	case AuthJWT, AuthCustom:
		if r.AuthorizerID == "" {
			return badRequest("AuthorizerId is required for authorizationType %s", r.AuthorizationType)
		}
		a, ok := d.Authorizers[r.AuthorizerID]
		if !ok {
			return fault.New(fault.NotFound, "Invalid authorizer identifier specified %s", r.AuthorizerID)
		}
		custom := a.Type == AuthorizerRequest || a.Type == AuthorizerToken
		if (r.AuthorizationType == AuthJWT) != (a.Type == AuthorizerJWT) || (r.AuthorizationType == AuthCustom && !custom) {
			want := map[string]string{AuthJWT: "a JWT", AuthCustom: "a Lambda (REQUEST or TOKEN)"}[r.AuthorizationType]
			return badRequest("Authorizer %s is of type %s; authorizationType %s needs %s authorizer", a.ID, a.Type, r.AuthorizationType, want)
		}
	default:
		return badRequest("Invalid authorizationType %s: must be NONE, JWT, AWS_IAM or CUSTOM", r.AuthorizationType)
	}
	if len(r.AuthorizationScopes) > 0 && r.AuthorizationType != AuthJWT {
		return badRequest("AuthorizationScopes are only supported with authorizationType JWT")
	}
	if len(r.AuthorizationScopes) > 10 {
		return badRequest("At most 10 authorizationScopes per route")
	}
	for _, sc := range r.AuthorizationScopes {
		if sc == "" || len(sc) > 64 {
			return badRequest("Invalid authorization scope %q: 1 to 64 characters", sc)
		}
	}
	for ct, name := range r.RequestModels {
		if !hasModel(d, name) {
			return badRequest("Invalid model %q for content type %s: no such Model in this API", name, ct)
		}
	}
	for k := range r.RequestParameters {
		if !strings.HasPrefix(k, "method.request.querystring.") && !strings.HasPrefix(k, "method.request.header.") &&
			!strings.HasPrefix(k, "method.request.path.") {
			return badRequest("Invalid request parameter %q: must be method.request.{querystring|header|path}.{name}", k)
		}
	}
	return nil
}

func hasModel(d *APIDoc, name string) bool {
	for _, m := range d.Models {
		if m.Name == name {
			return true
		}
	}
	return false
}

// GetRoute returns one route.
func (s *Service) GetRoute(ctx context.Context, apiID, routeID string) (*Route, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	r, ok := d.Routes[routeID]
	if !ok {
		return nil, routeNotFound(routeID)
	}
	return &r, nil
}

// GetRoutes lists the API's routes, by id.
func (s *Service) GetRoutes(ctx context.Context, apiID string, p Page) ([]Route, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Routes), func(r Route) string { return r.ID }, p)
}

// DeleteRoute removes a route (and the stages' settings for its key).
func (s *Service) DeleteRoute(ctx context.Context, apiID, routeID string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		r, ok := d.Routes[routeID]
		if !ok {
			return routeNotFound(routeID)
		}
		if r.Managed {
			return errManaged("Route")
		}
		delete(d.Routes, routeID)
		for name, st := range d.Stages {
			if hasKey(st.RouteSettings, r.Key) {
				delete(st.RouteSettings, r.Key)
				d.Stages[name] = st
			}
		}
		return nil
	})
	return err
}

func routeNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid Route identifier specified %s", id)
}

func errManaged(kind string) error {
	return badRequest("Cannot modify or delete a %s managed by API Gateway (apiGatewayManaged, made by quick create); update or delete the API instead", kind)
}

// validRouteKey checks route key syntax (package route owns it, so the
// control plane refuses exactly what the data plane cannot match).
func validRouteKey(key string) error {
	_, err := route.ParseKey(key)
	return err
}

// ---- integrations

// CreateIntegration adds a Lambda proxy integration.
func (s *Service) CreateIntegration(ctx context.Context, in IntegrationInput) (*Integration, error) {
	if in.IntegrationType == nil || *in.IntegrationType == "" {
		return nil, badRequest("IntegrationType is required")
	}
	if in.PayloadFormatVersion == nil || *in.PayloadFormatVersion == "" {
		return nil, badRequest("PayloadFormatVersion is required for HTTP APIs; use 1.0 or 2.0")
	}
	var out Integration
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		if len(d.Integrations) >= maxIntegrations {
			return badRequest("Maximum number of Integrations for this API has been reached (%d)", maxIntegrations)
		}
		ig := Integration{ID: newSubID(d.Integrations), TimeoutMillis: defaultTimeoutMillis}
		if err := s.applyIntegration(&ig, in); err != nil {
			return err
		}
		if d.Integrations == nil {
			d.Integrations = map[string]Integration{}
		}
		d.Integrations[ig.ID] = ig
		out = ig
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateIntegration changes the members set in in.
func (s *Service) UpdateIntegration(ctx context.Context, in IntegrationInput) (*Integration, error) {
	var out Integration
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		ig, ok := d.Integrations[in.IntegrationID]
		if !ok {
			return integrationNotFound(in.IntegrationID)
		}
		if ig.Managed {
			return errManaged("Integration")
		}
		if err := s.applyIntegration(&ig, in); err != nil {
			return err
		}
		d.Integrations[ig.ID] = ig
		out = ig
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Service) applyIntegration(ig *Integration, in IntegrationInput) error {
	setIf(&ig.Type, in.IntegrationType)
	switch ig.Type {
	case IntegrationLambda:
	case IntegrationHTTP, "HTTP", "AWS", "MOCK":
		return badRequest("Integration type %s is not supported by Lamina; use AWS_PROXY", ig.Type)
	default:
		return badRequest("Invalid integrationType %s", ig.Type)
	}
	if in.IntegrationURI != nil {
		fn, q, err := parseFunctionURI(*in.IntegrationURI)
		if err != nil {
			return err
		}
		ig.URI, ig.FunctionName, ig.Qualifier = *in.IntegrationURI, fn, q
	}
	if ig.URI == "" {
		return badRequest("IntegrationUri is required for AWS_PROXY integrations")
	}
	setIf(&ig.PayloadFormatVersion, in.PayloadFormatVersion)
	if ig.PayloadFormatVersion != "1.0" && ig.PayloadFormatVersion != "2.0" {
		return badRequest("Invalid payloadFormatVersion %s: must be 1.0 or 2.0", ig.PayloadFormatVersion)
	}
	setIf(&ig.TimeoutMillis, in.TimeoutInMillis)
	if maxMs := int(s.opts.IntegrationTimeoutMax.Milliseconds()); ig.TimeoutMillis < minTimeoutMillis || ig.TimeoutMillis > maxMs {
		return badRequest("Invalid timeoutInMillis %d: must be between %d and %d", ig.TimeoutMillis, minTimeoutMillis, maxMs)
	}
	setIf(&ig.Description, in.Description)
	return nil
}

// GetIntegration returns one integration.
func (s *Service) GetIntegration(ctx context.Context, apiID, integrationID string) (*Integration, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	ig, ok := d.Integrations[integrationID]
	if !ok {
		return nil, integrationNotFound(integrationID)
	}
	return &ig, nil
}

// GetIntegrations lists the API's integrations, by id.
func (s *Service) GetIntegrations(ctx context.Context, apiID string, p Page) ([]Integration, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Integrations), func(i Integration) string { return i.ID }, p)
}

// DeleteIntegration removes an integration no route targets (AWS answers
// ConflictException naming the routes otherwise).
func (s *Service) DeleteIntegration(ctx context.Context, apiID, integrationID string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		ig, ok := d.Integrations[integrationID]
		if !ok {
			return integrationNotFound(integrationID)
		}
		if ig.Managed {
			return errManaged("Integration")
		}
		var users []string
		for _, r := range d.Routes {
			if r.IntegrationID == integrationID {
				users = append(users, r.ID)
			}
		}
		if len(users) > 0 {
			sort.Strings(users)
			return fault.New(fault.Conflict, "Cannot delete Integration because it is referenced by the following Routes with Ids: [%s]", strings.Join(users, ", "))
		}
		delete(d.Integrations, integrationID)
		return nil
	})
	return err
}

func integrationNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid Integration identifier specified %s", id)
}

// parseFunctionURI takes a Lambda integration or authorizer URI (a
// function ARN, bare or in the long apigateway form) to the function name
// and qualifier.
func parseFunctionURI(uri string) (name, qualifier string, err error) {
	arn := uri
	if strings.Contains(uri, ":apigateway:") {
		_, rest, ok := strings.Cut(uri, ":lambda:path/2015-03-31/functions/")
		inner, ok2 := strings.CutSuffix(rest, "/invocations")
		if !ok || !ok2 {
			return "", "", badRequest("Invalid URI %s: expected arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations", uri)
		}
		arn = inner
	}
	// arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}]
	p := strings.Split(arn, ":")
	if len(p) < 7 || len(p) > 8 || p[0] != "arn" || p[2] != "lambda" || p[5] != "function" || p[6] == "" {
		return "", "", badRequest("Invalid URI %s: expected a Lambda function ARN", uri)
	}
	if len(p) == 8 {
		if p[7] == "" {
			return "", "", badRequest("Invalid URI %s: empty qualifier", uri)
		}
		qualifier = p[7]
	}
	return p[6], qualifier, nil
}
