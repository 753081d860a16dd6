// Package pattern owns the one event-pattern matcher that Lamina shares
// between SNS filter policies, event source mapping FilterCriteria and
// EventBridge rules: the EventBridge pattern language (exact values, prefix,
// suffix, anything-but, numeric ranges, exists, equals-ignore-case,
// wildcard, cidr and $or at any level), compiled once into matchers and
// then applied to many events.
//
// The three users differ only at the edges, so they are dialects of one
// compiler rather than three matchers: the limits a pattern must respect,
// the operators accepted, the numeric precision, the error wording, and for
// Lambda the decoding of an SQS body or Kinesis data string before a nested
// pattern is applied to it. The package is pure: no I/O, no clock, no
// globals that change.
package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Dialect selects which service's rules a pattern is compiled under.
type Dialect int

const (
	// EventBridge is the full EventBridge rule pattern language.
	EventBridge Dialect = iota
	// SNS is an SNS subscription filter policy; see Options.Scope.
	SNS
	// LambdaFilter is one pattern of an event source mapping's
	// FilterCriteria, applied to the whole record ({"body": {...}} for SQS).
	LambdaFilter
)

func (d Dialect) String() string {
	switch d {
	case EventBridge:
		return "EventBridge"
	case SNS:
		return "SNS"
	case LambdaFilter:
		return "LambdaFilter"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Scope is SNS's FilterPolicyScope. It is ignored by the other dialects.
type Scope int

const (
	// MessageAttributes is SNS's default scope: a flat policy over the
	// message attributes, applied with (*Pattern).MatchAttributes.
	MessageAttributes Scope = iota
	// MessageBody applies a possibly nested policy to the JSON message
	// body with (*Pattern).Match; a body that is not a JSON object never
	// matches.
	MessageBody
)

// Options control compilation.
type Options struct {
	Dialect Dialect
	// Scope is the SNS FilterPolicyScope (default MessageAttributes).
	Scope Scope
}

// Attribute is one SNS message attribute as published.
type Attribute struct {
	// Type is the DataType: "String", "Number", "String.Array" or "Binary",
	// optionally with a custom suffix ("Number.float", "String.uuid").
	Type string
	// Value is the StringValue (for String.Array a JSON array); Binary
	// attributes are ignored by filter policies, as in SNS.
	Value string
}

// Limits from the service documentation.
const (
	snsMaxKeys         = 5          // top-level keys (attribute names) of a filter policy
	snsMaxCombinations = 150        // product of value counts, see combinations
	snsMaxDepth        = 5          // nesting levels of a MessageBody policy
	snsMaxPolicyBytes  = 256 * 1024 // maximum size of a filter policy
	ebMaxNumeric       = 5e9        // EventBridge numeric matching works within ±5.0e9
)

// Pattern is a compiled pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	root    *node
	dialect Dialect
	scope   Scope
	scale   float64 // numbers are compared after rounding to 1/scale
}

// Dialect reports the dialect the pattern was compiled under.
func (p *Pattern) Dialect() Dialect { return p.dialect }

// node is one pattern object: every field must match (AND), and each $or
// group must have at least one alternative that matches.
type node struct {
	fields []*field
	ors    [][]*node
}

// field is one key of a pattern object; exactly one of sub and leaf is set.
type field struct {
	key  string
	sub  *node
	leaf *leaf
	// decode, in the Lambda dialect, says how a string value is turned into
	// a document before sub is applied: SQS bodies are JSON text, Kinesis
	// data is base64 of JSON.
	decode decoding
}

type decoding uint8

const (
	decodeNone decoding = iota
	decodeJSON
	decodeBase64JSON
)

// compiler carries the dialect through one Compile call.
type compiler struct {
	opts  Options
	scale float64
}

// Compile parses and validates a pattern and turns it into matchers. Every
// error is a *fault.Error of kind Invalid whose message reads like the
// service's own.
func Compile(pattern []byte, opts Options) (*Pattern, error) {
	c := &compiler{opts: opts, scale: 1e6}
	if opts.Dialect == SNS {
		// SNS documents five digits of accuracy after the decimal point.
		c.scale = 1e5
		if len(pattern) > snsMaxPolicyBytes {
			return nil, c.errorf("Filter policy is too long")
		}
	}
	dec := json.NewDecoder(bytes.NewReader(pattern))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, c.errorf("Filter is not valid JSON: %s", jsonReason(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, c.errorf("Filter is not valid JSON: unexpected data after the top-level value")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, c.errorf("Filter is not an object")
	}
	if opts.Dialect == SNS {
		if err := c.snsLimits(obj); err != nil {
			return nil, err
		}
	}
	root, err := c.object(obj, 1)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root, dialect: opts.Dialect, scope: opts.Scope, scale: c.scale}, nil
}

// errorf builds the dialect's Invalid fault.
func (c *compiler) errorf(format string, args ...any) error {
	reason := fmt.Sprintf(format, args...)
	switch c.opts.Dialect {
	case SNS:
		return fault.New(fault.Invalid, "Invalid parameter: FilterPolicy: %s", reason)
	case LambdaFilter:
		return fault.New(fault.Invalid, "Invalid filter pattern definition. Reason: %s", reason)
	}
	return fault.New(fault.Invalid, "Event pattern is not valid. Reason: %s", reason)
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s at offset %d", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return err.Error()
}

// isOr reports whether a "$or" value is a list of alternatives. A "$or"
// whose elements are not all objects is an ordinary field of that name, so
// events with such a key can still be matched exactly.
func isOr(key string, v any) ([]any, bool) {
	if key != "$or" {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, false
	}
	for _, e := range arr {
		if _, ok := e.(map[string]any); !ok {
			return nil, false
		}
	}
	return arr, true
}

func (c *compiler) object(obj map[string]any, depth int) (*node, error) {
	n := &node{}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic errors and evaluation order
	for _, k := range keys {
		v := obj[k]
		if alts, ok := isOr(k, v); ok {
			group := make([]*node, 0, len(alts))
			for _, a := range alts {
				sub, err := c.object(a.(map[string]any), depth)
				if err != nil {
					return nil, err
				}
				group = append(group, sub)
			}
			n.ors = append(n.ors, group)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			if c.opts.Dialect == SNS && c.opts.Scope == MessageAttributes {
				return nil, c.errorf("Filter policy scope MessageAttributes does not support nested filter policy")
			}
			if c.opts.Dialect == SNS && depth >= snsMaxDepth {
				return nil, c.errorf("Filter policy can not have more than %d levels of nesting", snsMaxDepth)
			}
			sub, err := c.object(v, depth+1)
			if err != nil {
				return nil, err
			}
			f := &field{key: k, sub: sub}
			if c.opts.Dialect == LambdaFilter && depth == 1 {
				// Lambda parses the record's payload only when a pattern
				// looks inside it; a flat pattern on "body" sees the text.
				switch k {
				case "body":
					f.decode = decodeJSON
				case "data":
					f.decode = decodeBase64JSON
				}
			}
			n.fields = append(n.fields, f)
		case []any:
			l, err := c.leaf(k, v)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, &field{key: k, leaf: l})
		default:
			return nil, c.errorf("%q must be an object or an array", k)
		}
	}
	return n, nil
}

// snsLimits applies SNS's documented limits on keys and combinations.
func (c *compiler) snsLimits(obj map[string]any) error {
	if keyCount(obj) > snsMaxKeys {
		return c.errorf("Filter policy can not have more than %d keys", snsMaxKeys)
	}
	if combinations(obj, 1) > snsMaxCombinations {
		return c.errorf("Filter policy is too complex")
	}
	return nil
}

// keyCount counts the keys SNS counts: the top-level ones (nested keys of a
// MessageBody policy do not count), with each $or alternative counted as if
// it were merged into its parent, taking the largest.
func keyCount(obj map[string]any) int {
	n := 0
	for k, v := range obj {
		if alts, ok := isOr(k, v); ok {
			most := 0
			for _, a := range alts {
				most = max(most, keyCount(a.(map[string]any)))
			}
			n += most
			continue
		}
		n++
	}
	return n
}

// combinations follows the SNS documentation: multiply the number of values
// of each array, each multiplied by the nesting depth of its key (the
// documented example: 4 values three levels deep and 3 values two levels
// deep give 3×4×2×3 = 72); alternatives of $or add up. The result
// saturates instead of overflowing.
func combinations(obj map[string]any, depth int) int {
	total := 1
	mul := func(f int) {
		if f > 0 && total > math.MaxInt32/f {
			total = math.MaxInt32
			return
		}
		total *= f
	}
	for k, v := range obj {
		if alts, ok := isOr(k, v); ok {
			sum := 0
			for _, a := range alts {
				sum = min(sum+combinations(a.(map[string]any), depth), math.MaxInt32)
			}
			mul(sum)
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			mul(combinations(v, depth+1))
		case []any:
			mul(len(v) * depth)
		}
	}
	return total
}

// parseNumber turns a JSON number literal into the float compared by the
// matchers, rounded to the dialect's precision.
func parseNumber(s string, scale float64) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false
	}
	return round(f, scale), true
}

// round keeps the digits after the decimal point that the service compares;
// beyond 1e15 a float64 has no fractional digits left to round.
func round(f, scale float64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) >= 1e15 {
		return f
	}
	return math.Round(f*scale) / scale
}

// leaf compiles the array of a leaf key: the event value matches if it
// matches any element.
func (c *compiler) leaf(key string, arr []any) (*leaf, error) {
	if len(arr) == 0 {
		return nil, c.errorf("Empty arrays are not allowed")
	}
	l := &leaf{}
	for _, e := range arr {
		switch e := e.(type) {
		case string:
			if l.strs == nil {
				l.strs = make(map[string]struct{})
			}
			l.strs[e] = struct{}{}
		case json.Number:
			f, ok := parseNumber(string(e), c.scale)
			if !ok {
				return nil, c.errorf("%q is not a number", string(e))
			}
			l.nums = append(l.nums, f)
		case bool:
			if e {
				l.matchTrue = true
			} else {
				l.matchFalse = true
			}
		case nil:
			l.matchNull = true
		case map[string]any:
			if err := c.operator(l, key, e); err != nil {
				return nil, err
			}
		default:
			return nil, c.errorf("Match value must be String, number, true, false, or null")
		}
	}
	return l, nil
}

// operator compiles one {"op": arg} element of a leaf array.
func (c *compiler) operator(l *leaf, key string, m map[string]any) error {
	if len(m) != 1 {
		return c.errorf("Only one key allowed in match expression")
	}
	var op string
	var arg any
	for op, arg = range m {
	}
	switch op {
	case "exists":
		b, ok := arg.(bool)
		if !ok {
			return c.errorf("exists match pattern must be either true or false.")
		}
		if b {
			l.existsTrue = true
		} else {
			l.existsFalse = true
		}
		return nil
	case "prefix", "suffix":
		sm, err := c.affix(op, arg)
		if err != nil {
			return err
		}
		l.ms = append(l.ms, sm)
		return nil
	case "equals-ignore-case":
		s, ok := arg.(string)
		if !ok {
			return c.errorf("equals-ignore-case match pattern must be a string")
		}
		l.ms = append(l.ms, ignoreCase(s))
		return nil
	case "wildcard":
		if c.opts.Dialect == SNS {
			break
		}
		s, ok := arg.(string)
		if !ok {
			return c.errorf("wildcard match pattern must be a string")
		}
		w, err := c.wildcard(s)
		if err != nil {
			return err
		}
		l.ms = append(l.ms, w)
		return nil
	case "numeric":
		r, err := c.numeric(arg)
		if err != nil {
			return err
		}
		l.ms = append(l.ms, r)
		return nil
	case "cidr":
		if c.opts.Dialect == LambdaFilter {
			break
		}
		s, ok := arg.(string)
		if !ok {
			return c.errorf("prefix match pattern must be a string")
		}
		p, err := parseCIDR(s)
		if err != nil {
			return c.errorf("Nonstandard IP address: %s", s)
		}
		l.ms = append(l.ms, cidr{p})
		return nil
	case "anything-but":
		ab, err := c.anythingBut(arg)
		if err != nil {
			return err
		}
		l.ms = append(l.ms, ab)
		return nil
	}
	return c.errorf("Unrecognized match type %s", op)
}

// affix compiles prefix and suffix, plain or with equals-ignore-case.
func (c *compiler) affix(op string, arg any) (matcher, error) {
	fold := false
	if m, ok := arg.(map[string]any); ok {
		v, ok := m["equals-ignore-case"]
		if len(m) != 1 || !ok {
			return nil, c.errorf("Unsupported %s pattern", op)
		}
		arg, fold = v, true
	}
	s, ok := arg.(string)
	if !ok {
		return nil, c.errorf("%s match pattern must be a string", op)
	}
	if op == "prefix" {
		return prefix{s: s, fold: fold}, nil
	}
	return suffix{s: s, fold: fold}, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	return p.Masked(), nil
}

// wildcard validates AWS's wildcard syntax: "*" matches any run of
// characters, "\*" and "\\" are literal, any other escape and two
// consecutive wildcards are refused.
func (c *compiler) wildcard(s string) (wildcard, error) {
	var w wildcard
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return w, c.errorf("Invalid escape character at pos %d", i)
			}
			i++
			cur.WriteByte(s[i])
			prevStar = false
		case '*':
			if prevStar {
				return w, c.errorf("Consecutive wildcard characters at pos %d", i)
			}
			w.parts = append(w.parts, cur.String())
			cur.Reset()
			prevStar = true
		default:
			cur.WriteByte(s[i])
			prevStar = false
		}
	}
	w.parts = append(w.parts, cur.String())
	return w, nil
}

// numeric compiles ["=", n] or a range of a lower bound (">", ">=") and/or
// an upper bound ("<", "<=").
func (c *compiler) numeric(arg any) (numRange, error) {
	r := numRange{lo: math.Inf(-1), hi: math.Inf(1), loIncl: true, hiIncl: true}
	arr, ok := arg.([]any)
	if !ok || len(arr) == 0 || len(arr)%2 != 0 || len(arr) > 4 {
		return r, c.errorf("Value of numeric must be an array of operator and number pairs")
	}
	haveLo, haveHi := false, false
	for i := 0; i < len(arr); i += 2 {
		op, ok := arr[i].(string)
		if !ok {
			return r, c.errorf("Invalid member in numeric match: %v", arr[i])
		}
		num, ok := arr[i+1].(json.Number)
		if !ok {
			return r, c.errorf("Value of %s must be numeric", op)
		}
		f, ok := parseNumber(string(num), c.scale)
		if !ok {
			return r, c.errorf("Value of %s must be numeric", op)
		}
		if c.opts.Dialect != SNS && (f < -ebMaxNumeric || f > ebMaxNumeric) {
			// EventBridge documents numeric matching within ±5.0e9; SNS
			// documents ±1e9 but is observed to accept more.
			return r, c.errorf("Value of %s must be between -5.0E9 and 5.0E9 inclusive", op)
		}
		switch op {
		case "=":
			if len(arr) != 2 {
				return r, c.errorf("= must be the only operator in a numeric match")
			}
			r.lo, r.hi = f, f
			haveLo, haveHi = true, true
		case ">", ">=":
			if haveLo || haveHi {
				return r, c.errorf("Bad numeric range operator: %s", op)
			}
			r.lo, r.loIncl, haveLo = f, op == ">=", true
		case "<", "<=":
			if haveHi {
				return r, c.errorf("Bad numeric range operator: %s", op)
			}
			r.hi, r.hiIncl, haveHi = f, op == "<=", true
		default:
			return r, c.errorf("Unrecognized numeric range operator: %s", op)
		}
	}
	if haveLo && haveHi && (r.lo > r.hi || (r.lo == r.hi && !(r.loIncl && r.hiIncl))) {
		return r, c.errorf("Bottom must be less than top")
	}
	return r, nil
}

// anythingBut compiles anything-but over a value, a list of values (all
// strings or all numbers), or one of prefix, suffix, wildcard and
// equals-ignore-case (a string or, for the last two, a list).
func (c *compiler) anythingBut(arg any) (matcher, error) {
	switch a := arg.(type) {
	case string, json.Number:
		return c.anythingButList([]any{a})
	case []any:
		return c.anythingButList(a)
	case map[string]any:
		if c.opts.Dialect == LambdaFilter {
			return nil, c.errorf("Unsupported anything-but pattern")
		}
		if len(a) != 1 {
			return nil, c.errorf("Only one key allowed in match expression")
		}
		var op string
		var v any
		for op, v = range a {
		}
		switch op {
		case "prefix", "suffix":
			s, ok := v.(string)
			if !ok {
				return nil, c.errorf("%s match pattern must be a string", op)
			}
			if s == "" {
				return nil, c.errorf("Null %s not allowed", op)
			}
			if op == "prefix" {
				return not{prefix{s: s}}, nil
			}
			return not{suffix{s: s}}, nil
		case "equals-ignore-case", "wildcard":
			if op == "wildcard" && c.opts.Dialect == SNS {
				break
			}
			var list []string
			switch v := v.(type) {
			case string:
				list = []string{v}
			case []any:
				for _, e := range v {
					s, ok := e.(string)
					if !ok {
						return nil, c.errorf("Inside anything-but/%s list, number|start|null|boolean is not supported.", op)
					}
					list = append(list, s)
				}
			}
			if len(list) == 0 {
				return nil, c.errorf("Value of anything-but/%s must be a string or a non-empty list of strings", op)
			}
			var alts anyOf
			for _, s := range list {
				if op == "wildcard" {
					w, err := c.wildcard(s)
					if err != nil {
						return nil, err
					}
					alts = append(alts, w)
				} else {
					alts = append(alts, ignoreCase(s))
				}
			}
			return not{alts}, nil
		}
		return nil, c.errorf("Unsupported anything-but pattern: %s", op)
	}
	return nil, c.errorf("Value of anything-but must be an array or single string/number value.")
}

func (c *compiler) anythingButList(list []any) (matcher, error) {
	if len(list) == 0 {
		return nil, c.errorf("Empty arrays are not allowed")
	}
	ab := anythingBut{}
	var sawStr, sawNum bool
	for _, e := range list {
		switch e := e.(type) {
		case string:
			sawStr = true
			if ab.strs == nil {
				ab.strs = make(map[string]struct{})
			}
			ab.strs[e] = struct{}{}
		case json.Number:
			sawNum = true
			f, ok := parseNumber(string(e), c.scale)
			if !ok {
				return nil, c.errorf("%q is not a number", string(e))
			}
			ab.nums = append(ab.nums, f)
		default:
			return nil, c.errorf("Inside anything but list, start|null|boolean is not supported.")
		}
	}
	if sawStr && sawNum {
		return nil, c.errorf("Inside anything but list, all members must be of the same type (strings or numbers).")
	}
	return ab, nil
}
