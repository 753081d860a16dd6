package function

import (
	"regexp"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Ref is a function named the ways the Lambda API accepts: a name
// ("my-fn"), a name with qualifier ("my-fn:prod"), a full ARN
// ("arn:aws:lambda:us-east-1:000000000000:function:my-fn[:qualifier]") or a
// partial ARN ("000000000000:function:my-fn[:qualifier]").
type Ref struct {
	Name      string
	Qualifier string // "" when none was given
	Region    string // from a full ARN, else ""
	Account   string // from a (partial) ARN, else ""
}

// Default ARN parts used in messages when Options leave them empty.
const (
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "000000000000"
)

var (
	nameRe      = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	qualifierRe = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9_-]{1,128})$`)
	aliasNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	digitsRe    = regexp.MustCompile(`^[0-9]{1,20}$`)
	partitionRe = regexp.MustCompile(`^aws[a-zA-Z-]*$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)
	accountRe   = regexp.MustCompile(`^[0-9]{12}$`)
)

// functionNamePattern is AWS's documented pattern for FunctionName, quoted
// in validation messages.
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

// ParseRef parses s as a function name or ARN. Errors are fault.Invalid with
// AWS's wording.
func ParseRef(s string) (Ref, error) {
	bad := func() (Ref, error) {
		return Ref{}, validation(s, "functionName", "Member must satisfy regular expression pattern: "+functionNamePattern)
	}
	if s == "" {
		return Ref{}, validation(s, "functionName", "Member must have length greater than or equal to 1")
	}
	if len(s) > 256 {
		return Ref{}, validation(s, "functionName", "Member must have length less than or equal to 256")
	}
	if plainName(s) && s != "arn" {
		// The common case, on the invocation path: no regexp, no allocation
		// ("arn" alone is a truncated ARN, as the general path says).
		return Ref{Name: s}, nil
	}
	parts := strings.Split(s, ":")
	var r Ref
	hasQual := false
	switch {
	case parts[0] == "arn":
		// arn:partition:lambda:region:account:function:name[:qualifier]
		if len(parts) != 7 && len(parts) != 8 {
			return bad()
		}
		if !partitionRe.MatchString(parts[1]) || parts[2] != "lambda" || !regionRe.MatchString(parts[3]) ||
			!accountRe.MatchString(parts[4]) || parts[5] != "function" {
			return bad()
		}
		r = Ref{Region: parts[3], Account: parts[4], Name: parts[6]}
		if len(parts) == 8 {
			r.Qualifier, hasQual = parts[7], true
		}
	case len(parts) == 1:
		r.Name = parts[0]
	case len(parts) == 2:
		r = Ref{Name: parts[0], Qualifier: parts[1]}
		hasQual = true
	case len(parts) == 3 || len(parts) == 4:
		// account:function:name[:qualifier]
		if !accountRe.MatchString(parts[0]) || parts[1] != "function" {
			return bad()
		}
		r = Ref{Account: parts[0], Name: parts[2]}
		if len(parts) == 4 {
			r.Qualifier, hasQual = parts[3], true
		}
	default:
		return bad()
	}
	if !nameRe.MatchString(r.Name) {
		return bad()
	}
	if hasQual && !qualifierRe.MatchString(r.Qualifier) {
		return bad()
	}
	return r, nil
}

// plainName reports whether s is a valid unqualified function name (what
// nameRe matches).
func plainName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ARN returns the function's ARN in region and account, qualified when
// qualifier is not "".
func ARN(region, account, name, qualifier string) string {
	arn := "arn:aws:lambda:" + region + ":" + account + ":function:" + name
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// String formats r back into the shortest form that carries all its parts.
func (r Ref) String() string {
	var s string
	switch {
	case r.Region != "":
		s = ARN(r.Region, r.Account, r.Name, "")
	case r.Account != "":
		s = r.Account + ":function:" + r.Name
	default:
		s = r.Name
	}
	if r.Qualifier != "" {
		s += ":" + r.Qualifier
	}
	return s
}

// checkName validates a plain function name (no ARN, no qualifier).
func checkName(name string) error {
	if !nameRe.MatchString(name) {
		return validation(name, "functionName", "Member must satisfy regular expression pattern: "+functionNamePattern)
	}
	return nil
}

// checkQualifier validates a qualifier as the Qualifier parameter ("" is allowed).
func checkQualifier(q string) error {
	if q != "" && !qualifierRe.MatchString(q) {
		return validation(q, "qualifier", "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)")
	}
	return nil
}

// isVersionNumber reports whether q names a published version.
func isVersionNumber(q string) bool { return digitsRe.MatchString(q) }

// validation returns AWS's ValidationException wording as a fault.Invalid.
func validation(value any, field, constraint string) *fault.Error {
	return fault.New(fault.Invalid, "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}
