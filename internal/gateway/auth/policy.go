package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// policy is an IAM policy document as a Lambda authorizer returns it.
// Action, Resource and Statement may each be one value or a list, as IAM
// allows, which aws-lambda-go's events.IAMPolicyDocument cannot read.
type policy struct {
	Version   string          `json:"Version"`
	Statement oneOrMany[stmt] `json:"Statement"`
}

type stmt struct {
	Effect   string            `json:"Effect"`
	Action   oneOrMany[string] `json:"Action"`
	Resource oneOrMany[string] `json:"Resource"`
}

// oneOrMany reads a JSON value or an array of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if t := strings.TrimSpace(string(b)); strings.HasPrefix(t, "[") {
		var list []T
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*o = list
		return nil
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = oneOrMany[T]{one}
	return nil
}

// validate refuses documents API Gateway would not act on (it answers 500
// for them): no statements, or an effect other than Allow/Deny.
func (p *policy) validate() error {
	if len(p.Statement) == 0 {
		return errors.New("policyDocument has no Statement")
	}
	for i, s := range p.Statement {
		if !strings.EqualFold(s.Effect, "Allow") && !strings.EqualFold(s.Effect, "Deny") {
			return fmt.Errorf("policyDocument Statement %d: Effect %q is neither Allow nor Deny", i, s.Effect)
		}
	}
	return nil
}

// allows evaluates the policy for invoking arn as IAM does: an explicit
// Deny wins, otherwise some Allow must match, otherwise it is denied.
func (p *policy) allows(arn string) bool {
	allowed := false
	for _, s := range p.Statement {
		if !matchesAny(s.Action, "execute-api:Invoke", true) || !matchesAny(s.Resource, arn, false) {
			continue
		}
		if strings.EqualFold(s.Effect, "Deny") {
			return false
		}
		allowed = true
	}
	return allowed
}

func matchesAny(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if foldCase {
			// IAM action names are case-insensitive; resources are not.
			p, value = strings.ToLower(p), strings.ToLower(value)
		}
		if wildcardMatch(p, value) {
			return true
		}
	}
	return false
}

// wildcardMatch is IAM's glob: "*" matches any run of characters ("/"
// included), "?" any one character.
func wildcardMatch(pattern, s string) bool {
	// Iterative glob with single-star backtracking: linear enough for
	// policy sizes, and no recursion a hostile pattern could blow up.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
