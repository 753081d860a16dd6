package manifest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Options control expansion.
type Options struct {
	// Parameters override the template's parameter defaults.
	Parameters map[string]string
	// Pseudo sets AWS::Region, AWS::AccountId, AWS::StackName, ...
	Pseudo Pseudo
	// AllowUnsupported skips resources and events of types Lamina does not
	// deploy (listed in Application.Warnings) instead of refusing the template.
	AllowUnsupported bool
	// ReadInclude reads an AWS::Include snippet by path (default
	// os.ReadFile): a deploy reloading the stack's previous template gives
	// the texts recorded then (Template.Included).
	ReadInclude func(path string) ([]byte, error)
}

// Load reads and expands a template in one step.
// AWS::Include snippets are read from files beside the template (Read and
// Expand alone touch no file).
func Load(file string, data []byte, opts Options) (*Application, error) {
	t, err := Read(file, data)
	if err != nil {
		return nil, err
	}
	if err := resolveIncludes(t, opts.ReadInclude); err != nil {
		return nil, toFault(t.File, err)
	}
	return Expand(t, opts)
}

// Expand applies parameters, conditions and Globals to t and turns its SAM
// resources into the resources Lamina deploys, under SAM's logical ids.
func Expand(t *Template, opts Options) (*Application, error) {
	app, err := expand(t, opts)
	if err != nil {
		return nil, toFault(t.File, err)
	}
	return app, nil
}

// supportedTypes are the template resource types Lamina deploys.
var supportedTypes = map[string]bool{
	"AWS::Serverless::Function": true,
	"AWS::Serverless::Api":      true,
	"AWS::Serverless::HttpApi":  true,
}

// IsSupportedType reports whether Lamina deploys resources of type typ.
func IsSupportedType(typ string) bool {
	_, cfn := cfnTypes[typ]
	return supportedTypes[typ] || cfn
}

type expander struct {
	t         *Template
	opts      Options
	ev        *evaluator
	app       *Application
	declared  map[string]*RawResource
	skipped   map[string]bool
	out       map[string]*Resource
	referable map[string]string // "MyFn.Alias" → "MyFnAliaslive"
	apis      map[string]*apiState
}

func expand(t *Template, opts Options) (*Application, error) {
	if err := checkGlobals(t.Globals); err != nil {
		return nil, err
	}
	params, err := t.parameterValues(opts.Parameters)
	if err != nil {
		return nil, err
	}
	x := &expander{
		t: t, opts: opts,
		declared:  map[string]*RawResource{},
		skipped:   map[string]bool{},
		out:       map[string]*Resource{},
		referable: map[string]string{},
		apis:      map[string]*apiState{},
		app:       &Application{Template: t, Parameters: params, Conditions: map[string]bool{}},
	}
	x.ev = &evaluator{
		params: params, pseudo: opts.Pseudo.withDefaults(), conds: map[string]*Value{},
		condVal: map[string]bool{}, inCond: map[string]bool{}, mappings: t.Mappings, dropped: map[string]bool{},
	}
	for _, c := range t.Conditions {
		x.ev.conds[c.Name] = c.Value
	}
	for _, c := range t.Conditions {
		b, err := x.ev.condition(c.Pos, c.Name)
		if err != nil {
			return nil, err
		}
		x.app.Conditions[c.Name] = b
	}
	var unsupported []string
	for _, r := range t.Resources {
		if r.Condition != "" {
			b, ok := x.app.Conditions[r.Condition]
			if !ok {
				return nil, errorf(r.Pos, r.LogicalID, "Condition %q is not defined in Conditions", r.Condition)
			}
			if !b {
				x.ev.dropped[r.LogicalID] = true
				continue
			}
		}
		if r.Type == "" {
			return nil, errorf(r.Pos, r.LogicalID, "Type is required")
		}
		if !IsSupportedType(r.Type) {
			unsupported = append(unsupported, fmt.Sprintf("%s (resource %q, line %d)", r.Type, r.LogicalID, r.Pos.Line))
			x.skipped[r.LogicalID] = true
			continue
		}
		x.declared[r.LogicalID] = r
	}
	if len(unsupported) > 0 {
		if !opts.AllowUnsupported {
			return nil, errUnsupported{err: errorf(Pos{}, "", "unsupported resource types (use --allow-unsupported to skip them): %s", strings.Join(unsupported, "; "))}
		}
		for _, u := range unsupported {
			x.app.Warnings = append(x.app.Warnings, "skipped unsupported resource type "+u)
		}
	}
	// APIs first: functions' events need their stage names.
	ids := make([]string, 0, len(x.declared))
	for _, r := range t.Resources {
		if x.declared[r.LogicalID] != nil {
			ids = append(ids, r.LogicalID)
		}
	}
	for _, id := range ids {
		r := x.declared[id]
		switch r.Type {
		case "AWS::Serverless::Api", "AWS::Serverless::HttpApi":
			if err := x.explicitAPI(r); err != nil {
				return nil, err
			}
		}
	}
	for _, id := range ids {
		r := x.declared[id]
		var err error
		switch r.Type {
		case "AWS::Serverless::Function":
			err = x.function(r)
		case "AWS::Serverless::Api", "AWS::Serverless::HttpApi":
			// done above
		default:
			err = x.cfnResource(r)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := x.finishAPIs(); err != nil {
		return nil, err
	}
	if err := x.link(); err != nil {
		return nil, err
	}
	if err := x.outputs(); err != nil {
		return nil, err
	}
	return x.app, nil
}

// evalProps evaluates a resource's properties.
func (x *expander) evalProps(id string, props *Value) (*Value, error) {
	x.ev.resource = id
	defer func() { x.ev.resource = "" }()
	v, err := x.ev.eval(props)
	if err != nil {
		return nil, err
	}
	if v == nil || v == noValue {
		v = NewMap(props.pos())
	}
	return v, nil
}

// add records a generated or declared resource; generated ids must not
// collide with declared ones.
func (x *expander) add(r *Resource) error {
	if prev, ok := x.out[r.LogicalID]; ok {
		return errorf(r.Pos, r.Source, "generates resource %q, which %q already defines", r.LogicalID, prev.Source)
	}
	if d := x.declared[r.LogicalID]; d != nil && r.Source != r.LogicalID {
		return errorf(d.Pos, r.LogicalID, "logical id collides with a resource that %q generates", r.Source)
	}
	x.out[r.LogicalID] = r
	return nil
}

// link rewrites SAM's referable properties (MyFn.Alias), checks that every
// reference names a resource or parameter, and fills in DependsOn.
func (x *expander) link() error {
	for _, id := range sortedKeys(x.out) {
		r := x.out[id]
		x.rewrite(r.Properties)
		rewriteSpec(x, r.Spec)
		deps := map[string]bool{}
		refs := r.Properties.References()
		refs = append(refs, specRefs(r.Spec)...)
		where := map[string]Pos{}
		r.Properties.refPositions(where)
		for _, v := range specValues(r.Spec) {
			v.refPositions(where)
		}
		for _, d := range refs {
			if err := x.checkRef(r, d, where[d]); err != nil {
				return err
			}
			if x.out[d] != nil && d != r.LogicalID {
				deps[d] = true
			}
		}
		for _, d := range r.DependsOn {
			if x.out[d] == nil && !x.skipped[d] {
				return errorf(r.Pos, r.Source, "DependsOn names %q, which is not a resource of this template", d)
			}
			if x.out[d] != nil {
				deps[d] = true
			}
		}
		r.DependsOn = sortedKeys(deps)
		x.app.Resources = append(x.app.Resources, r)
	}
	return x.checkCycles()
}

func (x *expander) checkRef(r *Resource, id string, pos Pos) error {
	if pos.Line == 0 {
		pos = r.Pos
	}
	if x.out[id] != nil {
		return nil
	}
	if x.skipped[id] {
		x.app.Warnings = append(x.app.Warnings, fmt.Sprintf("resource %q refers to %q, which was skipped as unsupported", r.LogicalID, id))
		return nil
	}
	if x.ev.dropped[id] {
		return errorf(pos, r.Source, "refers to %q, a resource left out because its Condition is false", id)
	}
	return errorf(pos, r.Source, "refers to %q, which is not a resource or parameter of this template", id)
}

func (x *expander) checkCycles() error {
	state := map[string]int{}
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			return errorf(x.out[id].Pos, x.out[id].Source, "circular dependency: %s", strings.Join(append(path, id), " -> "))
		case 2:
			return nil
		}
		state[id] = 1
		for _, d := range x.out[id].DependsOn {
			if err := visit(d, append(path, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		return nil
	}
	for _, id := range sortedKeys(x.out) {
		if err := visit(id, nil); err != nil {
			return err
		}
	}
	return nil
}

// rewrite replaces Ref "MyFn.Alias" and GetAtt MyFn.Alias[.Attr] with the
// generated resource, as SAM does for referable properties.
func (x *expander) rewrite(v *Value) {
	if v == nil {
		return
	}
	switch v.Kind {
	case Ref:
		if to, ok := x.referable[v.Target]; ok {
			v.Target = to
		}
	case GetAtt:
		if to, ok := x.referable[v.Target+"."+v.Attr]; ok {
			*v = Value{Kind: Ref, Target: to, Pos: v.Pos}
			return
		}
		if prop, rest, ok := strings.Cut(v.Attr, "."); ok {
			if to, ok := x.referable[v.Target+"."+prop]; ok {
				v.Target, v.Attr = to, rest
			}
		}
	case List:
		for _, it := range v.Items {
			x.rewrite(it)
		}
	case Map:
		for _, f := range v.Fields {
			x.rewrite(f.Value)
		}
	}
}

// outputs evaluates the Outputs whose condition holds.
func (x *expander) outputs() error {
	for _, o := range x.t.Outputs {
		if o.Condition != "" {
			b, ok := x.app.Conditions[o.Condition]
			if !ok {
				return errorf(o.Pos, "", "output %q: Condition %q is not defined", o.Name, o.Condition)
			}
			if !b {
				continue
			}
		}
		v, err := x.ev.eval(o.Value)
		if err != nil {
			return withOutput(err, o.Name)
		}
		x.rewrite(v)
		for _, id := range v.References() {
			if x.out[id] == nil && !x.skipped[id] {
				return errorf(o.Pos, "", "output %q refers to %q, which is not a resource of this template", o.Name, id)
			}
		}
		ov := &OutputValue{Name: o.Name, Description: o.Description, Value: v, Pos: o.Pos}
		if o.Export != nil {
			n, err := x.ev.eval(o.Export.Get("Name"))
			if err != nil {
				return withOutput(err, o.Name)
			}
			ov.ExportName = n
		}
		x.app.Outputs = append(x.app.Outputs, ov)
	}
	return nil
}

func withOutput(err error, name string) error {
	if e, ok := err.(*Error); ok {
		e.Msg = fmt.Sprintf("output %q: %s", name, e.Msg)
	}
	return err
}

// shortHash is SAM's LogicalIdGenerator suffix: 10 hex chars of SHA-1 over
// the value (a string as is, anything else as sorted compact JSON).
func shortHash(v any) string {
	var data []byte
	if s, ok := v.(string); ok {
		data = []byte(s)
	} else {
		data, _ = json.Marshal(v) // encoding/json sorts map keys
	}
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])[:10]
}
