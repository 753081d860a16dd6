package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const includingTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: api/openapi.yaml
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Runtime: provided.al2023
      Handler: bootstrap
`

const includedOpenAPI = `openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations
  /more:
    Fn::Transform: {Name: AWS::Include, Parameters: {Location: more.yaml}}
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// An AWS::Include snippet (and one it includes, relative to itself)
// replaces its node, and its intrinsics are evaluated like the template's:
// the API depends on the function its document names.
func TestLoadAWSInclude(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"template.yaml":    includingTemplate,
		"api/openapi.yaml": includedOpenAPI,
		"api/more.yaml":    "post: {x-amazon-apigateway-integration: {type: aws_proxy, uri: !GetAtt Fn.Arn}}\n",
	})
	data, _ := os.ReadFile(filepath.Join(dir, "template.yaml"))
	app, err := Load(filepath.Join(dir, "template.yaml"), data, Options{Pseudo: Pseudo{StackName: "s", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	api := app.Resource("Api")
	spec := api.Spec.(*APISpec)
	body := spec.DefinitionBody
	if v, _ := body.Get("openapi").AsString(); v != "3.0.1" {
		t.Fatalf("DefinitionBody %v: the snippet was not included", body.Interface())
	}
	uri := body.Get("paths").Get("/pets").Get("get").Get("x-amazon-apigateway-integration").Get("uri")
	if refs := uri.References(); len(refs) != 1 || refs[0] != "Fn" {
		t.Errorf("the snippet's !Sub references %v, want [Fn]", refs)
	}
	if s := uri.String(); !strings.Contains(s, "eu-west-1") {
		t.Errorf("AWS::Region not substituted in %s", s)
	}
	if more := body.Get("paths").Get("/more").Get("post"); more == nil {
		t.Error("the nested include (relative to the snippet) is missing")
	}
	if !containsString(api.DependsOn, "Fn") {
		t.Errorf("the API depends on %v, want the function its document names", api.DependsOn)
	}
	// What was included is recorded, and loads the same template again
	// once the files are gone.
	inc := app.Template.Included
	if len(inc) != 2 || string(inc["api/openapi.yaml"]) != includedOpenAPI || inc["api/more.yaml"] == nil {
		t.Fatalf("included %v, want api/openapi.yaml and api/more.yaml", slicesOfKeys(inc))
	}
	if err := os.RemoveAll(filepath.Join(dir, "api")); err != nil {
		t.Fatal(err)
	}
	again, err := Load(filepath.Join(dir, "template.yaml"), data, Options{Pseudo: Pseudo{StackName: "s", Region: "eu-west-1"},
		ReadInclude: func(path string) ([]byte, error) {
			if b, ok := inc[IncludeKey(dir, path)]; ok {
				return b, nil
			}
			return nil, os.ErrNotExist
		}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Resource("Api").Digest() != api.Digest() {
		t.Error("the template loaded from the recorded snippets differs")
	}
}

func slicesOfKeys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLoadAWSIncludeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, location, snippet, want string
	}{
		{"missing file", "nope.yaml", "", "nope.yaml"},
		{"s3", "s3://bucket/api.yaml", "", "local files"},
		{"broken snippet", "api.yaml", "paths: [", "AWS::Include of api.yaml: not valid YAML"},
		{"includes itself", "api.yaml", "Fn::Transform: {Name: AWS::Include, Parameters: {Location: api.yaml}}\n", "nested includes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := strings.Replace(includingTemplate, "api/openapi.yaml", tc.location, 1)
			dir := writeFiles(t, map[string]string{"template.yaml": tmpl, "api.yaml": tc.snippet})
			_, err := Load(filepath.Join(dir, "template.yaml"), []byte(tmpl), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
