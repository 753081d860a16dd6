package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// registerFunctions registers functions, versions, aliases, function URLs,
// event-invoke configs, and the accepted-only roles and permissions.
func (p *Provisioner) registerFunctions() {
	p.register(manifest.TypeFunction, functionHandler{p})
	p.register(manifest.TypeVersion, versionHandler{p})
	p.register(manifest.TypeAlias, aliasHandler{p})
	p.register(manifest.TypeFunctionURL, urlHandler{p})
	p.register(manifest.TypeEventInvokeConfig, invokeConfigHandler{p})
	p.register(manifest.TypeRole, roleHandler{p})
	p.register(manifest.TypePermission, acceptedHandler{})
	p.register(manifest.TypeQueuePolicy, acceptedHandler{})
	p.register(manifest.TypeStage, acceptedHandler{})
	p.register(manifest.TypeDeployment, acceptedHandler{})
}

// waitMax bounds waiting for a function to become ready.
const waitMax = 2 * time.Minute

// waitActive waits for State Active, as the SDK's FunctionActiveV2 waiter
// does, but polling from 10 ms on: Lamina's functions are usually ready at
// once, and a hot reload should not sleep.
func (p *Provisioner) waitActive(ctx context.Context, name string) error {
	return p.waitFunction(ctx, name, func(c *lambda.GetFunctionConfigurationOutput) (bool, error) {
		switch c.State {
		case types.StateActive:
			return true, nil
		case types.StateFailed:
			return false, fmt.Errorf("function %s failed: %s", name, aws.ToString(c.StateReason))
		}
		return false, nil
	})
}

// waitUpdated waits for LastUpdateStatus Successful.
func (p *Provisioner) waitUpdated(ctx context.Context, name string) error {
	return p.waitFunction(ctx, name, func(c *lambda.GetFunctionConfigurationOutput) (bool, error) {
		switch c.LastUpdateStatus {
		case types.LastUpdateStatusSuccessful, "":
			return true, nil
		case types.LastUpdateStatusFailed:
			return false, fmt.Errorf("update of %s failed: %s", name, aws.ToString(c.LastUpdateStatusReason))
		}
		return false, nil
	})
}

func (p *Provisioner) waitFunction(ctx context.Context, name string, done func(*lambda.GetFunctionConfigurationOutput) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, waitMax)
	defer cancel()
	delay := 10 * time.Millisecond
	for {
		out, err := p.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return err
		}
		if ok, err := done(out); ok || err != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// functionConfig is a function's resolved definition.
type functionConfig struct {
	name        string
	runtime     string
	handler     string
	role        string
	memory      int32
	timeout     int32
	arch        types.Architecture
	env         map[string]string
	description string
	tags        map[string]string
	dlq         string
	ephemeral   int32
	tracing     types.TracingMode
	reserved    *int
}

func (p *Provisioner) functionConfig(req *deploy.Request) (*functionConfig, error) {
	fs, ok := req.Resource.Spec.(*manifest.FunctionSpec)
	if !ok {
		return nil, fmt.Errorf("no function definition")
	}
	if fs.PackageType == "Image" || fs.ImageURI != nil {
		return nil, errors.New("container image functions are not supported: use a Zip package (CodeUri)")
	}
	r := req.Resolver
	c := &functionConfig{runtime: fs.Runtime, handler: fs.Handler, memory: int32(fs.MemorySize), timeout: int32(fs.Timeout),
		description: fs.Description, ephemeral: int32(fs.EphemeralStorage), reserved: fs.ReservedConcurrentExecutions}
	var err error
	if c.name, err = str(fs.FunctionName, r); err != nil {
		return nil, fmt.Errorf("FunctionName: %w", err)
	}
	if c.name == "" {
		c.name = physicalName(req.Stack, req.Resource.LogicalID, 64, "")
	}
	if c.role, err = str(fs.Role, r); err != nil {
		return nil, fmt.Errorf("Role: %w", err)
	}
	if c.role == "" {
		c.role = fmt.Sprintf("arn:aws:iam::%s:role/%s-role", p.cfg.AccountID, c.name)
	}
	if c.env, err = strMap(fs.Environment, r); err != nil {
		return nil, fmt.Errorf("Environment: %w", err)
	}
	if c.tags, err = strMap(fs.Tags, r); err != nil {
		return nil, fmt.Errorf("Tags: %w", err)
	}
	if c.tags == nil {
		c.tags = map[string]string{}
	}
	c.tags["lamina:stack"] = req.Stack
	c.tags["lamina:logical-id"] = req.Resource.LogicalID
	if fs.DeadLetter != nil {
		if c.dlq, err = str(fs.DeadLetter.TargetArn, r); err != nil {
			return nil, fmt.Errorf("DeadLetterQueue: %w", err)
		}
	}
	switch fs.Architecture {
	case "arm64":
		c.arch = types.ArchitectureArm64
	default:
		c.arch = types.ArchitectureX8664
	}
	if fs.Tracing == "Active" {
		c.tracing = types.TracingModeActive
	}
	if c.memory == 0 {
		c.memory = 128
	}
	if c.timeout == 0 {
		c.timeout = 3
	}
	return c, nil
}

type functionHandler struct{ p *Provisioner }

func (h functionHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	c, err := h.p.functionConfig(req)
	if err != nil {
		return nil, err
	}
	if req.Code == nil {
		return nil, fmt.Errorf("function %s has no built code: Lamina deploys a local CodeUri (directory or .zip)", c.name)
	}
	in := &lambda.CreateFunctionInput{
		FunctionName:  aws.String(c.name),
		Runtime:       types.Runtime(c.runtime),
		Handler:       aws.String(c.handler),
		Role:          aws.String(c.role),
		MemorySize:    aws.Int32(c.memory),
		Timeout:       aws.Int32(c.timeout),
		Architectures: []types.Architecture{c.arch},
		Code:          &types.FunctionCode{ZipFile: req.Code.Zip},
		Description:   aws.String(c.description),
		Environment:   &types.Environment{Variables: c.env},
		Tags:          c.tags,
	}
	if c.dlq != "" {
		in.DeadLetterConfig = &types.DeadLetterConfig{TargetArn: aws.String(c.dlq)}
	}
	if c.ephemeral > 0 {
		in.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(c.ephemeral)}
	}
	if c.tracing != "" {
		in.TracingConfig = &types.TracingConfig{Mode: c.tracing}
	}
	out, err := h.p.lambda.CreateFunction(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create function %s: %w", c.name, err)
	}
	if err := h.p.waitActive(ctx, c.name); err != nil {
		return nil, fmt.Errorf("function %s did not become active: %w", c.name, err)
	}
	if err := h.p.putConcurrency(ctx, c); err != nil {
		return nil, err
	}
	return &deploy.Outcome{PhysicalID: c.name, Attrs: map[string]string{"Arn": aws.ToString(out.FunctionArn)}}, nil
}

func (p *Provisioner) putConcurrency(ctx context.Context, c *functionConfig) error {
	var err error
	if c.reserved != nil {
		_, err = p.lambda.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(c.name), ReservedConcurrentExecutions: aws.Int32(int32(*c.reserved))})
	} else {
		_, err = p.lambda.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(c.name)})
		err = ignoreNotFound(err)
	}
	if err != nil {
		return fmt.Errorf("reserved concurrency of %s: %w", c.name, err)
	}
	return nil
}

func (h functionHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	c, err := h.p.functionConfig(req)
	if err != nil {
		return nil, err
	}
	if req.Previous != nil && req.Previous.PhysicalID != "" && req.Previous.PhysicalID != c.name {
		// A new name is a new function.
		if err := h.delete(ctx, &deploy.DeleteRequest{Stack: req.Stack, LogicalID: req.Resource.LogicalID, State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	cur, err := h.p.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(c.name)})
	if notFound(err) {
		return h.create(ctx, req) // deleted behind the stack's back
	}
	if err != nil {
		return nil, fmt.Errorf("get function %s: %w", c.name, err)
	}
	conf := &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(c.name),
		Runtime:      types.Runtime(c.runtime),
		Handler:      aws.String(c.handler),
		Role:         aws.String(c.role),
		MemorySize:   aws.Int32(c.memory),
		Timeout:      aws.Int32(c.timeout),
		Description:  aws.String(c.description),
		Environment:  &types.Environment{Variables: c.env},
		// An empty target removes a dead-letter queue the template dropped.
		DeadLetterConfig: &types.DeadLetterConfig{TargetArn: aws.String(c.dlq)},
	}
	if c.ephemeral > 0 {
		conf.EphemeralStorage = &types.EphemeralStorage{Size: aws.Int32(c.ephemeral)}
	}
	// Tracing the template dropped goes back to the default.
	conf.TracingConfig = &types.TracingConfig{Mode: types.TracingModePassThrough}
	if c.tracing != "" {
		conf.TracingConfig.Mode = c.tracing
	}
	// A save of the code alone (the hot-reload case) changes nothing else.
	if !slices.Equal(req.Changed, []string{"Code"}) {
		if _, err := h.p.lambda.UpdateFunctionConfiguration(ctx, conf); err != nil {
			return nil, fmt.Errorf("update configuration of %s: %w", c.name, err)
		}
		if err := h.p.waitUpdated(ctx, c.name); err != nil {
			return nil, fmt.Errorf("function %s did not finish updating: %w", c.name, err)
		}
	}
	if req.Code != nil && aws.ToString(cur.Configuration.CodeSha256) != req.Code.SHA256 {
		if _, err := h.p.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(c.name), ZipFile: req.Code.Zip}); err != nil {
			return nil, fmt.Errorf("update code of %s: %w", c.name, err)
		}
		if err := h.p.waitUpdated(ctx, c.name); err != nil {
			return nil, fmt.Errorf("function %s did not finish updating: %w", c.name, err)
		}
	}
	if err := h.p.putConcurrency(ctx, c); err != nil {
		return nil, err
	}
	if err := h.p.syncTags(ctx, aws.ToString(cur.Configuration.FunctionArn), cur.Tags, c.tags); err != nil {
		return nil, err
	}
	return &deploy.Outcome{PhysicalID: c.name, Attrs: map[string]string{"Arn": aws.ToString(cur.Configuration.FunctionArn)}}, nil
}

// syncTags makes a function's tags the template's.
func (p *Provisioner) syncTags(ctx context.Context, arn string, cur, want map[string]string) error {
	var gone []string
	for k := range cur {
		if _, ok := want[k]; !ok {
			gone = append(gone, k)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		if _, err := p.lambda.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: gone}); err != nil {
			return fmt.Errorf("untag %s: %w", arn, err)
		}
	}
	if !maps.Equal(cur, want) && len(want) > 0 {
		if _, err := p.lambda.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: want}); err != nil {
			return fmt.Errorf("tag %s: %w", arn, err)
		}
	}
	return nil
}

func (h functionHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete function %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// functionName resolves the name of the function a resource belongs to.
func functionName(req *deploy.Request, logicalID string) (string, error) {
	return ref(req.Resolver, logicalID)
}

type versionHandler struct{ p *Provisioner }

func (h versionHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	vs, ok := req.Resource.Spec.(*manifest.VersionSpec)
	if !ok {
		return nil, errors.New("no version definition")
	}
	name, err := functionName(req, vs.Function)
	if err != nil {
		return nil, err
	}
	out, err := h.p.lambda.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("publish a version of %s: %w", name, err)
	}
	return &deploy.Outcome{PhysicalID: aws.ToString(out.FunctionArn),
		Attrs: map[string]string{"Version": aws.ToString(out.Version), "FunctionArn": aws.ToString(out.FunctionArn)},
		Data:  map[string]string{"function": name, "version": aws.ToString(out.Version)}}, nil
}

func (h versionHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.create(ctx, req)
}

func (h versionHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	fn, v := req.State.Data["function"], req.State.Data["version"]
	if fn == "" || v == "" {
		return nil
	}
	_, err := h.p.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(fn), Qualifier: aws.String(v)})
	if err = ignoreNotFound(err); err != nil && errorCode(err) != "ResourceConflictException" {
		return fmt.Errorf("delete version %s of %s: %w", v, fn, err)
	}
	return nil
}

type aliasHandler struct{ p *Provisioner }

func (h aliasHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req, false)
}

func (h aliasHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req, true)
}

func (h aliasHandler) put(ctx context.Context, req *deploy.Request, update bool) (*deploy.Outcome, error) {
	as, ok := req.Resource.Spec.(*manifest.AliasSpec)
	if !ok {
		return nil, errors.New("no alias definition")
	}
	name, err := functionName(req, as.Function)
	if err != nil {
		return nil, err
	}
	version := "$LATEST"
	if as.Version != "" {
		if version, err = att(req.Resolver, as.Version, "Version"); err != nil {
			return nil, err
		}
	}
	var arn string
	if update {
		out, err := h.p.lambda.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String(as.Name), FunctionVersion: aws.String(version)})
		if notFound(err) {
			update = false
		} else if err != nil {
			return nil, fmt.Errorf("update alias %s of %s: %w", as.Name, name, err)
		} else {
			arn = aws.ToString(out.AliasArn)
		}
	}
	if !update {
		out, err := h.p.lambda.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String(as.Name), FunctionVersion: aws.String(version)})
		if err != nil {
			return nil, fmt.Errorf("create alias %s of %s: %w", as.Name, name, err)
		}
		arn = aws.ToString(out.AliasArn)
	}
	if as.ProvisionedConcurrency != nil {
		if _, err := h.p.lambda.PutProvisionedConcurrencyConfig(ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String(name), Qualifier: aws.String(as.Name),
			ProvisionedConcurrentExecutions: aws.Int32(int32(*as.ProvisionedConcurrency)),
		}); err != nil {
			return nil, fmt.Errorf("provisioned concurrency of %s:%s: %w", name, as.Name, err)
		}
	} else if update {
		_, err := h.p.lambda.DeleteProvisionedConcurrencyConfig(ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: aws.String(name), Qualifier: aws.String(as.Name)})
		if err = ignoreNotFound(err); err != nil && errorCode(err) != "ProvisionedConcurrencyConfigNotFoundException" {
			return nil, fmt.Errorf("remove provisioned concurrency of %s:%s: %w", name, as.Name, err)
		}
	}
	return &deploy.Outcome{PhysicalID: arn, Attrs: map[string]string{"AliasArn": arn},
		Data: map[string]string{"function": name, "alias": as.Name}}, nil
}

func (h aliasHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	fn, alias := req.State.Data["function"], req.State.Data["alias"]
	if fn == "" || alias == "" {
		return nil
	}
	_, err := h.p.lambda.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(fn), Name: aws.String(alias)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete alias %s of %s: %w", alias, fn, err)
	}
	return nil
}

type urlHandler struct{ p *Provisioner }

func (h urlHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req, false)
}

func (h urlHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.put(ctx, req, true)
}

func (h urlHandler) put(ctx context.Context, req *deploy.Request, update bool) (*deploy.Outcome, error) {
	us, ok := req.Resource.Spec.(*manifest.FunctionURLSpec)
	if !ok {
		return nil, errors.New("no function URL definition")
	}
	name, err := functionName(req, us.Function)
	if err != nil {
		return nil, err
	}
	cors, err := urlCors(us.Cors, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("Cors: %w", err)
	}
	var qual *string
	if us.Qualifier != "" {
		qual = aws.String(us.Qualifier)
	}
	mode := types.InvokeMode(us.InvokeMode)
	if mode == "" {
		mode = types.InvokeModeBuffered
	}
	var url, arn string
	if update {
		out, err := h.p.lambda.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String(name), Qualifier: qual,
			AuthType: types.FunctionUrlAuthType(us.AuthType), InvokeMode: mode, Cors: cors})
		if notFound(err) {
			update = false
		} else if err != nil {
			return nil, fmt.Errorf("update the URL of %s: %w", name, err)
		} else {
			url, arn = aws.ToString(out.FunctionUrl), aws.ToString(out.FunctionArn)
		}
	}
	if !update {
		out, err := h.p.lambda.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), Qualifier: qual,
			AuthType: types.FunctionUrlAuthType(us.AuthType), InvokeMode: mode, Cors: cors})
		if err != nil {
			return nil, fmt.Errorf("create the URL of %s: %w", name, err)
		}
		url, arn = aws.ToString(out.FunctionUrl), aws.ToString(out.FunctionArn)
	}
	return &deploy.Outcome{PhysicalID: arn, Attrs: map[string]string{"FunctionUrl": url, "FunctionArn": arn},
		Data: map[string]string{"function": name, "qualifier": us.Qualifier}}, nil
}

// urlCors maps a FunctionUrlConfig's Cors onto the SDK's shape.
func urlCors(v *manifest.Value, r manifest.Resolver) (*types.Cors, error) {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return nil, err
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, errors.New("want a map")
	}
	c := &types.Cors{}
	list := func(k string) []string {
		var out []string
		if items, ok := m[k].([]any); ok {
			for _, it := range items {
				if s, ok := it.(string); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	c.AllowOrigins, c.AllowMethods, c.AllowHeaders, c.ExposeHeaders = list("AllowOrigins"), list("AllowMethods"), list("AllowHeaders"), list("ExposeHeaders")
	if b, ok := m["AllowCredentials"].(bool); ok {
		c.AllowCredentials = aws.Bool(b)
	}
	if n, ok := toInt(m["MaxAge"]); ok {
		c.MaxAge = aws.Int32(int32(n))
	}
	return c, nil
}

func (h urlHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	fn := req.State.Data["function"]
	if fn == "" {
		return nil
	}
	in := &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String(fn)}
	if q := req.State.Data["qualifier"]; q != "" {
		in.Qualifier = aws.String(q)
	}
	_, err := h.p.lambda.DeleteFunctionUrlConfig(ctx, in)
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete the URL of %s: %w", fn, err)
	}
	return nil
}

type invokeConfigHandler struct{ p *Provisioner }

func (h invokeConfigHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	es, ok := req.Resource.Spec.(*manifest.EventInvokeConfigSpec)
	if !ok {
		return nil, errors.New("no event invoke config definition")
	}
	name, err := functionName(req, es.Function)
	if err != nil {
		return nil, err
	}
	qual := es.Qualifier
	if qual == "" {
		qual = "$LATEST"
	}
	in := &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String(name), Qualifier: aws.String(qual)}
	if es.MaximumEventAgeInSeconds != nil {
		in.MaximumEventAgeInSeconds = aws.Int32(int32(*es.MaximumEventAgeInSeconds))
	}
	if es.MaximumRetryAttempts != nil {
		in.MaximumRetryAttempts = aws.Int32(int32(*es.MaximumRetryAttempts))
	}
	dest := &types.DestinationConfig{}
	if es.OnSuccess != nil {
		arn, err := str(es.OnSuccess.Destination, req.Resolver)
		if err != nil {
			return nil, fmt.Errorf("OnSuccess: %w", err)
		}
		dest.OnSuccess = &types.OnSuccess{Destination: aws.String(arn)}
	}
	if es.OnFailure != nil {
		arn, err := str(es.OnFailure.Destination, req.Resolver)
		if err != nil {
			return nil, fmt.Errorf("OnFailure: %w", err)
		}
		dest.OnFailure = &types.OnFailure{Destination: aws.String(arn)}
	}
	if dest.OnSuccess != nil || dest.OnFailure != nil {
		in.DestinationConfig = dest
	}
	if _, err := h.p.lambda.PutFunctionEventInvokeConfig(ctx, in); err != nil {
		return nil, fmt.Errorf("event invoke config of %s:%s: %w", name, qual, err)
	}
	return &deploy.Outcome{PhysicalID: name + ":" + qual, Data: map[string]string{"function": name, "qualifier": qual}}, nil
}

// Put replaces the whole configuration, so an update is a create.
func (h invokeConfigHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.create(ctx, req)
}

func (h invokeConfigHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	fn, q := req.State.Data["function"], req.State.Data["qualifier"]
	if fn == "" {
		return nil
	}
	_, err := h.p.lambda.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String(fn), Qualifier: aws.String(q)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete event invoke config of %s:%s: %w", fn, q, err)
	}
	return nil
}

// roleHandler accepts IAM roles: Lamina enforces no IAM, but templates
// refer to roles (Role: !GetAtt FnRole.Arn), so they get a name and ARN.
type roleHandler struct{ p *Provisioner }

func (h roleHandler) create(_ context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	name, err := str(prop(req, "RoleName"), req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("RoleName: %w", err)
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 64, "")
	}
	return &deploy.Outcome{PhysicalID: name, Attrs: map[string]string{
		"Arn":    fmt.Sprintf("arn:aws:iam::%s:role/%s", h.p.cfg.AccountID, name),
		"RoleId": "AROA" + sanitize(name),
	}}, nil
}

func (h roleHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.create(ctx, req)
}

func (roleHandler) delete(context.Context, *deploy.DeleteRequest) error { return nil }

// acceptedHandler records resources Lamina accepts without acting on them
// (permissions, queue policies) or that another handler makes (an API's
// stage and deployment are made with the API).
type acceptedHandler struct{}

func (acceptedHandler) create(_ context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	id := req.Stack + "-" + req.Resource.LogicalID
	if ss, ok := req.Resource.Spec.(*manifest.StageSpec); ok && ss.StageName != "" {
		id = ss.StageName
	}
	return &deploy.Outcome{PhysicalID: id}, nil
}

func (h acceptedHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	return h.create(ctx, req)
}

func (acceptedHandler) delete(context.Context, *deploy.DeleteRequest) error { return nil }
