package route

import (
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// DefaultKey is the catch-all route key of an HTTP API.
const DefaultKey = "$default"

// MaxKeyLength bounds a route key in bytes. API Gateway documents no limit
// of its own that we found; this one only keeps a hostile CreateRoute from
// building an enormous trie, and is far above any real route.
const MaxKeyLength = 2048

// methods are the verbs an HTTP API route key may name. Their order is the
// index into methodSet, so ANY is last and never moves.
var methods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"}

const (
	anyMethod  = len(methods) - 1
	numMethods = len(methods)
)

// methodIndex returns the index of m in methods, or -1. It is exact and
// case-sensitive: HTTP methods are case-sensitive tokens and API Gateway
// rejects "get /x".
func methodIndex(m string) int {
	for i, v := range methods {
		if v == m {
			return i
		}
	}
	return -1
}

// segKind says what a path segment of a key matches.
type segKind uint8

const (
	segStatic segKind = iota // exactly its text
	segParam                 // {name}: any one non-empty segment
	segGreedy                // {name+}: the rest of the path, at least one character
)

type segment struct {
	kind segKind
	text string // the literal for segStatic, the parameter name otherwise
}

// Key is a parsed route key: "$default", or a method and a path template.
// The zero Key is not valid; get one from ParseKey.
type Key struct {
	// Method is an upper-case verb or "ANY"; empty for $default.
	Method string
	// Path is the template as written, such as "/pets/{id}"; empty for $default.
	Path string

	method int // index into methods; -1 for $default
	segs   []segment
}

// IsDefault reports whether k is the $default route.
func (k Key) IsDefault() bool { return k.Method == "" && k.Path == "" }

// String returns the key in API Gateway's form; ParseKey(k.String()) gives k back.
func (k Key) String() string {
	if k.IsDefault() {
		return DefaultKey
	}
	return k.Method + " " + k.Path
}

// ParamNames lists the key's path parameter names from left to right, the
// greedy one (without its "+") included.
func (k Key) ParamNames() []string {
	var names []string
	for _, s := range k.segs {
		if s.kind != segStatic {
			names = append(names, s.text)
		}
	}
	return names
}

// Greedy returns the name of the key's final {name+} parameter, or "".
func (k Key) Greedy() string {
	if n := len(k.segs); n > 0 && k.segs[n-1].kind == segGreedy {
		return k.segs[n-1].text
	}
	return ""
}

// ParseKey parses an HTTP API route key: "$default" or "METHOD /path",
// with exactly one space, as API Gateway stores it. Errors are
// *fault.Error of Kind Invalid.
func ParseKey(s string) (Key, error) {
	if s == DefaultKey {
		return Key{method: -1}, nil
	}
	if s == "" {
		return Key{}, fault.New(fault.Invalid, "route key must not be empty")
	}
	if len(s) > MaxKeyLength {
		return Key{}, fault.New(fault.Invalid, "route key is %d bytes long; the limit is %d", len(s), MaxKeyLength)
	}
	method, path, ok := strings.Cut(s, " ")
	if !ok {
		return Key{}, fault.New(fault.Invalid, "route key %q must be %q or \"METHOD /path\"", s, DefaultKey)
	}
	mi := methodIndex(method)
	if mi < 0 {
		return Key{}, fault.New(fault.Invalid, "route key %q: method %q must be one of %s", s, method, strings.Join(methods[:], ", "))
	}
	if !strings.HasPrefix(path, "/") {
		return Key{}, fault.New(fault.Invalid, "route key %q: the path must start with \"/\"", s)
	}
	k := Key{Method: method, Path: path, method: mi}
	if path == "/" {
		return k, nil
	}
	parts := strings.Split(path[1:], "/")
	k.segs = make([]segment, 0, len(parts))
	seen := make(map[string]bool, 2)
	for i, p := range parts {
		seg, err := parseSegment(s, p)
		if err != nil {
			return Key{}, err
		}
		if seg.kind == segGreedy && i != len(parts)-1 {
			return Key{}, invalidPart(s, "greedy parameter {%s+} must be the last segment", seg.text)
		}
		if seg.kind != segStatic {
			if seen[seg.text] {
				return Key{}, invalidPart(s, "parameter name %q is used twice", seg.text)
			}
			seen[seg.text] = true
		}
		k.segs = append(k.segs, seg)
	}
	return k, nil
}

// invalidPart words a path error as API Gateway's BadRequestException does
// ("One or more path parts appear to be invalid"), then says which and why,
// since the AWS message names neither.
func invalidPart(key, format string, args ...any) *fault.Error {
	return fault.New(fault.Invalid, "One or more path parts appear to be invalid: route key %q: "+format, append([]any{key}, args...)...)
}

// parseSegment classifies one path segment of key. A parameter must be the
// whole segment: HTTP APIs reject "{id}.json" (CreateRoute answers "One or
// more path parts appear to be invalid"), unlike frameworks that allow
// partial captures.
func parseSegment(key, p string) (segment, error) {
	if p == "" {
		// An empty segment is "//" inside the path or a trailing "/"; HTTP
		// APIs refuse both (SAM and CDK users hit this with "/events/").
		return segment{}, invalidPart(key, "empty path segment (a doubled or trailing \"/\")")
	}
	if p[0] == '{' || p[len(p)-1] == '}' {
		if len(p) < 3 || p[0] != '{' || p[len(p)-1] != '}' {
			return segment{}, invalidPart(key, "segment %q: a parameter must be a whole segment, {name} or {name+}", p)
		}
		name, kind := p[1:len(p)-1], segParam
		if strings.HasSuffix(name, "+") {
			name, kind = name[:len(name)-1], segGreedy
		}
		if !validParamName(name) {
			return segment{}, invalidPart(key, "segment %q: parameter names are made of A-Z a-z 0-9 . _ -", p)
		}
		return segment{kind: kind, text: name}, nil
	}
	for i := 0; i < len(p); i++ {
		if !staticByte(p[i]) {
			return segment{}, invalidPart(key, "segment %q: character %q is not allowed in a path (a parameter must be a whole segment, {name} or {name+})", p, p[i])
		}
	}
	return segment{kind: segStatic, text: p}, nil
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// staticByte reports whether c may appear in a static segment: RFC 3986
// pchar without percent-encoding. Requests are matched after decoding each
// segment, so a literal key segment never needs "%", and leaving it out
// keeps one spelling per route.
func staticByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0
}
