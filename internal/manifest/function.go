package manifest

import (
	"regexp"
	"strings"
)

// functionProperties are the properties AWS::Serverless::Function accepts.
var functionProperties = toSet("Handler", "Runtime", "CodeUri", "InlineCode", "ImageUri", "ImageConfig",
	"PackageType", "DeadLetterQueue", "Description", "MemorySize", "Timeout", "VpcConfig", "Environment",
	"Tags", "PropagateTags", "Tracing", "KmsKeyArn", "AutoPublishAlias", "AutoPublishAliasAllProperties",
	"AutoPublishCodeSha256", "VersionDescription", "VersionDeletionPolicy", "Layers", "DeploymentPreference",
	"RolePath", "PermissionsBoundary", "ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig",
	"AssumeRolePolicyDocument", "EventInvokeConfig", "FileSystemConfigs", "CodeSigningConfigArn",
	"Architectures", "SnapStart", "EphemeralStorage", "FunctionUrlConfig", "RuntimeManagementConfig",
	"LoggingConfig", "RecursiveLoop", "SourceKMSKeyArn", "TenancyConfig", "DurableConfig",
	"CapacityProviderConfig", "FunctionScalingConfig", "PublishToLatestPublished", "Role", "Policies",
	"FunctionName", "Events")

// iamProperties are kept unevaluated on the generated role (see function).
var iamProperties = []string{"Policies", "PermissionsBoundary", "RolePath", "AssumeRolePolicyDocument", "DeploymentPreference"}

var aliasPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

func toSet(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// fn is what event expansion needs to know about the function.
type fn struct {
	id        string
	alias     string // AutoPublishAlias, "" when none
	aliasID   string
	condition string
	pos       Pos
}

// target is what an event source invokes: the alias ARN when the function
// auto-publishes one, else the function ARN.
func (f *fn) arn() *Value {
	if f.aliasID != "" {
		return RefTo(f.aliasID)
	}
	return GetAttOf(f.id, "Arn")
}

// name is what FunctionName-style properties get: Ref of the alias or function.
func (f *fn) name() *Value {
	if f.aliasID != "" {
		return RefTo(f.aliasID)
	}
	return RefTo(f.id)
}

func (x *expander) function(r *RawResource) error {
	id := r.LogicalID
	for _, p := range r.Properties.Fields {
		if !functionProperties[p.Key] {
			return errorf(p.Pos, id, "property %q is not defined for AWS::Serverless::Function", p.Key)
		}
	}
	if err := checkIgnoreGlobals(id, "Function", r.IgnoreGlobals); err != nil {
		return err
	}
	merged, err := applyGlobals(x.t.Globals, "Function", r.Properties, r.IgnoreGlobals, id)
	if err != nil {
		return err
	}
	if err := checkFunction(id, merged); err != nil {
		return err
	}
	// AutoPublishAlias may not be an intrinsic in SAM: check before evaluating.
	if a := merged.Get("AutoPublishAlias"); a != nil {
		if _, _, intr := a.Intrinsic(); intr && a.Get("Ref") == nil {
			return errorf(a.Pos, id, "AutoPublishAlias must be a string")
		}
	}
	// IAM and CodeDeploy settings go to resources Lamina only records (the
	// role, deployment group); they are kept as written, unevaluated, since
	// they may use conditions or references Lamina never needs to resolve.
	iam := pick(merged, iamProperties...)
	for _, k := range iamProperties {
		merged.Delete(k)
	}
	props, err := x.evalProps(id, merged)
	if err != nil {
		return err
	}
	f := &fn{id: id, condition: r.Condition, pos: r.Pos}
	spec, err := x.functionSpec(r, props)
	if err != nil {
		return err
	}
	// What becomes a resource of its own is not part of the function's
	// properties, so changing it does not make the function look changed.
	fnProps := props.Clone()
	for _, k := range []string{"Events", "FunctionUrlConfig", "EventInvokeConfig", "ProvisionedConcurrencyConfig"} {
		fnProps.Delete(k)
	}
	res := &Resource{LogicalID: id, Type: TypeFunction, CFNType: "AWS::Lambda::Function", Source: id,
		Properties: fnProps, Spec: spec, DependsOn: r.DependsOn, Metadata: r.Metadata, Pos: r.Pos}

	if props.Get("Role") == nil {
		role := &Resource{LogicalID: id + "Role", Type: TypeRole, CFNType: "AWS::IAM::Role", Source: id, Pos: r.Pos,
			Properties: iam}
		if err := x.add(role); err != nil {
			return err
		}
		spec.Role = GetAttOf(role.LogicalID, "Arn")
	}
	if err := x.add(res); err != nil {
		return err
	}
	if err := x.autoPublish(r, props, spec, f); err != nil {
		return err
	}
	if err := x.functionURL(r, props, f); err != nil {
		return err
	}
	if err := x.eventInvokeConfig(r, props, f); err != nil {
		return err
	}
	return x.events(r, props, f)
}

// pick returns a map of the named keys of m that are present.
func pick(m *Value, keys ...string) *Value {
	out := NewMap(m.pos())
	for _, k := range keys {
		if v := m.Get(k); v != nil {
			out.Set(k, v)
		}
	}
	return out
}

func (x *expander) functionSpec(r *RawResource, p *Value) (*FunctionSpec, error) {
	id := r.LogicalID
	s := &FunctionSpec{FunctionName: p.Get("FunctionName"), Architecture: "x86_64", MemorySize: 128, Timeout: 3,
		Layers: nil, Role: p.Get("Role")}
	code, inline, image := p.Get("CodeUri"), p.Get("InlineCode"), p.Get("ImageUri")
	n := 0
	for _, c := range []*Value{code, inline, image} {
		if c != nil {
			n++
		}
	}
	// SAM lets InlineCode win over CodeUri, and ImageUri over CodeUri.
	pkg := str(p.Get("PackageType"))
	switch {
	case n == 0:
		return nil, errorf(r.Pos, id, "needs CodeUri, InlineCode or ImageUri")
	case image != nil && inline != nil:
		return nil, errorf(r.Pos, id, "InlineCode and ImageUri are exclusive; give one")
	}
	s.PackageType = pkg
	switch {
	case image != nil:
		s.ImageURI, s.PackageType = image, "Image"
	case inline != nil:
		t, ok := inline.AsString()
		if !ok {
			return nil, errorf(inline.Pos, id, "InlineCode must be a string")
		}
		s.InlineCode = t
	case code.Kind == String && strings.HasPrefix(code.Text, "s3://"):
		s.CodeS3 = code
	case code.Kind == String:
		s.CodeURI = code.Text
	case code.Kind == Map:
		if code.Get("Bucket") == nil || code.Get("Key") == nil {
			return nil, errorf(code.Pos, id, "CodeUri map needs Bucket and Key")
		}
		s.CodeS3 = code
	default:
		return nil, errorf(code.Pos, id, "CodeUri must be a path, an s3:// URI or {Bucket, Key}")
	}
	s.Handler = str(p.Get("Handler"))
	s.Runtime = str(p.Get("Runtime"))
	s.Description = str(p.Get("Description"))
	s.Tracing = str(p.Get("Tracing"))
	if a := p.Get("Architectures"); a != nil {
		if a.Kind == String { // a !Ref to a String parameter
			a = NewList(a)
		}
		if a.Kind != List || len(a.Items) != 1 || (str(a.Items[0]) != "x86_64" && str(a.Items[0]) != "arm64") {
			return nil, errorf(a.Pos, id, "Architectures must be [x86_64] or [arm64]")
		}
		s.Architecture = str(a.Items[0])
	}
	var err error
	if s.MemorySize, err = intOr(p.Get("MemorySize"), 128, id, "MemorySize"); err != nil {
		return nil, err
	}
	if s.Timeout, err = intOr(p.Get("Timeout"), 3, id, "Timeout"); err != nil {
		return nil, err
	}
	if s.ReservedConcurrentExecutions, err = optInt(p.Get("ReservedConcurrentExecutions"), id, "ReservedConcurrentExecutions"); err != nil {
		return nil, err
	}
	if es := p.Get("EphemeralStorage"); es != nil {
		if s.EphemeralStorage, err = intOr(es.Get("Size"), 512, id, "EphemeralStorage.Size"); err != nil {
			return nil, err
		}
	}
	if env := p.Get("Environment"); env != nil {
		vars := env.Get("Variables")
		if vars != nil && vars.Kind != Map {
			return nil, errorf(env.Pos, id, "Environment.Variables must be a map")
		}
		if vars != nil {
			s.Environment = map[string]*Value{}
			for _, f := range vars.Fields {
				s.Environment[f.Key] = f.Value
			}
		}
	}
	if t := p.Get("Tags"); t != nil && t.Kind == Map {
		s.Tags = map[string]*Value{}
		for _, f := range t.Fields {
			s.Tags[f.Key] = f.Value
		}
	}
	if l := p.Get("Layers"); l != nil {
		if l.Kind != List {
			return nil, errorf(l.Pos, id, "Layers must be a list")
		}
		s.Layers = l.Items
	}
	if dlq := p.Get("DeadLetterQueue"); dlq != nil {
		typ := str(dlq.Get("Type"))
		if dlq.Kind != Map || (typ != "SQS" && typ != "SNS") || dlq.Get("TargetArn") == nil {
			return nil, errorf(dlq.Pos, id, "DeadLetterQueue needs Type (SQS or SNS) and TargetArn")
		}
		s.DeadLetter = &DeadLetter{Type: typ, TargetArn: dlq.Get("TargetArn")}
	}
	if a := p.Get("AutoPublishAlias"); a != nil {
		s.AutoPublishAlias = str(a)
	}
	if md := r.Metadata; md != nil {
		s.BuildMethod = str(md.Get("BuildMethod"))
		s.BuildProperties = md.Get("BuildProperties")
	}
	return s, nil
}

func str(v *Value) string {
	s, _ := v.AsString()
	return s
}

func intOr(v *Value, def int, id, name string) (int, error) {
	if v == nil {
		return def, nil
	}
	n, ok := v.AsInt()
	if !ok {
		return 0, errorf(v.Pos, id, "%s must be a whole number", name)
	}
	return int(n), nil
}

func optInt(v *Value, id, name string) (*int, error) {
	if v == nil {
		return nil, nil
	}
	n, err := intOr(v, 0, id, name)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// autoPublish adds <Fn>Version<hash> and <Fn>Alias<name>.
func (x *expander) autoPublish(r *RawResource, p *Value, spec *FunctionSpec, f *fn) error {
	id := r.LogicalID
	pc := p.Get("ProvisionedConcurrencyConfig")
	a := p.Get("AutoPublishAlias")
	if a == nil {
		if pc != nil {
			return errorf(pc.Pos, id, "ProvisionedConcurrencyConfig needs AutoPublishAlias")
		}
		return nil
	}
	name, ok := a.AsString()
	if !ok || !aliasPattern.MatchString(name) || isDigits(name) {
		return errorf(a.Pos, id, "AutoPublishAlias %s must match [a-zA-Z0-9_-]+ and not be all digits", a)
	}
	hashInput := map[string]any{}
	if sha := p.Get("AutoPublishCodeSha256"); sha != nil {
		hashInput["sha"] = sha.Interface()
	} else if b, _ := p.Get("AutoPublishAliasAllProperties").AsBool(); b {
		all := p.Clone()
		all.Delete("Events")
		hashInput["all"] = all.Interface()
	} else {
		for _, k := range []string{"CodeUri", "InlineCode", "ImageUri", "Environment", "MemorySize"} {
			if v := p.Get(k); v != nil {
				hashInput[k] = v.Interface()
			}
		}
	}
	hash := shortHash(hashInput)
	version := &Resource{LogicalID: id + "Version" + hash, Type: TypeVersion, CFNType: "AWS::Lambda::Version",
		Source: id, Pos: r.Pos, Properties: NewMap(r.Pos), Spec: &VersionSpec{Function: id, CodeHash: hash}}
	version.Properties.Set("FunctionName", RefTo(id))
	aliasID := id + "Alias" + strings.NewReplacer("-", "D", "_", "U").Replace(name)
	as := &AliasSpec{Function: id, Name: name, Version: version.LogicalID}
	if pc != nil {
		n, err := optInt(pc.Get("ProvisionedConcurrentExecutions"), id, "ProvisionedConcurrencyConfig.ProvisionedConcurrentExecutions")
		if err != nil {
			return err
		}
		as.ProvisionedConcurrency = n
	}
	alias := &Resource{LogicalID: aliasID, Type: TypeAlias, CFNType: "AWS::Lambda::Alias", Source: id, Pos: r.Pos,
		Properties: NewMap(r.Pos), Spec: as}
	alias.Properties.Set("Name", Str(name))
	alias.Properties.Set("FunctionName", RefTo(id))
	alias.Properties.Set("FunctionVersion", GetAttOf(version.LogicalID, "Version"))
	if pc != nil {
		alias.Properties.Set("ProvisionedConcurrencyConfig", pc)
	}
	if err := x.add(version); err != nil {
		return err
	}
	if err := x.add(alias); err != nil {
		return err
	}
	f.alias, f.aliasID = name, aliasID
	x.referable[id+".Alias"] = aliasID
	x.referable[id+".Version"] = version.LogicalID
	return nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// functionURL adds <Fn>Url and, for AuthType NONE, <Fn>UrlPublicPermissions.
func (x *expander) functionURL(r *RawResource, p *Value, f *fn) error {
	u := p.Get("FunctionUrlConfig")
	if u == nil {
		return nil
	}
	id := r.LogicalID
	if u.Kind != Map {
		return errorf(u.Pos, id, "FunctionUrlConfig must be a map")
	}
	for _, k := range u.Fields {
		switch k.Key {
		case "AuthType", "Cors", "InvokeMode":
		default:
			return errorf(k.Pos, id, "FunctionUrlConfig: unknown property %q", k.Key)
		}
	}
	auth := str(u.Get("AuthType"))
	if auth != "NONE" && auth != "AWS_IAM" {
		return errorf(u.Pos, id, "FunctionUrlConfig.AuthType must be NONE or AWS_IAM")
	}
	mode := str(u.Get("InvokeMode"))
	if mode == "" {
		mode = "BUFFERED"
	}
	if mode != "BUFFERED" && mode != "RESPONSE_STREAM" {
		return errorf(u.Pos, id, "FunctionUrlConfig.InvokeMode must be BUFFERED or RESPONSE_STREAM")
	}
	props := u.Clone()
	props.Set("TargetFunctionArn", RefTo(id))
	if f.alias != "" {
		props.Set("Qualifier", Str(f.alias))
	}
	url := &Resource{LogicalID: id + "Url", Type: TypeFunctionURL, CFNType: "AWS::Lambda::Url", Source: id,
		Pos: r.Pos, Properties: props,
		Spec: &FunctionURLSpec{Function: id, Qualifier: f.alias, AuthType: auth, InvokeMode: mode, Cors: u.Get("Cors")}}
	if f.aliasID != "" {
		url.DependsOn = []string{f.aliasID}
	}
	if err := x.add(url); err != nil {
		return err
	}
	// SAM adds the public permissions only when AuthType is literally NONE
	// (not an intrinsic that evaluates to it); the ids follow that.
	if r.Properties.Get("FunctionUrlConfig").Get("AuthType").Kind != String || auth != "NONE" {
		return nil
	}
	// Newer SAM versions add a second statement for lambda:InvokeFunction
	// through the URL; both are kept so the ids match SAM's.
	if err := x.permission(id+"UrlPublicPermissions", id, f.name(), "lambda:InvokeFunctionUrl", Str("*"), nil, r.Pos); err != nil {
		return err
	}
	return x.permission(id+"URLInvokeAllowPublicAccess", id, f.name(), "lambda:InvokeFunction", Str("*"), nil, r.Pos)
}

// permission adds an AWS::Lambda::Permission (kept for display).
func (x *expander) permission(logicalID, source string, function *Value, action string, principal, sourceArn *Value, pos Pos) error {
	props := NewMap(pos)
	props.Set("Action", Str(action))
	props.Set("FunctionName", function)
	props.Set("Principal", principal)
	if sourceArn != nil {
		props.Set("SourceArn", sourceArn)
	}
	return x.add(&Resource{LogicalID: logicalID, Type: TypePermission, CFNType: "AWS::Lambda::Permission",
		Source: source, Pos: pos, Properties: props,
		Spec: &PermissionSpec{FunctionName: function, Action: action, Principal: principal, SourceArn: sourceArn}})
}

// eventInvokeConfig adds <Fn>EventInvokeConfig and the queues/topics SAM
// creates for destinations of Type SQS/SNS without a Destination.
func (x *expander) eventInvokeConfig(r *RawResource, p *Value, f *fn) error {
	c := p.Get("EventInvokeConfig")
	if c == nil {
		return nil
	}
	id := r.LogicalID
	if c.Kind != Map {
		return errorf(c.Pos, id, "EventInvokeConfig must be a map")
	}
	qual := f.alias
	if qual == "" {
		qual = "$LATEST"
	}
	spec := &EventInvokeConfigSpec{Function: id, Qualifier: qual}
	var err error
	if spec.MaximumEventAgeInSeconds, err = optInt(c.Get("MaximumEventAgeInSeconds"), id, "EventInvokeConfig.MaximumEventAgeInSeconds"); err != nil {
		return err
	}
	if spec.MaximumRetryAttempts, err = optInt(c.Get("MaximumRetryAttempts"), id, "EventInvokeConfig.MaximumRetryAttempts"); err != nil {
		return err
	}
	if n := spec.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 2) {
		return errorf(c.Pos, id, "EventInvokeConfig.MaximumRetryAttempts must be 0, 1 or 2")
	}
	props := NewMap(c.Pos)
	props.Set("FunctionName", RefTo(id))
	props.Set("Qualifier", Str(qual))
	if dc := c.Get("DestinationConfig"); dc != nil {
		if dc.Kind != Map {
			return errorf(dc.Pos, id, "EventInvokeConfig.DestinationConfig must be a map")
		}
		for _, which := range []string{"OnSuccess", "OnFailure"} {
			d := dc.Get(which)
			if d == nil {
				continue
			}
			typ := str(d.Get("Type"))
			dest := d.Get("Destination")
			switch typ {
			case "SQS", "SNS":
				if dest == nil {
					kind, t, prop := "Queue", TypeQueue, "DestinationQueue"
					cfn, attr := "AWS::SQS::Queue", GetAttOf("", "Arn")
					if typ == "SNS" {
						kind, t, prop, cfn = "Topic", TypeTopic, "DestinationTopic", "AWS::SNS::Topic"
					}
					qid := id + "EventInvokeConfig" + which + kind
					var qs any = &QueueSpec{}
					if t == TypeTopic {
						qs = &TopicSpec{}
						dest = RefTo(qid)
					} else {
						attr.Target = qid
						dest = attr
					}
					if err := x.add(&Resource{LogicalID: qid, Type: t, CFNType: cfn, Source: id, Pos: d.Pos,
						Properties: NewMap(d.Pos), Spec: qs}); err != nil {
						return err
					}
					x.referable[id+"."+prop] = qid
				}
			case "Lambda", "EventBridge", "S3Bucket":
				if dest == nil {
					return errorf(d.Pos, id, "EventInvokeConfig %s of Type %s needs a Destination", which, typ)
				}
			default:
				return errorf(d.Pos, id, "EventInvokeConfig %s Type must be SQS, SNS, Lambda, EventBridge or S3Bucket", which)
			}
			dst := &Destination{Type: typ, Destination: dest}
			if which == "OnSuccess" {
				spec.OnSuccess = dst
			} else {
				spec.OnFailure = dst
			}
			props.Set("DestinationConfig."+which, dest)
		}
	}
	eic := &Resource{LogicalID: id + "EventInvokeConfig", Type: TypeEventInvokeConfig,
		CFNType: "AWS::Lambda::EventInvokeConfig", Source: id, Pos: c.Pos, Properties: props, Spec: spec}
	if f.aliasID != "" {
		eic.DependsOn = []string{f.aliasID}
	}
	return x.add(eic)
}
