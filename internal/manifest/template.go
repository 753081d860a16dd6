package manifest

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Template is a parsed template, before parameters, conditions and Globals
// are applied. Sections keep their source order.
type Template struct {
	File        string // name used in errors ("template.yaml")
	Dir         string // directory CodeUri paths are relative to
	Description string
	Transform   []string
	Parameters  []*Parameter
	Mappings    *Value
	Conditions  []NamedValue
	Globals     *Value
	Resources   []*RawResource
	Outputs     []*Output
	Root        *Value
	// Included holds the texts of the AWS::Include snippets Load read, by
	// IncludeKey.
	Included map[string][]byte
}

// NamedValue is one entry of an ordered section (Conditions).
type NamedValue struct {
	Name  string
	Pos   Pos
	Value *Value
}

// RawResource is one entry of the Resources section as written.
type RawResource struct {
	LogicalID      string
	Type           string
	Properties     *Value // always a Map (empty when absent)
	Condition      string
	DependsOn      []string
	Metadata       *Value
	DeletionPolicy string
	IgnoreGlobals  *Value // "*" or a list of property names, or nil
	Pos            Pos
}

// Output is one entry of the Outputs section.
type Output struct {
	Name        string
	Description string
	Value       *Value
	Export      *Value
	Condition   string
	Pos         Pos
}

var logicalIDPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// Read parses a YAML or JSON template. file names it in errors; CodeUri paths
// stay relative to filepath.Dir(file). Read never panics on any input.
func Read(file string, data []byte) (*Template, error) {
	t, err := read(file, data)
	return t, toFault(filepath.Base(file), err)
}

func read(file string, data []byte) (*Template, error) {
	root, err := parseValue(data)
	if err != nil {
		return nil, err
	}
	if root.Kind != Map {
		return nil, errorf(root.Pos, "", "a template must be a map with a Resources section")
	}
	t := &Template{File: filepath.Base(file), Dir: filepath.Dir(file), Root: root}
	known := map[string]bool{"AWSTemplateFormatVersion": true, "Transform": true, "Description": true,
		"Metadata": true, "Parameters": true, "Mappings": true, "Conditions": true, "Globals": true,
		"Resources": true, "Outputs": true, "Rules": true}
	for _, f := range root.Fields {
		if !known[f.Key] {
			return nil, errorf(f.Pos, "", "unknown top-level section %q", f.Key)
		}
	}
	if d := root.Get("Description"); d != nil {
		t.Description, _ = d.AsString()
	}
	if tr := root.Get("Transform"); tr != nil {
		switch tr.Kind {
		case String:
			t.Transform = []string{tr.Text}
		case List:
			for _, it := range tr.Items {
				if s, ok := it.AsString(); ok {
					t.Transform = append(t.Transform, s)
				}
			}
		}
	}
	if err := t.readParameters(root.field("Parameters")); err != nil {
		return nil, err
	}
	if m := root.field("Mappings"); m != nil {
		if m.Value.Kind != Map {
			return nil, errorf(m.Pos, "", "Mappings must be a map")
		}
		t.Mappings = m.Value
	}
	if c := root.field("Conditions"); c != nil && !c.Value.IsNull() {
		if c.Value.Kind != Map {
			return nil, errorf(c.Pos, "", "Conditions must be a map")
		}
		for _, f := range c.Value.Fields {
			t.Conditions = append(t.Conditions, NamedValue{Name: f.Key, Pos: f.Pos, Value: f.Value})
		}
	}
	if g := root.field("Globals"); g != nil && !g.Value.IsNull() {
		if g.Value.Kind != Map {
			return nil, errorf(g.Pos, "", "Globals must be a map")
		}
		t.Globals = g.Value
	}
	if err := t.readResources(root.field("Resources")); err != nil {
		return nil, err
	}
	if err := t.readOutputs(root.field("Outputs")); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Template) readResources(f *Field) error {
	if f == nil || f.Value.Kind != Map || len(f.Value.Fields) == 0 {
		pos := Pos{}
		if f != nil {
			pos = f.Pos
		}
		return errorf(pos, "", "Resources must be a non-empty map")
	}
	for _, rf := range f.Value.Fields {
		id := rf.Key
		if !logicalIDPattern.MatchString(id) {
			return errorf(rf.Pos, id, "logical id must be alphanumeric")
		}
		body := rf.Value
		if body.Kind != Map {
			return errorf(rf.Pos, id, "resource must be a map with a Type")
		}
		r := &RawResource{LogicalID: id, Pos: rf.Pos, Properties: NewMap(body.Pos)}
		// A missing Type is refused by Expand, not here, so tools can still
		// list such a template's resources.
		if typ := body.Get("Type"); typ != nil {
			s, ok := typ.AsString()
			if !ok || s == "" {
				return errorf(typ.Pos, id, "Type must be a string")
			}
			r.Type = s
		}
		if p := body.Get("Properties"); p != nil && !p.IsNull() {
			if p.Kind != Map {
				return errorf(p.Pos, id, "Properties must be a map")
			}
			r.Properties = p
		}
		if c := body.Get("Condition"); c != nil {
			s, ok := c.AsString()
			if !ok {
				return errorf(c.Pos, id, "Condition must be a condition name")
			}
			r.Condition = s
		}
		if d := body.Get("DependsOn"); d != nil {
			switch {
			case d.IsScalar():
				r.DependsOn = []string{d.Text}
			case d.Kind == List:
				for _, it := range d.Items {
					s, ok := it.AsString()
					if !ok {
						return errorf(it.Pos, id, "DependsOn must list logical ids")
					}
					r.DependsOn = append(r.DependsOn, s)
				}
			default:
				return errorf(d.Pos, id, "DependsOn must be a logical id or a list of them")
			}
		}
		r.Metadata = body.Get("Metadata")
		if dp := body.Get("DeletionPolicy"); dp != nil {
			r.DeletionPolicy, _ = dp.AsString()
		}
		r.IgnoreGlobals = body.Get("IgnoreGlobals")
		t.Resources = append(t.Resources, r)
	}
	return nil
}

func (t *Template) readOutputs(f *Field) error {
	if f == nil || f.Value.IsNull() {
		return nil
	}
	if f.Value.Kind != Map {
		return errorf(f.Pos, "", "Outputs must be a map")
	}
	for _, of := range f.Value.Fields {
		if of.Value.Kind != Map || of.Value.Get("Value") == nil {
			return errorf(of.Pos, "", "output %q must be a map with a Value", of.Key)
		}
		o := &Output{Name: of.Key, Pos: of.Pos, Value: of.Value.Get("Value"), Export: of.Value.Get("Export")}
		if d := of.Value.Get("Description"); d != nil {
			o.Description, _ = d.AsString()
		}
		if c := of.Value.Get("Condition"); c != nil {
			o.Condition, _ = c.AsString()
		}
		t.Outputs = append(t.Outputs, o)
	}
	return nil
}

// Resource returns the resource with the logical id, or nil.
func (t *Template) Resource(id string) *RawResource {
	for _, r := range t.Resources {
		if r.LogicalID == id {
			return r
		}
	}
	return nil
}

// IsSAM reports whether the template needs the SAM transform: it declares it
// or uses an AWS::Serverless::* type (most SAM templates omit the Transform).
func (t *Template) IsSAM() bool {
	for _, tr := range t.Transform {
		if strings.HasPrefix(tr, "AWS::Serverless") {
			return true
		}
	}
	for _, r := range t.Resources {
		if strings.HasPrefix(r.Type, "AWS::Serverless::") {
			return true
		}
	}
	return false
}

// ResourceTypes returns the sorted set of resource types the template uses.
func (t *Template) ResourceTypes() []string {
	set := map[string]bool{}
	for _, r := range t.Resources {
		set[r.Type] = true
	}
	return sortedKeys(set)
}
