package function

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// FunctionURLConfig is a function URL (AWS's FunctionUrlConfig): a
// dedicated HTTP endpoint for one qualifier of a function. The registry
// stores it in the function's document, so it goes away with the function
// (or with its alias); the gateway's data plane finds it by URLID through
// LookupFunctionURL.
type FunctionURLConfig struct {
	// URLID is the host label of the URL: 32 random lower-case
	// alphanumerics, made on create and never changed, so the URL stays the
	// same for the life of the config (as AWS).
	URLID string `json:"urlId"`
	// Qualifier is $LATEST (also for an unqualified function) or an alias
	// name: AWS does not allow URLs on numbered versions.
	Qualifier string `json:"qualifier"`
	// AuthType is NONE or AWS_IAM.
	AuthType string `json:"authType"`
	// InvokeMode is BUFFERED or RESPONSE_STREAM.
	InvokeMode string           `json:"invokeMode"`
	Cors       *FunctionURLCors `json:"cors,omitempty"`
	// CreationTime and LastModifiedTime are UTC.
	CreationTime     time.Time `json:"creationTime"`
	LastModifiedTime time.Time `json:"lastModifiedTime"`
}

// FunctionURLCors is a function URL's CORS settings (Lambda's Cors shape).
// Nil pointers are members the caller did not set: they are reported back
// as absent, as AWS does.
type FunctionURLCors struct {
	AllowCredentials *bool    `json:"allowCredentials,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

// FunctionURLInput is the body of Create (AuthType required) and Update
// (fields left nil are kept; a Cors given replaces the stored one as a
// whole, an empty one clears it) of a function URL.
type FunctionURLInput struct {
	AuthType   *string
	InvokeMode *string
	Cors       *FunctionURLCors
}

// Function URL values and limits (the Lambda model's).
const (
	FunctionURLAuthNone     = "NONE"
	FunctionURLAuthIAM      = "AWS_IAM"
	InvokeModeBuffered      = "BUFFERED"
	InvokeModeStream        = "RESPONSE_STREAM"
	MaxFunctionURLListItems = 50

	urlIDLen           = 32
	maxCorsHeaders     = 100
	maxCorsHeaderLen   = 1024
	maxCorsMethods     = 6
	maxCorsMethodLen   = 6
	maxCorsOrigins     = 100
	maxCorsOriginLen   = 253
	maxCorsMaxAge      = 86400
	maxURLQualifierLen = 128
	// functionURLQualifierPattern is the model's constraint on Qualifier,
	// quoted in validation messages.
	functionURLQualifierPattern = `(^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))`
)

// DefaultFunctionURLBase renders a function URL when Options.FunctionURLBase
// is nil: the gateway listener's default port on localhost, where
// *.localhost resolves to the loopback address without any DNS setup.
func DefaultFunctionURLBase(urlID, region string) string {
	return fmt.Sprintf("http://%s.lambda-url.%s.localhost:3000/", urlID, region)
}

// FunctionURL renders the URL of urlID as callers see it, for region (""
// = the registry's). The region is the caller's so that the URL agrees with
// the ARNs of the same answer; the data plane ignores it.
func (s *Service) FunctionURL(urlID, region string) string {
	if region == "" {
		region = s.opts.Region
	}
	if s.opts.FunctionURLBase != nil {
		return s.opts.FunctionURLBase(urlID, region)
	}
	return DefaultFunctionURLBase(urlID, region)
}

// newURLID makes a URL id: 32 characters of [a-z0-9] from crypto/rand
// (rejection sampling keeps them uniform).
func newURLID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, urlIDLen)
	var buf [64]byte
	for len(out) < urlIDLen {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			if int(b) < 256-256%len(alphabet) && len(out) < urlIDLen {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// checkURLQualifier applies the model's Qualifier constraint: $LATEST or an
// alias name, never a version number. "" means $LATEST.
func checkURLQualifier(q string) (string, error) {
	if q == "" || q == Latest {
		return Latest, nil
	}
	ok := len(q) <= maxURLQualifierLen && !isVersionNumber(q)
	for i := 0; ok && i < len(q); i++ {
		c := q[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return "", validation(q, "qualifier", "Member must satisfy regular expression pattern: "+functionURLQualifierPattern)
	}
	return q, nil
}

func checkAuthType(a string) error {
	if a != FunctionURLAuthNone && a != FunctionURLAuthIAM {
		return validation(a, "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	return nil
}

func checkInvokeMode(m string) error {
	if m != InvokeModeBuffered && m != InvokeModeStream {
		return validation(m, "invokeMode", "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]")
	}
	return nil
}

// checkCors applies the model's limits on Cors.
func checkCors(c *FunctionURLCors) error {
	if c == nil {
		return nil
	}
	lists := []struct {
		field          string
		list           []string
		maxItems       int
		minLen, maxLen int
	}{
		{"cors.allowHeaders", c.AllowHeaders, maxCorsHeaders, 0, maxCorsHeaderLen},
		{"cors.allowMethods", c.AllowMethods, maxCorsMethods, 0, maxCorsMethodLen},
		{"cors.allowOrigins", c.AllowOrigins, maxCorsOrigins, 1, maxCorsOriginLen},
		{"cors.exposeHeaders", c.ExposeHeaders, maxCorsHeaders, 0, maxCorsHeaderLen},
	}
	for _, l := range lists {
		if len(l.list) > l.maxItems {
			return validation(fmtList(l.list), l.field, fmt.Sprintf("Member must have length less than or equal to %d", l.maxItems))
		}
		for _, v := range l.list {
			if len(v) > l.maxLen {
				return validation(fmtList(l.list), l.field, fmt.Sprintf("Member must satisfy constraint: [Member must have length less than or equal to %d]", l.maxLen))
			}
			if len(v) < l.minLen {
				return validation(fmtList(l.list), l.field, fmt.Sprintf("Member must satisfy constraint: [Member must have length greater than or equal to %d]", l.minLen))
			}
		}
	}
	if c.MaxAge != nil && (*c.MaxAge < 0 || *c.MaxAge > maxCorsMaxAge) {
		constraint := "Member must have value less than or equal to 86400"
		if *c.MaxAge < 0 {
			constraint = "Member must have value greater than or equal to 0"
		}
		return validation(*c.MaxAge, "cors.maxAge", constraint)
	}
	return nil
}

// fmtList renders a list as AWS quotes one in validation messages ("[a, b]").
func fmtList(l []string) string {
	s := "["
	for i, v := range l {
		if i > 0 {
			s += ", "
		}
		s += v
	}
	return s + "]"
}

// cloneCors copies c so that stored and returned configs share nothing.
func cloneCors(c *FunctionURLCors) *FunctionURLCors {
	if c == nil {
		return nil
	}
	out := &FunctionURLCors{
		AllowHeaders:  slices.Clone(c.AllowHeaders),
		AllowMethods:  slices.Clone(c.AllowMethods),
		AllowOrigins:  slices.Clone(c.AllowOrigins),
		ExposeHeaders: slices.Clone(c.ExposeHeaders),
	}
	if c.AllowCredentials != nil {
		out.AllowCredentials = ptrTo(*c.AllowCredentials)
	}
	if c.MaxAge != nil {
		out.MaxAge = ptrTo(*c.MaxAge)
	}
	return out
}

func cloneFunctionURL(c FunctionURLConfig) FunctionURLConfig {
	c.Cors = cloneCors(c.Cors)
	return c
}

// isEmptyCors reports whether c sets nothing (an Update sending "Cors":{}
// clears the settings).
func isEmptyCors(c *FunctionURLCors) bool {
	return c == nil || c.AllowCredentials == nil && c.MaxAge == nil && len(c.AllowHeaders) == 0 &&
		len(c.AllowMethods) == 0 && len(c.AllowOrigins) == 0 && len(c.ExposeHeaders) == 0
}

func errNoFunctionURL() error {
	return fault.New(fault.NotFound, "The resource you requested does not exist.")
}

// urlTarget checks that qualifier q ($LATEST or an alias) exists in d.
func (s *Service) urlTarget(d *fnDoc, name, q string) error {
	if q == Latest {
		return nil
	}
	if _, ok := d.Aliases[q]; !ok {
		return s.notFound(name, q)
	}
	return nil
}

// CreateFunctionURL gives qualifier ("" = $LATEST, or an alias) of name a
// function URL. AuthType is required; InvokeMode defaults to BUFFERED. A
// qualifier that has one already is fault.Conflict.
func (s *Service) CreateFunctionURL(ctx context.Context, name, qualifier string, in FunctionURLInput) (FunctionURLConfig, error) {
	if err := checkName(name); err != nil {
		return FunctionURLConfig{}, err
	}
	q, err := checkURLQualifier(qualifier)
	if err != nil {
		return FunctionURLConfig{}, err
	}
	if in.AuthType == nil {
		return FunctionURLConfig{}, validation("null", "authType", "Member must not be null")
	}
	if err := s.checkURLInput(in); err != nil {
		return FunctionURLConfig{}, err
	}
	var result FunctionURLConfig
	_, _, err = s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if err := s.urlTarget(d, name, q); err != nil {
			return err
		}
		if _, ok := d.URLs[q]; ok {
			return fault.New(fault.Conflict, "Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", s.urlARN(name, q))
		}
		now := s.now()
		c := FunctionURLConfig{
			URLID:            newURLID(),
			Qualifier:        q,
			AuthType:         *in.AuthType,
			InvokeMode:       InvokeModeBuffered,
			CreationTime:     now,
			LastModifiedTime: now,
		}
		if in.InvokeMode != nil {
			c.InvokeMode = *in.InvokeMode
		}
		if !isEmptyCors(in.Cors) {
			c.Cors = cloneCors(in.Cors)
		}
		if d.URLs == nil {
			d.URLs = map[string]FunctionURLConfig{}
		}
		d.URLs[q] = c
		result = c
		return nil
	})
	if err != nil {
		return FunctionURLConfig{}, err
	}
	return cloneFunctionURL(result), nil
}

func (s *Service) checkURLInput(in FunctionURLInput) error {
	if in.AuthType != nil {
		if err := checkAuthType(*in.AuthType); err != nil {
			return err
		}
	}
	if in.InvokeMode != nil {
		if err := checkInvokeMode(*in.InvokeMode); err != nil {
			return err
		}
	}
	return checkCors(in.Cors)
}

// urlARN is the FunctionArn a URL config reports: unqualified for $LATEST
// (the usual unqualified URL), qualified for an alias.
func (s *Service) urlARN(name, q string) string {
	if q == Latest {
		q = ""
	}
	return s.arn(name, q)
}

// UpdateFunctionURL changes the URL of qualifier; fields of in left nil are
// kept. The URL id does not change.
func (s *Service) UpdateFunctionURL(ctx context.Context, name, qualifier string, in FunctionURLInput) (FunctionURLConfig, error) {
	if err := checkName(name); err != nil {
		return FunctionURLConfig{}, err
	}
	q, err := checkURLQualifier(qualifier)
	if err != nil {
		return FunctionURLConfig{}, err
	}
	if err := s.checkURLInput(in); err != nil {
		return FunctionURLConfig{}, err
	}
	var result FunctionURLConfig
	_, _, err = s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if err := s.urlTarget(d, name, q); err != nil {
			return err
		}
		c, ok := d.URLs[q]
		if !ok {
			return errNoFunctionURL()
		}
		if in.AuthType != nil {
			c.AuthType = *in.AuthType
		}
		if in.InvokeMode != nil {
			c.InvokeMode = *in.InvokeMode
		}
		if in.Cors != nil {
			c.Cors = nil
			if !isEmptyCors(in.Cors) {
				c.Cors = cloneCors(in.Cors)
			}
		}
		c.LastModifiedTime = s.now()
		d.URLs[q] = c
		result = c
		return nil
	})
	if err != nil {
		return FunctionURLConfig{}, err
	}
	return cloneFunctionURL(result), nil
}

// GetFunctionURL returns the URL of qualifier ("" = $LATEST).
func (s *Service) GetFunctionURL(ctx context.Context, name, qualifier string) (FunctionURLConfig, error) {
	if err := checkName(name); err != nil {
		return FunctionURLConfig{}, err
	}
	q, err := checkURLQualifier(qualifier)
	if err != nil {
		return FunctionURLConfig{}, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		return FunctionURLConfig{}, err
	}
	if err := s.urlTarget(d, name, q); err != nil {
		return FunctionURLConfig{}, err
	}
	c, ok := d.URLs[q]
	if !ok {
		return FunctionURLConfig{}, errNoFunctionURL()
	}
	return cloneFunctionURL(c), nil
}

// DeleteFunctionURL removes the URL of qualifier; its URL id stops
// answering at once. A qualifier without one is fault.NotFound (as AWS).
func (s *Service) DeleteFunctionURL(ctx context.Context, name, qualifier string) error {
	if err := checkName(name); err != nil {
		return err
	}
	q, err := checkURLQualifier(qualifier)
	if err != nil {
		return err
	}
	_, _, err = s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if err := s.urlTarget(d, name, q); err != nil {
			return err
		}
		if _, ok := d.URLs[q]; !ok {
			return errNoFunctionURL()
		}
		delete(d.URLs, q)
		return nil
	})
	return err
}

// ListFunctionURLs pages through name's URLs ($LATEST first, then aliases
// by name; MaxItems 1-50).
func (s *Service) ListFunctionURLs(ctx context.Context, name string, page Page) ([]FunctionURLConfig, string, error) {
	if page.MaxItems > MaxFunctionURLListItems {
		return nil, "", validation(page.MaxItems, "maxItems", fmt.Sprintf("Member must have value less than or equal to %d", MaxFunctionURLListItems))
	}
	if page.MaxItems == 0 {
		page.MaxItems = MaxFunctionURLListItems
	}
	d, limit, after, err := s.loadPage(ctx, name, page)
	if err != nil {
		return nil, "", err
	}
	start := after.A
	if after.V != "" {
		start = after.V
	}
	out := []FunctionURLConfig{}
	next := ""
	for _, q := range slices.SortedFunc(maps.Keys(d.URLs), eventInvokeOrder) {
		if start != "" && eventInvokeOrder(q, start) <= 0 {
			continue
		}
		if len(out) == limit {
			next = encodeMarker(eventInvokeMarker(out[len(out)-1].Qualifier))
			break
		}
		out = append(out, cloneFunctionURL(d.URLs[q]))
	}
	return out, next, nil
}

// LookupFunctionURL finds the function URL with id urlID in the in-memory
// view (no store read: the gateway calls it per request). qualifier is
// $LATEST or the alias the URL invokes. It finds nothing before StartView
// except URLs this process wrote.
func (s *Service) LookupFunctionURL(urlID string) (name, qualifier string, cfg FunctionURLConfig, ok bool) {
	n, found := s.view.urls.Load(urlID)
	if !found {
		return "", "", FunctionURLConfig{}, false
	}
	snap := s.view.snapshot(n.(string))
	if snap == nil {
		return "", "", FunctionURLConfig{}, false
	}
	for q, c := range snap.URLs {
		if c.URLID == urlID {
			return snap.Name, q, c, true
		}
	}
	return "", "", FunctionURLConfig{}, false
}
