package provision

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	gwtypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// Usage plans and API keys, through the API keys API (API Gateway v1's
// /apikeys and /usageplans). Ref of each is its id.

func (p *Provisioner) registerUsagePlans() {
	p.register(manifest.TypeUsagePlan, usagePlanHandler{p})
	p.register(manifest.TypeAPIKey, apiKeyHandler{p})
	p.register(manifest.TypeUsagePlanKey, usagePlanKeyHandler{p})
}

type usagePlanHandler struct{ p *Provisioner }

// definition reads the plan the template describes.
func (h usagePlanHandler) definition(req *deploy.Request) (*apigateway.CreateUsagePlanInput, error) {
	us, ok := req.Resource.Spec.(*manifest.UsagePlanSpec)
	if !ok {
		return nil, errors.New("no usage plan definition")
	}
	r := req.Resolver
	name, err := str(us.Name, r)
	if err != nil {
		return nil, fmt.Errorf("UsagePlanName: %w", err)
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 128, "")
	}
	in := &apigateway.CreateUsagePlanInput{Name: aws.String(name)}
	if in.Description, err = optStr(us.Description, r); err != nil {
		return nil, fmt.Errorf("Description: %w", err)
	}
	for _, st := range us.APIStages {
		api, err := str(st.APIID, r)
		if err != nil {
			return nil, fmt.Errorf("ApiStages: %w", err)
		}
		stage, err := str(st.Stage, r)
		if err != nil {
			return nil, fmt.Errorf("ApiStages: %w", err)
		}
		in.ApiStages = append(in.ApiStages, gwtypes.ApiStage{ApiId: aws.String(api), Stage: aws.String(stage)})
	}
	if x, err := plain(us.Throttle, r); err != nil {
		return nil, fmt.Errorf("Throttle: %w", err)
	} else if m := asMap(x); m != nil {
		in.Throttle = &gwtypes.ThrottleSettings{}
		if n, ok := toInt(m["BurstLimit"]); ok {
			in.Throttle.BurstLimit = int32(n)
		}
		if f, ok := m["RateLimit"].(float64); ok {
			in.Throttle.RateLimit = f
		} else if n, ok := toInt(m["RateLimit"]); ok {
			in.Throttle.RateLimit = float64(n)
		}
	}
	if x, err := plain(us.Quota, r); err != nil {
		return nil, fmt.Errorf("Quota: %w", err)
	} else if m := asMap(x); m != nil {
		in.Quota = &gwtypes.QuotaSettings{Period: gwtypes.QuotaPeriodType(fmt.Sprint(m["Period"]))}
		if n, ok := toInt(m["Limit"]); ok {
			in.Quota.Limit = int32(n)
		}
		if n, ok := toInt(m["Offset"]); ok {
			in.Quota.Offset = int32(n)
		}
	}
	return in, nil
}

func (h usagePlanHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	in, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	out, err := h.p.apigw.CreateUsagePlan(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create usage plan %s: %w", aws.ToString(in.Name), err)
	}
	id := aws.ToString(out.Id)
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"Id": id}}, nil
}

// update patches the plan in place (UpdateUsagePlan), as CloudFormation
// does: its id, its keys and their quota counters stay.
func (h usagePlanHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	want, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	id := req.Previous.PhysicalID
	if id == "" {
		return h.create(ctx, req)
	}
	cur, err := h.p.apigw.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(id)})
	if notFound(err) {
		return h.create(ctx, req) // deleted behind the stack's back
	}
	if err != nil {
		return nil, fmt.Errorf("get usage plan %s: %w", id, err)
	}
	ops := planPatch(cur, want)
	if len(ops) > 0 {
		if _, err := h.p.apigw.UpdateUsagePlan(ctx, &apigateway.UpdateUsagePlanInput{UsagePlanId: aws.String(id), PatchOperations: ops}); err != nil {
			return nil, fmt.Errorf("update usage plan %s: %w", id, err)
		}
	}
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"Id": id}}, nil
}

// planPatch is the patch operations that turn plan cur into want.
func planPatch(cur *apigateway.GetUsagePlanOutput, want *apigateway.CreateUsagePlanInput) []gwtypes.PatchOperation {
	var ops []gwtypes.PatchOperation
	op := func(kind gwtypes.Op, path, value string) {
		o := gwtypes.PatchOperation{Op: kind, Path: aws.String(path)}
		if value != "" || kind == gwtypes.OpReplace {
			o.Value = aws.String(value)
		}
		ops = append(ops, o)
	}
	if aws.ToString(cur.Name) != aws.ToString(want.Name) {
		op(gwtypes.OpReplace, "/name", aws.ToString(want.Name))
	}
	if aws.ToString(cur.Description) != aws.ToString(want.Description) {
		op(gwtypes.OpReplace, "/description", aws.ToString(want.Description))
	}
	stage := func(s gwtypes.ApiStage) string { return aws.ToString(s.ApiId) + ":" + aws.ToString(s.Stage) }
	have := map[string]bool{}
	for _, s := range cur.ApiStages {
		have[stage(s)] = true
	}
	keep := map[string]bool{}
	for _, s := range want.ApiStages {
		keep[stage(s)] = true
		if !have[stage(s)] {
			op(gwtypes.OpAdd, "/apiStages", stage(s))
		}
	}
	for _, s := range cur.ApiStages {
		if !keep[stage(s)] {
			op(gwtypes.OpRemove, "/apiStages", stage(s))
		}
	}
	switch t, w := cur.Throttle, want.Throttle; {
	case w == nil && t != nil:
		op(gwtypes.OpRemove, "/throttle", "")
	case w != nil && (t == nil || t.BurstLimit != w.BurstLimit || t.RateLimit != w.RateLimit):
		op(gwtypes.OpReplace, "/throttle/burstLimit", strconv.Itoa(int(w.BurstLimit)))
		op(gwtypes.OpReplace, "/throttle/rateLimit", strconv.FormatFloat(w.RateLimit, 'f', -1, 64))
	}
	switch q, w := cur.Quota, want.Quota; {
	case w == nil && q != nil:
		op(gwtypes.OpRemove, "/quota", "")
	case w != nil && (q == nil || q.Period != w.Period || q.Limit != w.Limit || q.Offset != w.Offset):
		op(gwtypes.OpReplace, "/quota/period", string(w.Period))
		op(gwtypes.OpReplace, "/quota/limit", strconv.Itoa(int(w.Limit)))
		op(gwtypes.OpReplace, "/quota/offset", strconv.Itoa(int(w.Offset)))
	}
	return ops
}

func (h usagePlanHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.apigw.DeleteUsagePlan(ctx, &apigateway.DeleteUsagePlanInput{UsagePlanId: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete usage plan %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

func optStr(v *manifest.Value, r manifest.Resolver) (*string, error) {
	s, err := str(v, r)
	if err != nil || s == "" {
		return nil, err
	}
	return aws.String(s), nil
}

type apiKeyHandler struct{ p *Provisioner }

func (h apiKeyHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	ks, ok := req.Resource.Spec.(*manifest.APIKeySpec)
	if !ok {
		return nil, errors.New("no API key definition")
	}
	name, err := str(ks.Name, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("Name: %w", err)
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 128, "")
	}
	in := &apigateway.CreateApiKeyInput{Name: aws.String(name), Enabled: ks.Enabled}
	if in.Value, err = optStr(ks.Value, req.Resolver); err != nil {
		return nil, fmt.Errorf("Value: %w", err)
	}
	out, err := h.p.apigw.CreateApiKey(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create API key %s: %w", name, err)
	}
	id := aws.ToString(out.Id)
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"APIKeyId": id}}, nil
}

// update changes Enabled in place; a new name or value replaces the key
// (as CloudFormation does: a key's value is fixed at creation).
func (h apiKeyHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	ks, ok := req.Resource.Spec.(*manifest.APIKeySpec)
	if !ok {
		return nil, errors.New("no API key definition")
	}
	id := req.Previous.PhysicalID
	if id == "" {
		return h.create(ctx, req)
	}
	cur, err := h.p.apigw.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(id), IncludeValue: aws.Bool(true)})
	if notFound(err) {
		return h.create(ctx, req) // deleted behind the stack's back
	}
	if err != nil {
		return nil, fmt.Errorf("get API key %s: %w", id, err)
	}
	name, err := str(ks.Name, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("Name: %w", err)
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 128, "")
	}
	value, err := str(ks.Value, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("Value: %w", err)
	}
	if name != aws.ToString(cur.Name) || (value != "" && value != aws.ToString(cur.Value)) {
		if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	if cur.Enabled != ks.Enabled {
		_, err := h.p.apigw.UpdateApiKey(ctx, &apigateway.UpdateApiKeyInput{ApiKey: aws.String(id), PatchOperations: []gwtypes.PatchOperation{
			{Op: gwtypes.OpReplace, Path: aws.String("/enabled"), Value: aws.String(strconv.FormatBool(ks.Enabled))}}})
		if err != nil {
			return nil, fmt.Errorf("update API key %s: %w", id, err)
		}
	}
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"APIKeyId": id}}, nil
}

func (h apiKeyHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.apigw.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete API key %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

type usagePlanKeyHandler struct{ p *Provisioner }

func (h usagePlanKeyHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	ks, ok := req.Resource.Spec.(*manifest.UsagePlanKeySpec)
	if !ok {
		return nil, errors.New("no usage plan key definition")
	}
	key, err := str(ks.KeyID, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("KeyId: %w", err)
	}
	plan, err := str(ks.UsagePlanID, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("UsagePlanId: %w", err)
	}
	if _, err := h.p.apigw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(plan), KeyId: aws.String(key), KeyType: aws.String("API_KEY")}); err != nil {
		return nil, fmt.Errorf("add key %s to usage plan %s: %w", key, plan, err)
	}
	return &deploy.Outcome{PhysicalID: key, Data: map[string]string{"plan": plan, "key": key}}, nil
}

func (h usagePlanKeyHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
		return nil, err
	}
	return h.create(ctx, req)
}

func (h usagePlanKeyHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	plan, key := req.State.Data["plan"], req.State.Data["key"]
	if plan == "" || key == "" {
		return nil
	}
	_, err := h.p.apigw.DeleteUsagePlanKey(ctx, &apigateway.DeleteUsagePlanKeyInput{UsagePlanId: aws.String(plan), KeyId: aws.String(key)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("remove key %s from usage plan %s: %w", key, plan, err)
	}
	return nil
}
