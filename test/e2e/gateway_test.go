package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestGatewayServesFunctions defines HTTP APIs and a function URL with the
// real SDK clients and calls them over HTTP: the real aws-lambda-go
// function echoes the event it got, so the test sees what the gateway
// built.
func TestGatewayServesFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions")
	}
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	lc := lambda.NewFromConfig(cfg)
	code := gofnZip(t)
	for name, env := range map[string]map[string]string{
		"gw-echo": nil,
		// Writing to a directory that does not exist fails every invocation.
		"gw-fail": {"RECORD_ALL": "/nonexistent/lamina/records"},
	} {
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
			Handler:      aws.String("bootstrap"),
			Code:         &types.FunctionCode{ZipFile: code},
			Environment:  &types.Environment{Variables: env},
		}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(name string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + name }

	gw := apigatewayv2.NewFromConfig(cfg)
	api, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name:         aws.String("echo"),
		ProtocolType: apitypes.ProtocolTypeHttp,
		Target:       aws.String(arn("gw-echo")),
		RouteKey:     aws.String("ANY /items/{proxy+}"),
		CorsConfiguration: &apitypes.Cors{
			AllowOrigins: []string{"https://app.example"},
			AllowMethods: []string{"GET", "POST"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	apiID := aws.ToString(api.ApiId)
	if ep := aws.ToString(api.ApiEndpoint); !strings.Contains(ep, apiID+".execute-api.localhost:") {
		t.Errorf("apiEndpoint = %q", ep)
	}
	// A second integration and route to the failing function.
	integ, err := gw.CreateIntegration(ctx, &apigatewayv2.CreateIntegrationInput{
		ApiId:                aws.String(apiID),
		IntegrationType:      apitypes.IntegrationTypeAwsProxy,
		IntegrationUri:       aws.String(arn("gw-fail")),
		PayloadFormatVersion: aws.String("1.0"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{
		ApiId:    aws.String(apiID),
		RouteKey: aws.String("GET /broken"),
		Target:   aws.String("integrations/" + aws.ToString(integ.IntegrationId)),
	}); err != nil {
		t.Fatal(err)
	}

	call := func(method, rawURL, host string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	u, _ := url.Parse(p.GatewayURL)

	t.Run("path form, payload 2.0", func(t *testing.T) {
		resp, body := call("GET", p.GatewayURL+"/"+apiID+"/items/a/b?x=1&x=2", "", http.Header{"Origin": {"https://app.example"}})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var ev struct {
			Version               string            `json:"version"`
			RouteKey              string            `json:"routeKey"`
			RawPath               string            `json:"rawPath"`
			PathParameters        map[string]string `json:"pathParameters"`
			QueryStringParameters map[string]string `json:"queryStringParameters"`
			RequestContext        struct {
				APIID string `json:"apiId"`
				Stage string `json:"stage"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if ev.Version != "2.0" || ev.RouteKey != "ANY /items/{proxy+}" || ev.RawPath != "/items/a/b" ||
			ev.PathParameters["proxy"] != "a/b" || ev.QueryStringParameters["x"] != "1,2" ||
			ev.RequestContext.APIID != apiID || ev.RequestContext.Stage != "$default" {
			t.Errorf("event = %s", body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Errorf("Access-Control-Allow-Origin = %q", got)
		}
		if resp.Header.Get("Apigw-Requestid") == "" {
			t.Error("no apigw-requestid header")
		}
	})

	t.Run("host form", func(t *testing.T) {
		resp, body := call("POST", p.GatewayURL+"/items/z", apiID+".execute-api.localhost:"+u.Port(), nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"rawPath":"/items/z"`) {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})

	t.Run("no route and function error", func(t *testing.T) {
		resp, body := call("GET", p.GatewayURL+"/"+apiID+"/nothing-here", "", nil)
		if resp.StatusCode != 404 || strings.TrimSpace(string(body)) != `{"message":"Not Found"}` {
			t.Errorf("no route: %d %s", resp.StatusCode, body)
		}
		resp, body = call("GET", p.GatewayURL+"/"+apiID+"/broken", "", nil)
		if resp.StatusCode != 502 || !strings.Contains(string(body), "Internal Server Error") {
			t.Errorf("function error: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("CORS preflight", func(t *testing.T) {
		resp, _ := call("OPTIONS", p.GatewayURL+"/"+apiID+"/items/a", "", http.Header{
			"Origin":                        {"https://app.example"},
			"Access-Control-Request-Method": {"POST"},
		})
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("function URL", func(t *testing.T) {
		out, err := lc.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
			FunctionName: aws.String("gw-echo"),
			AuthType:     types.FunctionUrlAuthTypeNone,
		})
		if err != nil {
			t.Fatal(err)
		}
		fu, err := url.Parse(aws.ToString(out.FunctionUrl))
		if err != nil || fu.Port() != u.Port() || !strings.Contains(fu.Host, ".lambda-url.us-east-1.localhost") {
			t.Fatalf("FunctionUrl = %q (%v)", aws.ToString(out.FunctionUrl), err)
		}
		urlID := strings.SplitN(fu.Hostname(), ".", 2)[0]
		for _, form := range []struct{ url, host string }{
			{p.GatewayURL + "/hello", fu.Host},
			{p.GatewayURL + "/_lamina/function-urls/" + urlID + "/hello", ""},
		} {
			resp, body := call("GET", form.url, form.host, nil)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"apiId":"`+urlID+`"`) ||
				!strings.Contains(string(body), `"rawPath":"/hello"`) {
				t.Errorf("%s (host %q): %d %s", form.url, form.host, resp.StatusCode, body)
			}
		}
	})
}
