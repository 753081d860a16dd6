package manifest

// The typed views of resources (Resource.Spec). Fields that may only be known
// at deploy time (ARNs, URLs, names of other resources) are *Value: pass them
// to Resolve once the resources they refer to exist. Plain fields are fully
// resolved at expansion time.

// FunctionSpec describes a function (AWS::Serverless::Function after Globals,
// or AWS::Lambda::Function).
type FunctionSpec struct {
	FunctionName *Value `json:",omitempty"`
	// CodeURI is a local directory or zip, relative to the template's
	// directory (Template.Dir), as written. Empty when the code is in S3,
	// inline or an image.
	CodeURI      string `json:",omitempty"`
	CodeS3       *Value `json:",omitempty"` // "s3://bucket/key" or {Bucket, Key, Version}
	InlineCode   string `json:",omitempty"`
	ImageURI     *Value `json:",omitempty"`
	PackageType  string `json:",omitempty"` // Zip (default) or Image
	Handler      string `json:",omitempty"`
	Runtime      string `json:",omitempty"`
	Architecture string // x86_64 (default) or arm64
	MemorySize   int    // MB, default 128
	Timeout      int    // seconds, default 3
	Description  string `json:",omitempty"`
	// Environment variables; values may hold references (a queue URL).
	Environment                  map[string]*Value `json:",omitempty"`
	ReservedConcurrentExecutions *int              `json:",omitempty"`
	EphemeralStorage             int               `json:",omitempty"` // MB
	Layers                       []*Value          `json:",omitempty"`
	Tags                         map[string]*Value `json:",omitempty"`
	Tracing                      string            `json:",omitempty"`
	Role                         *Value            `json:",omitempty"` // as given, or GetAtt <Fn>Role.Arn
	DeadLetter                   *DeadLetter       `json:",omitempty"`
	// AutoPublishAlias names the alias events and URLs point at ("" = $LATEST).
	AutoPublishAlias string `json:",omitempty"`
	// BuildMethod and BuildProperties come from the resource's Metadata
	// (sam build's keys: go1.x, makefile, esbuild, a runtime id).
	BuildMethod     string `json:",omitempty"`
	BuildProperties *Value `json:",omitempty"`
}

// DeadLetter is a function's DeadLetterQueue / DeadLetterConfig.
type DeadLetter struct {
	Type      string `json:",omitempty"` // SQS or SNS (SAM); empty for DeadLetterConfig
	TargetArn *Value
}

// VersionSpec is a published version (AutoPublishAlias).
type VersionSpec struct {
	Function string // logical id
	// CodeHash is what SAM's Version id hashes (code location, Environment,
	// MemorySize); a new one means a new version.
	CodeHash string
}

// AliasSpec is a function alias.
type AliasSpec struct {
	Function               string // logical id of the function
	Name                   string
	Version                string `json:",omitempty"` // logical id of the Version
	ProvisionedConcurrency *int   `json:",omitempty"`
}

// FunctionURLSpec is a function URL.
type FunctionURLSpec struct {
	Function   string // logical id
	Qualifier  string `json:",omitempty"` // alias name, or "" for $LATEST
	AuthType   string // NONE or AWS_IAM
	InvokeMode string // BUFFERED (default) or RESPONSE_STREAM
	Cors       *Value `json:",omitempty"`
}

// EventInvokeConfigSpec is a function's async invocation configuration.
type EventInvokeConfigSpec struct {
	Function                 string       // logical id
	Qualifier                string       // alias name or "$LATEST"
	MaximumEventAgeInSeconds *int         `json:",omitempty"`
	MaximumRetryAttempts     *int         `json:",omitempty"`
	OnSuccess                *Destination `json:",omitempty"`
	OnFailure                *Destination `json:",omitempty"`
}

// Destination is an async or event-source destination.
type Destination struct {
	Type        string `json:",omitempty"` // SQS, SNS, Lambda, EventBridge, S3Bucket
	Destination *Value // ARN (or a reference to the generated queue/topic)
}

// APISpec describes a REST API (Serverless::Api) or an HTTP API
// (Serverless::HttpApi), implicit or explicit. Routes are separate resources.
type APISpec struct {
	Implicit  bool
	Name      *Value `json:",omitempty"`
	StageName string
	// Auth, Cors/CorsConfiguration, Models, DefinitionBody and the rest are
	// the evaluated SAM properties, for the deployer to import.
	Auth           *Value `json:",omitempty"`
	Cors           *Value `json:",omitempty"`
	Models         *Value `json:",omitempty"`
	DefinitionBody *Value `json:",omitempty"`
	DefinitionURI  string `json:",omitempty"` // local path relative to the template dir
	StageVariables *Value `json:",omitempty"`
}

// StageSpec is an API stage (or the deployment SAM pairs with a REST stage).
type StageSpec struct {
	API       string // logical id
	StageName string
}

// RouteSpec is one method and path of an API that invokes a function.
type RouteSpec struct {
	API      string // logical id of the RestAPI/HTTPAPI
	APIType  ResourceType
	Method   string // upper case; ANY for any
	Path     string // "/orders/{id}"; "$default" for the HTTP API default route
	Function string // logical id
	// Qualifier is the function's AutoPublishAlias, "" for $LATEST.
	Qualifier            string `json:",omitempty"`
	PayloadFormatVersion string `json:",omitempty"` // HTTP APIs: "2.0" default
	TimeoutInMillis      *int   `json:",omitempty"`
	Auth                 *Value `json:",omitempty"`
	RequestModel         *Value `json:",omitempty"`
	RequestParameters    *Value `json:",omitempty"`
	Event                string // the event name in the function's Events
}

// QueueSpec is an SQS queue.
type QueueSpec struct {
	QueueName              *Value `json:",omitempty"`
	FifoQueue              bool   `json:",omitempty"`
	VisibilityTimeout      *int   `json:",omitempty"`
	MessageRetentionPeriod *int   `json:",omitempty"`
	DelaySeconds           *int   `json:",omitempty"`
	MaximumMessageSize     *int   `json:",omitempty"`
	ReceiveMessageWaitTime *int   `json:",omitempty"`
	// RedrivePolicy: DeadLetterTargetArn usually GetAtt <DLQ>.Arn.
	DeadLetterTargetArn *Value `json:",omitempty"`
	MaxReceiveCount     int    `json:",omitempty"`
}

// TopicSpec is an SNS topic.
type TopicSpec struct {
	TopicName *Value `json:",omitempty"`
	FifoTopic bool   `json:",omitempty"`
}

// SubscriptionSpec is an SNS subscription.
type SubscriptionSpec struct {
	TopicArn           *Value
	Protocol           string // lambda, sqs, http, https, ...
	Endpoint           *Value
	FilterPolicy       *Value `json:",omitempty"`
	FilterPolicyScope  string `json:",omitempty"`
	RawMessageDelivery bool   `json:",omitempty"`
	RedrivePolicy      *Value `json:",omitempty"`
}

// ScheduleSpec is an EventBridge Scheduler schedule.
type ScheduleSpec struct {
	Name                       *Value `json:",omitempty"`
	GroupName                  *Value `json:",omitempty"`
	ScheduleExpression         string
	ScheduleExpressionTimezone string `json:",omitempty"`
	State                      string // ENABLED (default) or DISABLED
	TargetArn                  *Value
	Input                      *Value `json:",omitempty"`
	RetryPolicy                *Value `json:",omitempty"`
	DeadLetterArn              *Value `json:",omitempty"`
	FlexibleTimeWindow         *Value `json:",omitempty"`
}

// RuleSpec is an EventBridge rule: a schedule or an event pattern.
type RuleSpec struct {
	Name               *Value `json:",omitempty"`
	ScheduleExpression string `json:",omitempty"`
	EventPattern       *Value `json:",omitempty"`
	EventBusName       *Value `json:",omitempty"`
	State              string // ENABLED (default) or DISABLED
	Targets            []RuleTarget
}

// RuleTarget is one target of a rule.
type RuleTarget struct {
	ID            string
	Arn           *Value
	Input         *Value `json:",omitempty"`
	InputPath     *Value `json:",omitempty"`
	RetryPolicy   *Value `json:",omitempty"`
	DeadLetterArn *Value `json:",omitempty"`
}

// EventSourceMappingSpec polls a queue or stream into a function.
type EventSourceMappingSpec struct {
	EventSourceArn                 *Value
	Function                       *Value // Ref to the function or its alias, or a name/ARN
	BatchSize                      int    // default 10 for SQS
	MaximumBatchingWindowInSeconds *int   `json:",omitempty"`
	Enabled                        bool
	FunctionResponseTypes          []string `json:",omitempty"`
	FilterCriteria                 *Value   `json:",omitempty"`
	MaximumConcurrency             *int     `json:",omitempty"`
	StartingPosition               string   `json:",omitempty"`
}

// PermissionSpec is a resource policy statement on a function (accepted; Lamina
// keeps it for display).
type PermissionSpec struct {
	FunctionName *Value
	Action       string
	Principal    *Value
	SourceArn    *Value `json:",omitempty"`
}

// UsagePlanSpec is an API Gateway usage plan: throttling and quotas for the
// API keys it holds, on the API stages it names.
type UsagePlanSpec struct {
	APIStages   []APIStageRef
	Name        *Value `json:",omitempty"`
	Description *Value `json:",omitempty"`
	Throttle    *Value `json:",omitempty"` // {BurstLimit, RateLimit}
	Quota       *Value `json:",omitempty"` // {Limit, Offset, Period}
}

// APIStageRef is one stage of an API: ApiID usually Ref <Api>.
type APIStageRef struct {
	APIID *Value
	Stage *Value
}

// APIKeySpec is an API key. Value is generated when absent.
type APIKeySpec struct {
	Name    *Value `json:",omitempty"`
	Value   *Value `json:",omitempty"`
	Enabled bool
}

// UsagePlanKeySpec puts an API key in a usage plan.
type UsagePlanKeySpec struct {
	KeyID       *Value
	UsagePlanID *Value
}
