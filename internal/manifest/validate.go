package manifest

import (
	"regexp"
	"strings"
)

// Checks SAM makes on properties Lamina passes on to the deployer, so a
// template SAM refuses is refused here too, with the resource and line.

var (
	restCorsKeys     = toSet("AllowOrigin", "AllowMethods", "AllowHeaders", "AllowCredentials", "MaxAge")
	httpCorsKeys     = toSet("AllowOrigins", "AllowMethods", "AllowHeaders", "ExposeHeaders", "AllowCredentials", "MaxAge")
	openAPIVersionRE = regexp.MustCompile(`^(2\.0|3\.\d+(\.\d+)?)$`)
)

// checkFunction validates the merged, unevaluated properties of a function.
func checkFunction(id string, p *Value) error {
	image := p.Get("ImageUri") != nil || str(p.Get("PackageType")) == "Image"
	if !image && (p.Get("Handler") == nil || p.Get("Runtime") == nil) {
		return errorf(p.Pos, id, "Runtime and Handler are required when PackageType is Zip")
	}
	if role := p.Get("Role"); role != nil {
		if _, _, intr := role.Intrinsic(); !intr && role.Kind != String {
			return errorf(role.Pos, id, "Role must be a string (an ARN) or an intrinsic")
		}
	}
	if p.Get("AutoPublishAlias") == nil {
		for _, k := range []string{"DeploymentPreference", "VersionDeletionPolicy"} {
			if v := p.Get(k); v != nil {
				return errorf(v.Pos, id, "%s requires AutoPublishAlias", k)
			}
		}
	}
	if dp := p.Get("DeploymentPreference"); dp != nil && dp.Kind == Map {
		if h := dp.Get("Hooks"); h != nil && h.Kind != Map {
			return errorf(h.Pos, id, "DeploymentPreference.Hooks must be a map")
		}
		if a := dp.Get("Alarms"); a != nil && a.Kind != List {
			if _, _, intr := a.Intrinsic(); !intr {
				return errorf(a.Pos, id, "DeploymentPreference.Alarms must be a list")
			}
		}
	}
	if code := p.Get("CodeUri"); code != nil && code.Kind == String {
		if strings.Contains(code.Text, "{{resolve:") {
			return errorf(code.Pos, id, "CodeUri cannot be a dynamic reference")
		}
	}
	if u := p.Get("FunctionUrlConfig"); u != nil {
		if c := u.Get("Cors"); c != nil {
			if err := checkCors(id, "FunctionUrlConfig.Cors", c, httpCorsKeys, true); err != nil {
				return err
			}
		}
	}
	if t := p.Get("TenancyConfig"); t != nil {
		for _, k := range []string{"FunctionUrlConfig", "ProvisionedConcurrencyConfig", "SnapStart"} {
			if v := p.Get(k); v != nil {
				return errorf(v.Pos, id, "%s is not supported for functions with TenancyConfig", k)
			}
		}
		for _, ev := range p.Get("Events").fieldsOrNil() {
			typ := str(ev.Value.Get("Type"))
			if typ != "Api" && typ != "HttpApi" {
				return errorf(ev.Pos, id, "event %s: %s events are not supported for functions with TenancyConfig (only Api and HttpApi)", ev.Key, typ)
			}
		}
	}
	for _, ev := range p.Get("Events").fieldsOrNil() {
		props := ev.Value.Get("Properties")
		for _, key := range []string{"RestApiId", "ApiId"} {
			ref := props.Get(key)
			if name, _, intr := ref.Intrinsic(); intr && name != "Ref" {
				return errorf(ref.Pos, id, "event %s: %s must be a logical id or a !Ref, not %s", ev.Key, key, name)
			}
		}
	}
	return nil
}

func (v *Value) fieldsOrNil() []Field {
	if v == nil || v.Kind != Map {
		return nil
	}
	return v.Fields
}

// checkIgnoreGlobals refuses IgnoreGlobals entries that name no global property.
func checkIgnoreGlobals(id, section string, ignore *Value) error {
	if ignore == nil || ignore.Kind != List {
		return nil
	}
	allowed := toSet(globalSections[section]...)
	for _, it := range ignore.Items {
		if s := str(it); !allowed[s] {
			return errorf(it.Pos, id, "IgnoreGlobals names %q, which is not a %s global property", s, section)
		}
	}
	return nil
}

func checkCors(id, what string, c *Value, keys map[string]bool, intMaxAge bool) error {
	if _, _, intr := c.Intrinsic(); intr || c.Kind != Map {
		return nil
	}
	for _, f := range c.Fields {
		if !keys[f.Key] {
			return errorf(f.Pos, id, "%s: %q is not a CORS property", what, f.Key)
		}
		if f.Key == "MaxAge" {
			if _, _, intr := f.Value.Intrinsic(); !intr && f.Value.Kind != Number && (intMaxAge || f.Value.Kind != String) {
				return errorf(f.Pos, id, "%s.MaxAge must be a number", what)
			}
		}
	}
	return nil
}

// checkAPI validates an explicit or implicit API's merged properties.
func checkAPI(id string, rest bool, p *Value) error {
	mustBe := func(key string, kind Kind, what string) error {
		v := p.Get(key)
		if v == nil {
			return nil
		}
		if _, _, intr := v.Intrinsic(); intr {
			return nil
		}
		if v.Kind != kind {
			return errorf(v.Pos, id, "%s must be %s", key, what)
		}
		return nil
	}
	for _, c := range []struct {
		key  string
		kind Kind
		what string
	}{{"Auth", Map, "a map"}, {"Models", Map, "a map"}, {"DefinitionBody", Map, "a map"},
		{"FailOnWarnings", Bool, "true or false"},
		{"DisableExecuteApiEndpoint", Bool, "true or false"}, {"GatewayResponses", Map, "a map"}} {
		if err := mustBe(c.key, c.kind, c.what); err != nil {
			return err
		}
	}
	if v := p.Get("OpenApiVersion"); v != nil {
		if _, _, intr := v.Intrinsic(); !intr && (!v.IsScalar() || !openAPIVersionRE.MatchString(v.Text)) {
			return errorf(v.Pos, id, "OpenApiVersion must be a version such as 3.0.1 or 2.0")
		}
	}
	body := p.Get("DefinitionBody") != nil
	corsKey, corsKeys := "CorsConfiguration", httpCorsKeys
	if rest {
		corsKey, corsKeys = "Cors", restCorsKeys
	}
	if c := p.Get(corsKey); c != nil {
		if p.Get("DefinitionUri") != nil {
			return errorf(c.Pos, id, "%s works only with an inline DefinitionBody (or no definition)", corsKey)
		}
		if err := checkCors(id, corsKey, c, corsKeys, !rest); err != nil {
			return err
		}
	}
	if v := p.Get("DisableExecuteApiEndpoint"); v != nil && !body && p.Get("DefinitionUri") != nil {
		return errorf(v.Pos, id, "DisableExecuteApiEndpoint works only with an inline DefinitionBody")
	}
	if !rest {
		if t := p.Get("Tags"); t != nil && p.Get("DefinitionUri") != nil {
			return errorf(t.Pos, id, "Tags work only with an inline DefinitionBody (or no definition)")
		}
	}
	if err := checkDefinitionBody(id, rest, p.Get("DefinitionBody")); err != nil {
		return err
	}
	if err := checkGatewayResponses(id, p.Get("GatewayResponses")); err != nil {
		return err
	}
	if ec := p.Get("EndpointConfiguration"); ec != nil && ec.Get("VPCEndpointIds") != nil && ec.Get("VpcEndpointIds") != nil {
		return errorf(ec.Pos, id, "EndpointConfiguration: give VPCEndpointIds or VpcEndpointIds, not both")
	}
	return checkAuth(id, rest, p.Get("Auth"))
}

var gatewayResponseParams = toSet("Headers", "Paths", "QueryStrings")

// checkGatewayResponses validates REST GatewayResponses as SAM does.
func checkGatewayResponses(id string, g *Value) error {
	if g == nil {
		return nil
	}
	if _, _, intr := g.Intrinsic(); intr {
		return errorf(g.Pos, id, "GatewayResponses cannot be an intrinsic function")
	}
	for _, r := range g.fieldsOrNil() {
		if r.Value.Kind != Map {
			return errorf(r.Pos, id, "GatewayResponses.%s must be a map", r.Key)
		}
		if _, _, intr := r.Value.Intrinsic(); intr {
			return errorf(r.Pos, id, "GatewayResponses.%s cannot be an intrinsic function", r.Key)
		}
		for _, f := range r.Value.Fields {
			switch f.Key {
			case "StatusCode":
				if _, ok := f.Value.AsInt(); !ok {
					return errorf(f.Pos, id, "GatewayResponses.%s.StatusCode must be numeric", r.Key)
				}
			case "ResponseParameters":
				if f.Value.Kind != Map {
					return errorf(f.Pos, id, "GatewayResponses.%s.ResponseParameters must be a map", r.Key)
				}
				for _, rp := range f.Value.Fields {
					if !gatewayResponseParams[rp.Key] {
						return errorf(rp.Pos, id, "GatewayResponses.%s.ResponseParameters: unknown %q (Headers, Paths, QueryStrings)", r.Key, rp.Key)
					}
				}
			case "ResponseTemplates":
			default:
				return errorf(f.Pos, id, "GatewayResponses.%s: unknown property %q", r.Key, f.Key)
			}
		}
	}
	return nil
}

// checkRouteAuth checks that an event's Auth.Authorizer names an authorizer
// its API defines (NONE and AWS_IAM are built in).
func checkRouteAuth(e *event, a *apiState) *Error {
	auth := e.props.Get("Auth")
	if auth == nil {
		return nil
	}
	if auth.Kind != Map {
		return errorf(auth.Pos, e.fn.id, "event %s: Auth must be a map", e.name)
	}
	name, ok := auth.Get("Authorizer").AsString()
	if !ok {
		if b, isBool := auth.Get("OverrideApiAuth").AsBool(); isBool && b && auth.Get("ApiKeyRequired") == nil && auth.Get("ResourcePolicy") == nil {
			return errorf(auth.Pos, e.fn.id, "event %s: OverrideApiAuth needs Authorizer, ApiKeyRequired or ResourcePolicy", e.name)
		}
		return nil
	}
	if name == "NONE" || name == "AWS_IAM" {
		return nil
	}
	if a.props.Get("Auth").Get("Authorizers").Get(name) == nil {
		return errorf(auth.Pos, e.fn.id, "event %s: Authorizer %q is not defined in the Auth.Authorizers of API %q", e.name, name, a.id)
	}
	return nil
}

// checkAuth validates the shape of an API's Auth.Authorizers.
func checkAuth(id string, rest bool, auth *Value) error {
	if auth == nil || auth.Kind != Map {
		return nil
	}
	authz := auth.Get("Authorizers")
	if authz == nil {
		return nil
	}
	if authz.Kind != Map {
		return errorf(authz.Pos, id, "Auth.Authorizers must be a map")
	}
	for _, a := range authz.Fields {
		if a.Value.Kind != Map {
			return errorf(a.Pos, id, "authorizer %s must be a map", a.Key)
		}
		if ident := a.Value.Get("Identity"); ident != nil {
			if ident.Kind != Map {
				return errorf(ident.Pos, id, "authorizer %s: Identity must be a map", a.Key)
			}
			for _, list := range []string{"Headers", "QueryStrings", "StageVariables", "Context"} {
				if l := ident.Get(list); l != nil && l.Kind == List {
					for _, it := range l.Items {
						if it.Kind != String {
							return errorf(it.Pos, id, "authorizer %s: Identity.%s must list strings", a.Key, list)
						}
					}
				}
			}
		}
		if sc := a.Value.Get("AuthorizationScopes"); sc != nil && sc.Kind != List {
			return errorf(sc.Pos, id, "authorizer %s: AuthorizationScopes must be a list", a.Key)
		}
		if !rest && a.Value.Get("FunctionArn") != nil && a.Value.Get("AuthorizerPayloadFormatVersion") == nil {
			return errorf(a.Pos, id, "Lambda authorizer %s needs AuthorizerPayloadFormatVersion", a.Key)
		}
	}
	return nil
}

var openAPIMethods = toSet("get", "put", "post", "delete", "options", "head", "patch", "trace",
	"x-amazon-apigateway-any-method")

// checkDefinitionBody checks the structure SAM relies on when it edits an
// inline OpenAPI/Swagger document; the deployer imports the rest.
func checkDefinitionBody(id string, rest bool, body *Value) error {
	if body == nil || body.Kind != Map {
		return nil
	}
	if _, _, intr := body.Intrinsic(); intr {
		return nil
	}
	if !rest {
		if v, ok := body.Get("openapi").AsString(); !ok || !strings.HasPrefix(v, "3") {
			return errorf(body.Pos, id, "DefinitionBody must be an OpenAPI 3 document (an \"openapi\" key such as 3.0.1)")
		}
	}
	if sd := body.Get("securityDefinitions"); sd != nil && sd.Kind != Map {
		return errorf(sd.Pos, id, "DefinitionBody: securityDefinitions must be a map")
	}
	paths := body.Get("paths")
	if paths.IsNull() { // SAM accepts an empty "paths:"
		return nil
	}
	if paths.Kind != Map {
		return errorf(paths.Pos, id, "DefinitionBody: paths must be a map")
	}
	for _, p := range paths.Fields {
		if _, _, intr := p.Value.Intrinsic(); intr {
			continue
		}
		if p.Value.IsNull() {
			continue
		}
		if p.Value.Kind != Map {
			return errorf(p.Pos, id, "DefinitionBody: path %s must be a map", p.Key)
		}
		for _, op := range p.Value.Fields {
			if !openAPIMethods[strings.ToLower(op.Key)] {
				continue
			}
			if _, _, intr := op.Value.Intrinsic(); intr {
				continue
			}
			if op.Value.IsNull() {
				continue
			}
			if op.Value.Kind != Map {
				return errorf(op.Pos, id, "DefinitionBody: %s %s must be a map", op.Key, p.Key)
			}
			if r := op.Value.Get("responses"); r != nil {
				if r.Kind != Map {
					return errorf(r.Pos, id, "DefinitionBody: responses of %s %s must be a map", op.Key, p.Key)
				}
				for _, code := range r.Fields {
					if h := code.Value.Get("headers"); h != nil && h.Kind != Map {
						return errorf(h.Pos, id, "DefinitionBody: response headers of %s %s must be a map", op.Key, p.Key)
					}
				}
			}
			if sec := op.Value.Get("security"); sec != nil && sec.Kind != List {
				return errorf(sec.Pos, id, "DefinitionBody: security of %s %s must be a list", op.Key, p.Key)
			}
		}
	}
	return nil
}
