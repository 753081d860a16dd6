package manifest

import (
	"regexp"
	"strconv"
	"strings"
)

// Parameter is one entry of the Parameters section.
type Parameter struct {
	Name                  string
	Type                  string
	Default               *Value // nil when the parameter must be supplied
	AllowedValues         []string
	AllowedPattern        string
	MinLength, MaxLength  *int64
	MinValue, MaxValue    *float64
	NoEcho                bool
	Description           string
	ConstraintDescription string
	Pos                   Pos
}

// IsList reports whether the parameter's value is a list.
func (p *Parameter) IsList() bool {
	return p.Type == "CommaDelimitedList" || strings.HasPrefix(p.Type, "List<") ||
		strings.HasPrefix(p.Type, "AWS::SSM::Parameter::Value<List<")
}

func (t *Template) readParameters(f *Field) error {
	if f == nil || f.Value.IsNull() {
		return nil
	}
	if f.Value.Kind != Map {
		return errorf(f.Pos, "", "Parameters must be a map")
	}
	for _, pf := range f.Value.Fields {
		body := pf.Value
		if body.Kind != Map {
			return errorf(pf.Pos, "", "parameter %q must be a map with a Type", pf.Key)
		}
		p := &Parameter{Name: pf.Key, Pos: pf.Pos, Type: "String"}
		if s, ok := body.Get("Type").AsString(); ok {
			p.Type = s
		}
		if d := body.Get("Default"); d != nil && !d.IsNull() {
			p.Default = d
		}
		if av := body.Get("AllowedValues"); av != nil {
			if av.Kind != List {
				return errorf(av.Pos, "", "parameter %q: AllowedValues must be a list", p.Name)
			}
			for _, it := range av.Items {
				s, _ := it.AsString()
				p.AllowedValues = append(p.AllowedValues, s)
			}
		}
		p.AllowedPattern, _ = body.Get("AllowedPattern").AsString()
		if p.AllowedPattern != "" {
			if _, err := regexp.Compile("^(?:" + p.AllowedPattern + ")$"); err != nil {
				return errorf(pf.Pos, "", "parameter %q: AllowedPattern is not a valid pattern", p.Name)
			}
		}
		if n, ok := body.Get("MinLength").AsInt(); ok {
			p.MinLength = &n
		}
		if n, ok := body.Get("MaxLength").AsInt(); ok {
			p.MaxLength = &n
		}
		if s, ok := body.Get("MinValue").AsString(); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				p.MinValue = &f
			}
		}
		if s, ok := body.Get("MaxValue").AsString(); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				p.MaxValue = &f
			}
		}
		p.NoEcho, _ = body.Get("NoEcho").AsBool()
		p.Description, _ = body.Get("Description").AsString()
		p.ConstraintDescription, _ = body.Get("ConstraintDescription").AsString()
		t.Parameters = append(t.Parameters, p)
	}
	return nil
}

// parameterValues resolves each parameter from overrides or its default and
// validates it. Unknown override names are an error (a typo would otherwise
// silently deploy the default).
func (t *Template) parameterValues(overrides map[string]string) (map[string]*Value, error) {
	byName := map[string]*Parameter{}
	for _, p := range t.Parameters {
		byName[p.Name] = p
	}
	for _, k := range sortedKeys(overrides) {
		if byName[k] == nil {
			return nil, errorf(Pos{}, "", "parameter override %q: the template has no such parameter", k)
		}
	}
	out := map[string]*Value{}
	for _, p := range t.Parameters {
		var raw string
		if s, ok := overrides[p.Name]; ok {
			raw = s
		} else if p.Default != nil {
			if p.Default.Kind == List {
				parts := make([]string, 0, len(p.Default.Items))
				for _, it := range p.Default.Items {
					s, _ := it.AsString()
					parts = append(parts, s)
				}
				raw = strings.Join(parts, ",")
			} else if s, ok := p.Default.AsString(); ok {
				raw = s
			} else {
				return nil, errorf(p.Pos, "", "parameter %q: Default must be a string", p.Name)
			}
		} else {
			return nil, errorf(p.Pos, "", "parameter %q has no Default and no value was given (use --parameter-overrides %s=...)", p.Name, p.Name)
		}
		if err := p.validate(raw); err != nil {
			return nil, err
		}
		if p.IsList() {
			l := &Value{Kind: List, Pos: p.Pos}
			if raw != "" {
				for _, s := range strings.Split(raw, ",") {
					l.Items = append(l.Items, &Value{Kind: String, Text: strings.TrimSpace(s), Pos: p.Pos})
				}
			}
			out[p.Name] = l
		} else {
			out[p.Name] = &Value{Kind: String, Text: raw, Pos: p.Pos}
		}
	}
	return out, nil
}

func (p *Parameter) validate(raw string) error {
	fail := func(format string, args ...any) error {
		e := errorf(p.Pos, "", "parameter %q: "+format, append([]any{p.Name}, args...)...)
		if p.ConstraintDescription != "" {
			e.Msg += " (" + p.ConstraintDescription + ")"
		}
		return e
	}
	values := []string{raw}
	if p.IsList() {
		values = strings.Split(raw, ",")
	}
	for _, v := range values {
		if p.IsList() {
			v = strings.TrimSpace(v)
		}
		if len(p.AllowedValues) > 0 {
			ok := false
			for _, a := range p.AllowedValues {
				if a == v {
					ok = true
					break
				}
			}
			if !ok {
				return fail("value %q is not one of %v", v, p.AllowedValues)
			}
		}
		if p.Type == "Number" || p.Type == "List<Number>" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fail("value %q is not a number", v)
			}
			if p.MinValue != nil && f < *p.MinValue {
				return fail("value %v is below MinValue %v", f, *p.MinValue)
			}
			if p.MaxValue != nil && f > *p.MaxValue {
				return fail("value %v is above MaxValue %v", f, *p.MaxValue)
			}
		}
	}
	if p.Type == "String" {
		if p.AllowedPattern != "" && !regexp.MustCompile("^(?:"+p.AllowedPattern+")$").MatchString(raw) {
			return fail("value %q does not match AllowedPattern %s", raw, p.AllowedPattern)
		}
		if p.MinLength != nil && int64(len(raw)) < *p.MinLength {
			return fail("value is shorter than MinLength %d", *p.MinLength)
		}
		if p.MaxLength != nil && int64(len(raw)) > *p.MaxLength {
			return fail("value is longer than MaxLength %d", *p.MaxLength)
		}
	}
	return nil
}
