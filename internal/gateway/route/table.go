package route

import (
	"net/url"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Table is a compiled, immutable set of routes; Match is safe for
// concurrent use.
//
// Routes live in a trie with one level per path segment. Each node has
// static children by text, at most one parameter child, the routes that
// end exactly there and the greedy routes whose {name+} follows it. Match
// walks the trie depth first, static child before parameter child, so the
// first exact route it reaches is the most specific one by API Gateway's
// rule (static beats {param} position by position from the left), and each
// node is visited at most once per request: the cost follows the request's
// depth and the branching it meets, not the number of routes.
type Table struct {
	root       *node
	keys       []Key
	params     [][]paramAt // per route: which request segment feeds which parameter
	defaultIdx int         // index of $default, or -1
}

type node struct {
	static map[string]*node
	param  *node
	exact  methodSet // routes ending at this node
	greedy methodSet // routes with {name+} right after this node
}

// methodSet maps a method index to a route index plus one (0 = none), so a
// zero methodSet is empty and needs no initialisation.
type methodSet [numMethods]int32

func (m *methodSet) empty() bool { return *m == methodSet{} }

// pick returns the route for method mi: the explicit one, else ANY, else
// -1. mi is -1 for a verb no route can name (TRACE, a lower-case "get"),
// which only ANY serves.
func (m *methodSet) pick(mi int) int {
	if mi >= 0 && m[mi] != 0 {
		return int(m[mi]) - 1
	}
	return int(m[anyMethod]) - 1
}

type paramAt struct {
	seg  int // index of the request segment; for greedy, where the rest starts
	name string
}

// Compile parses keys and builds a Table; Match reports indexes into keys.
// Keys that are equal, or that differ only in parameter names ("GET
// /p/{id}" and "GET /p/{name}") and so could never both be chosen, are an
// error, as is any key ParseKey rejects. Errors are *fault.Error of Kind
// Invalid.
func Compile(keys []string) (*Table, error) {
	t := &Table{root: &node{}, keys: make([]Key, len(keys)), params: make([][]paramAt, len(keys)), defaultIdx: -1}
	for i, s := range keys {
		k, err := ParseKey(s)
		if err != nil {
			return nil, err
		}
		t.keys[i] = k
		if k.IsDefault() {
			if t.defaultIdx >= 0 {
				return nil, fault.New(fault.Invalid, "route key %q is given twice (routes %d and %d)", s, t.defaultIdx, i)
			}
			t.defaultIdx = i
			continue
		}
		n := t.root
		set := &n.exact
		for d, seg := range k.segs {
			switch seg.kind {
			case segStatic:
				c := n.static[seg.text]
				if c == nil {
					if n.static == nil {
						n.static = make(map[string]*node)
					}
					c = &node{}
					n.static[seg.text] = c
				}
				n, set = c, &c.exact
			case segParam:
				if n.param == nil {
					n.param = &node{}
				}
				n, set = n.param, &n.param.exact
				t.params[i] = append(t.params[i], paramAt{seg: d, name: seg.text})
			case segGreedy:
				set = &n.greedy
				t.params[i] = append(t.params[i], paramAt{seg: d, name: seg.text})
			}
		}
		if prev := set[k.method]; prev != 0 {
			p := int(prev) - 1
			if keys[p] == s {
				return nil, fault.New(fault.Invalid, "route key %q is given twice (routes %d and %d)", s, p, i)
			}
			return nil, fault.New(fault.Invalid, "route keys %q and %q match the same requests; they differ only in parameter names", keys[p], s)
		}
		set[k.method] = int32(i + 1)
	}
	return t, nil
}

// Len returns the number of routes in t.
func (t *Table) Len() int { return len(t.keys) }

// Key returns the parsed key of route i.
func (t *Table) Key(i int) Key { return t.keys[i] }

// maxStackSegs is how many segments a request may have before Match
// allocates for its offsets; deeper paths still work.
const maxStackSegs = 32

// matcher is one request's walk over the trie. It keeps only offsets into
// path, no slices or decoded strings: values that hold pointers would make
// the escape analysis move the whole matcher to the heap, since parameter
// values flow into the returned map. Segments are decoded where used; only
// ones holding a "%" cost anything.
type matcher struct {
	path   string
	method int
	n      int                   // number of request segments
	startA [maxStackSegs + 1]int // start of segment d; start[n] is len(path)+1
	startX []int                 // used instead of startA for long paths

	exact       int // first exact route found, or -1
	greedy      int // best greedy route so far, or -1
	greedyDepth int
	mismatch    bool
}

func (m *matcher) start(d int) int {
	if m.startX != nil {
		return m.startX[d]
	}
	return m.startA[d]
}

// segment returns request segment d, percent-decoded. The path was checked
// by validEscapes, so decoding cannot fail.
func (m *matcher) segment(d int) string {
	s := m.path[m.start(d) : m.start(d+1)-1]
	if hasPercent(s) {
		s, _ = url.PathUnescape(s)
	}
	return s
}

// Match picks the route for a request. path is the request path after the
// stage prefix, still percent-encoded, without the query string. The order
// is API Gateway's: a route whose every segment matches (static before
// {param}, position by position from the left), then the greedy route with
// the longest prefix (ties again static before {param}), then $default.
// Within one path an explicit method beats ANY; a method with no route of
// its own and no ANY on a path lets a less specific path match instead.
//
// HEAD is matched as HEAD, not as GET: an HTTP API sends HEAD only to HEAD
// and ANY routes (API Gateway treats them as distinct verbs, as reported
// against serverless-offline, dherault/serverless-offline#704).
//
// A path that is not "/"-rooted or holds a malformed %-escape matches
// nothing, not even $default, so that callers can answer 400 or 404 rather
// than hand a function a path it cannot decode either.
func (t *Table) Match(method, path string) Match {
	if t == nil {
		return Match{Index: -1}
	}
	if path == "" {
		path = "/"
	}
	if path[0] != '/' || !validEscapes(path) {
		return Match{Index: -1}
	}
	m := matcher{path: path, method: methodIndex(method), exact: -1, greedy: -1}
	if len(path) > 1 {
		m.n = 1 + strings.Count(path[1:], "/")
	}
	if m.n > maxStackSegs {
		m.startX = make([]int, m.n+1)
	}
	set := func(d, v int) {
		if m.startX != nil {
			m.startX[d] = v
		} else {
			m.startA[d] = v
		}
	}
	if m.n > 0 {
		set(0, 1)
		for i, d := 1, 1; i < len(path); i++ {
			if path[i] == '/' {
				set(d, i+1)
				d++
			}
		}
	}
	// The sentinel makes segment d end at start(d+1)-1 for the last one too.
	set(m.n, len(path)+1)

	m.walk(t.root, 0)
	switch {
	case m.exact >= 0:
		return Match{Index: m.exact, Params: t.exactParams(&m, m.exact)}
	case m.greedy >= 0:
		return Match{Index: m.greedy, Params: t.greedyParams(&m, m.greedy)}
	case t.defaultIdx >= 0:
		return Match{Index: t.defaultIdx}
	}
	return Match{Index: -1, MethodMismatch: m.mismatch}
}

// walk visits n, which the first d request segments led to, and reports
// whether an exact route was found (which ends the search: nothing later in
// the depth-first order can beat it).
func (m *matcher) walk(n *node, d int) bool {
	if d == m.n {
		if i := n.exact.pick(m.method); i >= 0 {
			m.exact = i
			return true
		}
		if !n.exact.empty() {
			m.mismatch = true
		}
		return false
	}
	// A greedy route after n would take segments d and on; it needs at
	// least one character of them, so "/pets/" does not reach
	// "/pets/{proxy+}" and "/" does not reach "/{proxy+}". Depth first
	// visits shallower nodes before deeper ones on the same branch and the
	// static side before the parameter side, so "deeper wins, else first
	// seen" is the longest prefix, ties broken static-first.
	if !n.greedy.empty() && m.start(d) < len(m.path) {
		if i := n.greedy.pick(m.method); i < 0 {
			m.mismatch = true
		} else if m.greedy < 0 || d > m.greedyDepth {
			m.greedy, m.greedyDepth = i, d
		}
	}
	seg := m.segment(d)
	if c := n.static[seg]; c != nil && m.walk(c, d+1) {
		return true
	}
	// A parameter takes exactly one non-empty segment: "/pets/" has an
	// empty last segment, which is not an {id}.
	if n.param != nil && seg != "" && m.walk(n.param, d+1) {
		return true
	}
	return false
}

func (t *Table) exactParams(m *matcher, idx int) map[string]string {
	ps := t.params[idx]
	if len(ps) == 0 {
		return nil
	}
	out := make(map[string]string, len(ps))
	for _, p := range ps {
		out[p.name] = m.segment(p.seg)
	}
	return out
}

// greedyParams fills a greedy route's parameters; the greedy one gets the
// rest of the path without its leading "/", decoded as a whole, which is
// the same as decoding it segment by segment since "/" is never an escape.
func (t *Table) greedyParams(m *matcher, idx int) map[string]string {
	ps := t.params[idx]
	out := make(map[string]string, len(ps))
	for _, p := range ps[:len(ps)-1] {
		out[p.name] = m.segment(p.seg)
	}
	g := ps[len(ps)-1]
	rest := m.path[m.start(g.seg):]
	if hasPercent(rest) {
		rest, _ = url.PathUnescape(rest)
	}
	out[g.name] = rest
	return out
}

func hasPercent(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			return true
		}
	}
	return false
}

// validEscapes reports whether every "%" in s starts a two-hex-digit escape.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
