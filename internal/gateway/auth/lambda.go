package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// Invoker runs the authorizer function synchronously. functionError
// reports that the function failed (Lambda's X-Amz-Function-Error); err
// that it could not be invoked at all. The gateway adapts invoke.Service.
type Invoker interface {
	Invoke(ctx context.Context, function, qualifier string, payload []byte) (result []byte, functionError bool, err error)
}

// LambdaOptions tune a Lambda authorizer. The zero value is usable.
type LambdaOptions struct {
	Clock clock.Clock // default clock.Real
	// Region and AccountID fill the route ARN when the Request lacks them.
	Region, AccountID string
	// Timeout bounds one authorizer invocation (default 10 s, AWS's quota
	// for HTTP API Lambda authorizers); past it the client gets 500.
	Timeout time.Duration
}

// maxCacheEntries caps one authorizer's result cache; beyond it expired
// entries are swept, then arbitrary ones dropped (they are only a cache).
const maxCacheEntries = 4096

// Lambda is a Lambda REQUEST authorizer of an HTTP API, or a TOKEN
// authorizer of a REST-shaped one (the function gets one header's value).
type Lambda struct {
	def gateway.Authorizer
	inv Invoker
	// validate is a TOKEN authorizer's validation expression, anchored: a
	// token must match it whole.
	validate *regexp.Regexp
	clock    clock.Clock
	region   string
	account  string
	timeout  time.Duration
	ttl      time.Duration

	mu    sync.Mutex
	cache map[string]decision
}

// decision is a parsed authorizer response, cached as such: a cached
// simple answer holds for every route, a cached policy is evaluated
// against each request's route ARN (AWS's documented caching behaviour).
type decision struct {
	simple     bool
	authorized bool    // simple responses
	policy     *policy // IAM-policy responses
	principal  string
	context    map[string]any
	expires    time.Time
}

// NewLambda returns the authorizer for definition a (Type REQUEST or TOKEN).
func NewLambda(a gateway.Authorizer, inv Invoker, opts LambdaOptions) *Lambda {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	l := &Lambda{def: a, inv: inv, clock: opts.Clock, region: opts.Region, account: opts.AccountID, timeout: opts.Timeout}
	if a.Type == gateway.AuthorizerToken && a.IdentityValidationExpression != "" {
		// The definition was validated when it was stored.
		l.validate, _ = regexp.Compile("^(?:" + a.IdentityValidationExpression + ")$")
	}
	// Caching needs an identity source to key on (AWS refuses a TTL
	// without one; here it is simply off).
	if a.ResultTTLSeconds > 0 && len(a.IdentitySource) > 0 {
		l.ttl = time.Duration(a.ResultTTLSeconds) * time.Second
		l.cache = make(map[string]decision)
	}
	return l
}

// Authorize runs (or answers from cache) the authorizer function. scopes
// are ignored: HTTP APIs apply route scopes to JWT authorizers only.
func (l *Lambda) Authorize(ctx context.Context, r *Request, _ []string) (Result, error) {
	if r.Region == "" || r.AccountID == "" {
		cp := *r
		if cp.Region == "" {
			cp.Region = l.region
		}
		if cp.AccountID == "" {
			cp.AccountID = l.account
		}
		r = &cp
	}
	identity := make([]string, 0, len(l.def.IdentitySource))
	for _, src := range l.def.IdentitySource {
		v, ok := identityValue(src, r)
		if !ok {
			return unauthorized(), fmt.Errorf("lambda authorizer: identity source %s is missing", src)
		}
		identity = append(identity, v)
	}
	if l.def.Type == gateway.AuthorizerToken {
		// An empty or malformed token is refused before the function runs.
		if len(identity) != 1 || identity[0] == "" {
			return unauthorized(), errors.New("lambda authorizer: no token")
		}
		if l.validate != nil && !l.validate.MatchString(identity[0]) {
			return unauthorized(), errors.New("lambda authorizer: the token does not match the identity validation expression")
		}
	}
	arn := RouteARN(r)
	// NUL cannot occur in header, query or stage-variable values, so the
	// joined key is unambiguous.
	key := strings.Join(identity, "\x00")
	if d, ok := l.cached(key); ok {
		return d.result(arn), nil
	}
	d, err := l.invoke(ctx, r, identity, arn)
	if err != nil {
		return internalError(), fmt.Errorf("lambda authorizer %s: %w", l.def.FunctionName, err)
	}
	l.store(key, d)
	return d.result(arn), nil
}

func (d *decision) result(arn string) Result {
	ok := d.authorized
	if !d.simple {
		ok = d.policy.allows(arn)
	}
	if !ok {
		return forbidden()
	}
	return Result{Allowed: true, PrincipalID: d.principal, Context: map[string]any{"lambda": d.context}}
}

func (l *Lambda) cached(key string) (decision, bool) {
	if l.cache == nil {
		return decision{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.cache[key]
	if !ok {
		return decision{}, false
	}
	if !l.clock.Now().Before(d.expires) {
		delete(l.cache, key)
		return decision{}, false
	}
	return d, true
}

// store caches d, denials included: AWS caches whatever the function
// returned for the identity, so a denied caller is not re-evaluated
// within the TTL either.
func (l *Lambda) store(key string, d decision) {
	if l.cache == nil {
		return
	}
	now := l.clock.Now()
	d.expires = now.Add(l.ttl)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.cache) >= maxCacheEntries {
		for k, e := range l.cache {
			if !now.Before(e.expires) {
				delete(l.cache, k)
			}
		}
		for k := range l.cache {
			if len(l.cache) < maxCacheEntries {
				break
			}
			delete(l.cache, k)
		}
	}
	l.cache[key] = d
}

func (l *Lambda) invoke(ctx context.Context, r *Request, identity []string, arn string) (decision, error) {
	var event any
	switch {
	case l.def.Type == gateway.AuthorizerToken:
		event = events.APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: identity[0], MethodArn: arn}
	case l.def.PayloadFormatVersion == "1.0":
		event = eventV1(r, identity, arn)
	default:
		event = eventV2(r, identity, arn)
	}
	payload, err := json.Marshal(event)
	if err != nil {
		return decision{}, fmt.Errorf("encode event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	fn := l.def.FunctionName
	if fn == "" {
		fn = l.def.URI
	}
	out, fnErr, err := l.inv.Invoke(ctx, fn, l.def.Qualifier, payload)
	if err != nil {
		return decision{}, fmt.Errorf("invoke: %w", err)
	}
	if fnErr {
		return decision{}, fmt.Errorf("function error: %.200s", out)
	}
	return l.parse(out)
}

// parse reads the function's answer in the shape the definition asks
// for; anything else is the function's fault and a 500, as in AWS.
func (l *Lambda) parse(out []byte) (decision, error) {
	if l.def.EnableSimpleResponses && l.def.PayloadFormatVersion != "1.0" {
		var resp struct {
			IsAuthorized *bool          `json:"isAuthorized"`
			Context      map[string]any `json:"context"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return decision{}, fmt.Errorf("malformed simple response: %w", err)
		}
		if resp.IsAuthorized == nil {
			return decision{}, errors.New("malformed simple response: no isAuthorized boolean")
		}
		return decision{simple: true, authorized: *resp.IsAuthorized, context: resp.Context}, nil
	}
	var resp struct {
		PrincipalID    string         `json:"principalId"`
		PolicyDocument *policy        `json:"policyDocument"`
		Context        map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return decision{}, fmt.Errorf("malformed policy response: %w", err)
	}
	if resp.PolicyDocument == nil {
		return decision{}, errors.New("malformed policy response: no policyDocument")
	}
	if err := resp.PolicyDocument.validate(); err != nil {
		return decision{}, fmt.Errorf("malformed policy response: %w", err)
	}
	if _, reserved := resp.Context["claims"]; reserved && l.def.PayloadFormatVersion == "1.0" {
		return decision{}, errors.New("malformed policy response: context key \"claims\" is reserved")
	}
	return decision{policy: resp.PolicyDocument, principal: resp.PrincipalID, context: resp.Context}, nil
}

// eventV2 is the 2.0 authorizer event: the 2.0 proxy event's fields plus
// type, routeArn and identitySource.
func eventV2(r *Request, identity []string, arn string) events.APIGatewayV2CustomAuthorizerV2Request {
	headers := make(map[string]string, len(r.Header))
	var cookies []string
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		if name == "cookie" {
			// 2.0 moves cookies out of the headers into their own list.
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		if prev, ok := headers[name]; ok {
			headers[name] = prev + "," + strings.Join(vs, ",")
		} else {
			headers[name] = strings.Join(vs, ",")
		}
	}
	var qs map[string]string
	if q := queryValues(r); len(q) > 0 {
		qs = make(map[string]string, len(q))
		for k, vs := range q {
			qs[k] = strings.Join(vs, ",")
		}
	}
	t := r.Time.UTC()
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:               "2.0",
		Type:                  "REQUEST",
		RouteArn:              arn,
		IdentitySource:        identity,
		RouteKey:              r.RouteKey,
		RawPath:               rawPath(r),
		RawQueryString:        r.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: qs,
		PathParameters:        r.PathParameters,
		StageVariables:        r.StageVariables,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     r.RouteKey,
			AccountID:    r.AccountID,
			Stage:        r.Stage,
			RequestID:    r.RequestID,
			APIID:        r.APIID,
			DomainName:   r.DomainName,
			DomainPrefix: domainPrefix(r.DomainName),
			Time:         t.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    t.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.Path,
				Protocol:  "HTTP/1.1",
				SourceIP:  r.SourceIP,
				UserAgent: r.Header.Get("User-Agent"),
			},
		},
	}
}

// eventV1Request is the 1.0 authorizer event: the REST REQUEST-authorizer shape
// plus version, and identitySource and authorizationToken as the
// comma-joined identity values.
type eventV1Request struct {
	Version string `json:"version"`
	events.APIGatewayCustomAuthorizerRequestTypeRequest
	IdentitySource     string `json:"identitySource"`
	AuthorizationToken string `json:"authorizationToken"`
}

func eventV1(r *Request, identity []string, arn string) eventV1Request {
	headers := make(map[string]string, len(r.Header))
	multi := make(map[string][]string, len(r.Header))
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names) // deterministic when two spellings of a name collide
	for _, k := range names {
		vs := r.Header[k]
		if len(vs) == 0 {
			continue
		}
		// 1.0's single-value map keeps the last value, as REST APIs do.
		headers[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	var qs map[string]string
	var mqs map[string][]string
	if q := queryValues(r); len(q) > 0 {
		qs, mqs = make(map[string]string, len(q)), make(map[string][]string, len(q))
		for k, vs := range q {
			if len(vs) > 0 {
				qs[k], mqs[k] = vs[len(vs)-1], vs
			}
		}
	}
	joined := strings.Join(identity, ",")
	return eventV1Request{
		Version: "1.0",
		APIGatewayCustomAuthorizerRequestTypeRequest: events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type:                            "REQUEST",
			MethodArn:                       arn,
			Resource:                        resourcePath(r),
			Path:                            r.Path,
			HTTPMethod:                      r.Method,
			Headers:                         headers,
			MultiValueHeaders:               multi,
			QueryStringParameters:           qs,
			MultiValueQueryStringParameters: mqs,
			PathParameters:                  r.PathParameters,
			StageVariables:                  r.StageVariables,
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
				Path:         r.Path,
				AccountID:    r.AccountID,
				Stage:        r.Stage,
				RequestID:    r.RequestID,
				Identity:     events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: r.SourceIP},
				ResourcePath: resourcePath(r),
				HTTPMethod:   r.Method,
				APIID:        r.APIID,
			},
		},
		IdentitySource:     joined,
		AuthorizationToken: joined,
	}
}

func rawPath(r *Request) string {
	if r.RawPath != "" {
		return r.RawPath
	}
	return r.Path
}

func domainPrefix(domain string) string {
	prefix, _, _ := strings.Cut(domain, ".")
	return prefix
}

// Compile-time checks that both authorizers fit the gateway's interface.
var (
	_ Authorizer = (*JWT)(nil)
	_ Authorizer = (*Lambda)(nil)
)
