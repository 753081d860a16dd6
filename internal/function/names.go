package function

import "github.com/lamina-dev/lamina/internal/fault"

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

// ParseRef parses s as a function name or ARN. Errors are fault.Invalid with
// AWS's wording.
func ParseRef(s string) (Ref, error) {
	return Ref{}, fault.New(fault.Unsupported, "not implemented yet")
}
