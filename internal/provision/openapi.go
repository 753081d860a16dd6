package provision

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// An API's inline OpenAPI document (DefinitionBody, OpenAPI 3 or Swagger
// 2) imported the way API Gateway imports it, for what Lamina's gateway
// serves: every operation with an aws_proxy x-amazon-apigateway-integration
// becomes a route to its function; security schemes with
// x-amazon-apigateway-authorizer become authorizers (token, request, jwt),
// an apiKey scheme makes its routes require an API key, and a request
// validator that validates bodies turns an operation's JSON body schema
// into a model the route validates against. Anything the gateway cannot
// serve (other integration types, stage variables in URIs) is refused by
// name rather than dropped.

// bodyRoute is one route the document defines.
type bodyRoute struct {
	key         string // "GET /pets/{id}"
	integration apigatewayv2.CreateIntegrationInput
	authType    v2types.AuthorizationType
	authorizer  string // a security scheme's name, for CUSTOM and JWT
	scopes      []string
	apiKey      bool
	models      map[string]string // content type → model name
}

// openAPIMethods maps the document's operation names to route methods.
var openAPIMethods = map[string]string{
	"get": "GET", "put": "PUT", "post": "POST", "delete": "DELETE", "options": "OPTIONS",
	"head": "HEAD", "patch": "PATCH", "x-amazon-apigateway-any-method": "ANY",
}

// readDefinitionBody imports the resolved document doc into d. skip holds
// route keys the template's function events define (as SAM merges them
// into the document, the event's route wins).
func (d *apiDef) readDefinitionBody(doc map[string]any, skip map[string]bool) error {
	if doc == nil {
		return nil
	}
	schemes := asMap(doc["securityDefinitions"]) // Swagger 2
	if c := asMap(asMap(doc["components"])["securitySchemes"]); c != nil {
		schemes = c // OpenAPI 3
	}
	names := slices.Sorted(maps.Keys(schemes))
	apiKeySchemes := map[string]bool{}
	iamSchemes := map[string]bool{}
	for _, name := range names {
		s := asMap(schemes[name])
		if az := asMap(s["x-amazon-apigateway-authorizer"]); az != nil {
			if d.hasAuthorizer(name) {
				continue // the template's Auth defines it (SAM merges the two)
			}
			a, err := d.openAPIAuthorizer(name, az)
			if err != nil {
				return err
			}
			d.authorizers = append(d.authorizers, a)
			continue
		}
		switch {
		case strings.EqualFold(fmt.Sprint(s["x-amazon-apigateway-authtype"]), "awsSigv4"):
			iamSchemes[name] = true
		case s["type"] == "apiKey" && strings.EqualFold(fmt.Sprint(s["name"]), "x-api-key"):
			apiKeySchemes[name] = true
		default:
			return fmt.Errorf("DefinitionBody: security scheme %s: Lamina serves x-amazon-apigateway-authorizer schemes, the x-api-key header and awsSigv4", name)
		}
	}
	validators := asMap(doc["x-amazon-apigateway-request-validators"])
	docValidator, _ := doc["x-amazon-apigateway-request-validator"].(string)
	docSecurity, hasDocSecurity := doc["security"].([]any)

	paths := asMap(doc["paths"])
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := asMap(paths[path])
		for _, op := range slices.Sorted(maps.Keys(item)) {
			method, ok := openAPIMethods[strings.ToLower(op)]
			if !ok {
				continue // parameters, summary, extensions of the path item
			}
			key := method + " " + path
			if path == "$default" {
				key = "$default" // the HTTP API's catch-all route has no method
			}
			if skip[key] {
				continue
			}
			operation := asMap(item[op])
			integ := asMap(operation["x-amazon-apigateway-integration"])
			if integ == nil {
				if method == "OPTIONS" {
					continue // CORS preflight: the gateway answers it from the API's CORS settings
				}
				return fmt.Errorf("DefinitionBody: %s has no x-amazon-apigateway-integration", key)
			}
			rt := bodyRoute{key: key, authType: v2types.AuthorizationTypeNone}
			if err := d.openAPIIntegration(&rt, integ); err != nil {
				return err
			}
			security, hasSecurity := operation["security"].([]any)
			if !hasSecurity && hasDocSecurity {
				security = docSecurity
			}
			for _, req := range security {
				reqs := asMap(req)
				for _, scheme := range slices.Sorted(maps.Keys(reqs)) {
					scopes := reqs[scheme]
					authorizes := iamSchemes[scheme] || d.hasAuthorizer(scheme)
					if authorizes && rt.authType != v2types.AuthorizationTypeNone {
						// A route has one authorizer (an API key may come on top).
						return fmt.Errorf("DefinitionBody: %s asks for more than one of IAM and authorizers (%s and another)", key, scheme)
					}
					switch {
					case apiKeySchemes[scheme]:
						rt.apiKey = true
					case iamSchemes[scheme]:
						rt.authType = v2types.AuthorizationTypeAwsIam
					case d.hasAuthorizer(scheme):
						rt.authorizer, rt.scopes = scheme, asStrings(scopes)
						rt.authType = v2types.AuthorizationTypeCustom
						if d.authorizerType(scheme) == v2types.AuthorizerTypeJwt {
							rt.authType = v2types.AuthorizationTypeJwt
						} else {
							rt.scopes = nil // scopes are for JWT authorizers only
						}
					default:
						return fmt.Errorf("DefinitionBody: %s names security scheme %q, which the document does not define", key, scheme)
					}
				}
			}
			validator, _ := operation["x-amazon-apigateway-request-validator"].(string)
			if validator == "" {
				validator = docValidator
			}
			if v := asMap(validators[validator]); v != nil && v["validateRequestBody"] == true {
				if name, schema := bodySchema(doc, operation); schema != nil {
					b, err := json.Marshal(schema)
					if err != nil {
						return fmt.Errorf("DefinitionBody: %s: body schema: %w", key, err)
					}
					if name == "" {
						name = modelName(key)
					}
					d.models[name] = string(b)
					rt.models = map[string]string{"application/json": name}
				}
			}
			d.bodyRoutes = append(d.bodyRoutes, rt)
		}
	}
	return nil
}

// openAPIIntegration reads an aws_proxy integration (the only kind Lamina's
// gateway serves from a document).
func (d *apiDef) openAPIIntegration(rt *bodyRoute, integ map[string]any) error {
	typ := strings.ToLower(fmt.Sprint(integ["type"]))
	if typ != "aws_proxy" {
		return fmt.Errorf("DefinitionBody: %s: integration type %q is not supported (Lamina serves aws_proxy integrations to Lambda functions)", rt.key, integ["type"])
	}
	uri, _ := integ["uri"].(string)
	if uri == "" {
		return fmt.Errorf("DefinitionBody: %s: the integration has no uri", rt.key)
	}
	if strings.Contains(uri, "${stageVariables.") {
		return fmt.Errorf("DefinitionBody: %s: stage variables in an integration uri are not supported", rt.key)
	}
	rt.integration = apigatewayv2.CreateIntegrationInput{IntegrationType: v2types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(uri)}
	pfv := "1.0"
	if !d.rest {
		pfv = "2.0"
		if v, ok := integ["payloadFormatVersion"]; ok {
			pfv = versionString(v)
		}
	}
	rt.integration.PayloadFormatVersion = aws.String(pfv)
	if ms, ok := toInt(integ["timeoutInMillis"]); ok {
		rt.integration.TimeoutInMillis = aws.Int32(int32(ms))
	}
	return nil
}

// openAPIAuthorizer reads an x-amazon-apigateway-authorizer.
func (d *apiDef) openAPIAuthorizer(name string, az map[string]any) (authorizerDef, error) {
	in := apigatewayv2.CreateAuthorizerInput{Name: aws.String(name)}
	sources := func(v any) []string {
		var out []string
		for _, s := range asStrings(v) {
			for part := range strings.SplitSeq(s, ",") {
				part = strings.TrimSpace(part)
				// REST's spelling of header and query sources.
				if h, ok := strings.CutPrefix(part, "method.request.header."); ok {
					part = "$request.header." + h
				} else if q, ok := strings.CutPrefix(part, "method.request.querystring."); ok {
					part = "$request.querystring." + q
				}
				if part != "" {
					out = append(out, part)
				}
			}
		}
		return out
	}
	switch typ := strings.ToLower(fmt.Sprint(az["type"])); typ {
	case "jwt":
		jc := asMap(az["jwtConfiguration"])
		in.AuthorizerType = v2types.AuthorizerTypeJwt
		in.JwtConfiguration = &v2types.JWTConfiguration{Issuer: aws.String(fmt.Sprint(jc["issuer"])), Audience: asStrings(jc["audience"])}
		in.IdentitySource = sources(az["identitySource"])
		if len(in.IdentitySource) == 0 {
			in.IdentitySource = []string{"$request.header.Authorization"}
		}
	case "token", "request":
		uri, _ := az["authorizerUri"].(string)
		if uri == "" {
			return authorizerDef{}, fmt.Errorf("DefinitionBody: authorizer %s has no authorizerUri", name)
		}
		in.AuthorizerUri = aws.String(uri)
		in.IdentitySource = sources(az["identitySource"])
		ttl, hasTTL := toInt(az["authorizerResultTtlInSeconds"])
		if typ == "token" {
			expr, _ := az["identityValidationExpression"].(string)
			tokenAuthorizer(&in, in.IdentitySource, expr)
			if !hasTTL {
				ttl = 300
			}
		} else {
			in.AuthorizerType = v2types.AuthorizerTypeRequest
			pfv := "1.0"
			if !d.rest {
				pfv = "2.0"
				if v, ok := az["authorizerPayloadFormatVersion"]; ok {
					pfv = versionString(v)
				}
				if b, ok := az["enableSimpleResponses"].(bool); ok {
					in.EnableSimpleResponses = aws.Bool(b)
				}
			}
			in.AuthorizerPayloadFormatVersion = aws.String(pfv)
			if len(in.IdentitySource) == 0 {
				ttl, in.IdentitySource = 0, []string{}
			}
		}
		in.AuthorizerResultTtlInSeconds = aws.Int32(int32(ttl))
	default:
		return authorizerDef{}, fmt.Errorf("DefinitionBody: authorizer %s: type %q is not supported (token, request or jwt)", name, az["type"])
	}
	return authorizerDef{name: name, in: in}, nil
}

// versionString reads a payload format version written as a string
// ("2.0") or, unquoted in YAML, as a number (2.0 or 2).
func versionString(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	if n, ok := toInt(v); ok {
		return strconv.Itoa(n) + ".0"
	}
	return fmt.Sprint(v)
}

func (d *apiDef) hasAuthorizer(name string) bool {
	return slices.ContainsFunc(d.authorizers, func(a authorizerDef) bool { return a.name == name })
}

func (d *apiDef) authorizerType(name string) v2types.AuthorizerType {
	for _, a := range d.authorizers {
		if a.name == name {
			return a.in.AuthorizerType
		}
	}
	return ""
}

// bodySchema finds an operation's JSON body schema: OpenAPI 3's
// requestBody or Swagger 2's body parameter, following one local $ref
// (whose last element names the model).
func bodySchema(doc, operation map[string]any) (string, map[string]any) {
	var schema map[string]any
	if rb := asMap(operation["requestBody"]); rb != nil {
		schema = asMap(asMap(asMap(rb["content"])["application/json"])["schema"])
	}
	if params, ok := operation["parameters"].([]any); ok && schema == nil {
		for _, p := range params {
			if pm := asMap(p); pm["in"] == "body" {
				schema = asMap(pm["schema"])
			}
		}
	}
	if schema == nil {
		return "", nil
	}
	ref, _ := schema["$ref"].(string)
	if !strings.HasPrefix(ref, "#/") {
		return "", schema
	}
	target := any(doc)
	for part := range strings.SplitSeq(strings.TrimPrefix(ref, "#/"), "/") {
		target = asMap(target)[part]
	}
	if m := asMap(target); m != nil {
		return ref[strings.LastIndexByte(ref, '/')+1:], m
	}
	return "", schema
}

// modelName names an inline body schema after its route.
func modelName(key string) string {
	var b strings.Builder
	for _, r := range key {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String() + "Body"
}

// eventRouteKeys lists the route keys the template's function events give
// API id (routes SAM would merge into its document).
func eventRouteKeys(app *manifest.Application, id string) map[string]bool {
	keys := map[string]bool{}
	if app == nil {
		return keys
	}
	for _, r := range app.Resources {
		if rs, ok := r.Spec.(*manifest.RouteSpec); ok && r.Type == manifest.TypeRoute && rs.API == id {
			if rs.Path == "$default" {
				keys["$default"] = true
			} else {
				keys[rs.Method+" "+rs.Path] = true
			}
		}
	}
	return keys
}

// reconcileBodyRoutes makes the API's document routes match d, keyed in
// the API's Data as "bodyroute.<key>" = "<routeId> <integrationId>".
func (h apiHandler) reconcileBodyRoutes(ctx context.Context, id string, d *apiDef, prev, data map[string]string) error {
	keep := map[string]bool{}
	for _, rt := range d.bodyRoutes {
		k := "bodyroute." + rt.key
		keep[k] = true
		integ := rt.integration
		integ.ApiId = aws.String(id)
		route := &apigatewayv2.CreateRouteInput{ApiId: aws.String(id), RouteKey: aws.String(rt.key), AuthorizationType: rt.authType,
			AuthorizationScopes: rt.scopes, ApiKeyRequired: aws.Bool(rt.apiKey), RequestModels: rt.models}
		if rt.authorizer != "" {
			route.AuthorizerId = aws.String(data["authorizer."+rt.authorizer])
		}
		if old := prev[k]; old != "" {
			routeID, integID, _ := strings.Cut(old, " ")
			_, err := h.p.apigwv2.UpdateIntegration(ctx, &apigatewayv2.UpdateIntegrationInput{ApiId: integ.ApiId, IntegrationId: aws.String(integID),
				IntegrationType: integ.IntegrationType, IntegrationUri: integ.IntegrationUri, PayloadFormatVersion: integ.PayloadFormatVersion,
				TimeoutInMillis: integ.TimeoutInMillis})
			if err == nil {
				up := &apigatewayv2.UpdateRouteInput{ApiId: route.ApiId, RouteId: aws.String(routeID), RouteKey: route.RouteKey,
					Target: aws.String("integrations/" + integID), AuthorizationType: route.AuthorizationType, AuthorizationScopes: route.AuthorizationScopes,
					ApiKeyRequired: route.ApiKeyRequired, RequestModels: route.RequestModels, AuthorizerId: route.AuthorizerId}
				if up.RequestModels == nil {
					up.RequestModels = map[string]string{}
				}
				if up.AuthorizerId == nil {
					up.AuthorizerId = aws.String("")
				}
				if _, err = h.p.apigwv2.UpdateRoute(ctx, up); err == nil {
					data[k] = old
					continue
				}
			}
			if !notFound(err) {
				return fmt.Errorf("DefinitionBody: update route %s: %w", rt.key, err)
			}
		}
		out, err := h.p.apigwv2.CreateIntegration(ctx, &integ)
		if err != nil {
			return fmt.Errorf("DefinitionBody: integration for %s: %w", rt.key, err)
		}
		route.Target = aws.String("integrations/" + aws.ToString(out.IntegrationId))
		r, err := h.p.apigwv2.CreateRoute(ctx, route)
		if err != nil {
			return fmt.Errorf("DefinitionBody: route %s: %w", rt.key, err)
		}
		data[k] = aws.ToString(r.RouteId) + " " + aws.ToString(out.IntegrationId)
	}
	stale := make([]string, 0)
	for k := range prev {
		if strings.HasPrefix(k, "bodyroute.") && !keep[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	for _, k := range stale {
		routeID, integID, _ := strings.Cut(prev[k], " ")
		_, err := h.p.apigwv2.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(id), RouteId: aws.String(routeID)})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("DefinitionBody: delete route %s: %w", strings.TrimPrefix(k, "bodyroute."), err)
		}
		_, err = h.p.apigwv2.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: aws.String(id), IntegrationId: aws.String(integID)})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("DefinitionBody: delete the integration of %s: %w", strings.TrimPrefix(k, "bodyroute."), err)
		}
	}
	return nil
}
