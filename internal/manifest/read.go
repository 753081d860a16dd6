package manifest

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds how many values one template may expand to, so YAML alias
// bombs ("billion laughs") are refused instead of exhausting memory. Without
// aliases a document cannot hold more values than it has bytes, so the bound
// only bites on templates that expand aliases far beyond their size.
const maxNodes = 1 << 20

func nodeLimit(size int) int {
	return min(maxNodes, 2*size+10000)
}

// shortTags maps CloudFormation's YAML short forms to their long names.
var shortTags = map[string]string{
	"!Ref":          "Ref",
	"!Condition":    "Condition",
	"!GetAtt":       "Fn::GetAtt",
	"!Sub":          "Fn::Sub",
	"!Join":         "Fn::Join",
	"!If":           "Fn::If",
	"!Select":       "Fn::Select",
	"!Split":        "Fn::Split",
	"!Equals":       "Fn::Equals",
	"!Not":          "Fn::Not",
	"!And":          "Fn::And",
	"!Or":           "Fn::Or",
	"!FindInMap":    "Fn::FindInMap",
	"!Base64":       "Fn::Base64",
	"!GetAZs":       "Fn::GetAZs",
	"!ImportValue":  "Fn::ImportValue",
	"!Cidr":         "Fn::Cidr",
	"!Transform":    "Fn::Transform",
	"!Length":       "Fn::Length",
	"!ToJsonString": "Fn::ToJsonString",
}

// parseValue reads YAML or JSON bytes into a Value tree, turning short-form
// tags into long-form intrinsics and keeping each node's position.
func parseValue(data []byte) (*Value, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &Error{Msg: "not valid YAML or JSON: " + trimYAMLErr(err)}
	}
	c := &converter{limit: nodeLimit(len(data))}
	return c.convert(&doc, 0)
}

func trimYAMLErr(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}

type converter struct{ count, limit int }

func (c *converter) convert(n *yaml.Node, depth int) (*Value, error) {
	pos := Pos{Line: n.Line, Col: n.Column}
	c.count++
	if c.count > c.limit {
		return nil, errorf(pos, "", "template too large (more than %d values after expanding aliases)", c.limit)
	}
	if depth > 200 {
		return nil, errorf(pos, "", "template nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return &Value{Kind: Null, Pos: pos}, nil
		}
		return c.convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, errorf(pos, "", "unknown YAML alias")
		}
		return c.convert(n.Alias, depth+1)
	}
	v, err := c.plain(n, pos, depth)
	if err != nil {
		return nil, err
	}
	tag := n.Tag
	if tag == "" || strings.HasPrefix(tag, "!!") || strings.HasPrefix(tag, "tag:yaml.org,2002:") {
		return v, nil
	}
	long, ok := shortTags[tag]
	if !ok {
		return nil, errorf(pos, "", "unknown tag %s", tag)
	}
	if long == "Fn::GetAtt" && v.Kind == String {
		// The short form "A.B.C" splits at the first dot only: nested
		// attributes such as Endpoint.Address stay whole.
		id, attr, found := strings.Cut(v.Text, ".")
		if !found || id == "" || attr == "" {
			return nil, errorf(pos, "", "!GetAtt %q must be LogicalId.Attribute", v.Text)
		}
		v = &Value{Kind: List, Pos: pos, Items: []*Value{
			{Kind: String, Text: id, Pos: pos}, {Kind: String, Text: attr, Pos: pos}}}
	}
	return &Value{Kind: Map, Pos: pos, Fields: []Field{{Key: long, Pos: pos, Value: v}}}, nil
}

// plain converts a node ignoring any custom tag on it.
func (c *converter) plain(n *yaml.Node, pos Pos, depth int) (*Value, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		v := &Value{Kind: String, Text: n.Value, Pos: pos}
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return v, nil
		}
		switch n.ShortTag() {
		case "!!int", "!!float":
			v.Kind = Number
		case "!!bool":
			v.Kind = Bool
			if b, ok := v.AsBool(); ok {
				v.Text = fmt.Sprint(b)
			}
		case "!!null":
			if !strings.HasPrefix(n.Tag, "!") || n.Tag == "!!null" {
				v.Kind = Null
			}
		}
		return v, nil
	case yaml.SequenceNode:
		v := &Value{Kind: List, Pos: pos, Items: make([]*Value, 0, len(n.Content))}
		for _, ch := range n.Content {
			it, err := c.convert(ch, depth+1)
			if err != nil {
				return nil, err
			}
			v.Items = append(v.Items, it)
		}
		return v, nil
	case yaml.MappingNode:
		v := &Value{Kind: Map, Pos: pos}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			kpos := Pos{Line: k.Line, Col: k.Column}
			if k.Kind != yaml.ScalarNode {
				return nil, errorf(kpos, "", "map keys must be plain strings")
			}
			if seen[k.Value] {
				return nil, errorf(kpos, "", "duplicate key %q", k.Value)
			}
			seen[k.Value] = true
			val, err := c.convert(vn, depth+1)
			if err != nil {
				return nil, err
			}
			v.Fields = append(v.Fields, Field{Key: k.Value, Pos: kpos, Value: val})
		}
		return v, nil
	}
	return nil, errorf(pos, "", "unexpected YAML node")
}
