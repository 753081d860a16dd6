package limit

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/lamina-dev/lamina/internal/gateway"
)

// Messages of the 400 responses, as API Gateway words them (gateway
// responses BAD_REQUEST_BODY and BAD_REQUEST_PARAMETERS).
const (
	MsgInvalidBody   = "Invalid request body"
	msgMissingParams = "Missing required request parameters: "
)

// MaxSchemaBytes is API Gateway's limit on a model's schema (400 KB).
const MaxSchemaBytes = 400 << 10

// maxDetails bounds the failures reported for one body, so a large array
// of bad items does not make an error response as large as the request.
const maxDetails = 10

// ValidationError is a request refused by validation: HTTP 400. Marshalled
// as JSON it is the response body. Message is exactly API Gateway's, so
// clients matching on it keep working; Details is Lamina's addition (AWS
// only writes what failed to its logs), an "errors" list next to it.
type ValidationError struct {
	Message string   `json:"message"`
	Details []string `json:"errors,omitempty"`
}

func (e *ValidationError) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	return e.Message + ": " + strings.Join(e.Details, "; ")
}

// Validator validates request bodies against Model schemas, compiling each
// schema once: compiled schemas are cached by model id and a hash of the
// schema text, so an updated model is recompiled and its old version
// dropped. It is safe for concurrent use.
type Validator struct {
	mu    sync.RWMutex
	cache map[string]compiled // by model id
}

type compiled struct {
	hash   [sha256.Size]byte
	schema *jsonschema.Schema
	err    error // a schema that failed to compile fails the same way until changed
}

// NewValidator returns a Validator with an empty cache.
func NewValidator() *Validator {
	return &Validator{cache: map[string]compiled{}}
}

// Compile compiles model's schema (or finds it compiled). The control plane
// calls it on CreateModel/UpdateModel to refuse bad schemas up front.
//
// Schemas are JSON Schema draft 4 as in API Gateway when they do not name
// a draft in $schema; later drafts are accepted when named. $ref may point
// inside the schema only: nothing is ever loaded from files or the
// network (a model is user input).
func (v *Validator) Compile(model gateway.Model) (*jsonschema.Schema, error) {
	h := sha256.Sum256([]byte(model.Schema))
	v.mu.RLock()
	c, ok := v.cache[model.ID]
	v.mu.RUnlock()
	if ok && c.hash == h {
		return c.schema, c.err
	}
	// Compiled outside the lock: two requests racing on a new model both
	// compile, which is cheaper than serialising every compilation.
	sch, err := compileSchema(model, h)
	v.mu.Lock()
	v.cache[model.ID] = compiled{hash: h, schema: sch, err: err}
	v.mu.Unlock()
	return sch, err
}

// Forget drops model id's compiled schema (when the model is deleted).
func (v *Validator) Forget(id string) {
	v.mu.Lock()
	delete(v.cache, id)
	v.mu.Unlock()
}

func compileSchema(model gateway.Model, h [sha256.Size]byte) (*jsonschema.Schema, error) {
	if len(model.Schema) > MaxSchemaBytes {
		return nil, fmt.Errorf("limit: model %q: schema is %d bytes, over the %d-byte limit", model.Name, len(model.Schema), MaxSchemaBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(model.Schema))
	if err != nil {
		return nil, fmt.Errorf("limit: model %q: schema is not JSON: %w", model.Name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseLoader(noLoader{})
	// The resource name only needs to be unique and absolute; it shows in
	// compile errors, so it names the model.
	loc := fmt.Sprintf("urn:lamina:model:%x", h[:8])
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("limit: model %q: %w", model.Name, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("limit: model %q: invalid schema: %w", model.Name, err)
	}
	return sch, nil
}

// noLoader refuses every external reference: schemas may only refer to
// themselves and the draft metaschemas (built into the library).
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("external reference %q is not allowed", u)
}

// ValidateBody checks body against model. contentType is the request's,
// named in the failure when the body is not JSON. A body that is not JSON
// (an empty one included) fails: every model is a JSON Schema.
//
// It returns a *ValidationError (400 Invalid request body) when the body
// does not match, and another error when the model's schema does not
// compile (a definition problem, 500).
func (v *Validator) ValidateBody(model gateway.Model, contentType string, body []byte) error {
	sch, err := v.Compile(model)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &ValidationError{Message: MsgInvalidBody, Details: []string{"request body is empty"}}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		ct := contentType
		if ct == "" {
			ct = "no content type"
		}
		return &ValidationError{Message: MsgInvalidBody, Details: []string{fmt.Sprintf("request body is not valid JSON (%s): %v", ct, err)}}
	}
	err = sch.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("limit: validate against model %q: %w", model.Name, err)
	}
	return &ValidationError{Message: MsgInvalidBody, Details: details(ve)}
}

// details flattens the library's error tree into "where: what" lines, the
// leaves only (the inner nodes say "doesn't validate with ...", which tells
// a client nothing).
func details(ve *jsonschema.ValidationError) []string {
	var out []string
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil || len(out) >= maxDetails+1 {
			continue
		}
		msg := u.Error.String()
		if strings.HasPrefix(msg, "doesn't validate with") || strings.HasPrefix(msg, "jsonschema validation failed") {
			continue
		}
		where := u.InstanceLocation
		if where == "" {
			where = "/"
		}
		out = append(out, where+": "+msg)
	}
	if len(out) == 0 {
		// The tree had no leaf worth showing; say something rather than
		// nothing.
		out = append(out, ve.Error())
	}
	if len(out) > maxDetails {
		out = append(out[:maxDetails], "(more errors not shown)")
	}
	return out
}

// SelectModel picks the model name for a request's content type from a
// route's RequestModels as API Gateway does: the media type without its
// parameters, case-insensitively, else the "$default" entry; ok is false
// when neither exists, and then the body is not validated.
func SelectModel(requestModels map[string]string, contentType string) (name string, ok bool) {
	if len(requestModels) == 0 {
		return "", false
	}
	mt := strings.ToLower(strings.TrimSpace(contentType))
	if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
		mt = parsed
	} else if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = strings.TrimSpace(mt[:i])
	}
	if mt != "" {
		for k, name := range requestModels {
			if strings.EqualFold(strings.TrimSpace(k), mt) {
				return name, true
			}
		}
	}
	name, ok = requestModels["$default"]
	return name, ok
}

// Request parameter locations in a RequestParameters key
// ("method.request.<location>.<name>").
const (
	ParamQuery  = "querystring"
	ParamHeader = "header"
	ParamPath   = "path"
)

// ParseParamKey splits "method.request.querystring.name" into its location
// and name; ok is false for anything else.
func ParseParamKey(key string) (location, name string, ok bool) {
	rest, found := strings.CutPrefix(key, "method.request.")
	if !found {
		return "", "", false
	}
	location, name, found = strings.Cut(rest, ".")
	if !found || name == "" {
		return "", "", false
	}
	switch location {
	case ParamQuery, ParamHeader, ParamPath:
		return location, name, true
	}
	return "", "", false
}

// ValidateParams checks that each parameter marked required (true) in a
// route's RequestParameters is present and not blank, as API Gateway
// checks them (presence only, no type). Query names are case-sensitive,
// header names are not. Path parameters are not checked: a matched route
// has them. Keys that do not parse are skipped (the control plane refuses
// them).
//
// It returns a *ValidationError "Missing required request parameters:
// [a, b]" naming the missing ones sorted, or nil.
func ValidateParams(required map[string]bool, query url.Values, header http.Header) error {
	var missing []string
	for key, req := range required {
		if !req {
			continue
		}
		loc, name, ok := ParseParamKey(key)
		if !ok {
			continue
		}
		var vals []string
		switch loc {
		case ParamQuery:
			vals = query[name]
		case ParamHeader:
			vals = header.Values(name)
		default:
			continue
		}
		if !anyNonBlank(vals) {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return &ValidationError{Message: msgMissingParams + "[" + strings.Join(missing, ", ") + "]"}
}

// ValidateParams is the method form of the package function, so a caller
// holding a Validator needs nothing else.
func (v *Validator) ValidateParams(required map[string]bool, query url.Values, header http.Header) error {
	return ValidateParams(required, query, header)
}

func anyNonBlank(vals []string) bool {
	for _, s := range vals {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}
