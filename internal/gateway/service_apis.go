package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// DefaultTag marks the default API: CreateApi or TagResource with
// "lamina:default" = "true" makes that API the one served at the
// gateway's plain root and clears the mark (flag and tag) on every other
// API; untagging it, or any other value, unmarks it. Tags are the only
// free-form member AWS's shape has, so SAM templates and the CLI can set
// it unchanged.
const DefaultTag = "lamina:default"

// CreateAPIInput is CreateApi's request.
type CreateAPIInput struct {
	Name         string
	ProtocolType string
	Description  string
	Version      string
	Tags         map[string]string
	Cors         *Cors
	// DisableExecuteAPIEndpoint turns the default endpoint off.
	DisableExecuteAPIEndpoint bool
	// Quick create: Target (a function ARN) makes an AWS_PROXY integration
	// (payload 2.0), a route RouteKey ("$default" when empty) and an
	// auto-deploying $default stage, all managed.
	Target         string
	RouteKey       string
	CredentialsArn string
}

// UpdateAPIInput is UpdateApi's request: nil members are left unchanged.
type UpdateAPIInput struct {
	APIID                     string
	Name                      *string
	Description               *string
	Version                   *string
	Cors                      *Cors
	DisableExecuteAPIEndpoint *bool
}

// CreateAPI creates an HTTP API (quick create when in.Target is set).
func (s *Service) CreateAPI(ctx context.Context, in CreateAPIInput) (*APIDoc, error) {
	if err := validName("name", in.Name, 128); err != nil {
		return nil, err
	}
	switch in.ProtocolType {
	case "HTTP":
	case "WEBSOCKET":
		return nil, badRequest("WEBSOCKET APIs are not supported by Lamina; use protocolType HTTP")
	case "":
		return nil, badRequest("ProtocolType is required")
	default:
		return nil, badRequest("Invalid protocolType %s; must be HTTP", in.ProtocolType)
	}
	if err := validCors(in.Cors); err != nil {
		return nil, err
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	if in.Target == "" && (in.RouteKey != "" || in.CredentialsArn != "") {
		return nil, badRequest("RouteKey and CredentialsArn are only allowed together with Target (quick create)")
	}
	now := s.clock.Now().UTC()
	doc := &APIDoc{API: API{
		Name:                      in.Name,
		ProtocolType:              in.ProtocolType,
		Description:               in.Description,
		Version:                   in.Version,
		Tags:                      cloneMap(in.Tags),
		Cors:                      in.Cors,
		DisableExecuteAPIEndpoint: in.DisableExecuteAPIEndpoint,
		Default:                   in.Tags[DefaultTag] == "true",
		CreatedDate:               now,
	}}
	if in.Target != "" {
		if err := s.quickCreate(doc, in, now); err != nil {
			return nil, err
		}
	}
	for {
		doc.API.ID = newID(10)
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("gateway: encode API: %w", err)
		}
		rev, err := s.kv.Create(ctx, apiKey(doc.API.ID), b)
		if errors.Is(err, store.ErrExists) {
			continue // an id collision: draw again
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: create API: %w", err)
		}
		s.apply(doc.API.ID, doc, rev)
		break
	}
	if doc.API.Default {
		if err := s.clearDefaultExcept(ctx, doc.API.ID); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// quickCreate adds the managed integration, route and $default stage.
func (s *Service) quickCreate(doc *APIDoc, in CreateAPIInput, now time.Time) error {
	if strings.HasPrefix(in.Target, "http://") || strings.HasPrefix(in.Target, "https://") {
		return badRequest("HTTP_PROXY targets are not supported by Lamina; use a Lambda function ARN")
	}
	fn, qual, err := parseFunctionURI(in.Target)
	if err != nil {
		return err
	}
	key := in.RouteKey
	if key == "" {
		key = "$default"
	}
	if err := validRouteKey(key); err != nil {
		return err
	}
	integ := Integration{
		ID: newID(7), Type: IntegrationLambda, URI: in.Target, FunctionName: fn, Qualifier: qual,
		PayloadFormatVersion: "2.0", TimeoutMillis: defaultTimeoutMillis, Managed: true,
	}
	rt := Route{ID: newID(7), Key: key, IntegrationID: integ.ID, AuthorizationType: AuthNone, Managed: true}
	dep := Deployment{ID: newID(7), AutoDeployed: true, CreatedDate: now}
	st := Stage{
		Name: "$default", AutoDeploy: true, DeploymentID: dep.ID, CreatedDate: now, LastUpdatedDate: now, Managed: true,
	}
	doc.Integrations = map[string]Integration{integ.ID: integ}
	doc.Routes = map[string]Route{rt.ID: rt}
	doc.Stages = map[string]Stage{st.Name: st}
	doc.Deployments = map[string]Deployment{dep.ID: dep}
	return nil
}

// GetAPI returns API id.
func (s *Service) GetAPI(ctx context.Context, id string) (*APIDoc, error) {
	doc, _, err := s.load(ctx, id)
	return doc, err
}

// GetAPIs lists the APIs, by id.
func (s *Service) GetAPIs(ctx context.Context, p Page) ([]*APIDoc, string, error) {
	entries, err := s.kv.List(ctx, keyPrefix)
	if err != nil {
		return nil, "", fmt.Errorf("gateway: list APIs: %w", err)
	}
	docs := make([]*APIDoc, 0, len(entries))
	for _, e := range entries {
		d := new(APIDoc)
		if err := json.Unmarshal(e.Value, d); err != nil {
			s.log.Error("gateway: undecodable API definition skipped", "key", e.Key, "err", err)
			continue
		}
		docs = append(docs, d)
	}
	return page(docs, func(d *APIDoc) string { return d.API.ID }, p)
}

// UpdateAPI changes the members set in in.
func (s *Service) UpdateAPI(ctx context.Context, in UpdateAPIInput) (*APIDoc, error) {
	if in.Name != nil {
		if err := validName("name", *in.Name, 128); err != nil {
			return nil, err
		}
	}
	if err := validCors(in.Cors); err != nil {
		return nil, err
	}
	return s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		a := &d.API
		setIf(&a.Name, in.Name)
		setIf(&a.Description, in.Description)
		setIf(&a.Version, in.Version)
		setIf(&a.DisableExecuteAPIEndpoint, in.DisableExecuteAPIEndpoint)
		if in.Cors != nil {
			// AWS merges a PATCH's corsConfiguration member by member.
			c := Cors{}
			if a.Cors != nil {
				c = *a.Cors
			}
			n := in.Cors
			if n.AllowOrigins != nil {
				c.AllowOrigins = n.AllowOrigins
			}
			if n.AllowMethods != nil {
				c.AllowMethods = n.AllowMethods
			}
			if n.AllowHeaders != nil {
				c.AllowHeaders = n.AllowHeaders
			}
			if n.ExposeHeaders != nil {
				c.ExposeHeaders = n.ExposeHeaders
			}
			if n.MaxAge != nil {
				c.MaxAge = n.MaxAge
			}
			// A bool cannot say "absent": what the PATCH carries wins.
			c.AllowCredentials = n.AllowCredentials
			a.Cors = &c
		}
		return nil
	})
}

// DeleteAPI deletes API id and everything in it.
func (s *Service) DeleteAPI(ctx context.Context, id string) error {
	for range casAttempts {
		_, rev, err := s.load(ctx, id)
		if err != nil {
			return err
		}
		err = s.kv.Delete(ctx, apiKey(id), rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("gateway: delete API %s: %w", id, err)
		}
		// The delete marker's revision is later than rev; rev+1 is enough to
		// keep the stale put the watch may still deliver out.
		s.apply(id, nil, rev+1)
		return nil
	}
	return fault.New(fault.Conflict, "Unable to complete operation due to concurrent modification. Please try again later.")
}

// DeleteCorsConfiguration removes the API's CORS configuration.
func (s *Service) DeleteCorsConfiguration(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(d *APIDoc) error {
		d.API.Cors = nil
		return nil
	})
	return err
}

// ---- tags

// APIARN is the ARN API Gateway gives API id (the resource of TagResource).
func (s *Service) APIARN(id string) string {
	return "arn:aws:apigateway:" + s.opts.Region + "::/apis/" + id
}

// taggable parses arn:aws:apigateway:{region}::/apis/{id}[/stages/{name}].
func (s *Service) taggable(arn string) (apiID, stage string, err error) {
	_, path, ok := strings.Cut(arn, "::")
	if !ok || !strings.HasPrefix(arn, "arn:aws:apigateway:") {
		return "", "", fault.New(fault.NotFound, "Invalid resource ARN %s", arn)
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "apis":
		return parts[1], "", nil
	case len(parts) == 4 && parts[0] == "apis" && parts[2] == "stages":
		return parts[1], parts[3], nil
	}
	return "", "", fault.New(fault.NotFound, "Invalid resource ARN %s", arn)
}

// TagResource adds tags to an API or a stage; see DefaultTag.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	id, stage, err := s.taggable(arn)
	if err != nil {
		return err
	}
	if err := validTags(tags); err != nil {
		return err
	}
	doc, err := s.mutate(ctx, id, func(d *APIDoc) error {
		dst := &d.API.Tags
		if stage != "" {
			st, ok := d.Stages[stage]
			if !ok {
				return stageNotFound(stage)
			}
			if st.Tags == nil {
				st.Tags = map[string]string{}
			}
			for k, v := range tags {
				st.Tags[k] = v
			}
			d.Stages[stage] = st
			return nil
		}
		if *dst == nil {
			*dst = map[string]string{}
		}
		for k, v := range tags {
			(*dst)[k] = v
		}
		if len(*dst) > 50 {
			return badRequest("Too many tags: at most 50 per resource")
		}
		d.API.Default = d.API.Tags[DefaultTag] == "true"
		return nil
	})
	if err != nil {
		return err
	}
	if doc.API.Default && stage == "" {
		return s.clearDefaultExcept(ctx, id)
	}
	return nil
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	id, stage, err := s.taggable(arn)
	if err != nil {
		return err
	}
	_, err = s.mutate(ctx, id, func(d *APIDoc) error {
		if stage != "" {
			st, ok := d.Stages[stage]
			if !ok {
				return stageNotFound(stage)
			}
			for _, k := range keys {
				delete(st.Tags, k)
			}
			d.Stages[stage] = st
			return nil
		}
		for _, k := range keys {
			delete(d.API.Tags, k)
		}
		d.API.Default = d.API.Tags[DefaultTag] == "true"
		return nil
	})
	return err
}

// GetTags returns the tags of an API or a stage.
func (s *Service) GetTags(ctx context.Context, arn string) (map[string]string, error) {
	id, stage, err := s.taggable(arn)
	if err != nil {
		return nil, err
	}
	doc, _, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if stage != "" {
		st, ok := doc.Stages[stage]
		if !ok {
			return nil, stageNotFound(stage)
		}
		return st.Tags, nil
	}
	return doc.API.Tags, nil
}

// clearDefaultExcept unmarks (flag and tag) every default API but keep.
func (s *Service) clearDefaultExcept(ctx context.Context, keep string) error {
	entries, err := s.kv.List(ctx, keyPrefix)
	if err != nil {
		return fmt.Errorf("gateway: list APIs: %w", err)
	}
	for _, e := range entries {
		var d APIDoc
		if json.Unmarshal(e.Value, &d) != nil || d.API.ID == keep || !d.API.Default {
			continue
		}
		_, err := s.mutate(ctx, d.API.ID, func(d *APIDoc) error {
			d.API.Default = false
			delete(d.API.Tags, DefaultTag)
			return nil
		})
		if err != nil && !fault.Is(err, fault.NotFound) {
			return err
		}
	}
	return nil
}

// ---- validation helpers shared by every resource

func validName(member, v string, max int) error {
	if v == "" {
		return badRequest("%s is required", member)
	}
	if len(v) > max {
		return badRequest("%s must be at most %d characters", member, max)
	}
	return nil
}

func validCors(c *Cors) error {
	if c == nil {
		return nil
	}
	if c.MaxAge != nil && (*c.MaxAge < -1 || *c.MaxAge > 86400) {
		return badRequest("maxAge must be between -1 and 86400")
	}
	if c.AllowCredentials {
		for _, o := range c.AllowOrigins {
			if o == "*" {
				return badRequest("allow-credentials is not supported with a wildcard origin (*)")
			}
		}
	}
	return nil
}

func validTags(tags map[string]string) error {
	if len(tags) > 50 {
		return badRequest("Too many tags: at most 50 per resource")
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return badRequest("Invalid tag key or value: %q", k)
		}
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
