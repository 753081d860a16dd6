package manifest

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Pos is where a value starts in the template source (1-based).
type Pos struct {
	Line int
	Col  int
}

// Kind says what a Value holds.
type Kind int

const (
	// Null is an absent or null value.
	Null Kind = iota
	// String, Number and Bool are scalars; their text is in Value.Text.
	String
	Number
	Bool
	// List and Map are containers. A Map whose only key is an intrinsic
	// function name ("Fn::Join", ...) is an intrinsic not yet evaluated.
	List
	Map
	// Ref is a reference to a resource's physical id, kept for the deployer.
	Ref
	// GetAtt is a reference to an attribute of a resource, kept for the deployer.
	GetAtt
)

// Value is one node of a template: a scalar, list, map or a kept reference.
// Maps keep their keys in source order so output is deterministic.
type Value struct {
	Kind   Kind
	Text   string   // String, Number, Bool
	Items  []*Value // List
	Fields []Field  // Map
	Target string   // Ref, GetAtt: the logical id
	Attr   string   // GetAtt: the attribute name (may contain dots)
	Pos    Pos
}

// Field is one key of a Map.
type Field struct {
	Key   string
	Pos   Pos
	Value *Value
}

// Str returns a String value.
func Str(s string) *Value { return &Value{Kind: String, Text: s} }

// NewMap returns an empty Map at pos.
func NewMap(pos Pos) *Value { return &Value{Kind: Map, Pos: pos} }

// NewList returns a List of items.
func NewList(items ...*Value) *Value { return &Value{Kind: List, Items: items} }

// RefTo returns a kept reference to a resource.
func RefTo(id string) *Value { return &Value{Kind: Ref, Target: id} }

// GetAttOf returns a kept attribute reference.
func GetAttOf(id, attr string) *Value { return &Value{Kind: GetAtt, Target: id, Attr: attr} }

// Get returns the value of key in a Map, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Map {
		return nil
	}
	for i := range v.Fields {
		if v.Fields[i].Key == key {
			return v.Fields[i].Value
		}
	}
	return nil
}

// field returns the Field of key, or nil.
func (v *Value) field(key string) *Field {
	if v == nil || v.Kind != Map {
		return nil
	}
	for i := range v.Fields {
		if v.Fields[i].Key == key {
			return &v.Fields[i]
		}
	}
	return nil
}

// Set replaces or appends key in a Map.
func (v *Value) Set(key string, val *Value) {
	if f := v.field(key); f != nil {
		f.Value = val
		return
	}
	v.Fields = append(v.Fields, Field{Key: key, Pos: val.pos(), Value: val})
}

// Delete removes key from a Map.
func (v *Value) Delete(key string) {
	if v == nil || v.Kind != Map {
		return
	}
	for i := range v.Fields {
		if v.Fields[i].Key == key {
			v.Fields = append(v.Fields[:i:i], v.Fields[i+1:]...)
			return
		}
	}
}

func (v *Value) pos() Pos {
	if v == nil {
		return Pos{}
	}
	return v.Pos
}

// IsNull reports whether v is absent or null.
func (v *Value) IsNull() bool { return v == nil || v.Kind == Null }

// IsScalar reports whether v is a String, Number or Bool.
func (v *Value) IsScalar() bool {
	return v != nil && (v.Kind == String || v.Kind == Number || v.Kind == Bool)
}

// AsString returns the text of a scalar.
func (v *Value) AsString() (string, bool) {
	if !v.IsScalar() {
		return "", false
	}
	return v.Text, true
}

// AsInt returns a scalar as an integer (numbers and numeric strings).
func (v *Value) AsInt() (int64, bool) {
	if !v.IsScalar() || v.Kind == Bool {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v.Text), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(strings.TrimSpace(v.Text), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

// AsBool returns a scalar as a boolean ("true"/"false" strings count).
func (v *Value) AsBool() (bool, bool) {
	if !v.IsScalar() {
		return false, false
	}
	switch strings.ToLower(v.Text) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Intrinsic reports whether v is a single-key map naming an intrinsic
// function (Ref, Condition or Fn::*), and returns its name and argument.
func (v *Value) Intrinsic() (string, *Value, bool) {
	if v == nil || v.Kind != Map || len(v.Fields) != 1 {
		return "", nil, false
	}
	k := v.Fields[0].Key
	if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
		return k, v.Fields[0].Value, true
	}
	return "", nil, false
}

// Clone returns a deep copy of v.
func (v *Value) Clone() *Value {
	if v == nil {
		return nil
	}
	c := *v
	if v.Items != nil {
		c.Items = make([]*Value, len(v.Items))
		for i, it := range v.Items {
			c.Items[i] = it.Clone()
		}
	}
	if v.Fields != nil {
		c.Fields = make([]Field, len(v.Fields))
		for i, f := range v.Fields {
			c.Fields[i] = Field{Key: f.Key, Pos: f.Pos, Value: f.Value.Clone()}
		}
	}
	return &c
}

// Resolved reports whether v holds no kept reference or unevaluated intrinsic.
func (v *Value) Resolved() bool {
	if v == nil {
		return true
	}
	switch v.Kind {
	case Ref, GetAtt:
		return false
	case List:
		for _, it := range v.Items {
			if !it.Resolved() {
				return false
			}
		}
	case Map:
		if _, _, ok := v.Intrinsic(); ok {
			return false
		}
		for _, f := range v.Fields {
			if !f.Value.Resolved() {
				return false
			}
		}
	}
	return true
}

// References returns the sorted, de-duplicated logical ids v refers to.
func (v *Value) References() []string {
	set := map[string]bool{}
	v.collectRefs(set)
	return sortedKeys(set)
}

// refPositions returns where each referenced logical id is first mentioned.
func (v *Value) refPositions(out map[string]Pos) {
	if v == nil {
		return
	}
	switch v.Kind {
	case Ref, GetAtt:
		if _, ok := out[v.Target]; !ok {
			out[v.Target] = v.Pos
		}
	case List:
		for _, it := range v.Items {
			it.refPositions(out)
		}
	case Map:
		for _, f := range v.Fields {
			f.Value.refPositions(out)
		}
	}
}

func (v *Value) collectRefs(set map[string]bool) {
	if v == nil {
		return
	}
	switch v.Kind {
	case Ref, GetAtt:
		set[v.Target] = true
	case List:
		for _, it := range v.Items {
			it.collectRefs(set)
		}
	case Map:
		for _, f := range v.Fields {
			f.Value.collectRefs(set)
		}
	}
}

// Interface converts v to plain Go values (string, float64/int64, bool, []any,
// map[string]any). Kept references become {"Ref": id} and
// {"Fn::GetAtt": [id, attr]}, CloudFormation's own spelling.
func (v *Value) Interface() any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case String:
		return v.Text
	case Number:
		if n, err := strconv.ParseInt(v.Text, 10, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(v.Text, 64); err == nil {
			return f
		}
		return v.Text
	case Bool:
		b, _ := v.AsBool()
		return b
	case List:
		out := make([]any, len(v.Items))
		for i, it := range v.Items {
			out[i] = it.Interface()
		}
		return out
	case Map:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			out[f.Key] = f.Value.Interface()
		}
		return out
	case Ref:
		return map[string]any{"Ref": v.Target}
	case GetAtt:
		return map[string]any{"Fn::GetAtt": []any{v.Target, v.Attr}}
	}
	return nil
}

// MarshalJSON renders v as CloudFormation JSON (map keys sorted by encoding/json).
func (v *Value) MarshalJSON() ([]byte, error) { return json.Marshal(v.Interface()) }

// String renders v as compact JSON, for messages and tests.
func (v *Value) String() string {
	b, err := v.MarshalJSON()
	if err != nil {
		return "<invalid>"
	}
	return string(b)
}

func sortedKeys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
