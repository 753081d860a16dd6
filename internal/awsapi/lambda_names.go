package awsapi

import (
	"net/http"

	"github.com/lamina-dev/lamina/internal/function"
)

// functionARN is arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>].
func (a *API) functionARN(c *call, name, qualifier string) string {
	arn := "arn:" + partition(c.region) + ":lambda:" + c.region + ":" + a.opts.AccountID + ":function:" + name
	if qualifier != "" {
		arn += ":" + qualifier
	}
	return arn
}

// maxQualifierLen is the model's limit on Qualifier.
const maxQualifierLen = 128

// resolve parses a FunctionName (a name, name:qualifier, or a full or
// partial ARN, possibly qualified) and merges it with the ?Qualifier= query
// parameter of operations that have one. The ARN's region and account must
// be this request's.
func (a *API) resolve(c *call, functionName, qualifier string) (function.Ref, error) {
	ref, err := function.ParseRef(functionName)
	if err != nil {
		return ref, err
	}
	if ref.Region != "" && ref.Region != c.region {
		return ref, newAPIError(errResourceNotFound, "Functions from '%s' are not reachable in this region ('%s')", ref.Region, c.region)
	}
	if ref.Account != "" && ref.Account != a.opts.AccountID {
		return ref, newAPIError(errAccessDenied, "Account %s is not served here: this Lamina serves account %s.", ref.Account, a.opts.AccountID)
	}
	if qualifier != "" {
		if err := checkQualifier(qualifier); err != nil {
			return ref, err
		}
		if ref.Qualifier != "" && ref.Qualifier != qualifier {
			return ref, invalidParameter("The derived qualifier from the function name does not match the specified qualifier.")
		}
		ref.Qualifier = qualifier
	}
	return ref, nil
}

// resolveQualified resolves the {FunctionName} path label with ?Qualifier=.
func (a *API) resolveQualified(r *http.Request, c *call) (function.Ref, error) {
	return a.resolve(c, r.PathValue("FunctionName"), r.URL.Query().Get("Qualifier"))
}

// resolveFunction resolves the {FunctionName} path label of an operation on
// the function as a whole, which takes no qualifier ($LATEST is tolerated:
// it names the same thing).
func (a *API) resolveFunction(r *http.Request, c *call) (string, error) {
	return a.resolveUnqualified(c, r.PathValue("FunctionName"))
}

func (a *API) resolveUnqualified(c *call, functionName string) (string, error) {
	ref, err := a.resolve(c, functionName, "")
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" && ref.Qualifier != function.Latest {
		return "", invalidParameter("This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.")
	}
	return ref.Name, nil
}

// checkQualifier applies the model's constraint on Qualifier: 1-128 of [a-zA-Z0-9$_-].
func checkQualifier(q string) error {
	ok := len(q) <= maxQualifierLen
	for i := 0; ok && i < len(q); i++ {
		ch := q[i]
		ok = ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '$' || ch == '_' || ch == '-'
	}
	if !ok {
		return invalidParameter("1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)", q)
	}
	return nil
}
