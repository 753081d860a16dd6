package provision

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzReadDefinitionBody: any JSON document is imported or refused with an
// error, never a panic, and what is imported is well formed.
func FuzzReadDefinitionBody(f *testing.F) {
	f.Add([]byte(`{"openapi":"3.0.1","paths":{"/a/{id}":{"get":{"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":"arn:aws:lambda:us-east-1:1:function:f"}}}}}`))
	f.Add([]byte(`{"swagger":"2.0","securityDefinitions":{"t":{"type":"apiKey","name":"Authorization","in":"header","x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"u","identityValidationExpression":"B.+"}}},"security":[{"t":[]}],"paths":{"/x":{"post":{"parameters":[{"in":"body","schema":{"$ref":"#/definitions/M"}}],"x-amazon-apigateway-request-validator":"v","x-amazon-apigateway-integration":{"type":"AWS_PROXY","uri":"u","timeoutInMillis":3000}}}},"x-amazon-apigateway-request-validators":{"v":{"validateRequestBody":true}},"definitions":{"M":{"type":"object"}}}`))
	f.Add([]byte(`{"paths":{"/p":{"options":{}, "x-amazon-apigateway-any-method":{"x-amazon-apigateway-integration":{"type":"http_proxy"}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		for _, rest := range []bool{true, false} {
			d := &apiDef{rest: rest, models: map[string]string{}}
			if err := d.readDefinitionBody(doc, map[string]bool{"GET /skip": true}); err != nil {
				continue
			}
			for _, rt := range d.bodyRoutes {
				method, path, ok := strings.Cut(rt.key, " ")
				if (!ok || method == "" || path == "") && rt.key != "$default" || rt.key == "GET /skip" {
					t.Fatalf("route key %q", rt.key)
				}
				if rt.integration.IntegrationUri == nil || *rt.integration.IntegrationUri == "" || rt.integration.PayloadFormatVersion == nil {
					t.Fatalf("route %s without an integration", rt.key)
				}
				if rt.authorizer != "" && !d.hasAuthorizer(rt.authorizer) {
					t.Fatalf("route %s uses undefined authorizer %s", rt.key, rt.authorizer)
				}
				for _, m := range rt.models {
					if _, ok := d.models[m]; !ok {
						t.Fatalf("route %s uses undefined model %s", rt.key, m)
					}
				}
			}
		}
	})
}

// A route takes one authorizer: an operation asking for two is refused, in
// whatever order the document lists them; an API key comes on top of one.
func TestReadDefinitionBodyOneAuthorizerPerRoute(t *testing.T) {
	doc := func(security string) map[string]any {
		var m map[string]any
		src := `{"components":{"securitySchemes":{
			"a":{"x-amazon-apigateway-authorizer":{"type":"token","authorizerUri":"u"}},
			"b":{"x-amazon-apigateway-authorizer":{"type":"request","authorizerUri":"u"}},
			"k":{"type":"apiKey","name":"x-api-key","in":"header"}}},
			"paths":{"/p":{"get":{"security":` + security + `,"x-amazon-apigateway-integration":{"type":"aws_proxy","uri":"u"}}}}}`
		if err := json.Unmarshal([]byte(src), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for i := range 5 { // map order varies between runs
		d := &apiDef{rest: true, models: map[string]string{}}
		if err := d.readDefinitionBody(doc(`[{"a":[],"b":[]}]`), nil); err == nil || !strings.Contains(err.Error(), "more than one") {
			t.Fatalf("run %d: two authorizers on one route: %v", i, err)
		}
	}
	d := &apiDef{rest: true, models: map[string]string{}}
	if err := d.readDefinitionBody(doc(`[{"k":[],"b":[]}]`), nil); err != nil {
		t.Fatal(err)
	}
	if rt := d.bodyRoutes[0]; !rt.apiKey || rt.authorizer != "b" || rt.authType != "CUSTOM" {
		t.Errorf("key and authorizer: %+v", rt)
	}
}
