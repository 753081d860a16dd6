package pattern

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/netip"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// kind is the JSON type of an event leaf value.
type kind uint8

const (
	kString kind = iota
	kNumber
	kTrue
	kFalse
	kNull
)

// val is one leaf value of an event, numbers already rounded to the
// pattern's precision so that 300, 300.0 and 3e2 are the same value.
type val struct {
	k kind
	s string
	n float64
}

// toVal converts a decoded JSON scalar; ok is false for objects and arrays.
// Both json.Number and float64 are accepted so callers may decode either way.
func toVal(x any, scale float64) (val, bool) {
	switch x := x.(type) {
	case string:
		return val{k: kString, s: x}, true
	case json.Number:
		f, ok := parseNumber(string(x), scale)
		if !ok {
			return val{k: kString, s: string(x)}, true
		}
		return val{k: kNumber, n: f}, true
	case float64:
		return val{k: kNumber, n: round(x, scale)}, true
	case bool:
		if x {
			return val{k: kTrue}, true
		}
		return val{k: kFalse}, true
	case nil:
		return val{k: kNull}, true
	}
	return val{}, false
}

// matcher is one compiled operator of a leaf array.
type matcher interface {
	match(v val) bool
}

// leaf is the compiled array of a leaf key: exact values are kept in sets,
// operators in ms, and the value matches if anything matches.
type leaf struct {
	strs                    map[string]struct{}
	nums                    []float64
	matchTrue, matchFalse   bool
	matchNull               bool
	existsTrue, existsFalse bool
	ms                      []matcher
}

func (l *leaf) matchVal(v val) bool {
	switch v.k {
	case kString:
		if _, ok := l.strs[v.s]; ok {
			return true
		}
	case kNumber:
		for _, n := range l.nums {
			if n == v.n {
				return true
			}
		}
	case kTrue:
		if l.matchTrue {
			return true
		}
	case kFalse:
		if l.matchFalse {
			return true
		}
	case kNull:
		if l.matchNull {
			return true
		}
	}
	for _, m := range l.ms {
		if m.match(v) {
			return true
		}
	}
	return false
}

// matchValues applies the leaf to the values a key has. A key whose value
// is an object or an empty array has none and so does not exist: exists
// only looks at leaves, as in EventBridge.
func (l *leaf) matchValues(vals []val) bool { return l.matchAttr(vals, len(vals) > 0) }

// collect appends the leaf values of a decoded JSON value: the value itself,
// or the scalars of an array (nested arrays flattened, objects skipped).
func collect(dst []val, x any, scale float64) []val {
	if arr, ok := x.([]any); ok {
		for _, e := range arr {
			dst = collect(dst, e, scale)
		}
		return dst
	}
	if v, ok := toVal(x, scale); ok {
		dst = append(dst, v)
	}
	return dst
}

// matcher implementations.

type prefix struct {
	s    string
	fold bool
}

func (p prefix) match(v val) bool {
	if v.k != kString {
		return false
	}
	if p.fold {
		return len(v.s) >= len(p.s) && strings.EqualFold(v.s[:len(p.s)], p.s)
	}
	return strings.HasPrefix(v.s, p.s)
}

type suffix struct {
	s    string
	fold bool
}

func (p suffix) match(v val) bool {
	if v.k != kString {
		return false
	}
	if p.fold {
		return len(v.s) >= len(p.s) && strings.EqualFold(v.s[len(v.s)-len(p.s):], p.s)
	}
	return strings.HasSuffix(v.s, p.s)
}

type ignoreCase string

func (p ignoreCase) match(v val) bool { return v.k == kString && strings.EqualFold(v.s, string(p)) }

// wildcard holds the literal parts between the "*"s: parts[0] must be a
// prefix, the last part a suffix, and the middle ones appear in order.
type wildcard struct{ parts []string }

func (w wildcard) match(v val) bool {
	if v.k != kString {
		return false
	}
	s := v.s
	if len(w.parts) == 1 {
		return s == w.parts[0]
	}
	first, last := w.parts[0], w.parts[len(w.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	// Leftmost matching of each middle part is optimal for "*"-only globs.
	for _, part := range w.parts[1 : len(w.parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return true
}

type numRange struct {
	lo, hi         float64
	loIncl, hiIncl bool
}

func (r numRange) match(v val) bool {
	if v.k != kNumber {
		return false
	}
	if v.n < r.lo || (v.n == r.lo && !r.loIncl) {
		return false
	}
	return v.n < r.hi || (v.n == r.hi && r.hiIncl)
}

type cidr struct{ p netip.Prefix }

func (c cidr) match(v val) bool {
	if v.k != kString {
		return false
	}
	a, err := netip.ParseAddr(v.s)
	if err != nil {
		return false
	}
	return c.p.Contains(a.Unmap())
}

// anythingBut matches any leaf value other than those listed, whatever its
// type; a key that is absent has no value and so does not match.
type anythingBut struct {
	strs map[string]struct{}
	nums []float64
}

func (a anythingBut) match(v val) bool {
	switch v.k {
	case kString:
		_, ok := a.strs[v.s]
		return !ok
	case kNumber:
		for _, n := range a.nums {
			if n == v.n {
				return false
			}
		}
	}
	return true
}

// not is anything-but over string operators: only strings can match.
type not struct{ m matcher }

func (n not) match(v val) bool { return v.k == kString && !n.m.match(v) }

type anyOf []matcher

func (a anyOf) match(v val) bool {
	for _, m := range a {
		if m.match(v) {
			return true
		}
	}
	return false
}

// Matching documents.

// Match reports whether the JSON document matches. For SNS MessageBody
// scope a body that is not a JSON object simply does not match; for the
// other dialects a document that is not JSON is an InvalidContent fault.
func (p *Pattern) Match(doc []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = fault.New(fault.InvalidContent, "event has data after its JSON value")
		}
	}
	obj, isObj := v.(map[string]any)
	if p.dialect == SNS {
		if err != nil || !isObj {
			return false, nil
		}
		return p.MatchObject(obj), nil
	}
	if err != nil {
		return false, fault.Wrap(fault.InvalidContent, err, "event is not valid JSON")
	}
	if !isObj {
		return false, fault.New(fault.InvalidContent, "event must be a JSON object")
	}
	return p.MatchObject(obj), nil
}

// MatchObject matches an already decoded JSON object (numbers as
// json.Number or float64), for callers that decode an event once and apply
// several patterns to it. obj is not modified.
func (p *Pattern) MatchObject(obj map[string]any) bool {
	var buf [8]val
	return p.matchNode(p.root, obj, buf[:0])
}

func (p *Pattern) matchNode(n *node, obj map[string]any, buf []val) bool {
	for _, f := range n.fields {
		x, present := obj[f.key]
		if f.leaf != nil {
			var vals []val
			if present {
				vals = collect(buf[:0], x, p.scale)
			}
			if !f.leaf.matchValues(vals) {
				return false
			}
			continue
		}
		if present && f.decode != decodeNone {
			if s, ok := x.(string); ok {
				d, ok := decodePayload(s, f.decode)
				if !ok {
					// A payload that is not JSON never matches a pattern that
					// looks inside it.
					return false
				}
				x = d
			}
		}
		if !p.matchSub(f.sub, x, present, buf) {
			return false
		}
	}
	for _, group := range n.ors {
		ok := false
		for _, alt := range group {
			if p.matchNode(alt, obj, buf) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchSub applies a nested pattern to a key's value: an object directly,
// an array if any of its objects matches (so fields are matched within one
// element), and anything else as an empty object, which only patterns
// of {"exists": false} can match.
func (p *Pattern) matchSub(n *node, x any, present bool, buf []val) bool {
	if present {
		switch x := x.(type) {
		case map[string]any:
			return p.matchNode(n, x, buf)
		case []any:
			sawObject := false
			for _, e := range x {
				if o, ok := e.(map[string]any); ok {
					sawObject = true
					if p.matchNode(n, o, buf) {
						return true
					}
				}
			}
			if sawObject {
				return false
			}
		}
	}
	return p.matchNode(n, nil, buf)
}

func decodePayload(s string, how decoding) (any, bool) {
	b := []byte(s)
	if how == decodeBase64JSON {
		d, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, false
		}
		b = d
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// MatchAttributes applies a (flat) filter policy to SNS message
// attributes. String attributes are strings, Number attributes numbers,
// String.Array attributes the elements of their JSON array, and Binary
// attributes are ignored as if absent.
func (p *Pattern) MatchAttributes(attrs map[string]Attribute) bool {
	return p.matchAttrNode(p.root, attrs)
}

func (p *Pattern) matchAttrNode(n *node, attrs map[string]Attribute) bool {
	for _, f := range n.fields {
		a, present := attrs[f.key]
		base, _, _ := strings.Cut(a.Type, ".")
		if base == "Binary" {
			present = false
		}
		if f.leaf == nil {
			// Nested policies are refused for this scope; an object has no
			// attribute values, so only a nested exists:false could match.
			if !p.matchNode(f.sub, nil, nil) {
				return false
			}
			continue
		}
		var vals []val
		if present {
			vals = p.attrValues(a, base)
		}
		if !f.leaf.matchAttr(vals, present) {
			return false
		}
	}
	for _, group := range n.ors {
		ok := false
		for _, alt := range group {
			if p.matchAttrNode(alt, attrs) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchAttr is matchValues where presence is the attribute's, since an
// attribute such as a String.Array of "[]" exists without values.
func (l *leaf) matchAttr(vals []val, present bool) bool {
	for _, v := range vals {
		if l.matchVal(v) {
			return true
		}
	}
	return (l.existsTrue && present) || (l.existsFalse && !present)
}

func (p *Pattern) attrValues(a Attribute, base string) []val {
	switch {
	case a.Type == "String.Array" || strings.HasPrefix(a.Type, "String.Array."):
		dec := json.NewDecoder(strings.NewReader(a.Value))
		dec.UseNumber()
		var arr []any
		if dec.Decode(&arr) != nil {
			return nil
		}
		return collect(nil, arr, p.scale)
	case base == "Number":
		if f, ok := parseNumber(strings.TrimSpace(a.Value), p.scale); ok {
			return []val{{k: kNumber, n: f}}
		}
		return []val{{k: kString, s: a.Value}}
	}
	return []val{{k: kString, s: a.Value}}
}
