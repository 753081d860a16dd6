package provision

import (
	"context"
	"errors"
	"fmt"

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

func (h usagePlanHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
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
	out, err := h.p.apigw.CreateUsagePlan(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create usage plan %s: %w", name, err)
	}
	id := aws.ToString(out.Id)
	return &deploy.Outcome{PhysicalID: id, Attrs: map[string]string{"Id": id}}, nil
}

// Lamina's usage plans are not patched in place: an update makes the new
// plan, moves the old plan's keys to it, then deletes the old one.
func (h usagePlanHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	out, err := h.create(ctx, req)
	if err != nil {
		return nil, err
	}
	old := req.Previous.PhysicalID
	if old == "" {
		return out, nil
	}
	keys, err := h.p.apigw.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(old)})
	if err != nil && !notFound(err) {
		return nil, fmt.Errorf("keys of usage plan %s: %w", old, err)
	}
	if keys != nil {
		for _, k := range keys.Items {
			if _, err := h.p.apigw.CreateUsagePlanKey(ctx, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: aws.String(out.PhysicalID), KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
				return nil, fmt.Errorf("move key %s to usage plan %s: %w", aws.ToString(k.Id), out.PhysicalID, err)
			}
		}
	}
	if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
		return nil, err
	}
	return out, nil
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

// An API key's value is fixed at creation: an update replaces the key.
func (h apiKeyHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
		return nil, err
	}
	return h.create(ctx, req)
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
