// Package gateway is Lamina's HTTP API gateway: API definitions (the API
// Gateway v2 HTTP API model: APIs, routes, integrations, stages,
// authorizers, plus Lamina's models for request validation), kept in the
// store one document per API, and the data plane that serves them on the
// gateway listener (API and stage selection, routing, authorizers,
// throttling, validation, CORS, Lambda proxy integration with payload
// formats 1.0 and 2.0, access logs).
//
// Subpackages are pure building blocks: route (route keys and matching),
// payload (events in and responses out), auth (JWT and Lambda
// authorizers), limit (throttling and request validation).
package gateway

import "time"

// Bucket is the store KV bucket holding one APIDoc per API under "api.<id>".
const Bucket = "gateway-apis"

// APIDoc is everything about one API, stored and changed as one document
// (compare-and-set on its revision), so the data plane always sees a
// consistent API.
type APIDoc struct {
	API          API                    `json:"api"`
	Routes       map[string]Route       `json:"routes,omitempty"`       // by route id
	Integrations map[string]Integration `json:"integrations,omitempty"` // by integration id
	Stages       map[string]Stage       `json:"stages,omitempty"`       // by stage name
	Authorizers  map[string]Authorizer  `json:"authorizers,omitempty"`  // by authorizer id
	Models       map[string]Model       `json:"models,omitempty"`       // by model id
	Deployments  map[string]Deployment  `json:"deployments,omitempty"`  // by deployment id
}

// API is an HTTP API.
type API struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	ProtocolType string            `json:"protocolType"` // HTTP (WEBSOCKET is refused)
	Description  string            `json:"description,omitempty"`
	Version      string            `json:"version,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Cors         *Cors             `json:"cors,omitempty"`
	// DisableExecuteAPIEndpoint turns the default endpoint off (404 on it).
	DisableExecuteAPIEndpoint bool `json:"disableExecuteApiEndpoint,omitempty"`
	// Default (Lamina): requests to the gateway's plain root
	// (http://127.0.0.1:3000/...) go to this API. At most one API is default;
	// setting it on one clears it on the others. Set through the tag
	// "lamina:default" = "true" (tags are the one free-form field AWS's
	// shape has).
	Default     bool      `json:"default,omitempty"`
	CreatedDate time.Time `json:"createdDate"`
}

// Cors is corsConfiguration.
type Cors struct {
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	AllowCredentials bool     `json:"allowCredentials,omitempty"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

// Authorization types of a route.
const (
	AuthNone   = "NONE"
	AuthJWT    = "JWT"
	AuthIAM    = "AWS_IAM"
	AuthCustom = "CUSTOM" // a Lambda REQUEST authorizer
)

// Route maps a route key onto an integration.
type Route struct {
	ID string `json:"id"`
	// Key is "METHOD /path/{param}/{proxy+}", "ANY /path" or "$default".
	Key string `json:"key"`
	// IntegrationID is the id in Target "integrations/{id}" ("" = none: 500 as AWS).
	IntegrationID       string   `json:"integrationId,omitempty"`
	AuthorizationType   string   `json:"authorizationType,omitempty"` // default NONE
	AuthorizerID        string   `json:"authorizerId,omitempty"`
	AuthorizationScopes []string `json:"authorizationScopes,omitempty"`
	// APIKeyRequired (a REST-API feature Lamina adds to HTTP APIs): the
	// request must carry a valid x-api-key.
	APIKeyRequired bool `json:"apiKeyRequired,omitempty"`
	// RequestModels maps a content type to a model name whose JSON Schema
	// validates the body (Lamina extension on HTTP APIs).
	RequestModels map[string]string `json:"requestModels,omitempty"`
	// RequestParameters marks "method.request.querystring.X" /
	// "method.request.header.X" as required (Lamina extension).
	RequestParameters map[string]bool `json:"requestParameters,omitempty"`
	Managed           bool            `json:"managed,omitempty"` // apiGatewayManaged (quick create)
}

// Integration types Lamina serves.
const (
	IntegrationLambda = "AWS_PROXY"
	IntegrationHTTP   = "HTTP_PROXY" // refused for now
)

// Integration is a Lambda proxy integration.
type Integration struct {
	ID   string `json:"id"`
	Type string `json:"type"` // AWS_PROXY
	// URI is the function ARN (bare, possibly qualified) or the long
	// arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations form.
	URI string `json:"uri"`
	// FunctionName and Qualifier are parsed from URI.
	FunctionName         string `json:"functionName"`
	Qualifier            string `json:"qualifier,omitempty"`
	PayloadFormatVersion string `json:"payloadFormatVersion"` // "1.0" or "2.0"
	// TimeoutMillis is 50-30000 (default 30000; Lamina accepts more when configured).
	TimeoutMillis int    `json:"timeoutMillis"`
	Description   string `json:"description,omitempty"`
	Managed       bool   `json:"managed,omitempty"`
}

// Stage is a deployment target; "$default" is served at the URL root.
type Stage struct {
	Name                 string                   `json:"name"`
	AutoDeploy           bool                     `json:"autoDeploy,omitempty"`
	DeploymentID         string                   `json:"deploymentId,omitempty"`
	Description          string                   `json:"description,omitempty"`
	StageVariables       map[string]string        `json:"stageVariables,omitempty"`
	DefaultRouteSettings RouteSettings            `json:"defaultRouteSettings"`
	RouteSettings        map[string]RouteSettings `json:"routeSettings,omitempty"` // by route key
	Tags                 map[string]string        `json:"tags,omitempty"`
	CreatedDate          time.Time                `json:"createdDate"`
	LastUpdatedDate      time.Time                `json:"lastUpdatedDate"`
	Managed              bool                     `json:"managed,omitempty"`
}

// RouteSettings are a stage's throttling for its routes (nil = unlimited).
type RouteSettings struct {
	ThrottlingBurstLimit *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit  *float64 `json:"throttlingRateLimit,omitempty"`
}

// Authorizer types.
const (
	AuthorizerJWT     = "JWT"
	AuthorizerRequest = "REQUEST"
	// AuthorizerToken is a REST API's Lambda TOKEN authorizer (a Lamina
	// extension of the HTTP API model, for the REST-shaped APIs that SAM
	// templates define): the function gets one header's value.
	AuthorizerToken = "TOKEN"
)

// Authorizer is a JWT or Lambda REQUEST authorizer.
type Authorizer struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	IdentitySource []string `json:"identitySource"`
	// JWT.
	Issuer   string   `json:"issuer,omitempty"`
	Audience []string `json:"audience,omitempty"`
	// REQUEST (Lambda).
	URI                   string `json:"uri,omitempty"`
	FunctionName          string `json:"functionName,omitempty"`
	Qualifier             string `json:"qualifier,omitempty"`
	PayloadFormatVersion  string `json:"payloadFormatVersion,omitempty"` // "1.0" or "2.0"
	EnableSimpleResponses bool   `json:"enableSimpleResponses,omitempty"`
	ResultTTLSeconds      int    `json:"resultTtlSeconds,omitempty"` // 0-3600
	// TOKEN: a token that does not match is refused (401) without calling
	// the function.
	IdentityValidationExpression string `json:"identityValidationExpression,omitempty"`
}

// Model is a JSON Schema (draft 4 as API Gateway, later drafts accepted).
type Model struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Schema      string `json:"schema"`
	Description string `json:"description,omitempty"`
}

// Deployment is a recorded deployment. Lamina serves the current
// definitions on every stage at once, as if every stage auto-deployed;
// deployments are recorded so the API's shape is complete.
type Deployment struct {
	ID           string    `json:"id"`
	Description  string    `json:"description,omitempty"`
	AutoDeployed bool      `json:"autoDeployed,omitempty"`
	CreatedDate  time.Time `json:"createdDate"`
}
