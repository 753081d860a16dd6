package telemetry

import (
	"regexp"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Filter is a compiled CloudWatch Logs filter pattern for unstructured log
// events (the "text" patterns):
//
//	ERROR                  events containing ERROR (terms are case-sensitive, as in CloudWatch)
//	ERROR Exception        events containing both (terms are ANDed)
//	"Task timed out"       a quoted phrase, matched as written (\" and \\ escape)
//	ERROR -Retrying        ERROR but not Retrying (- excludes; also -"a phrase")
//	?ERROR ?WARN           events containing either (? terms are ORed, and ANDed with the rest)
//	%[0-9]{3} ms%          a regular expression between percent signs
//	"" or nothing          every event
//
// JSON patterns ({ $.level = "ERROR" }) and space-delimited patterns
// ([ip, user, ...]) are not supported: ParseFilter refuses them.
type Filter struct {
	all  []matcher // every one must match
	any  []matcher // at least one must match, when there are any
	none []matcher // none may match
}

type matcher struct {
	text string
	re   *regexp.Regexp
}

func (m matcher) match(s string) bool {
	if m.re != nil {
		return m.re.MatchString(s)
	}
	return strings.Contains(s, m.text)
}

// maxFilterLen is CloudWatch's limit on a filter pattern.
const maxFilterLen = 1024

// ParseFilter compiles pattern. A pattern it cannot use is a
// *fault.Error of kind Invalid (or Unsupported for JSON and
// space-delimited patterns).
func ParseFilter(pattern string) (*Filter, error) {
	if len(pattern) > maxFilterLen {
		return nil, fault.New(fault.Invalid, "Filter pattern must be at most %d characters long.", maxFilterLen)
	}
	f := &Filter{}
	s := strings.TrimSpace(pattern)
	switch {
	case strings.HasPrefix(s, "{"):
		return nil, fault.New(fault.Unsupported, "JSON filter patterns ({ $.field = value }) are not supported yet; use terms or \"quoted phrases\".")
	case strings.HasPrefix(s, "["):
		return nil, fault.New(fault.Unsupported, "Space-delimited filter patterns ([field, ...]) are not supported yet; use terms or \"quoted phrases\".")
	}
	for len(s) > 0 {
		var list *[]matcher
		op := s[0]
		switch op {
		case '-':
			list, s = &f.none, s[1:]
		case '?':
			list, s = &f.any, s[1:]
		default:
			list = &f.all
		}
		var m matcher
		var err error
		switch {
		case list != &f.all && (s == "" || s[0] == ' ' || s[0] == '\t'):
			// A lone '-' or '?' is a term of its own.
			list, m.text = &f.all, string(op)
		case s[0] == '"':
			m.text, s, err = quoted(s)
		case s[0] == '%':
			m, s, err = regex(s)
		default:
			i := strings.IndexAny(s, " \t")
			if i < 0 {
				i = len(s)
			}
			m.text, s = s[:i], s[i:]
		}
		if err != nil {
			return nil, err
		}
		if m.text != "" || m.re != nil {
			*list = append(*list, m)
		}
		s = strings.TrimLeft(s, " \t")
	}
	return f, nil
}

// quoted reads a "quoted phrase" at the start of s.
func quoted(s string) (string, string, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
				continue
			}
			b.WriteByte(c)
		case '"':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fault.New(fault.Invalid, "Invalid filter pattern: a quoted term is not closed.")
}

// regex reads a %regular expression% at the start of s.
func regex(s string) (matcher, string, error) {
	end := strings.IndexByte(s[1:], '%')
	if end < 0 {
		return matcher{}, "", fault.New(fault.Invalid, "Invalid filter pattern: a regular expression is not closed with %%.")
	}
	expr := s[1 : 1+end]
	if expr == "" {
		return matcher{}, s[2:], nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return matcher{}, "", fault.New(fault.Invalid, "Invalid filter pattern: bad regular expression %q.", expr)
	}
	return matcher{re: re}, s[2+end:], nil
}

// Match reports whether line matches the filter. A nil Filter matches everything.
func (f *Filter) Match(line string) bool {
	if f == nil {
		return true
	}
	for _, m := range f.all {
		if !m.match(line) {
			return false
		}
	}
	for _, m := range f.none {
		if m.match(line) {
			return false
		}
	}
	if len(f.any) == 0 {
		return true
	}
	for _, m := range f.any {
		if m.match(line) {
			return true
		}
	}
	return false
}
