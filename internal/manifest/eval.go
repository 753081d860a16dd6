package manifest

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// Pseudo holds the values of CloudFormation's pseudo parameters.
type Pseudo struct {
	Region    string // AWS::Region, default us-east-1
	AccountID string // AWS::AccountId, default 000000000000
	StackName string // AWS::StackName
	Partition string // AWS::Partition, default aws
	URLSuffix string // AWS::URLSuffix, default amazonaws.com
}

func (p Pseudo) withDefaults() Pseudo {
	if p.Region == "" {
		p.Region = "us-east-1"
	}
	if p.AccountID == "" {
		p.AccountID = "000000000000"
	}
	if p.StackName == "" {
		p.StackName = "lamina"
	}
	if p.Partition == "" {
		p.Partition = "aws"
	}
	if p.URLSuffix == "" {
		p.URLSuffix = "amazonaws.com"
	}
	return p
}

// Resolver supplies what only exists once resources are deployed: each
// resource's physical id (what Ref returns: a function name, a queue URL, an
// API id) and its attributes (GetAtt). ok=false leaves the reference in place.
type Resolver interface {
	Ref(logicalID string) (value string, ok bool)
	GetAtt(logicalID, attr string) (value string, ok bool)
}

// MapResolver is a Resolver over plain maps: Refs by logical id and Attrs by
// "LogicalID.Attr".
type MapResolver struct {
	Refs  map[string]string
	Attrs map[string]string
}

// Ref implements Resolver.
func (m MapResolver) Ref(id string) (string, bool) { s, ok := m.Refs[id]; return s, ok }

// GetAtt implements Resolver.
func (m MapResolver) GetAtt(id, attr string) (string, bool) {
	s, ok := m.Attrs[id+"."+attr]
	return s, ok
}

// noValue is what AWS::NoValue evaluates to; containers drop it.
var noValue = &Value{Kind: Null}

// evaluator applies parameters, pseudo parameters, conditions and mappings,
// leaving references to resources as Ref/GetAtt values.
type evaluator struct {
	params   map[string]*Value
	pseudo   Pseudo
	conds    map[string]*Value // condition bodies
	condVal  map[string]bool
	inCond   map[string]bool // cycle detection
	mappings *Value
	dropped  map[string]bool // resources removed by a false Condition
	resolver Resolver
	resource string // logical id in error messages
}

// Resolve evaluates what remains of v once resources exist: Refs and GetAtts
// the resolver knows become strings, and Fn::Join/Select/Split/Base64 over
// them are computed. Anything the resolver does not know stays a reference.
func Resolve(v *Value, r Resolver) (*Value, error) {
	e := &evaluator{resolver: r, pseudo: Pseudo{}.withDefaults()}
	out, err := e.eval(v)
	if out == noValue {
		out = nil
	}
	return out, err
}

// ResolveString resolves v and requires a scalar result.
func ResolveString(v *Value, r Resolver) (string, error) {
	out, err := Resolve(v, r)
	if err != nil {
		return "", err
	}
	s, ok := out.AsString()
	if !ok {
		return "", errorf(v.pos(), "", "value %s did not resolve to a string", out)
	}
	return s, nil
}

func (e *evaluator) fail(pos Pos, format string, args ...any) *Error {
	return errorf(pos, e.resource, format, args...)
}

func (e *evaluator) eval(v *Value) (*Value, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Kind {
	case Ref:
		if e.resolver != nil {
			if s, ok := e.resolver.Ref(v.Target); ok {
				return &Value{Kind: String, Text: s, Pos: v.Pos}, nil
			}
		}
		return v, nil
	case GetAtt:
		if e.resolver != nil {
			if s, ok := e.resolver.GetAtt(v.Target, v.Attr); ok {
				return &Value{Kind: String, Text: s, Pos: v.Pos}, nil
			}
		}
		return v, nil
	case List:
		out := &Value{Kind: List, Pos: v.Pos, Items: make([]*Value, 0, len(v.Items))}
		for _, it := range v.Items {
			r, err := e.eval(it)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out.Items = append(out.Items, r)
			}
		}
		return out, nil
	case Map:
		if name, arg, ok := v.Intrinsic(); ok && !(name == "Condition" && arg.Kind != String) {
			return e.intrinsic(v, name, arg)
		}
		out := &Value{Kind: Map, Pos: v.Pos, Fields: make([]Field, 0, len(v.Fields))}
		for _, f := range v.Fields {
			r, err := e.eval(f.Value)
			if err != nil {
				return nil, err
			}
			if r != noValue {
				out.Fields = append(out.Fields, Field{Key: f.Key, Pos: f.Pos, Value: r})
			}
		}
		return out, nil
	}
	return v, nil
}

func (e *evaluator) args(arg *Value, name string, min, max int) ([]*Value, error) {
	if arg == nil || arg.Kind != List || len(arg.Items) < min || len(arg.Items) > max {
		if min == max {
			return nil, e.fail(arg.pos(), "%s needs a list of %d values", name, min)
		}
		return nil, e.fail(arg.pos(), "%s needs a list of %d to %d values", name, min, max)
	}
	return arg.Items, nil
}

func keep(v *Value, name string, arg *Value) *Value {
	return &Value{Kind: Map, Pos: v.Pos, Fields: []Field{{Key: name, Pos: v.Pos, Value: arg}}}
}

func (e *evaluator) intrinsic(v *Value, name string, arg *Value) (*Value, error) {
	switch name {
	case "Ref":
		id, ok := arg.AsString()
		if !ok {
			if arg.Kind == Map && e.resolver != nil {
				return v, nil
			}
			return nil, e.fail(v.Pos, "Ref needs a name")
		}
		return e.ref(v.Pos, id)
	case "Fn::GetAtt":
		return e.getAtt(v, arg)
	case "Fn::Sub":
		return e.sub(v, arg)
	case "Fn::If":
		items, err := e.args(arg, name, 3, 3)
		if err != nil {
			return nil, err
		}
		cond, ok := items[0].AsString()
		if !ok {
			return nil, e.fail(items[0].Pos, "Fn::If needs a condition name")
		}
		b, err := e.condition(items[0].Pos, cond)
		if err != nil {
			return nil, err
		}
		if b {
			return e.eval(items[1])
		}
		return e.eval(items[2])
	case "Condition", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or":
		b, err := e.boolean(v)
		if err != nil {
			return nil, err
		}
		return &Value{Kind: Bool, Text: strconv.FormatBool(b), Pos: v.Pos}, nil
	}
	// The remaining functions evaluate their arguments first.
	a, err := e.eval(arg)
	if err != nil {
		return nil, err
	}
	switch name {
	case "Fn::Join":
		items, err := e.args(a, name, 2, 2)
		if err != nil {
			return nil, err
		}
		delim, ok := items[0].AsString()
		if !ok {
			return nil, e.fail(items[0].Pos, "Fn::Join delimiter must be a string")
		}
		if !items[1].Resolved() {
			return keep(v, name, a), nil
		}
		if items[1].Kind != List {
			return nil, e.fail(items[1].Pos, "Fn::Join needs a list of values to join")
		}
		parts := make([]string, 0, len(items[1].Items))
		for _, it := range items[1].Items {
			s, ok := it.AsString()
			if !ok {
				return nil, e.fail(it.Pos, "Fn::Join can only join strings")
			}
			parts = append(parts, s)
		}
		return &Value{Kind: String, Text: strings.Join(parts, delim), Pos: v.Pos}, nil
	case "Fn::Select":
		items, err := e.args(a, name, 2, 2)
		if err != nil {
			return nil, err
		}
		if !a.Resolved() {
			return keep(v, name, a), nil
		}
		idx, ok := items[0].AsInt()
		if !ok {
			return nil, e.fail(items[0].Pos, "Fn::Select index must be a number")
		}
		if items[1].Kind != List {
			return nil, e.fail(items[1].Pos, "Fn::Select needs a list")
		}
		if idx < 0 || idx >= int64(len(items[1].Items)) {
			return nil, e.fail(items[0].Pos, "Fn::Select index %d is out of range (list has %d values)", idx, len(items[1].Items))
		}
		return items[1].Items[idx], nil
	case "Fn::Split":
		items, err := e.args(a, name, 2, 2)
		if err != nil {
			return nil, err
		}
		if !a.Resolved() {
			return keep(v, name, a), nil
		}
		delim, ok1 := items[0].AsString()
		s, ok2 := items[1].AsString()
		if !ok1 || !ok2 || delim == "" {
			return nil, e.fail(v.Pos, "Fn::Split needs a delimiter and a string")
		}
		out := &Value{Kind: List, Pos: v.Pos}
		for _, p := range strings.Split(s, delim) {
			out.Items = append(out.Items, &Value{Kind: String, Text: p, Pos: v.Pos})
		}
		return out, nil
	case "Fn::FindInMap":
		items, err := e.args(a, name, 3, 4)
		if err != nil {
			return nil, err
		}
		if !a.Resolved() {
			return keep(v, name, a), nil
		}
		return e.findInMap(v.Pos, items)
	case "Fn::Base64":
		if !a.Resolved() {
			return keep(v, name, a), nil
		}
		s, ok := a.AsString()
		if !ok {
			return nil, e.fail(v.Pos, "Fn::Base64 needs a string")
		}
		return &Value{Kind: String, Text: base64.StdEncoding.EncodeToString([]byte(s)), Pos: v.Pos}, nil
	case "Fn::GetAZs":
		region := e.pseudo.Region
		if s, ok := a.AsString(); ok && s != "" {
			region = s
		}
		out := &Value{Kind: List, Pos: v.Pos}
		for _, z := range []string{"a", "b", "c"} {
			out.Items = append(out.Items, &Value{Kind: String, Text: region + z, Pos: v.Pos})
		}
		return out, nil
	case "Fn::Length":
		if a.Kind == List {
			return &Value{Kind: Number, Text: strconv.Itoa(len(a.Items)), Pos: v.Pos}, nil
		}
		return keep(v, name, a), nil
	case "Fn::ToJsonString":
		if !a.Resolved() {
			return keep(v, name, a), nil
		}
		b, _ := json.Marshal(a.Interface())
		return &Value{Kind: String, Text: string(b), Pos: v.Pos}, nil
	case "Fn::ImportValue", "Fn::Cidr", "Fn::Transform":
		// Cross-stack exports, CIDR maths and macros are the deployer's (or
		// nobody's) business; keep them with evaluated arguments.
		return keep(v, name, a), nil
	}
	return nil, e.fail(v.Pos, "unknown intrinsic function %s", name)
}

func (e *evaluator) ref(pos Pos, id string) (*Value, error) {
	if p, ok := e.params[id]; ok {
		return p.Clone(), nil
	}
	if strings.HasPrefix(id, "AWS::") {
		return e.pseudoValue(pos, id)
	}
	if e.dropped[id] {
		return nil, e.fail(pos, "Ref to %q, a resource left out because its Condition is false", id)
	}
	if e.resolver != nil {
		if s, ok := e.resolver.Ref(id); ok {
			return &Value{Kind: String, Text: s, Pos: pos}, nil
		}
	}
	return &Value{Kind: Ref, Target: id, Pos: pos}, nil
}

func (e *evaluator) pseudoValue(pos Pos, id string) (*Value, error) {
	s := ""
	switch id {
	case "AWS::NoValue":
		return noValue, nil
	case "AWS::Region":
		s = e.pseudo.Region
	case "AWS::AccountId":
		s = e.pseudo.AccountID
	case "AWS::StackName":
		s = e.pseudo.StackName
	case "AWS::Partition":
		s = e.pseudo.Partition
	case "AWS::URLSuffix":
		s = e.pseudo.URLSuffix
	case "AWS::StackId":
		s = "arn:" + e.pseudo.Partition + ":cloudformation:" + e.pseudo.Region + ":" + e.pseudo.AccountID + ":stack/" + e.pseudo.StackName + "/lamina"
	case "AWS::NotificationARNs":
		return &Value{Kind: List, Pos: pos}, nil
	default:
		return nil, e.fail(pos, "unknown pseudo parameter %s", id)
	}
	return &Value{Kind: String, Text: s, Pos: pos}, nil
}

func (e *evaluator) getAtt(v, arg *Value) (*Value, error) {
	var id, attr string
	switch {
	case arg.Kind == String:
		var found bool
		id, attr, found = strings.Cut(arg.Text, ".")
		if !found {
			return nil, e.fail(v.Pos, "Fn::GetAtt %q must be LogicalId.Attribute", arg.Text)
		}
	case arg.Kind == List && len(arg.Items) == 2:
		var ok bool
		if id, ok = arg.Items[0].AsString(); !ok {
			return nil, e.fail(v.Pos, "Fn::GetAtt needs a logical id")
		}
		a, err := e.eval(arg.Items[1])
		if err != nil {
			return nil, err
		}
		if attr, ok = a.AsString(); !ok {
			return nil, e.fail(v.Pos, "Fn::GetAtt attribute must be a string")
		}
	default:
		return nil, e.fail(v.Pos, "Fn::GetAtt needs [LogicalId, Attribute]")
	}
	if id == "" || attr == "" {
		return nil, e.fail(v.Pos, "Fn::GetAtt needs a logical id and an attribute")
	}
	if e.dropped[id] {
		return nil, e.fail(v.Pos, "Fn::GetAtt to %q, a resource left out because its Condition is false", id)
	}
	if e.resolver != nil {
		if s, ok := e.resolver.GetAtt(id, attr); ok {
			return &Value{Kind: String, Text: s, Pos: v.Pos}, nil
		}
	}
	return &Value{Kind: GetAtt, Target: id, Attr: attr, Pos: v.Pos}, nil
}

// sub evaluates Fn::Sub. When every variable is known the result is a string;
// otherwise it becomes Fn::Join ["", parts] with the references as parts, so
// the deployer only has to resolve Refs and GetAtts.
func (e *evaluator) sub(v, arg *Value) (*Value, error) {
	tmplV, vars := arg, (*Value)(nil)
	if arg != nil && arg.Kind == List {
		if len(arg.Items) != 2 {
			return nil, e.fail(v.Pos, "Fn::Sub needs a string or [string, {variables}]")
		}
		tmplV = arg.Items[0]
		vs, err := e.eval(arg.Items[1])
		if err != nil {
			return nil, err
		}
		if vs.Kind != Map {
			return nil, e.fail(arg.Items[1].Pos, "Fn::Sub variables must be a map")
		}
		vars = vs
	}
	tmpl, ok := tmplV.AsString()
	if !ok || tmplV.Kind != String {
		return nil, e.fail(v.Pos, "Fn::Sub needs a string")
	}
	var parts []*Value
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, &Value{Kind: String, Text: lit.String(), Pos: v.Pos})
			lit.Reset()
		}
	}
	for i := 0; i < len(tmpl); {
		j := strings.Index(tmpl[i:], "${")
		if j < 0 {
			lit.WriteString(tmpl[i:])
			break
		}
		lit.WriteString(tmpl[i : i+j])
		i += j
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return nil, e.fail(v.Pos, "Fn::Sub: unclosed ${ in %q", tmpl)
		}
		name := tmpl[i+2 : i+end]
		i += end + 1
		if strings.HasPrefix(name, "!") {
			lit.WriteString("${" + name[1:] + "}")
			continue
		}
		name = strings.TrimSpace(name)
		var val *Value
		if vv := vars.Get(name); vv != nil {
			val = vv
		} else if id, attr, dotted := strings.Cut(name, "."); dotted && !strings.HasPrefix(name, "AWS::") {
			if _, isParam := e.params[name]; !isParam {
				r, err := e.getAtt(v, &Value{Kind: List, Pos: v.Pos, Items: []*Value{Str(id), Str(attr)}})
				if err != nil {
					return nil, err
				}
				val = r
			}
		}
		if val == nil {
			if name == "" {
				return nil, e.fail(v.Pos, "Fn::Sub: empty ${} in %q", tmpl)
			}
			r, err := e.ref(v.Pos, name)
			if err != nil {
				return nil, err
			}
			if r == noValue {
				return nil, e.fail(v.Pos, "Fn::Sub cannot use AWS::NoValue")
			}
			val = r
		}
		if s, ok := val.AsString(); ok {
			lit.WriteString(s)
			continue
		}
		if val.Kind == List {
			return nil, e.fail(v.Pos, "Fn::Sub variable %q is a list", name)
		}
		flush()
		parts = append(parts, val)
	}
	flush()
	if len(parts) == 0 {
		return &Value{Kind: String, Pos: v.Pos}, nil
	}
	if len(parts) == 1 && parts[0].Kind == String {
		return parts[0], nil
	}
	return keep(v, "Fn::Join", &Value{Kind: List, Pos: v.Pos, Items: []*Value{
		{Kind: String, Pos: v.Pos}, {Kind: List, Pos: v.Pos, Items: parts}}}), nil
}

func (e *evaluator) findInMap(pos Pos, items []*Value) (*Value, error) {
	keys := make([]string, 3)
	for i := 0; i < 3; i++ {
		s, ok := items[i].AsString()
		if !ok {
			return nil, e.fail(pos, "Fn::FindInMap keys must be strings")
		}
		keys[i] = s
	}
	m := e.mappings.Get(keys[0])
	if m == nil {
		return nil, e.fail(pos, "Fn::FindInMap: no mapping %q", keys[0])
	}
	l1 := m.Get(keys[1])
	l2 := l1.Get(keys[2])
	if l2 == nil {
		if len(items) == 4 {
			if d := items[3].Get("DefaultValue"); d != nil {
				return d, nil
			}
		}
		return nil, e.fail(pos, "Fn::FindInMap: mapping %q has no %s/%s", keys[0], keys[1], keys[2])
	}
	return e.eval(l2)
}

// condition evaluates a named condition once.
func (e *evaluator) condition(pos Pos, name string) (bool, error) {
	if b, ok := e.condVal[name]; ok {
		return b, nil
	}
	body, ok := e.conds[name]
	if !ok {
		return false, e.fail(pos, "unknown condition %q", name)
	}
	if e.inCond[name] {
		return false, e.fail(pos, "condition %q refers to itself", name)
	}
	e.inCond[name] = true
	defer delete(e.inCond, name)
	saved := e.resource
	e.resource = ""
	b, err := e.boolean(body)
	e.resource = saved
	if err != nil {
		return false, err
	}
	e.condVal[name] = b
	return b, nil
}

// boolean evaluates a condition expression.
func (e *evaluator) boolean(v *Value) (bool, error) {
	name, arg, ok := v.Intrinsic()
	if !ok {
		if b, ok := v.AsBool(); ok {
			return b, nil
		}
		return false, e.fail(v.pos(), "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
	}
	switch name {
	case "Condition":
		s, ok := arg.AsString()
		if !ok {
			return false, e.fail(v.Pos, "Condition needs a condition name")
		}
		return e.condition(v.Pos, s)
	case "Fn::Equals":
		items, err := e.args(arg, name, 2, 2)
		if err != nil {
			return false, err
		}
		a, err := e.eval(items[0])
		if err != nil {
			return false, err
		}
		b, err := e.eval(items[1])
		if err != nil {
			return false, err
		}
		if !a.Resolved() || !b.Resolved() {
			return false, e.fail(v.Pos, "Fn::Equals cannot compare values that depend on resources")
		}
		return scalarText(a) == scalarText(b), nil
	case "Fn::Not":
		items, err := e.args(arg, name, 1, 1)
		if err != nil {
			return false, err
		}
		b, err := e.boolean(items[0])
		return !b, err
	case "Fn::And", "Fn::Or":
		items, err := e.args(arg, name, 2, 10)
		if err != nil {
			return false, err
		}
		and := name == "Fn::And"
		result := and
		for _, it := range items {
			b, err := e.boolean(it)
			if err != nil {
				return false, err
			}
			if and {
				result = result && b
			} else {
				result = result || b
			}
		}
		return result, nil
	}
	// Any other intrinsic (Fn::If, Ref) may yield a boolean.
	r, err := e.eval(v)
	if err != nil {
		return false, err
	}
	if b, ok := r.AsBool(); ok {
		return b, nil
	}
	return false, e.fail(v.Pos, "%s does not evaluate to true or false", name)
}

func scalarText(v *Value) string {
	if v == nil || v == noValue {
		return ""
	}
	if v.IsScalar() {
		return v.Text
	}
	return v.String()
}
