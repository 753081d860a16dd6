package gateway

import (
	"context"
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// AuthorizerInput is CreateAuthorizer's and UpdateAuthorizer's request;
// nil members are absent.
type AuthorizerInput struct {
	APIID          string
	AuthorizerID   string // update only
	Name           *string
	AuthorizerType *string // JWT, REQUEST or TOKEN, required on create
	IdentitySource []string
	// JWT (jwtConfiguration).
	Issuer   *string
	Audience []string
	// REQUEST: AuthorizerURI is the long apigateway form (a bare function
	// ARN is accepted too).
	AuthorizerURI         *string
	PayloadFormatVersion  *string
	EnableSimpleResponses *bool
	ResultTTLSeconds      *int
	// TOKEN only.
	IdentityValidationExpression *string
}

// ModelInput is CreateModel's and UpdateModel's request; nil members are absent.
type ModelInput struct {
	APIID       string
	ModelID     string // update only
	Name        *string
	ContentType *string
	Schema      *string
	Description *string
}

// CreateAuthorizer adds a JWT or Lambda REQUEST authorizer.
func (s *Service) CreateAuthorizer(ctx context.Context, in AuthorizerInput) (*Authorizer, error) {
	if in.Name == nil || in.AuthorizerType == nil {
		return nil, badRequest("Name and AuthorizerType are required")
	}
	var out Authorizer
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		if len(d.Authorizers) >= maxAuthorizers {
			return badRequest("Maximum number of Authorizers for this API has been reached (%d)", maxAuthorizers)
		}
		a := Authorizer{ID: newSubID(d.Authorizers)}
		if err := applyAuthorizer(&a, in); err != nil {
			return err
		}
		if d.Authorizers == nil {
			d.Authorizers = map[string]Authorizer{}
		}
		d.Authorizers[a.ID] = a
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAuthorizer changes the members set in in; routes using it must
// still fit its type.
func (s *Service) UpdateAuthorizer(ctx context.Context, in AuthorizerInput) (*Authorizer, error) {
	var out Authorizer
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		a, ok := d.Authorizers[in.AuthorizerID]
		if !ok {
			return authorizerNotFound(in.AuthorizerID)
		}
		old := a.Type
		if err := applyAuthorizer(&a, in); err != nil {
			return err
		}
		if a.Type != old {
			if users := authorizerUsers(d, a.ID); len(users) > 0 {
				return fault.New(fault.Conflict, "Cannot change the type of Authorizer %s: it is referenced by the following Routes with Ids: [%s]", a.ID, strings.Join(users, ", "))
			}
		}
		d.Authorizers[a.ID] = a
		out = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func applyAuthorizer(a *Authorizer, in AuthorizerInput) error {
	setIf(&a.Name, in.Name)
	if err := validName("name", a.Name, 128); err != nil {
		return err
	}
	setIf(&a.Type, in.AuthorizerType)
	if in.IdentitySource != nil {
		a.IdentitySource = in.IdentitySource
	}
	setIf(&a.Issuer, in.Issuer)
	if in.Audience != nil {
		a.Audience = in.Audience
	}
	if in.AuthorizerURI != nil {
		fn, q, err := parseFunctionURI(*in.AuthorizerURI)
		if err != nil {
			return err
		}
		a.URI, a.FunctionName, a.Qualifier = *in.AuthorizerURI, fn, q
	}
	setIf(&a.PayloadFormatVersion, in.PayloadFormatVersion)
	setIf(&a.EnableSimpleResponses, in.EnableSimpleResponses)
	setIf(&a.ResultTTLSeconds, in.ResultTTLSeconds)
	setIf(&a.IdentityValidationExpression, in.IdentityValidationExpression)
	if a.IdentityValidationExpression != "" && a.Type != AuthorizerToken {
		return badRequest("identityValidationExpression is only for TOKEN authorizers")
	}

	switch a.Type {
	case AuthorizerJWT:
		if a.Issuer == "" || len(a.Audience) == 0 {
			return badRequest("JWT authorizers require jwtConfiguration with an issuer and at least one audience")
		}
		if len(a.Audience) > 50 {
			return badRequest("At most 50 audiences per JWT authorizer")
		}
		if len(a.IdentitySource) != 1 {
			return badRequest("JWT authorizers require exactly one identitySource, such as $request.header.Authorization")
		}
		if a.URI != "" || a.PayloadFormatVersion != "" || a.EnableSimpleResponses || a.ResultTTLSeconds != 0 {
			return badRequest("authorizerUri, authorizerPayloadFormatVersion, enableSimpleResponses and authorizerResultTtlInSeconds are only for REQUEST authorizers")
		}
		return validIdentitySources(a.IdentitySource, "$request.header.", "$request.querystring.")
	case AuthorizerRequest:
		if a.URI == "" {
			return badRequest("AuthorizerUri is required for REQUEST authorizers")
		}
		if a.Issuer != "" || len(a.Audience) > 0 {
			return badRequest("jwtConfiguration is only for JWT authorizers")
		}
		if a.PayloadFormatVersion != "1.0" && a.PayloadFormatVersion != "2.0" {
			return badRequest("AuthorizerPayloadFormatVersion is required for REQUEST authorizers of HTTP APIs: 1.0 or 2.0")
		}
		if a.EnableSimpleResponses && a.PayloadFormatVersion != "2.0" {
			return badRequest("enableSimpleResponses is only supported with authorizerPayloadFormatVersion 2.0")
		}
		if a.ResultTTLSeconds < 0 || a.ResultTTLSeconds > 3600 {
			return badRequest("authorizerResultTtlInSeconds must be between 0 and 3600")
		}
		if a.ResultTTLSeconds > 0 && len(a.IdentitySource) == 0 {
			return badRequest("identitySource is required when authorizer caching is enabled (authorizerResultTtlInSeconds > 0)")
		}
		return validIdentitySources(a.IdentitySource, "$request.header.", "$request.querystring.", "$context.", "$stageVariables.")
	case AuthorizerToken:
		if a.URI == "" {
			return badRequest("AuthorizerUri is required for TOKEN authorizers")
		}
		if a.Issuer != "" || len(a.Audience) > 0 || a.EnableSimpleResponses {
			return badRequest("jwtConfiguration and enableSimpleResponses are not for TOKEN authorizers")
		}
		if a.PayloadFormatVersion == "" {
			a.PayloadFormatVersion = "1.0"
		}
		if a.PayloadFormatVersion != "1.0" {
			return badRequest("TOKEN authorizers take authorizerPayloadFormatVersion 1.0")
		}
		if len(a.IdentitySource) == 1 {
			// REST's spelling of the same source.
			if h, ok := strings.CutPrefix(a.IdentitySource[0], "method.request.header."); ok {
				a.IdentitySource = []string{"$request.header." + h}
			}
		}
		if len(a.IdentitySource) != 1 || !strings.HasPrefix(a.IdentitySource[0], "$request.header.") {
			return badRequest("TOKEN authorizers require exactly one identitySource, a header such as $request.header.Authorization")
		}
		if a.ResultTTLSeconds < 0 || a.ResultTTLSeconds > 3600 {
			return badRequest("authorizerResultTtlInSeconds must be between 0 and 3600")
		}
		if a.IdentityValidationExpression != "" {
			if _, err := regexp.Compile(a.IdentityValidationExpression); err != nil {
				return badRequest("identityValidationExpression is not a valid regular expression: %v", err)
			}
		}
		return validIdentitySources(a.IdentitySource, "$request.header.")
	default:
		return badRequest("Invalid authorizerType %s: HTTP APIs support JWT and REQUEST (and TOKEN, for REST-shaped APIs)", a.Type)
	}
}

func validIdentitySources(srcs []string, prefixes ...string) error {
	for _, src := range srcs {
		ok := false
		for _, p := range prefixes {
			if name, found := strings.CutPrefix(src, p); found && name != "" {
				ok = true
			}
		}
		if !ok {
			return badRequest("Invalid identitySource %q: must start with one of %s", src, strings.Join(prefixes, ", "))
		}
	}
	return nil
}

// GetAuthorizer returns one authorizer.
func (s *Service) GetAuthorizer(ctx context.Context, apiID, id string) (*Authorizer, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	a, ok := d.Authorizers[id]
	if !ok {
		return nil, authorizerNotFound(id)
	}
	return &a, nil
}

// GetAuthorizers lists the API's authorizers, by id.
func (s *Service) GetAuthorizers(ctx context.Context, apiID string, p Page) ([]Authorizer, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Authorizers), func(a Authorizer) string { return a.ID }, p)
}

// DeleteAuthorizer removes an authorizer no route uses.
func (s *Service) DeleteAuthorizer(ctx context.Context, apiID, id string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		if !hasKey(d.Authorizers, id) {
			return authorizerNotFound(id)
		}
		if users := authorizerUsers(d, id); len(users) > 0 {
			return fault.New(fault.Conflict, "Cannot delete Authorizer because it is referenced by the following Routes with Ids: [%s]", strings.Join(users, ", "))
		}
		delete(d.Authorizers, id)
		return nil
	})
	return err
}

func authorizerUsers(d *APIDoc, id string) []string {
	var users []string
	for _, r := range d.Routes {
		if r.AuthorizerID == id {
			users = append(users, r.ID)
		}
	}
	sort.Strings(users)
	return users
}

func authorizerNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid Authorizer identifier specified %s", id)
}

// ---- models

var modelNameRE = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)

const maxSchema = 64 << 10

// CreateModel adds a JSON Schema model (used by routes' requestModels).
func (s *Service) CreateModel(ctx context.Context, in ModelInput) (*Model, error) {
	if in.Name == nil || in.Schema == nil {
		return nil, badRequest("Name and Schema are required")
	}
	var out Model
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		if len(d.Models) >= maxModels {
			return badRequest("Maximum number of Models for this API has been reached (%d)", maxModels)
		}
		m := Model{ID: newSubID(d.Models), ContentType: "application/json"}
		if err := applyModel(d, &m, in); err != nil {
			return err
		}
		if d.Models == nil {
			d.Models = map[string]Model{}
		}
		d.Models[m.ID] = m
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateModel changes the members set in in; a model routes use keeps its name.
func (s *Service) UpdateModel(ctx context.Context, in ModelInput) (*Model, error) {
	var out Model
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		m, ok := d.Models[in.ModelID]
		if !ok {
			return modelNotFound(in.ModelID)
		}
		if in.Name != nil && *in.Name != m.Name && len(modelUsers(d, m.Name)) > 0 {
			return fault.New(fault.Conflict, "Cannot rename Model %s: it is referenced by routes", m.Name)
		}
		if err := applyModel(d, &m, in); err != nil {
			return err
		}
		d.Models[m.ID] = m
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func applyModel(d *APIDoc, m *Model, in ModelInput) error {
	setIf(&m.Name, in.Name)
	setIf(&m.ContentType, in.ContentType)
	setIf(&m.Schema, in.Schema)
	setIf(&m.Description, in.Description)
	if !modelNameRE.MatchString(m.Name) {
		return badRequest("Invalid model name %q: 1-128 alphanumerics", m.Name)
	}
	for _, o := range d.Models {
		if o.ID != m.ID && o.Name == m.Name {
			return fault.New(fault.Conflict, "Model name already exists for this API: %s", m.Name)
		}
	}
	if len(m.Schema) > maxSchema {
		return badRequest("Model schema is over %d bytes", maxSchema)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(m.Schema), &v); err != nil {
		return badRequest("Invalid model schema: not a JSON object")
	}
	return nil
}

// GetModel returns one model.
func (s *Service) GetModel(ctx context.Context, apiID, id string) (*Model, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	m, ok := d.Models[id]
	if !ok {
		return nil, modelNotFound(id)
	}
	return &m, nil
}

// GetModels lists the API's models, by id.
func (s *Service) GetModels(ctx context.Context, apiID string, p Page) ([]Model, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Models), func(m Model) string { return m.ID }, p)
}

// DeleteModel removes a model no route uses.
func (s *Service) DeleteModel(ctx context.Context, apiID, id string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		m, ok := d.Models[id]
		if !ok {
			return modelNotFound(id)
		}
		if users := modelUsers(d, m.Name); len(users) > 0 {
			return fault.New(fault.Conflict, "Cannot delete Model because it is referenced by the following Routes with Ids: [%s]", strings.Join(users, ", "))
		}
		delete(d.Models, id)
		return nil
	})
	return err
}

func modelUsers(d *APIDoc, name string) []string {
	var users []string
	for _, r := range d.Routes {
		for _, n := range r.RequestModels {
			if n == name {
				users = append(users, r.ID)
				break
			}
		}
	}
	sort.Strings(users)
	return users
}

func modelNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid Model identifier specified %s", id)
}
