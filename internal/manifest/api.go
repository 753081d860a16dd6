package manifest

import (
	"sort"
	"strings"
)

const (
	implicitRestAPI = "ServerlessRestApi"
	implicitHTTPAPI = "ServerlessHttpApi"
)

var restAPIProperties = toSet("StageName", "Name", "Description", "DefinitionBody", "DefinitionUri",
	"MergeDefinitions", "OpenApiVersion", "Auth", "Cors", "Models", "GatewayResponses", "MethodSettings",
	"Variables", "AccessLogSetting", "CanarySetting", "CacheClusterEnabled", "CacheClusterSize",
	"BinaryMediaTypes", "MinimumCompressionSize", "EndpointConfiguration", "TracingEnabled", "Domain",
	"FailOnWarnings", "Mode", "DisableExecuteApiEndpoint", "ApiKeySourceType", "AlwaysDeploy", "Policy",
	"SecurityPolicy", "Tags", "PropagateTags", "EndpointAccessMode")

var httpAPIProperties = toSet("Name", "Description", "StageName", "DefinitionBody", "DefinitionUri",
	"StageVariables", "CorsConfiguration", "AccessLogSettings", "DefaultRouteSettings", "RouteSettings",
	"Auth", "Domain", "FailOnWarnings", "DisableExecuteApiEndpoint", "Tags", "PropagateTags")

// apiState collects an API's routes until all functions are expanded.
type apiState struct {
	id       string
	typ      ResourceType
	implicit bool
	stage    string // stage name
	stageID  string // logical id of the stage resource
	props    *Value // evaluated properties (Globals merged)
	pos      Pos
	source   string
	routes   []*RouteSpec
	seen     map[string]string // "METHOD path" → event id, to refuse duplicates
}

func (x *expander) explicitAPI(r *RawResource) error {
	id := r.LogicalID
	rest := r.Type == "AWS::Serverless::Api"
	allowed, section, typ := httpAPIProperties, "HttpApi", TypeHTTPAPI
	if rest {
		allowed, section, typ = restAPIProperties, "Api", TypeRestAPI
	}
	for _, p := range r.Properties.Fields {
		if !allowed[p.Key] {
			return errorf(p.Pos, id, "property %q is not defined for %s", p.Key, r.Type)
		}
	}
	if err := checkIgnoreGlobals(id, section, r.IgnoreGlobals); err != nil {
		return err
	}
	merged, err := applyGlobals(x.t.Globals, section, r.Properties, r.IgnoreGlobals, id)
	if err != nil {
		return err
	}
	if err := checkAPI(id, rest, merged); err != nil {
		return err
	}
	props, err := x.evalProps(id, merged)
	if err != nil {
		return err
	}
	if props.Get("DefinitionBody") != nil && props.Get("DefinitionUri") != nil {
		return errorf(r.Pos, id, "DefinitionBody and DefinitionUri are exclusive")
	}
	a := &apiState{id: id, typ: typ, props: props, pos: r.Pos, source: id, seen: map[string]string{}}
	rawStage := r.Properties.Get("StageName")
	stage := props.Get("StageName")
	switch {
	case rest && stage == nil:
		return errorf(r.Pos, id, "StageName is required for AWS::Serverless::Api")
	case stage == nil:
		a.stage = "$default"
	default:
		s, ok := stage.AsString()
		if !ok || s == "" {
			return errorf(stage.Pos, id, "StageName must be a string")
		}
		a.stage = s
	}
	_, _, intrinsic := rawStage.Intrinsic()
	a.stageID = stageLogicalID(id, a.stage, intrinsic, !rest)
	x.apis[id] = a
	x.referable[id+".Stage"] = a.stageID
	return nil
}

// stageLogicalID names a stage as SAM does.
func stageLogicalID(api, stage string, intrinsic, http bool) string {
	switch {
	case http && stage == "$default":
		return api + "ApiGatewayDefaultStage"
	case intrinsic:
		return api + "Stage"
	case logicalIDPattern.MatchString(stage):
		return api + stage + "Stage"
	}
	return api + "Stage" + shortHash(stage)
}

// implicitAPI returns ServerlessRestApi/ServerlessHttpApi, creating it with
// Globals.Api/HttpApi on first use.
func (x *expander) implicitAPI(typ ResourceType) (*apiState, error) {
	id, section, stage := implicitRestAPI, "Api", "Prod"
	if typ == TypeHTTPAPI {
		id, section, stage = implicitHTTPAPI, "HttpApi", "$default"
	}
	if a := x.apis[id]; a != nil {
		if !a.implicit || a.typ != typ {
			return nil, errorf(x.declared[id].Pos, id, "this logical id is reserved for the implicit API that SAM creates for events without an API id")
		}
		return a, nil
	}
	if d := x.declared[id]; d != nil {
		return nil, errorf(d.Pos, id, "this logical id is reserved for the implicit API that SAM creates for events without an API id")
	}
	merged, err := applyGlobals(x.t.Globals, section, NewMap(Pos{}), nil, id)
	if err != nil {
		return nil, err
	}
	if err := checkAPI(id, typ == TypeRestAPI, merged); err != nil {
		return nil, err
	}
	props, err := x.evalProps(id, merged)
	if err != nil {
		return nil, err
	}
	a := &apiState{id: id, typ: typ, implicit: true, stage: stage, props: props, source: id,
		stageID: stageLogicalID(id, stage, false, typ == TypeHTTPAPI), seen: map[string]string{}}
	x.apis[id] = a
	x.referable[id+".Stage"] = a.stageID
	return a, nil
}

// apiFor finds the API an event attaches to: its RestApiId/ApiId reference,
// or the implicit API.
func (x *expander) apiFor(e *event, key string, typ ResourceType) (*apiState, error) {
	ref := e.props.Get(key)
	if ref == nil {
		a, err := x.implicitAPI(typ)
		if err != nil {
			return nil, err
		}
		if a.pos == (Pos{}) {
			a.pos = e.pos
		}
		return a, nil
	}
	want := "AWS::Serverless::Api"
	if typ == TypeHTTPAPI {
		want = "AWS::Serverless::HttpApi"
	}
	target := ref.Target
	if ref.Kind == String {
		target = ref.Text // SAM also takes the logical id as a plain string
	} else if ref.Kind != Ref {
		return nil, x.efail(e, ref.Pos, "%s must be a !Ref to an %s resource in this template", key, want)
	}
	a := x.apis[target]
	if a == nil || a.typ != typ {
		return nil, x.efail(e, ref.Pos, "%s must be a !Ref to an %s resource in this template", key, want)
	}
	return a, nil
}

func (x *expander) httpAPIFor(e *event) (*apiState, error) { return x.apiFor(e, "ApiId", TypeHTTPAPI) }

func (x *expander) apiEvent(e *event) error {
	a, err := x.apiFor(e, "RestApiId", TypeRestAPI)
	if err != nil {
		return err
	}
	pathV, err := x.required(e, "Path")
	if err != nil {
		return err
	}
	methodV, err := x.required(e, "Method")
	if err != nil {
		return err
	}
	path, ok1 := pathV.AsString()
	method, ok2 := methodV.AsString()
	if !ok1 || !ok2 || !strings.HasPrefix(path, "/") {
		return x.efail(e, e.pos, "Path must be a string starting with / and Method a string")
	}
	route := &RouteSpec{API: a.id, APIType: TypeRestAPI, Method: upperMethod(method), Path: path,
		Function: e.fn.id, Qualifier: e.fn.alias, Auth: e.props.Get("Auth"),
		RequestModel: e.props.Get("RequestModel"), RequestParameters: e.props.Get("RequestParameters"), Event: e.name}
	if route.TimeoutInMillis, err = optInt(e.props.Get("TimeoutInMillis"), e.fn.id, "TimeoutInMillis"); err != nil {
		return err
	}
	if err := x.addRoute(a, e, route); err != nil {
		return err
	}
	stage := a.stage
	if !logicalIDPattern.MatchString(stage) {
		stage = shortHash(stage)
	}
	if raw := x.declared[a.id]; raw != nil {
		if _, _, intr := raw.Properties.Get("StageName").Intrinsic(); intr {
			stage = "Stage"
		}
	}
	return x.permission(e.id+"Permission"+stage, e.fn.id, e.fn.name(), "lambda:InvokeFunction",
		Str("apigateway.amazonaws.com"), x.executeArn(a, route), e.pos)
}

func (x *expander) httpAPIEvent(e *event, defaultRoute map[string]bool) error {
	a, err := x.httpAPIFor(e)
	if err != nil {
		return err
	}
	path, method := "$default", "ANY"
	pv, mv := e.props.Get("Path"), e.props.Get("Method")
	if pv != nil || mv != nil {
		var ok1, ok2 bool
		path, ok1 = pv.AsString()
		method, ok2 = mv.AsString()
		if pv == nil || mv == nil || !ok1 || !ok2 || !strings.HasPrefix(path, "/") {
			return x.efail(e, e.pos, "HttpApi events need both Path (starting with /) and Method, or neither for the $default route")
		}
	}
	pfv := "2.0"
	if v := e.props.Get("PayloadFormatVersion"); v != nil {
		pfv = str(v)
		if pfv != "1.0" && pfv != "2.0" {
			return x.efail(e, v.Pos, "PayloadFormatVersion must be 1.0 or 2.0")
		}
	}
	route := &RouteSpec{API: a.id, APIType: TypeHTTPAPI, Method: upperMethod(method), Path: path,
		Function: e.fn.id, Qualifier: e.fn.alias, PayloadFormatVersion: pfv, Auth: e.props.Get("Auth"), Event: e.name}
	if route.TimeoutInMillis, err = optInt(e.props.Get("TimeoutInMillis"), e.fn.id, "TimeoutInMillis"); err != nil {
		return err
	}
	if err := x.addRoute(a, e, route); err != nil {
		return err
	}
	if defaultRoute[a.id] && path != "$default" {
		return nil
	}
	return x.permission(e.id+"Permission", e.fn.id, e.fn.name(), "lambda:InvokeFunction",
		Str("apigateway.amazonaws.com"), x.executeArn(a, route), e.pos)
}

// executeArn is the SourceArn SAM puts on an API's permission.
func (x *expander) executeArn(a *apiState, r *RouteSpec) *Value {
	p := x.ev.pseudo
	tail := "/*/" + r.Method + r.Path
	if r.Method == "ANY" {
		tail = "/*/*" + r.Path
	}
	if r.Path == "$default" {
		tail = "/*"
	}
	prefix := "arn:" + p.Partition + ":execute-api:" + p.Region + ":" + p.AccountID + ":"
	return keep(&Value{}, "Fn::Join", NewList(Str(""), NewList(Str(prefix), RefTo(a.id), Str(tail))))
}

func (x *expander) addRoute(a *apiState, e *event, r *RouteSpec) error {
	if err := checkRouteAuth(e, a); err != nil {
		return err
	}
	key := r.Method + " " + r.Path
	if prev, ok := a.seen[key]; ok {
		return x.efail(e, e.pos, "route %s on API %q is already defined by %s", key, a.id, prev)
	}
	a.seen[key] = e.id
	a.routes = append(a.routes, r)
	return nil
}

// finishAPIs adds each API with its stage (and REST deployment), routes
// and usage plans.
func (x *expander) finishAPIs() error {
	var shared sharedPlan
	for _, id := range sortedKeys(x.apis) {
		a := x.apis[id]
		sort.Slice(a.routes, func(i, j int) bool {
			if a.routes[i].Path != a.routes[j].Path {
				return a.routes[i].Path < a.routes[j].Path
			}
			return a.routes[i].Method < a.routes[j].Method
		})
		spec := &APISpec{Implicit: a.implicit, Name: a.props.Get("Name"), StageName: a.stage,
			Auth: a.props.Get("Auth"), Models: a.props.Get("Models"), DefinitionBody: a.props.Get("DefinitionBody")}
		if a.typ == TypeRestAPI {
			spec.Cors = a.props.Get("Cors")
			spec.StageVariables = a.props.Get("Variables")
		} else {
			spec.Cors = a.props.Get("CorsConfiguration")
			spec.StageVariables = a.props.Get("StageVariables")
		}
		if du := a.props.Get("DefinitionUri"); du != nil && du.Kind == String && !strings.HasPrefix(du.Text, "s3://") {
			spec.DefinitionURI = du.Text
		}
		cfn, stageCFN := "AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Stage"
		if a.typ == TypeRestAPI {
			cfn, stageCFN = "AWS::ApiGateway::RestApi", "AWS::ApiGateway::Stage"
		}
		var deps []string
		if raw := x.declared[id]; raw != nil {
			deps = raw.DependsOn
		}
		if err := x.add(&Resource{LogicalID: id, Type: a.typ, CFNType: cfn, Source: a.source, Pos: a.pos,
			Properties: a.props, Spec: spec, DependsOn: deps}); err != nil {
			return err
		}
		stageProps := NewMap(a.pos)
		stageProps.Set("StageName", Str(a.stage))
		if err := x.add(&Resource{LogicalID: a.stageID, Type: TypeStage, CFNType: stageCFN, Source: a.source,
			Pos: a.pos, Properties: stageProps, Spec: &StageSpec{API: id, StageName: a.stage},
			DependsOn: []string{id}}); err != nil {
			return err
		}
		if a.typ == TypeRestAPI {
			routes := make([]any, 0, len(a.routes))
			for _, r := range a.routes {
				routes = append(routes, []any{r.Method, r.Path, r.Function, r.Qualifier})
			}
			depID := id + "Deployment" + shortHash(map[string]any{"routes": routes, "props": a.props.Interface()})
			x.referable[id+".Deployment"] = depID
			if err := x.add(&Resource{LogicalID: depID, Type: TypeDeployment, CFNType: "AWS::ApiGateway::Deployment",
				Source: a.source, Pos: a.pos, Properties: NewMap(a.pos), Spec: &StageSpec{API: id, StageName: a.stage},
				DependsOn: []string{id}}); err != nil {
				return err
			}
		}
		if a.typ == TypeRestAPI {
			if err := x.usagePlan(a, &shared); err != nil {
				return err
			}
		}
		for _, r := range a.routes {
			rid := r.Function + r.Event + "Route"
			if err := x.add(&Resource{LogicalID: rid, Type: TypeRoute, Source: r.Function, Pos: a.pos,
				Properties: NewMap(a.pos), Spec: r, DependsOn: []string{id, r.Function}}); err != nil {
				return err
			}
		}
	}
	return x.addUsagePlan("Serverless", shared.apis, shared.props, shared.pos, shared.source)
}

// sharedPlan collects the APIs whose Auth.UsagePlan is SHARED: SAM gives
// them one ServerlessUsagePlan, ServerlessApiKey and ServerlessUsagePlanKey.
type sharedPlan struct {
	apis   []*apiState
	props  *Value
	pos    Pos
	source string
}

var usagePlanKeys = toSet("CreateUsagePlan", "Description", "Quota", "Tags", "Throttle", "UsagePlanName")

// usagePlan reads a REST API's Auth.UsagePlan: PER_API adds <Api>UsagePlan,
// <Api>ApiKey and <Api>UsagePlanKey; SHARED joins the shared plan.
func (x *expander) usagePlan(a *apiState, shared *sharedPlan) error {
	up := a.props.Get("Auth").Get("UsagePlan")
	if up == nil {
		return nil
	}
	if up.Kind != Map {
		return errorf(up.Pos, a.id, "Auth.UsagePlan must be a map with CreateUsagePlan")
	}
	for _, f := range up.Fields {
		if !usagePlanKeys[f.Key] {
			return errorf(f.Value.pos(), a.id, "Auth.UsagePlan: invalid property %q (want CreateUsagePlan, Description, Quota, Tags, Throttle, UsagePlanName)", f.Key)
		}
	}
	mode, _ := up.Get("CreateUsagePlan").AsString()
	switch mode {
	case "NONE":
		return nil
	case "PER_API":
		return x.addUsagePlan(a.id, []*apiState{a}, up, up.Pos, a.id)
	case "SHARED":
		shared.apis = append(shared.apis, a)
		if shared.props == nil {
			shared.props, shared.pos, shared.source = up, up.Pos, a.id
		}
		return nil
	}
	return errorf(up.Pos, a.id, "Auth.UsagePlan.CreateUsagePlan must be PER_API, SHARED or NONE, not %q", mode)
}

// addUsagePlan adds <prefix>UsagePlan, <prefix>ApiKey and
// <prefix>UsagePlanKey for apis, as SAM does.
func (x *expander) addUsagePlan(prefix string, apis []*apiState, up *Value, pos Pos, source string) error {
	if len(apis) == 0 {
		return nil
	}
	planID, keyID, planKeyID := prefix+"UsagePlan", prefix+"ApiKey", prefix+"UsagePlanKey"
	plan := &UsagePlanSpec{Name: up.Get("UsagePlanName"), Description: up.Get("Description"), Throttle: up.Get("Throttle"), Quota: up.Get("Quota")}
	stages := NewList()
	keyStages := NewList()
	for _, a := range apis {
		plan.APIStages = append(plan.APIStages, APIStageRef{APIID: RefTo(a.id), Stage: Str(a.stage)})
		st := NewMap(pos)
		st.Set("ApiId", RefTo(a.id))
		st.Set("Stage", Str(a.stage))
		stages.Items = append(stages.Items, st)
		ks := NewMap(pos)
		ks.Set("RestApiId", RefTo(a.id))
		ks.Set("StageName", Str(a.stage))
		keyStages.Items = append(keyStages.Items, ks)
		x.referable[a.id+".UsagePlan"] = planID
		x.referable[a.id+".ApiKey"] = keyID
		x.referable[a.id+".UsagePlanKey"] = planKeyID
	}
	planProps := NewMap(pos)
	planProps.Set("ApiStages", stages)
	for _, k := range []string{"Description", "Quota", "Tags", "Throttle", "UsagePlanName"} {
		if v := up.Get(k); v != nil {
			planProps.Set(k, v)
		}
	}
	keyProps := NewMap(pos)
	keyProps.Set("Enabled", &Value{Kind: Bool, Text: "true"})
	keyProps.Set("StageKeys", keyStages)
	planKeyProps := NewMap(pos)
	planKeyProps.Set("KeyId", RefTo(keyID))
	planKeyProps.Set("KeyType", Str("API_KEY"))
	planKeyProps.Set("UsagePlanId", RefTo(planID))
	for _, r := range []*Resource{
		{LogicalID: planID, Type: TypeUsagePlan, CFNType: "AWS::ApiGateway::UsagePlan", Source: source, Pos: pos, Properties: planProps, Spec: plan},
		{LogicalID: keyID, Type: TypeAPIKey, CFNType: "AWS::ApiGateway::ApiKey", Source: source, Pos: pos, Properties: keyProps,
			Spec: &APIKeySpec{Enabled: true}, DependsOn: []string{planID}},
		{LogicalID: planKeyID, Type: TypeUsagePlanKey, CFNType: "AWS::ApiGateway::UsagePlanKey", Source: source, Pos: pos, Properties: planKeyProps,
			Spec: &UsagePlanKeySpec{KeyID: RefTo(keyID), UsagePlanID: RefTo(planID)}},
	} {
		if err := x.add(r); err != nil {
			return err
		}
	}
	return nil
}
