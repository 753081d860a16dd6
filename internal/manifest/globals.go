package manifest

import "strings"

// globalSections lists, per Globals section, the properties it may set
// (sam.md §2). Anything else is an error, as in SAM.
var globalSections = map[string][]string{
	"Function": {"Handler", "Runtime", "CodeUri", "DeadLetterQueue", "Description", "MemorySize", "Timeout",
		"VpcConfig", "Environment", "Tags", "PropagateTags", "Tracing", "KmsKeyArn", "AutoPublishAlias",
		"AutoPublishAliasAllProperties", "Layers", "DeploymentPreference", "RolePath", "PermissionsBoundary",
		"ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig", "AssumeRolePolicyDocument",
		"EventInvokeConfig", "FileSystemConfigs", "CodeSigningConfigArn", "Architectures", "SnapStart",
		"EphemeralStorage", "FunctionUrlConfig", "RuntimeManagementConfig", "LoggingConfig", "RecursiveLoop",
		"SourceKMSKeyArn", "TenancyConfig", "DurableConfig", "CapacityProviderConfig", "FunctionScalingConfig",
		"PublishToLatestPublished", "VersionDeletionPolicy"},
	"Api": {"Auth", "Name", "DefinitionUri", "CacheClusterEnabled", "CacheClusterSize", "MergeDefinitions",
		"Variables", "EndpointConfiguration", "MethodSettings", "BinaryMediaTypes", "MinimumCompressionSize",
		"Cors", "GatewayResponses", "AccessLogSetting", "CanarySetting", "TracingEnabled", "OpenApiVersion",
		"Domain", "AlwaysDeploy", "PropagateTags", "SecurityPolicy", "EndpointAccessMode"},
	"HttpApi": {"Auth", "AccessLogSettings", "StageVariables", "Tags", "CorsConfiguration",
		"DefaultRouteSettings", "Domain", "RouteSettings", "FailOnWarnings", "PropagateTags"},
	"SimpleTable":  {"SSESpecification"},
	"StateMachine": {"PropagateTags"},
	"LayerVersion": {"PublishLambdaVersion"},
	"CapacityProvider": {"VpcConfig", "OperatorRole", "Tags", "InstanceRequirements", "ScalingConfig",
		"KmsKeyArn", "PropagateTags"},
	"WebSocketApi": {"AccessLogSettings", "ApiKeySelectionExpression", "DefaultRouteSettings",
		"DisableExecuteApiEndpoint", "DisableSchemaValidation", "Domain", "FailOnWarnings", "IpAddressType",
		"PropagateTags", "RouteSelectionExpression", "RouteSettings", "StageVariables", "Tags"},
}

// checkGlobals validates the Globals section against globalSections.
func checkGlobals(g *Value) error {
	if g == nil {
		return nil
	}
	for _, sec := range g.Fields {
		allowed, ok := globalSections[sec.Key]
		if !ok {
			return errorf(sec.Pos, "", "Globals: %q is not a supported section (supported: Function, Api, HttpApi, SimpleTable, StateMachine, LayerVersion, CapacityProvider, WebSocketApi)", sec.Key)
		}
		if sec.Value.IsNull() {
			continue
		}
		if sec.Value.Kind != Map {
			return errorf(sec.Pos, "", "Globals: %s must be a map", sec.Key)
		}
		for _, p := range sec.Value.Fields {
			found := false
			for _, a := range allowed {
				if a == p.Key {
					found = true
					break
				}
			}
			if !found {
				return errorf(p.Pos, "", "Globals: %s.%s is not a property that can be global (allowed: %s)", sec.Key, p.Key, strings.Join(allowed, ", "))
			}
		}
	}
	return nil
}

// applyGlobals returns props with the section's globals merged in, skipping
// what IgnoreGlobals names ("*" skips all).
func applyGlobals(g *Value, section string, props, ignore *Value, resource string) (*Value, error) {
	sec := g.Get(section)
	if sec == nil || sec.Kind != Map {
		return props, nil
	}
	skip := map[string]bool{}
	if ignore != nil {
		switch {
		case ignore.Kind == String && ignore.Text == "*":
			return props, nil
		case ignore.Kind == List:
			for _, it := range ignore.Items {
				s, ok := it.AsString()
				if !ok {
					return nil, errorf(it.Pos, resource, "IgnoreGlobals must be \"*\" or a list of property names")
				}
				skip[s] = true
			}
		default:
			return nil, errorf(ignore.Pos, resource, "IgnoreGlobals must be \"*\" or a list of property names")
		}
	}
	out := props.Clone()
	if out == nil {
		out = NewMap(Pos{})
	}
	for _, gf := range sec.Fields {
		if skip[gf.Key] {
			continue
		}
		if local := out.field(gf.Key); local != nil {
			local.Value = mergeGlobal(gf.Value, local.Value)
		} else {
			out.Fields = append(out.Fields, Field{Key: gf.Key, Pos: gf.Pos, Value: gf.Value.Clone()})
		}
	}
	return out, nil
}

// mergeGlobal merges a global value G into a local value L by SAM's rules:
// maps merge key by key (L wins), lists concatenate G+L, anything else
// (scalars, intrinsics, differing types) is L.
func mergeGlobal(g, l *Value) *Value {
	if g == nil {
		return l
	}
	_, _, gi := g.Intrinsic()
	_, _, li := l.Intrinsic()
	if gi || li || g.Kind != l.Kind {
		return l
	}
	switch l.Kind {
	case Map:
		out := g.Clone()
		out.Pos = l.Pos
		for _, lf := range l.Fields {
			if f := out.field(lf.Key); f != nil {
				f.Value = mergeGlobal(f.Value, lf.Value)
				f.Pos = lf.Pos
			} else {
				out.Fields = append(out.Fields, Field{Key: lf.Key, Pos: lf.Pos, Value: lf.Value})
			}
		}
		return out
	case List:
		out := &Value{Kind: List, Pos: l.Pos}
		for _, it := range g.Items {
			out.Items = append(out.Items, it.Clone())
		}
		out.Items = append(out.Items, l.Items...)
		return out
	}
	return l
}
