package provision

// APIs. Lamina's gateway serves HTTP APIs (the API Gateway v2 model). An
// AWS::Serverless::HttpApi deploys as one. An AWS::Serverless::Api (a REST
// API) deploys as an HTTP API too, shaped like the REST API: its routes use
// payload format 1.0 (REST's Lambda proxy event), its StageName is a stage
// (so URLs are <gateway>/<apiId>/<Stage>/path), Lambda REQUEST authorizers
// get the 1.0 event with methodArn and answer with IAM policies, Models and
// RequestModel validate bodies (a Lamina extension on HTTP APIs) and
// ApiKeyRequired uses the gateway's API keys and usage plans.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// registerAPIs registers REST/HTTP APIs and their routes; stages and
// deployments are made with their API (see registerFunctions).
func (p *Provisioner) registerAPIs() {
	p.register(manifest.TypeHTTPAPI, apiHandler{p})
	p.register(manifest.TypeRestAPI, apiHandler{p})
	p.register(manifest.TypeRoute, routeHandler{p})
}

type apiHandler struct{ p *Provisioner }

// apiDef is an API's resolved definition.
type apiDef struct {
	rest          bool
	name          string
	description   string
	stage         string
	tags          map[string]string
	cors          *v2types.Cors
	throttle      *v2types.RouteSettings
	routeThrottle map[string]v2types.RouteSettings
	stageVars     map[string]string
	authorizers   []authorizerDef
	models        map[string]string // name → JSON Schema
	bodyRoutes    []bodyRoute       // from DefinitionBody (openapi.go)
}

type authorizerDef struct {
	name string
	in   apigatewayv2.CreateAuthorizerInput
}

func asMap(x any) map[string]any {
	m, _ := x.(map[string]any)
	return m
}

func asStrings(x any) []string {
	switch t := x.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, it := range t {
			out = append(out, fmt.Sprint(it))
		}
		return out
	}
	return nil
}

// unquote strips the single quotes REST CORS values are written with ("'*'").
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(unquote(s), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (h apiHandler) definition(req *deploy.Request) (*apiDef, error) {
	as, ok := req.Resource.Spec.(*manifest.APISpec)
	if !ok {
		return nil, errors.New("no API definition")
	}
	r := req.Resolver
	d := &apiDef{rest: req.Resource.Type == manifest.TypeRestAPI, stage: as.StageName, models: map[string]string{}}
	if as.DefinitionURI != "" {
		return nil, errors.New("DefinitionUri (a document in a file) is not supported yet: inline it as DefinitionBody (for example with Fn::Transform AWS::Include, or by pasting it)")
	}
	var err error
	if d.name, err = str(as.Name, r); err != nil {
		return nil, fmt.Errorf("Name: %w", err)
	}
	if d.name == "" {
		d.name = req.Stack + "-" + req.Resource.LogicalID
	}
	if d.description, err = str(prop(req, "Description"), r); err != nil {
		return nil, err
	}
	if d.stage == "" {
		d.stage = "$default"
	}
	if d.tags, err = tagList(prop(req, "Tags"), r); err != nil {
		return nil, err
	}
	if d.tags == nil {
		d.tags = map[string]string{}
	}
	d.tags["lamina:stack"] = req.Stack
	d.tags["lamina:logical-id"] = req.Resource.LogicalID
	if d.stageVars, err = stringValues(as.StageVariables, r); err != nil {
		return nil, fmt.Errorf("Variables: %w", err)
	}
	if err := d.readCors(as.Cors, r); err != nil {
		return nil, fmt.Errorf("Cors: %w", err)
	}
	if err := d.readThrottling(req); err != nil {
		return nil, err
	}
	if err := d.readModels(as.Models, r); err != nil {
		return nil, fmt.Errorf("Models: %w", err)
	}
	if err := d.readAuth(as.Auth, r, req); err != nil {
		return nil, fmt.Errorf("Auth: %w", err)
	}
	if as.DefinitionBody != nil {
		doc, err := plain(as.DefinitionBody, r)
		if err != nil {
			return nil, fmt.Errorf("DefinitionBody: %w", err)
		}
		if err := d.readDefinitionBody(asMap(doc), eventRouteKeys(req.App, req.Resource.LogicalID)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func stringValues(v *manifest.Value, r manifest.Resolver) (map[string]string, error) {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return nil, err
	}
	out := map[string]string{}
	for k, it := range asMap(x) {
		out[k] = fmt.Sprint(it)
	}
	return out, nil
}

func (d *apiDef) readCors(v *manifest.Value, r manifest.Resolver) error {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return err
	}
	c := &v2types.Cors{}
	if s, ok := x.(string); ok { // REST: Cors: "'*'" means that origin
		c.AllowOrigins = []string{unquote(s)}
		d.cors = c
		return nil
	}
	m := asMap(x)
	if m == nil {
		if b, ok := x.(bool); ok && b { // HttpApi CorsConfiguration: true
			c.AllowOrigins, c.AllowMethods, c.AllowHeaders = []string{"*"}, []string{"*"}, []string{"*"}
			d.cors = c
		}
		return nil
	}
	if d.rest {
		if s, ok := m["AllowOrigin"].(string); ok {
			c.AllowOrigins = splitList(s)
		}
		if s, ok := m["AllowMethods"].(string); ok {
			c.AllowMethods = splitList(s)
		}
		if s, ok := m["AllowHeaders"].(string); ok {
			c.AllowHeaders = splitList(s)
		}
		if s, ok := m["MaxAge"].(string); ok {
			if n, err := strconv.Atoi(unquote(s)); err == nil {
				c.MaxAge = aws.Int32(int32(n))
			}
		} else if n, ok := toInt(m["MaxAge"]); ok {
			c.MaxAge = aws.Int32(int32(n))
		}
		if b, ok := m["AllowCredentials"].(bool); ok {
			c.AllowCredentials = aws.Bool(b)
		}
	} else {
		c.AllowOrigins, c.AllowMethods = asStrings(m["AllowOrigins"]), asStrings(m["AllowMethods"])
		c.AllowHeaders, c.ExposeHeaders = asStrings(m["AllowHeaders"]), asStrings(m["ExposeHeaders"])
		if n, ok := toInt(m["MaxAge"]); ok {
			c.MaxAge = aws.Int32(int32(n))
		}
		if b, ok := m["AllowCredentials"].(bool); ok {
			c.AllowCredentials = aws.Bool(b)
		}
	}
	d.cors = c
	return nil
}

func routeSettings(m map[string]any) *v2types.RouteSettings {
	rs := &v2types.RouteSettings{}
	set := false
	if n, ok := toInt(m["ThrottlingBurstLimit"]); ok {
		rs.ThrottlingBurstLimit, set = aws.Int32(int32(n)), true
	}
	if f, ok := m["ThrottlingRateLimit"].(float64); ok {
		rs.ThrottlingRateLimit, set = aws.Float64(f), true
	} else if n, ok := toInt(m["ThrottlingRateLimit"]); ok {
		rs.ThrottlingRateLimit, set = aws.Float64(float64(n)), true
	}
	if !set {
		return nil
	}
	return rs
}

func (d *apiDef) readThrottling(req *deploy.Request) error {
	r := req.Resolver
	if d.rest {
		x, err := plain(prop(req, "MethodSettings"), r)
		if err != nil {
			return fmt.Errorf("MethodSettings: %w", err)
		}
		items, _ := x.([]any)
		for _, it := range items {
			m := asMap(it)
			method, _ := m["HttpMethod"].(string)
			path, _ := m["ResourcePath"].(string)
			rs := routeSettings(m)
			if rs == nil {
				continue
			}
			if (method == "*" || method == "") && (path == "/*" || path == "") {
				d.throttle = rs
				continue
			}
			if d.routeThrottle == nil {
				d.routeThrottle = map[string]v2types.RouteSettings{}
			}
			d.routeThrottle[strings.ToUpper(method)+" "+path] = *rs
		}
		return nil
	}
	x, err := plain(prop(req, "DefaultRouteSettings"), r)
	if err != nil {
		return fmt.Errorf("DefaultRouteSettings: %w", err)
	}
	if m := asMap(x); m != nil {
		d.throttle = routeSettings(m)
	}
	x, err = plain(prop(req, "RouteSettings"), r)
	if err != nil {
		return fmt.Errorf("RouteSettings: %w", err)
	}
	for key, it := range asMap(x) {
		if rs := routeSettings(asMap(it)); rs != nil {
			if d.routeThrottle == nil {
				d.routeThrottle = map[string]v2types.RouteSettings{}
			}
			d.routeThrottle[key] = *rs
		}
	}
	return nil
}

func (d *apiDef) readModels(v *manifest.Value, r manifest.Resolver) error {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return err
	}
	for name, schema := range asMap(x) {
		raw, err := json.Marshal(schema)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		d.models[name] = string(raw)
	}
	return nil
}

// identitySources maps SAM's Identity onto $request... expressions.
func identitySources(id map[string]any) []string {
	var out []string
	for _, h := range asStrings(id["Headers"]) {
		out = append(out, "$request.header."+h)
	}
	if h, ok := id["Header"].(string); ok {
		out = append(out, "$request.header."+h)
	}
	for _, q := range asStrings(id["QueryStrings"]) {
		out = append(out, "$request.querystring."+q)
	}
	for _, s := range asStrings(id["StageVariables"]) {
		out = append(out, "$stageVariables."+s)
	}
	for _, c := range asStrings(id["Context"]) {
		out = append(out, "$context."+c)
	}
	return out
}

func (d *apiDef) readAuth(v *manifest.Value, r manifest.Resolver, req *deploy.Request) error {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return err
	}
	auth := asMap(x)
	names := make([]string, 0)
	authorizers := asMap(auth["Authorizers"])
	for name := range authorizers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		a := asMap(authorizers[name])
		in := apigatewayv2.CreateAuthorizerInput{Name: aws.String(name)}
		switch {
		case a["UserPoolArn"] != nil:
			return fmt.Errorf("authorizer %s: Cognito user pool authorizers are not supported", name)
		case a["JwtConfiguration"] != nil:
			jc := asMap(a["JwtConfiguration"])
			in.AuthorizerType = v2types.AuthorizerTypeJwt
			in.JwtConfiguration = &v2types.JWTConfiguration{Issuer: aws.String(fmt.Sprint(jc["issuer"])), Audience: asStrings(jc["audience"])}
			src := "$request.header.Authorization"
			if s, ok := a["IdentitySource"].(string); ok && s != "" {
				src = s
			}
			in.IdentitySource = []string{src}
		case a["FunctionArn"] != nil:
			arn := fmt.Sprint(a["FunctionArn"])
			in.AuthorizerType = v2types.AuthorizerTypeRequest
			in.AuthorizerUri = aws.String(arn)
			id := asMap(a["Identity"])
			in.IdentitySource = identitySources(id)
			ttl, hasTTL := toInt(id["ReauthorizeEvery"])
			if d.rest {
				in.AuthorizerPayloadFormatVersion = aws.String("1.0")
				switch t, _ := a["FunctionPayloadType"].(string); t {
				case "", "TOKEN": // SAM's default
					var source []string
					if h, ok := id["Header"].(string); ok && h != "" {
						source = []string{"$request.header." + h}
					}
					expr, _ := id["ValidationExpression"].(string)
					tokenAuthorizer(&in, source, expr)
				case "REQUEST":
				default:
					return fmt.Errorf("authorizer %s: FunctionPayloadType %q: want TOKEN or REQUEST", name, t)
				}
			} else {
				pv := "2.0"
				if s, ok := a["AuthorizerPayloadFormatVersion"]; ok {
					pv = versionString(s)
				}
				in.AuthorizerPayloadFormatVersion = aws.String(pv)
				if b, ok := a["EnableSimpleResponses"].(bool); ok {
					in.EnableSimpleResponses = aws.Bool(b)
				}
			}
			if !hasTTL {
				ttl = 0
				if len(in.IdentitySource) > 0 {
					ttl = 300
				}
			}
			if len(in.IdentitySource) == 0 {
				ttl = 0 // nothing to cache by
				// The SDK requires the member; an empty list (no
				// identity sources, every request authorized) is valid.
				in.IdentitySource = []string{}
			}
			in.AuthorizerResultTtlInSeconds = aws.Int32(int32(ttl))
		default:
			return fmt.Errorf("authorizer %s: want JwtConfiguration or FunctionArn", name)
		}
		d.authorizers = append(d.authorizers, authorizerDef{name: name, in: in})
	}
	return nil
}

// authorizerTypeToken is Lamina's extension of the HTTP API model for REST
// APIs' TOKEN authorizers (the SDK's enum is open).
const authorizerTypeToken = v2types.AuthorizerType("TOKEN")

// tokenAuthorizer makes in a TOKEN authorizer: the function gets one
// header's value (source, default the Authorization header) and the method
// ARN; a token that does not match expr (when set) is refused before it
// runs.
func tokenAuthorizer(in *apigatewayv2.CreateAuthorizerInput, source []string, expr string) {
	in.AuthorizerType = authorizerTypeToken
	in.AuthorizerPayloadFormatVersion = aws.String("1.0")
	in.IdentitySource = source
	if len(source) == 0 {
		in.IdentitySource = []string{"$request.header.Authorization"}
	}
	if expr != "" {
		in.IdentityValidationExpression = aws.String(expr)
	}
}

func (h apiHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	in := &apigatewayv2.CreateApiInput{Name: aws.String(d.name), ProtocolType: v2types.ProtocolTypeHttp, Tags: d.tags, CorsConfiguration: d.cors}
	if d.description != "" {
		in.Description = aws.String(d.description)
	}
	out, err := h.p.apigwv2.CreateApi(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create API %s: %w", d.name, err)
	}
	id := aws.ToString(out.ApiId)
	data := map[string]string{"stage": d.stage}
	if err := h.reconcile(ctx, id, d, nil, data, false); err != nil {
		// The API was made: remove it so the failed create leaves nothing.
		_, _ = h.p.apigwv2.DeleteApi(context.WithoutCancel(ctx), &apigatewayv2.DeleteApiInput{ApiId: aws.String(id)})
		return nil, err
	}
	return h.outcome(id, aws.ToString(out.ApiEndpoint), data), nil
}

func (h apiHandler) outcome(id, endpoint string, data map[string]string) *deploy.Outcome {
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"ApiEndpoint": endpoint, "ApiId": id, "RootResourceId": id}, Data: data}
}

// reconcile makes the API's stage, authorizers and models match
// d; prev is the previous Data (nil on create), data the new one.
func (h apiHandler) reconcile(ctx context.Context, id string, d *apiDef, prev, data map[string]string, update bool) error {
	// Stage.
	stageIn := &apigatewayv2.CreateStageInput{ApiId: aws.String(id), StageName: aws.String(d.stage), AutoDeploy: aws.Bool(true),
		DefaultRouteSettings: d.throttle, RouteSettings: d.routeThrottle, StageVariables: d.stageVars}
	if update && prev["stage"] == d.stage {
		drs := d.throttle
		if drs == nil {
			drs = &v2types.RouteSettings{}
		}
		if _, err := h.p.apigwv2.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: aws.String(id), StageName: aws.String(d.stage),
			DefaultRouteSettings: drs, RouteSettings: d.routeThrottle, StageVariables: d.stageVars}); err != nil && !notFound(err) {
			return fmt.Errorf("update stage %s: %w", d.stage, err)
		} else if notFound(err) {
			if _, err := h.p.apigwv2.CreateStage(ctx, stageIn); err != nil {
				return fmt.Errorf("create stage %s: %w", d.stage, err)
			}
		}
	} else {
		if _, err := h.p.apigwv2.CreateStage(ctx, stageIn); err != nil {
			return fmt.Errorf("create stage %s: %w", d.stage, err)
		}
		if update && prev["stage"] != "" {
			_, err := h.p.apigwv2.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: aws.String(id), StageName: aws.String(prev["stage"])})
			if err = ignoreNotFound(err); err != nil {
				return fmt.Errorf("delete stage %s: %w", prev["stage"], err)
			}
		}
	}
	// Authorizers, by name.
	keep := map[string]bool{}
	for _, a := range d.authorizers {
		in := a.in
		in.ApiId = aws.String(id)
		kind := "CUSTOM"
		if in.AuthorizerType == v2types.AuthorizerTypeJwt {
			kind = "JWT"
		}
		keep["authorizer."+a.name] = true
		if old := prev["authorizer."+a.name]; old != "" {
			up := &apigatewayv2.UpdateAuthorizerInput{ApiId: in.ApiId, AuthorizerId: aws.String(old), Name: in.Name, AuthorizerType: in.AuthorizerType,
				IdentitySource: in.IdentitySource, JwtConfiguration: in.JwtConfiguration, AuthorizerUri: in.AuthorizerUri,
				AuthorizerPayloadFormatVersion: in.AuthorizerPayloadFormatVersion, EnableSimpleResponses: in.EnableSimpleResponses,
				AuthorizerResultTtlInSeconds: in.AuthorizerResultTtlInSeconds,
				// Empty, not absent: an expression the template dropped goes.
				IdentityValidationExpression: aws.String(aws.ToString(in.IdentityValidationExpression))}
			if _, err := h.p.apigwv2.UpdateAuthorizer(ctx, up); err == nil {
				data["authorizer."+a.name], data["authorizerType."+a.name] = old, kind
				continue
			} else if !notFound(err) {
				return fmt.Errorf("update authorizer %s: %w", a.name, err)
			}
		}
		out, err := h.p.apigwv2.CreateAuthorizer(ctx, &in)
		if err != nil {
			return fmt.Errorf("create authorizer %s: %w", a.name, err)
		}
		data["authorizer."+a.name], data["authorizerType."+a.name] = aws.ToString(out.AuthorizerId), kind
	}
	keepAuthorizers := keep
	// Models, by name.
	names := make([]string, 0, len(d.models))
	for n := range d.models {
		names = append(names, n)
	}
	sort.Strings(names)
	keep = map[string]bool{}
	for _, n := range names {
		keep["model."+n] = true
		if old := prev["model."+n]; old != "" {
			if _, err := h.p.apigwv2.UpdateModel(ctx, &apigatewayv2.UpdateModelInput{ApiId: aws.String(id), ModelId: aws.String(old), Schema: aws.String(d.models[n])}); err == nil {
				data["model."+n] = old
				continue
			} else if !notFound(err) {
				return fmt.Errorf("update model %s: %w", n, err)
			}
		}
		out, err := h.p.apigwv2.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: aws.String(id), Name: aws.String(n),
			ContentType: aws.String("application/json"), Schema: aws.String(d.models[n])})
		if err != nil {
			return fmt.Errorf("create model %s: %w", n, err)
		}
		data["model."+n] = aws.ToString(out.ModelId)
	}
	// The document's routes, which use the authorizers and models; then
	// what is no longer used goes.
	if err := h.reconcileBodyRoutes(ctx, id, d, prev, data); err != nil {
		return err
	}
	for k, v := range prev {
		if strings.HasPrefix(k, "authorizer.") && !keepAuthorizers[k] {
			_, err := h.p.apigwv2.DeleteAuthorizer(ctx, &apigatewayv2.DeleteAuthorizerInput{ApiId: aws.String(id), AuthorizerId: aws.String(v)})
			if err = ignoreNotFound(err); err != nil {
				return fmt.Errorf("delete authorizer %s: %w", strings.TrimPrefix(k, "authorizer."), err)
			}
		}
	}
	for k, v := range prev {
		if strings.HasPrefix(k, "model.") && !keep[k] {
			_, err := h.p.apigwv2.DeleteModel(ctx, &apigatewayv2.DeleteModelInput{ApiId: aws.String(id), ModelId: aws.String(v)})
			if err = ignoreNotFound(err); err != nil {
				return fmt.Errorf("delete model %s: %w", strings.TrimPrefix(k, "model."), err)
			}
		}
	}
	return nil
}

func (h apiHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	id := req.Previous.PhysicalID
	in := &apigatewayv2.UpdateApiInput{ApiId: aws.String(id), Name: aws.String(d.name), Description: aws.String(d.description)}
	if d.cors != nil {
		in.CorsConfiguration = d.cors
	}
	out, err := h.p.apigwv2.UpdateApi(ctx, in)
	if notFound(err) {
		return h.create(ctx, req)
	}
	if err != nil {
		return nil, fmt.Errorf("update API %s: %w", d.name, err)
	}
	if d.cors == nil {
		if _, err := h.p.apigwv2.DeleteCorsConfiguration(ctx, &apigatewayv2.DeleteCorsConfigurationInput{ApiId: aws.String(id)}); ignoreNotFound(err) != nil {
			return nil, fmt.Errorf("remove the CORS configuration of %s: %w", d.name, err)
		}
	}
	arn := fmt.Sprintf("arn:aws:apigateway:%s::/apis/%s", h.p.cfg.AWS.Region, id)
	if err := h.retag(ctx, arn, d.tags); err != nil {
		return nil, fmt.Errorf("tag API %s: %w", d.name, err)
	}
	data := map[string]string{"stage": d.stage}
	if err := h.reconcile(ctx, id, d, req.Previous.Data, data, true); err != nil {
		return nil, err
	}
	return h.outcome(id, aws.ToString(out.ApiEndpoint), data), nil
}

// retag makes the API's tags exactly tags: the ones the template dropped
// are removed, as CloudFormation does.
func (h apiHandler) retag(ctx context.Context, arn string, tags map[string]string) error {
	cur, err := h.p.apigwv2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return err
	}
	var gone []string
	for k := range cur.Tags {
		if _, keep := tags[k]; !keep {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		if _, err := h.p.apigwv2.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: gone}); err != nil {
			return err
		}
	}
	if len(tags) == 0 {
		return nil
	}
	_, err = h.p.apigwv2.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags})
	return err
}

func (h apiHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.apigwv2.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete API %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// ---- routes

type routeHandler struct{ p *Provisioner }

type routeDef struct {
	apiID          string
	key            string
	integration    apigatewayv2.CreateIntegrationInput
	authType       v2types.AuthorizationType
	authorizerID   string
	scopes         []string
	apiKeyRequired bool
	models         map[string]string
	params         map[string]v2types.ParameterConstraints
}

func (h routeHandler) definition(req *deploy.Request) (*routeDef, error) {
	rs, ok := req.Resource.Spec.(*manifest.RouteSpec)
	if !ok {
		return nil, errors.New("no route definition")
	}
	r := req.Resolver
	api := req.Deployed(rs.API)
	if api == nil || api.PhysicalID == "" {
		return nil, fmt.Errorf("API %s is not deployed", rs.API)
	}
	d := &routeDef{apiID: api.PhysicalID, authType: v2types.AuthorizationTypeNone}
	if rs.Path == "$default" {
		d.key = "$default"
	} else {
		d.key = rs.Method + " " + rs.Path
	}
	fnArn, err := att(r, rs.Function, "Arn")
	if err != nil {
		return nil, err
	}
	if rs.Qualifier != "" {
		fnArn += ":" + rs.Qualifier
	}
	pv := rs.PayloadFormatVersion
	if rs.APIType == manifest.TypeRestAPI {
		pv = "1.0"
	} else if pv == "" {
		pv = "2.0"
	}
	d.integration = apigatewayv2.CreateIntegrationInput{ApiId: aws.String(d.apiID), IntegrationType: v2types.IntegrationTypeAwsProxy,
		IntegrationUri: aws.String(fnArn), PayloadFormatVersion: aws.String(pv)}
	if rs.TimeoutInMillis != nil {
		d.integration.TimeoutInMillis = aws.Int32(int32(*rs.TimeoutInMillis))
	}

	// Auth: the route's, else the API's defaults.
	var apiAuth map[string]any
	if ar := req.App.Resource(rs.API); ar != nil {
		if as, ok := ar.Spec.(*manifest.APISpec); ok && as.Auth != nil {
			x, err := plain(as.Auth, r)
			if err != nil {
				return nil, fmt.Errorf("API Auth: %w", err)
			}
			apiAuth = asMap(x)
		}
	}
	var routeAuth map[string]any
	if rs.Auth != nil {
		x, err := plain(rs.Auth, r)
		if err != nil {
			return nil, fmt.Errorf("Auth: %w", err)
		}
		routeAuth = asMap(x)
	}
	name, _ := apiAuth["DefaultAuthorizer"].(string)
	if s, ok := routeAuth["Authorizer"].(string); ok {
		name = s
	}
	switch name {
	case "", "NONE":
	case "AWS_IAM":
		d.authType = v2types.AuthorizationTypeAwsIam
	default:
		id := api.Data["authorizer."+name]
		if id == "" {
			return nil, fmt.Errorf("authorizer %s is not defined in the Auth of API %s", name, rs.API)
		}
		d.authorizerID = id
		if api.Data["authorizerType."+name] == "JWT" {
			d.authType = v2types.AuthorizationTypeJwt
		} else {
			d.authType = v2types.AuthorizationTypeCustom
		}
	}
	d.scopes = asStrings(routeAuth["AuthorizationScopes"])
	if b, ok := apiAuth["ApiKeyRequired"].(bool); ok {
		d.apiKeyRequired = b
	}
	if b, ok := routeAuth["ApiKeyRequired"].(bool); ok {
		d.apiKeyRequired = b
	}
	// Validation.
	if rs.RequestModel != nil {
		x, err := plain(rs.RequestModel, r)
		if err != nil {
			return nil, fmt.Errorf("RequestModel: %w", err)
		}
		m := asMap(x)
		model, _ := m["Model"].(string)
		if model == "" {
			return nil, errors.New("RequestModel needs a Model")
		}
		if api.Data["model."+model] == "" {
			return nil, fmt.Errorf("model %s is not defined in the Models of API %s", model, rs.API)
		}
		validate := true
		if b, ok := m["ValidateBody"].(bool); ok {
			validate = b
		}
		if b, ok := m["Required"].(bool); ok && !b && m["ValidateBody"] == nil {
			validate = false
		}
		if validate {
			d.models = map[string]string{"application/json": model}
		}
	}
	if rs.RequestParameters != nil {
		x, err := plain(rs.RequestParameters, r)
		if err != nil {
			return nil, fmt.Errorf("RequestParameters: %w", err)
		}
		d.params = map[string]v2types.ParameterConstraints{}
		add := func(name string, spec any) {
			required := false
			if m := asMap(spec); m != nil {
				required, _ = m["Required"].(bool)
			} else if b, ok := spec.(bool); ok {
				required = b
			}
			d.params[name] = v2types.ParameterConstraints{Required: aws.Bool(required)}
		}
		switch t := x.(type) {
		case []any:
			for _, it := range t {
				if s, ok := it.(string); ok {
					add(s, false)
				} else {
					for k, v := range asMap(it) {
						add(k, v)
					}
				}
			}
		case map[string]any:
			for k, v := range t {
				add(k, v)
			}
		}
	}
	return d, nil
}

func (h routeHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	integ, err := h.p.apigwv2.CreateIntegration(ctx, &d.integration)
	if err != nil {
		return nil, fmt.Errorf("integration for %s: %w", d.key, err)
	}
	in := &apigatewayv2.CreateRouteInput{ApiId: aws.String(d.apiID), RouteKey: aws.String(d.key),
		Target: aws.String("integrations/" + aws.ToString(integ.IntegrationId)), AuthorizationType: d.authType,
		AuthorizationScopes: d.scopes, ApiKeyRequired: aws.Bool(d.apiKeyRequired), RequestModels: d.models, RequestParameters: d.params}
	if d.authorizerID != "" {
		in.AuthorizerId = aws.String(d.authorizerID)
	}
	route, err := h.p.apigwv2.CreateRoute(ctx, in)
	if err != nil {
		_, _ = h.p.apigwv2.DeleteIntegration(context.WithoutCancel(ctx), &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(d.apiID), IntegrationId: integ.IntegrationId})
		return nil, fmt.Errorf("route %s: %w", d.key, err)
	}
	id := aws.ToString(route.RouteId)
	return &deploy.Outcome{PhysicalID: id, Data: map[string]string{"api": d.apiID, "integration": aws.ToString(integ.IntegrationId), "key": d.key}}, nil
}

func (h routeHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	d, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	prev := req.Previous.Data
	if prev["api"] != d.apiID || prev["integration"] == "" {
		// The API was replaced (its routes went with it).
		return h.create(ctx, req)
	}
	integ := &apigatewayv2.UpdateIntegrationInput{ApiId: aws.String(d.apiID), IntegrationId: aws.String(prev["integration"]),
		IntegrationType: d.integration.IntegrationType, IntegrationUri: d.integration.IntegrationUri,
		PayloadFormatVersion: d.integration.PayloadFormatVersion, TimeoutInMillis: d.integration.TimeoutInMillis}
	if _, err := h.p.apigwv2.UpdateIntegration(ctx, integ); err != nil {
		if notFound(err) {
			return h.create(ctx, req)
		}
		return nil, fmt.Errorf("update the integration of %s: %w", d.key, err)
	}
	in := &apigatewayv2.UpdateRouteInput{ApiId: aws.String(d.apiID), RouteId: aws.String(req.Previous.PhysicalID), RouteKey: aws.String(d.key),
		Target: aws.String("integrations/" + prev["integration"]), AuthorizationType: d.authType, AuthorizationScopes: d.scopes,
		ApiKeyRequired: aws.Bool(d.apiKeyRequired), RequestModels: d.models, RequestParameters: d.params, AuthorizerId: aws.String(d.authorizerID)}
	// Empty, not absent: what the template no longer asks for is cleared.
	if in.RequestModels == nil {
		in.RequestModels = map[string]string{}
	}
	if in.RequestParameters == nil {
		in.RequestParameters = map[string]v2types.ParameterConstraints{}
	}
	if _, err := h.p.apigwv2.UpdateRoute(ctx, in); err != nil {
		return nil, fmt.Errorf("update route %s: %w", d.key, err)
	}
	data := maps.Clone(prev)
	data["key"] = d.key
	return &deploy.Outcome{PhysicalID: req.Previous.PhysicalID, Data: data}, nil
}

func (h routeHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	api := req.State.Data["api"]
	if api == "" {
		return nil
	}
	if req.State.PhysicalID != "" {
		_, err := h.p.apigwv2.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(api), RouteId: aws.String(req.State.PhysicalID)})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("delete route %s: %w", req.State.Data["key"], err)
		}
	}
	if i := req.State.Data["integration"]; i != "" {
		_, err := h.p.apigwv2.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(api), IntegrationId: aws.String(i)})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("delete the integration of route %s: %w", req.State.Data["key"], err)
		}
	}
	return nil
}
