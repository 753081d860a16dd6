package gateway

import (
	"context"
	"regexp"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// StageInput is CreateStage's and UpdateStage's request; nil members are
// absent (left unchanged by an update; route settings merge member by
// member, as AWS's PATCH).
type StageInput struct {
	APIID                string
	StageName            string
	AutoDeploy           *bool
	DeploymentID         *string
	Description          *string
	StageVariables       map[string]string
	DefaultRouteSettings *RouteSettings
	RouteSettings        map[string]RouteSettings // by route key
	Tags                 map[string]string        // create only (TagResource after)
}

// DeploymentInput is CreateDeployment's request.
type DeploymentInput struct {
	APIID       string
	Description string
	// StageName, when set, points that stage at the new deployment.
	StageName string
}

var (
	stageNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	stageVarKey = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)
	stageVarVal = regexp.MustCompile(`^[A-Za-z0-9\-._~:/?#&=,]{1,512}$`)
)

// CreateStage adds a stage.
func (s *Service) CreateStage(ctx context.Context, in StageInput) (*Stage, error) {
	if in.StageName == "" {
		return nil, badRequest("StageName is required")
	}
	if in.StageName != "$default" && !stageNameRE.MatchString(in.StageName) {
		return nil, badRequest("Invalid stageName %s: $default or 1-128 of [A-Za-z0-9_-]", in.StageName)
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	var out Stage
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		if hasKey(d.Stages, in.StageName) {
			return fault.New(fault.Conflict, "Stage %s already exists", in.StageName)
		}
		if len(d.Stages) >= maxStages {
			return badRequest("Maximum number of Stages for this API has been reached (%d)", maxStages)
		}
		now := s.clock.Now().UTC()
		st := Stage{Name: in.StageName, Tags: cloneMap(in.Tags), CreatedDate: now}
		if err := s.applyStage(d, &st, in); err != nil {
			return err
		}
		if d.Stages == nil {
			d.Stages = map[string]Stage{}
		}
		d.Stages[st.Name] = st
		out = st
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateStage changes the members set in in (managed stages too: their
// throttling is what users tune).
func (s *Service) UpdateStage(ctx context.Context, in StageInput) (*Stage, error) {
	var out Stage
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		st, ok := d.Stages[in.StageName]
		if !ok {
			return stageNotFound(in.StageName)
		}
		if err := s.applyStage(d, &st, in); err != nil {
			return err
		}
		d.Stages[st.Name] = st
		out = st
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Service) applyStage(d *APIDoc, st *Stage, in StageInput) error {
	setIf(&st.AutoDeploy, in.AutoDeploy)
	setIf(&st.Description, in.Description)
	if in.DeploymentID != nil {
		if *in.DeploymentID != "" && !hasKey(d.Deployments, *in.DeploymentID) {
			return fault.New(fault.NotFound, "Invalid Deployment identifier specified %s", *in.DeploymentID)
		}
		st.DeploymentID = *in.DeploymentID
	}
	if in.StageVariables != nil {
		if len(in.StageVariables) > 100 {
			return badRequest("At most 100 stage variables per stage")
		}
		for k, v := range in.StageVariables {
			if !stageVarKey.MatchString(k) || !stageVarVal.MatchString(v) {
				return badRequest("Invalid stage variable %s=%q: names are [A-Za-z0-9_]+, values [A-Za-z0-9-._~:/?#&=,]+", k, v)
			}
		}
		st.StageVariables = in.StageVariables
	}
	if in.DefaultRouteSettings != nil {
		if err := mergeSettings(&st.DefaultRouteSettings, *in.DefaultRouteSettings); err != nil {
			return err
		}
	}
	for key, rs := range in.RouteSettings {
		if !routeKeyExists(d, key) {
			return fault.New(fault.NotFound, "Unable to find Route by key %s within the provided RouteSettings", key)
		}
		if st.RouteSettings == nil {
			st.RouteSettings = map[string]RouteSettings{}
		}
		cur := st.RouteSettings[key]
		if err := mergeSettings(&cur, rs); err != nil {
			return err
		}
		st.RouteSettings[key] = cur
	}
	if st.AutoDeploy && st.DeploymentID == "" {
		// AWS deploys an auto-deploying stage at once; record that.
		dep := Deployment{ID: newSubID(d.Deployments), AutoDeployed: true, CreatedDate: s.clock.Now().UTC()}
		if d.Deployments == nil {
			d.Deployments = map[string]Deployment{}
		}
		d.Deployments[dep.ID] = dep
		st.DeploymentID = dep.ID
	}
	st.LastUpdatedDate = s.clock.Now().UTC()
	return nil
}

func mergeSettings(dst *RouteSettings, in RouteSettings) error {
	if in.ThrottlingBurstLimit != nil {
		if *in.ThrottlingBurstLimit < 0 {
			return badRequest("throttlingBurstLimit must not be negative")
		}
		dst.ThrottlingBurstLimit = in.ThrottlingBurstLimit
	}
	if in.ThrottlingRateLimit != nil {
		if *in.ThrottlingRateLimit < 0 {
			return badRequest("throttlingRateLimit must not be negative")
		}
		dst.ThrottlingRateLimit = in.ThrottlingRateLimit
	}
	return nil
}

func routeKeyExists(d *APIDoc, key string) bool {
	for _, r := range d.Routes {
		if r.Key == key {
			return true
		}
	}
	return false
}

// GetStage returns one stage.
func (s *Service) GetStage(ctx context.Context, apiID, name string) (*Stage, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	st, ok := d.Stages[name]
	if !ok {
		return nil, stageNotFound(name)
	}
	return &st, nil
}

// GetStages lists the API's stages, by name.
func (s *Service) GetStages(ctx context.Context, apiID string, p Page) ([]Stage, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Stages), func(st Stage) string { return st.Name }, p)
}

// DeleteStage removes a stage (not a managed one).
func (s *Service) DeleteStage(ctx context.Context, apiID, name string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		st, ok := d.Stages[name]
		if !ok {
			return stageNotFound(name)
		}
		if st.Managed {
			return errManaged("Stage")
		}
		delete(d.Stages, name)
		return nil
	})
	return err
}

func stageNotFound(name string) error {
	return fault.New(fault.NotFound, "Invalid stage identifier specified %s", name)
}

// ---- deployments (recorded only: every stage serves the current definitions)

// CreateDeployment records a deployment.
func (s *Service) CreateDeployment(ctx context.Context, in DeploymentInput) (*Deployment, error) {
	var out Deployment
	_, err := s.mutate(ctx, in.APIID, func(d *APIDoc) error {
		dep := Deployment{ID: newSubID(d.Deployments), Description: in.Description, CreatedDate: s.clock.Now().UTC()}
		if in.StageName != "" {
			st, ok := d.Stages[in.StageName]
			if !ok {
				return stageNotFound(in.StageName)
			}
			st.DeploymentID = dep.ID
			st.LastUpdatedDate = dep.CreatedDate
			d.Stages[st.Name] = st
		}
		if d.Deployments == nil {
			d.Deployments = map[string]Deployment{}
		}
		d.Deployments[dep.ID] = dep
		out = dep
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDeployment returns one deployment.
func (s *Service) GetDeployment(ctx context.Context, apiID, id string) (*Deployment, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, err
	}
	dep, ok := d.Deployments[id]
	if !ok {
		return nil, deploymentNotFound(id)
	}
	return &dep, nil
}

// GetDeployments lists the API's deployments, by id.
func (s *Service) GetDeployments(ctx context.Context, apiID string, p Page) ([]Deployment, string, error) {
	d, _, err := s.load(ctx, apiID)
	if err != nil {
		return nil, "", err
	}
	return page(values(d.Deployments), func(x Deployment) string { return x.ID }, p)
}

// DeleteDeployment removes a deployment no stage points at.
func (s *Service) DeleteDeployment(ctx context.Context, apiID, id string) error {
	_, err := s.mutate(ctx, apiID, func(d *APIDoc) error {
		if !hasKey(d.Deployments, id) {
			return deploymentNotFound(id)
		}
		var users []string
		for _, st := range d.Stages {
			if st.DeploymentID == id {
				users = append(users, st.Name)
			}
		}
		if len(users) > 0 {
			return badRequest("Active stages pointing to this deployment must be moved or deleted: %s", strings.Join(users, ", "))
		}
		delete(d.Deployments, id)
		return nil
	})
	return err
}

func deploymentNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid Deployment identifier specified %s", id)
}
