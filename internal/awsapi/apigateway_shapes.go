package awsapi

import (
	"time"

	"github.com/lamina-dev/lamina/internal/gateway"
)

// JSON shapes of the API Gateway v2 control plane (members as the
// apigatewayv2 model's locationName: lowerCamelCase; timestamps ISO 8601).

// isoTime is a __timestampIso8601 member.
func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

type corsWire struct {
	AllowCredentials *bool    `json:"allowCredentials,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	ExposeHeaders    []string `json:"exposeHeaders,omitempty"`
	MaxAge           *int     `json:"maxAge,omitempty"`
}

func (c *corsWire) cors() *gateway.Cors {
	if c == nil {
		return nil
	}
	return &gateway.Cors{
		AllowOrigins: c.AllowOrigins, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders,
		ExposeHeaders: c.ExposeHeaders, AllowCredentials: c.AllowCredentials != nil && *c.AllowCredentials, MaxAge: c.MaxAge,
	}
}

func toCorsWire(c *gateway.Cors) *corsWire {
	if c == nil {
		return nil
	}
	creds := c.AllowCredentials
	return &corsWire{
		AllowCredentials: &creds, AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods,
		AllowOrigins: c.AllowOrigins, ExposeHeaders: c.ExposeHeaders, MaxAge: c.MaxAge,
	}
}

type createAPIRequest struct {
	Name                      string            `json:"name"`
	ProtocolType              string            `json:"protocolType"`
	Description               string            `json:"description"`
	Version                   string            `json:"version"`
	Tags                      map[string]string `json:"tags"`
	CorsConfiguration         *corsWire         `json:"corsConfiguration"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint"`
	Target                    string            `json:"target"`
	RouteKey                  string            `json:"routeKey"`
	CredentialsArn            string            `json:"credentialsArn"`
}

type updateAPIRequest struct {
	Name                      *string   `json:"name"`
	Description               *string   `json:"description"`
	Version                   *string   `json:"version"`
	CorsConfiguration         *corsWire `json:"corsConfiguration"`
	DisableExecuteAPIEndpoint *bool     `json:"disableExecuteApiEndpoint"`
	Target                    *string   `json:"target"`
	RouteKey                  *string   `json:"routeKey"`
}

type apiOutput struct {
	APIEndpoint               string            `json:"apiEndpoint"`
	APIGatewayManaged         bool              `json:"apiGatewayManaged"`
	APIID                     string            `json:"apiId"`
	APIKeySelectionExpression string            `json:"apiKeySelectionExpression"`
	CorsConfiguration         *corsWire         `json:"corsConfiguration,omitempty"`
	CreatedDate               string            `json:"createdDate"`
	Description               string            `json:"description,omitempty"`
	DisableExecuteAPIEndpoint bool              `json:"disableExecuteApiEndpoint"`
	DisableSchemaValidation   bool              `json:"disableSchemaValidation"`
	IPAddressType             string            `json:"ipAddressType"`
	Name                      string            `json:"name"`
	ProtocolType              string            `json:"protocolType"`
	RouteSelectionExpression  string            `json:"routeSelectionExpression"`
	Tags                      map[string]string `json:"tags,omitempty"`
	Version                   string            `json:"version,omitempty"`
}

type routeRequest struct {
	RouteKey            *string                     `json:"routeKey"`
	Target              *string                     `json:"target"`
	AuthorizationType   *string                     `json:"authorizationType"`
	AuthorizerID        *string                     `json:"authorizerId"`
	AuthorizationScopes []string                    `json:"authorizationScopes"`
	APIKeyRequired      *bool                       `json:"apiKeyRequired"`
	RequestModels       map[string]string           `json:"requestModels"`
	RequestParameters   map[string]paramConstraints `json:"requestParameters"`
}

type paramConstraints struct {
	Required bool `json:"required"`
}

type routeOutput struct {
	APIGatewayManaged   bool                        `json:"apiGatewayManaged"`
	APIKeyRequired      bool                        `json:"apiKeyRequired"`
	AuthorizationScopes []string                    `json:"authorizationScopes,omitempty"`
	AuthorizationType   string                      `json:"authorizationType"`
	AuthorizerID        string                      `json:"authorizerId,omitempty"`
	RequestModels       map[string]string           `json:"requestModels,omitempty"`
	RequestParameters   map[string]paramConstraints `json:"requestParameters,omitempty"`
	RouteID             string                      `json:"routeId"`
	RouteKey            string                      `json:"routeKey"`
	Target              string                      `json:"target,omitempty"`
}

type integrationRequest struct {
	IntegrationType      *string `json:"integrationType"`
	IntegrationURI       *string `json:"integrationUri"`
	PayloadFormatVersion *string `json:"payloadFormatVersion"`
	TimeoutInMillis      *int    `json:"timeoutInMillis"`
	Description          *string `json:"description"`
}

type integrationOutput struct {
	APIGatewayManaged    bool   `json:"apiGatewayManaged"`
	ConnectionType       string `json:"connectionType"`
	Description          string `json:"description,omitempty"`
	IntegrationID        string `json:"integrationId"`
	IntegrationMethod    string `json:"integrationMethod"`
	IntegrationType      string `json:"integrationType"`
	IntegrationURI       string `json:"integrationUri"`
	PayloadFormatVersion string `json:"payloadFormatVersion"`
	TimeoutInMillis      int    `json:"timeoutInMillis"`
}

type routeSettingsWire struct {
	DetailedMetricsEnabled *bool    `json:"detailedMetricsEnabled,omitempty"`
	ThrottlingBurstLimit   *int     `json:"throttlingBurstLimit,omitempty"`
	ThrottlingRateLimit    *float64 `json:"throttlingRateLimit,omitempty"`
}

func (w routeSettingsWire) settings() gateway.RouteSettings {
	return gateway.RouteSettings{ThrottlingBurstLimit: w.ThrottlingBurstLimit, ThrottlingRateLimit: w.ThrottlingRateLimit}
}

func toRouteSettingsWire(s gateway.RouteSettings) routeSettingsWire {
	return routeSettingsWire{ThrottlingBurstLimit: s.ThrottlingBurstLimit, ThrottlingRateLimit: s.ThrottlingRateLimit}
}

type stageRequest struct {
	StageName            string                       `json:"stageName"`
	AutoDeploy           *bool                        `json:"autoDeploy"`
	DeploymentID         *string                      `json:"deploymentId"`
	Description          *string                      `json:"description"`
	StageVariables       map[string]string            `json:"stageVariables"`
	DefaultRouteSettings *routeSettingsWire           `json:"defaultRouteSettings"`
	RouteSettings        map[string]routeSettingsWire `json:"routeSettings"`
	Tags                 map[string]string            `json:"tags"`
}

type stageOutput struct {
	APIGatewayManaged    bool                         `json:"apiGatewayManaged"`
	AutoDeploy           bool                         `json:"autoDeploy"`
	CreatedDate          string                       `json:"createdDate"`
	DefaultRouteSettings routeSettingsWire            `json:"defaultRouteSettings"`
	DeploymentID         string                       `json:"deploymentId,omitempty"`
	Description          string                       `json:"description,omitempty"`
	LastUpdatedDate      string                       `json:"lastUpdatedDate"`
	RouteSettings        map[string]routeSettingsWire `json:"routeSettings,omitempty"`
	StageName            string                       `json:"stageName"`
	StageVariables       map[string]string            `json:"stageVariables,omitempty"`
	Tags                 map[string]string            `json:"tags,omitempty"`
}

type jwtConfigWire struct {
	Audience []string `json:"audience,omitempty"`
	Issuer   *string  `json:"issuer,omitempty"`
}

type authorizerRequest struct {
	Name                           *string        `json:"name"`
	AuthorizerType                 *string        `json:"authorizerType"`
	IdentitySource                 []string       `json:"identitySource"`
	JWTConfiguration               *jwtConfigWire `json:"jwtConfiguration"`
	AuthorizerURI                  *string        `json:"authorizerUri"`
	AuthorizerPayloadFormatVersion *string        `json:"authorizerPayloadFormatVersion"`
	EnableSimpleResponses          *bool          `json:"enableSimpleResponses"`
	AuthorizerResultTTLInSeconds   *int           `json:"authorizerResultTtlInSeconds"`
	IdentityValidationExpression   *string        `json:"identityValidationExpression"`
}

type authorizerOutput struct {
	AuthorizerID                   string         `json:"authorizerId"`
	AuthorizerPayloadFormatVersion string         `json:"authorizerPayloadFormatVersion,omitempty"`
	AuthorizerResultTTLInSeconds   int            `json:"authorizerResultTtlInSeconds"`
	AuthorizerType                 string         `json:"authorizerType"`
	AuthorizerURI                  string         `json:"authorizerUri,omitempty"`
	EnableSimpleResponses          bool           `json:"enableSimpleResponses"`
	IdentitySource                 []string       `json:"identitySource,omitempty"`
	JWTConfiguration               *jwtConfigWire `json:"jwtConfiguration,omitempty"`
	IdentityValidationExpression   string         `json:"identityValidationExpression,omitempty"`
	Name                           string         `json:"name"`
}

type modelRequest struct {
	Name        *string `json:"name"`
	ContentType *string `json:"contentType"`
	Schema      *string `json:"schema"`
	Description *string `json:"description"`
}

type modelOutput struct {
	ContentType string `json:"contentType,omitempty"`
	Description string `json:"description,omitempty"`
	ModelID     string `json:"modelId"`
	Name        string `json:"name"`
	Schema      string `json:"schema"`
}

type deploymentRequest struct {
	Description string `json:"description"`
	StageName   string `json:"stageName"`
}

type deploymentOutput struct {
	AutoDeployed     bool   `json:"autoDeployed"`
	CreatedDate      string `json:"createdDate"`
	DeploymentID     string `json:"deploymentId"`
	DeploymentStatus string `json:"deploymentStatus"`
	Description      string `json:"description,omitempty"`
}

type tagsBody struct {
	Tags map[string]string `json:"tags"`
}

// listOutput is every v2 list: {"items": [...], "nextToken": "..."}.
type listOutput[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

// ---- conversions

func toRouteOutput(r *gateway.Route) routeOutput {
	o := routeOutput{
		APIGatewayManaged: r.Managed, APIKeyRequired: r.APIKeyRequired, AuthorizationScopes: r.AuthorizationScopes,
		AuthorizationType: r.AuthorizationType, AuthorizerID: r.AuthorizerID, RequestModels: r.RequestModels,
		RouteID: r.ID, RouteKey: r.Key,
	}
	if r.IntegrationID != "" {
		o.Target = "integrations/" + r.IntegrationID
	}
	if len(r.RequestParameters) > 0 {
		o.RequestParameters = make(map[string]paramConstraints, len(r.RequestParameters))
		for k, v := range r.RequestParameters {
			o.RequestParameters[k] = paramConstraints{Required: v}
		}
	}
	return o
}

func toIntegrationOutput(i *gateway.Integration) integrationOutput {
	return integrationOutput{
		APIGatewayManaged: i.Managed, ConnectionType: "INTERNET", Description: i.Description, IntegrationID: i.ID,
		IntegrationMethod: "POST", IntegrationType: i.Type, IntegrationURI: i.URI,
		PayloadFormatVersion: i.PayloadFormatVersion, TimeoutInMillis: i.TimeoutMillis,
	}
}

func toStageOutput(s *gateway.Stage) stageOutput {
	o := stageOutput{
		APIGatewayManaged: s.Managed, AutoDeploy: s.AutoDeploy, CreatedDate: isoTime(s.CreatedDate),
		DefaultRouteSettings: toRouteSettingsWire(s.DefaultRouteSettings), DeploymentID: s.DeploymentID,
		Description: s.Description, LastUpdatedDate: isoTime(s.LastUpdatedDate), StageName: s.Name,
		StageVariables: s.StageVariables, Tags: s.Tags,
	}
	if len(s.RouteSettings) > 0 {
		o.RouteSettings = make(map[string]routeSettingsWire, len(s.RouteSettings))
		for k, v := range s.RouteSettings {
			o.RouteSettings[k] = toRouteSettingsWire(v)
		}
	}
	return o
}

func toAuthorizerOutput(a *gateway.Authorizer) authorizerOutput {
	o := authorizerOutput{
		AuthorizerID: a.ID, AuthorizerPayloadFormatVersion: a.PayloadFormatVersion,
		AuthorizerResultTTLInSeconds: a.ResultTTLSeconds, AuthorizerType: a.Type, AuthorizerURI: a.URI,
		EnableSimpleResponses: a.EnableSimpleResponses, IdentitySource: a.IdentitySource, Name: a.Name,
		IdentityValidationExpression: a.IdentityValidationExpression,
	}
	if a.Type == gateway.AuthorizerJWT {
		iss := a.Issuer
		o.JWTConfiguration = &jwtConfigWire{Audience: a.Audience, Issuer: &iss}
	}
	return o
}

func toModelOutput(m *gateway.Model) modelOutput {
	return modelOutput{ContentType: m.ContentType, Description: m.Description, ModelID: m.ID, Name: m.Name, Schema: m.Schema}
}

func toDeploymentOutput(d *gateway.Deployment) deploymentOutput {
	return deploymentOutput{
		AutoDeployed: d.AutoDeployed, CreatedDate: isoTime(d.CreatedDate), DeploymentID: d.ID,
		DeploymentStatus: "DEPLOYED", Description: d.Description,
	}
}

func mapList[T, U any](in []T, f func(*T) U) []U {
	out := make([]U, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
}
