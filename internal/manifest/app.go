package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// ResourceType is what Lamina deploys a resource as.
type ResourceType string

// The resource types an Application holds. Types marked "accepted" are kept
// so references to them resolve, but Lamina enforces nothing for them.
const (
	TypeFunction           ResourceType = "Function"           // AWS::Lambda::Function
	TypeRole               ResourceType = "Role"               // AWS::IAM::Role (accepted)
	TypeVersion            ResourceType = "Version"            // AWS::Lambda::Version
	TypeAlias              ResourceType = "Alias"              // AWS::Lambda::Alias
	TypeFunctionURL        ResourceType = "FunctionURL"        // AWS::Lambda::Url
	TypeEventInvokeConfig  ResourceType = "EventInvokeConfig"  // AWS::Lambda::EventInvokeConfig
	TypePermission         ResourceType = "Permission"         // AWS::Lambda::Permission (accepted)
	TypeRestAPI            ResourceType = "RestAPI"            // AWS::ApiGateway::RestApi
	TypeHTTPAPI            ResourceType = "HTTPAPI"            // AWS::ApiGatewayV2::Api
	TypeStage              ResourceType = "Stage"              // AWS::ApiGateway::Stage / AWS::ApiGatewayV2::Stage
	TypeDeployment         ResourceType = "Deployment"         // AWS::ApiGateway::Deployment
	TypeRoute              ResourceType = "Route"              // Lamina only: one method+path of an API to a function
	TypeQueue              ResourceType = "Queue"              // AWS::SQS::Queue
	TypeQueuePolicy        ResourceType = "QueuePolicy"        // AWS::SQS::QueuePolicy (accepted)
	TypeTopic              ResourceType = "Topic"              // AWS::SNS::Topic
	TypeSubscription       ResourceType = "Subscription"       // AWS::SNS::Subscription
	TypeSchedule           ResourceType = "Schedule"           // AWS::Scheduler::Schedule
	TypeRule               ResourceType = "Rule"               // AWS::Events::Rule
	TypeEventSourceMapping ResourceType = "EventSourceMapping" // AWS::Lambda::EventSourceMapping
	TypeUsagePlan          ResourceType = "UsagePlan"          // AWS::ApiGateway::UsagePlan
	TypeAPIKey             ResourceType = "ApiKey"             // AWS::ApiGateway::ApiKey
	TypeUsagePlanKey       ResourceType = "UsagePlanKey"       // AWS::ApiGateway::UsagePlanKey
)

// cfnTypes maps CloudFormation types Lamina accepts as written to ResourceType.
var cfnTypes = map[string]ResourceType{
	"AWS::Lambda::Function":           TypeFunction,
	"AWS::IAM::Role":                  TypeRole,
	"AWS::Lambda::Version":            TypeVersion,
	"AWS::Lambda::Alias":              TypeAlias,
	"AWS::Lambda::Url":                TypeFunctionURL,
	"AWS::Lambda::EventInvokeConfig":  TypeEventInvokeConfig,
	"AWS::Lambda::Permission":         TypePermission,
	"AWS::SQS::Queue":                 TypeQueue,
	"AWS::SQS::QueuePolicy":           TypeQueuePolicy,
	"AWS::SNS::Topic":                 TypeTopic,
	"AWS::SNS::Subscription":          TypeSubscription,
	"AWS::Scheduler::Schedule":        TypeSchedule,
	"AWS::Events::Rule":               TypeRule,
	"AWS::Lambda::EventSourceMapping": TypeEventSourceMapping,
	"AWS::ApiGateway::UsagePlan":      TypeUsagePlan,
	"AWS::ApiGateway::ApiKey":         TypeAPIKey,
	"AWS::ApiGateway::UsagePlanKey":   TypeUsagePlanKey,
}

// Application is a template expanded into the resources Lamina deploys.
type Application struct {
	Template   *Template
	Parameters map[string]*Value // resolved parameter values
	Conditions map[string]bool
	// Resources are sorted by logical id; the deployer orders them with
	// Order(), which follows DependsOn.
	Resources []*Resource
	Outputs   []*OutputValue
	// Warnings lists what was skipped (unsupported types under
	// AllowUnsupported) or accepted without effect.
	Warnings []string
}

// Resource is one deployable resource. Properties hold its evaluated
// CloudFormation properties (with Ref/GetAtt to other resources kept); Spec
// holds the typed view Lamina uses (*FunctionSpec, *RouteSpec, ...).
type Resource struct {
	LogicalID string
	Type      ResourceType
	// CFNType is the CloudFormation type SAM would create; empty for
	// Lamina-only resources (Route).
	CFNType string
	// Source is the logical id of the template resource it came from.
	Source     string
	Properties *Value
	Spec       any
	// DependsOn lists, sorted, the logical ids this resource refers to or
	// declares with DependsOn, so it is created after them and deleted before.
	DependsOn []string
	Metadata  *Value
	Pos       Pos
}

// OutputValue is an Outputs entry whose condition held; Value may still hold
// references for the deployer to Resolve.
type OutputValue struct {
	Name        string
	Description string
	Value       *Value
	ExportName  *Value
	Pos         Pos
}

// Digest is a stable hash of what the resource is (type, properties, spec
// and dependencies): equal digests between two deploys mean "unchanged".
// Code content is not included; the build step hashes code separately.
func (r *Resource) Digest() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode([]any{r.Type, r.CFNType, r.Properties.Interface(), r.Spec, r.DependsOn})
	return hex.EncodeToString(h.Sum(nil))
}

// Resource returns the resource with the logical id, or nil.
func (a *Application) Resource(id string) *Resource {
	i := sort.Search(len(a.Resources), func(i int) bool { return a.Resources[i].LogicalID >= id })
	if i < len(a.Resources) && a.Resources[i].LogicalID == id {
		return a.Resources[i]
	}
	return nil
}

// Order returns the resources so that each comes after everything it depends
// on (create order; reverse it to delete), ties broken by logical id.
func (a *Application) Order() []*Resource {
	index := map[string]*Resource{}
	for _, r := range a.Resources {
		index[r.LogicalID] = r
	}
	done := map[string]bool{}
	visiting := map[string]bool{}
	var out []*Resource
	var visit func(r *Resource)
	visit = func(r *Resource) {
		if done[r.LogicalID] || visiting[r.LogicalID] {
			return // cycles were refused in Expand; this only guards.
		}
		visiting[r.LogicalID] = true
		for _, d := range r.DependsOn {
			if dr := index[d]; dr != nil {
				visit(dr)
			}
		}
		visiting[r.LogicalID] = false
		done[r.LogicalID] = true
		out = append(out, r)
	}
	for _, r := range a.Resources {
		visit(r)
	}
	return out
}
