package awsapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/store"
)

func startGatewayEdge(t *testing.T) (*apigatewayv2.Client, *gateway.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := gateway.New(ctx, gateway.Options{Store: st, Logger: quietLogger(),
		EndpointURL: func(id string) string { return "http://127.0.0.1:3000/" + id }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	url := serveEdge(t, awsapi.Options{Gateway: svc, Logger: quietLogger()})
	c := apigatewayv2.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *apigatewayv2.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
	return c, svc
}

const gwFn = "arn:aws:lambda:us-east-1:000000000000:function:hello"

// TestGatewaySDK drives the v2 control plane through the real
// aws-sdk-go-v2 apigatewayv2 client.
func TestGatewaySDK(t *testing.T) {
	c, svc := startGatewayEdge(t)
	ctx := t.Context()

	api, err := c.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name: aws.String("pets"), ProtocolType: types.ProtocolTypeHttp, Target: aws.String(gwFn),
		CorsConfiguration: &types.Cors{AllowOrigins: []string{"https://a.example"}, MaxAge: aws.Int32(600)},
		Tags:              map[string]string{"team": "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(api.ApiId)
	if len(id) != 10 || aws.ToString(api.ApiEndpoint) != "http://127.0.0.1:3000/"+id || api.ProtocolType != types.ProtocolTypeHttp ||
		api.CreatedDate == nil || time.Since(*api.CreatedDate) > time.Minute || api.Tags["team"] != "x" ||
		aws.ToInt32(api.CorsConfiguration.MaxAge) != 600 || aws.ToString(api.RouteSelectionExpression) != "${request.method} ${request.path}" {
		t.Errorf("CreateApi = %+v", api)
	}

	t.Run("quick create made managed resources", func(t *testing.T) {
		rs, err := c.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: &id})
		if err != nil || len(rs.Items) != 1 {
			t.Fatalf("GetRoutes %+v %v", rs, err)
		}
		is, err := c.GetIntegrations(ctx, &apigatewayv2.GetIntegrationsInput{ApiId: &id})
		if err != nil || len(is.Items) != 1 {
			t.Fatalf("GetIntegrations %+v %v", is, err)
		}
		r, ig := rs.Items[0], is.Items[0]
		if aws.ToString(r.RouteKey) != "$default" || !aws.ToBool(r.ApiGatewayManaged) || aws.ToString(r.Target) != "integrations/"+aws.ToString(ig.IntegrationId) {
			t.Errorf("route %+v", r)
		}
		if ig.IntegrationType != types.IntegrationTypeAwsProxy || aws.ToString(ig.IntegrationUri) != gwFn ||
			aws.ToString(ig.PayloadFormatVersion) != "2.0" || aws.ToInt32(ig.TimeoutInMillis) != 30000 || !aws.ToBool(ig.ApiGatewayManaged) {
			t.Errorf("integration %+v", ig)
		}
		ss, err := c.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: &id})
		if err != nil || len(ss.Items) != 1 {
			t.Fatalf("GetStages %+v %v", ss, err)
		}
		if s := ss.Items[0]; aws.ToString(s.StageName) != "$default" || !aws.ToBool(s.AutoDeploy) || !aws.ToBool(s.ApiGatewayManaged) || s.LastUpdatedDate == nil {
			t.Errorf("stage %+v", s)
		}
	})

	var igID, authID string
	t.Run("create resources", func(t *testing.T) {
		ig, err := c.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
			ApiId: &id, IntegrationType: types.IntegrationTypeAwsProxy,
			IntegrationUri:       aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + gwFn + ":live/invocations"),
			PayloadFormatVersion: aws.String("1.0"), TimeoutInMillis: aws.Int32(5000),
		})
		if err != nil {
			t.Fatal(err)
		}
		igID = aws.ToString(ig.IntegrationId)
		if len(igID) != 7 || aws.ToInt32(ig.TimeoutInMillis) != 5000 || aws.ToString(ig.PayloadFormatVersion) != "1.0" {
			t.Errorf("CreateIntegration %+v", ig)
		}
		au, err := c.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{
			ApiId: &id, Name: aws.String("jwt"), AuthorizerType: types.AuthorizerTypeJwt,
			IdentitySource:   []string{"$request.header.Authorization"},
			JwtConfiguration: &types.JWTConfiguration{Issuer: aws.String("https://issuer.example"), Audience: []string{"app"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		authID = aws.ToString(au.AuthorizerId)
		if aws.ToString(au.JwtConfiguration.Issuer) != "https://issuer.example" || au.AuthorizerType != types.AuthorizerTypeJwt {
			t.Errorf("CreateAuthorizer %+v", au)
		}
		m, err := c.CreateModel(ctx, &apigatewayv2.CreateModelInput{ApiId: &id, Name: aws.String("Pet"), Schema: aws.String(`{"type":"object","required":["name"]}`)})
		if err != nil || aws.ToString(m.ContentType) != "application/json" {
			t.Fatalf("CreateModel %+v %v", m, err)
		}
		r, err := c.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{
			ApiId: &id, RouteKey: aws.String("POST /pets"), Target: aws.String("integrations/" + igID),
			AuthorizationType: types.AuthorizationTypeJwt, AuthorizerId: &authID, AuthorizationScopes: []string{"pets:write"},
			RequestModels:     map[string]string{"application/json": "Pet"},
			RequestParameters: map[string]types.ParameterConstraints{"method.request.header.x-id": {Required: aws.Bool(true)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(r.RouteKey) != "POST /pets" || r.AuthorizationType != types.AuthorizationTypeJwt || r.RequestModels["application/json"] != "Pet" ||
			!aws.ToBool(r.RequestParameters["method.request.header.x-id"].Required) {
			t.Errorf("CreateRoute %+v", r)
		}
		st, err := c.CreateStage(ctx, &apigatewayv2.CreateStageInput{
			ApiId: &id, StageName: aws.String("dev"), StageVariables: map[string]string{"env": "dev"},
			DefaultRouteSettings: &types.RouteSettings{ThrottlingBurstLimit: aws.Int32(10), ThrottlingRateLimit: aws.Float64(5)},
			RouteSettings:        map[string]types.RouteSettings{"POST /pets": {ThrottlingRateLimit: aws.Float64(1)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(st.DefaultRouteSettings.ThrottlingBurstLimit) != 10 || aws.ToFloat64(st.RouteSettings["POST /pets"].ThrottlingRateLimit) != 1 ||
			st.StageVariables["env"] != "dev" {
			t.Errorf("CreateStage %+v", st)
		}
		dep, err := c.CreateDeployment(ctx, &apigatewayv2.CreateDeploymentInput{ApiId: &id, StageName: aws.String("dev")})
		if err != nil || dep.DeploymentStatus != types.DeploymentStatusDeployed {
			t.Fatalf("CreateDeployment %+v %v", dep, err)
		}
		gs, err := c.GetStage(ctx, &apigatewayv2.GetStageInput{ApiId: &id, StageName: aws.String("dev")})
		if err != nil || aws.ToString(gs.DeploymentId) != aws.ToString(dep.DeploymentId) {
			t.Errorf("GetStage %+v %v", gs, err)
		}
		// The data plane's view has it all at once.
		if snap := svc.Snapshot(id); snap == nil || len(snap.Routes) != 2 || snap.Integrations[igID].Qualifier != "live" {
			t.Errorf("Snapshot %+v", snap)
		}
	})

	t.Run("UpdateApi and tags", func(t *testing.T) {
		u, err := c.UpdateApi(ctx, &apigatewayv2.UpdateApiInput{ApiId: &id, Description: aws.String("d")})
		if err != nil || aws.ToString(u.Description) != "d" || aws.ToString(u.Name) != "pets" {
			t.Fatalf("UpdateApi %+v %v", u, err)
		}
		arn := "arn:aws:apigateway:us-east-1::/apis/" + id
		if _, err := c.TagResource(ctx, &apigatewayv2.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"lamina:default": "true"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: &arn})
		if err != nil || tags.Tags["lamina:default"] != "true" || tags.Tags["team"] != "x" {
			t.Fatalf("GetTags %+v %v", tags, err)
		}
		if d := svc.DefaultAPI(); d == nil || d.API.ID != id {
			t.Errorf("DefaultAPI %+v", d)
		}
		if _, err := c.UntagResource(ctx, &apigatewayv2.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"team"}}); err != nil {
			t.Fatal(err)
		}
		tags, _ = c.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: &arn})
		if _, ok := tags.Tags["team"]; ok {
			t.Errorf("tag not removed: %v", tags.Tags)
		}
		if _, err := c.DeleteCorsConfiguration(ctx, &apigatewayv2.DeleteCorsConfigurationInput{ApiId: &id}); err != nil {
			t.Fatal(err)
		}
		g, _ := c.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: &id})
		if g.CorsConfiguration != nil {
			t.Errorf("CORS still set: %+v", g.CorsConfiguration)
		}
	})

	t.Run("errors are typed", func(t *testing.T) {
		var nf *types.NotFoundException
		var br *types.BadRequestException
		var cf *types.ConflictException
		_, err := c.GetApi(ctx, &apigatewayv2.GetApiInput{ApiId: aws.String("nosuchapi0")})
		if !errors.As(err, &nf) {
			t.Errorf("GetApi unknown: %v", err)
		}
		_, err = c.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("ws"), ProtocolType: types.ProtocolTypeWebsocket})
		if !errors.As(err, &br) {
			t.Errorf("WEBSOCKET: %v", err)
		}
		_, err = c.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: &id, RouteKey: aws.String("POST /pets")})
		if !errors.As(err, &cf) {
			t.Errorf("duplicate route: %v", err)
		}
		// DeleteIntegration's model declares no ConflictException, so the
		// SDK reports AWS's answer as a generic error with its code.
		_, err = c.DeleteIntegration(ctx, &apigatewayv2.DeleteIntegrationInput{ApiId: &id, IntegrationId: &igID})
		var ge smithy.APIError
		if !errors.As(err, &ge) || ge.ErrorCode() != "ConflictException" {
			t.Errorf("integration in use: %v", err)
		}
		_, err = c.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{ApiId: &id, IntegrationType: types.IntegrationTypeAwsProxy, IntegrationUri: aws.String(gwFn)})
		if !errors.As(err, &br) {
			t.Errorf("no payload version: %v", err)
		}
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorMessage() == "" {
			t.Error("empty error message")
		}
		_, err = c.GetRoute(ctx, &apigatewayv2.GetRouteInput{ApiId: &id, RouteId: aws.String("zzzzzzz")})
		var re interface{ HTTPStatusCode() int }
		if !errors.As(err, &nf) || !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotFound {
			t.Errorf("GetRoute unknown: %v", err)
		}
	})

	t.Run("deletes and paging", func(t *testing.T) {
		for range 2 {
			if _, err := c.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("x"), ProtocolType: types.ProtocolTypeHttp}); err != nil {
				t.Fatal(err)
			}
		}
		p, err := c.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("2")})
		if err != nil || len(p.Items) != 2 || p.NextToken == nil {
			t.Fatalf("GetApis page 1 %+v %v", p, err)
		}
		p2, err := c.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: p.NextToken})
		if err != nil || len(p2.Items) != 1 || p2.NextToken != nil {
			t.Fatalf("GetApis page 2 %+v %v", p2, err)
		}
		if _, err := c.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: &id}); err != nil {
			t.Fatal(err)
		}
		var nf *types.NotFoundException
		if _, err := c.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: &id}); !errors.As(err, &nf) {
			t.Errorf("GetRoutes after DeleteApi: %v", err)
		}
		if svc.Snapshot(id) != nil || svc.DefaultAPI() != nil {
			t.Error("view still has the deleted API")
		}
	})
}
