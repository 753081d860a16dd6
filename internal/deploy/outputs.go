package deploy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// ResolveOutputs resolves the template's outputs over a deployed state. A
// value that builds an AWS API Gateway URL for an API of the stack also
// gets its Lamina address in Output.Local.
func ResolveOutputs(app *manifest.Application, s *StackState) ([]Output, error) {
	out := make([]Output, 0, len(app.Outputs))
	for _, o := range app.Outputs {
		v, err := manifest.Resolve(o.Value, s.Resolver())
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.Name, err)
		}
		text, err := outputText(v)
		if err != nil {
			return nil, fmt.Errorf("output %s (line %d): %w", o.Name, o.Pos.Line, err)
		}
		out = append(out, Output{Name: o.Name, Value: text, Description: o.Description, Local: localURL(text, s)})
	}
	return out, nil
}

// outputText renders a resolved output: a scalar as itself, a list joined
// with commas (as CloudFormation shows Fn::GetAZs and the like).
func outputText(v *manifest.Value) (string, error) {
	if v == nil {
		return "", nil
	}
	if s, ok := v.AsString(); ok {
		return s, nil
	}
	if v.Kind == manifest.List {
		parts := make([]string, 0, len(v.Items))
		for _, it := range v.Items {
			s, err := outputText(it)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	}
	if refs := v.References(); len(refs) > 0 {
		return "", fmt.Errorf("refers to %s, which has no such value after deploying", strings.Join(refs, ", "))
	}
	return "", fmt.Errorf("value %s is not a string", v)
}

// awsAPIURL matches the URLs templates build for API Gateway:
// https://{api}.execute-api.{region}.amazonaws.com[/path].
var awsAPIURL = regexp.MustCompile(`^https://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(/.*)?$`)

// localFunctionURL matches the function URLs Lamina hands out
// (http://{id}.lambda-url.{region}.localhost:{port}/...), which need DNS
// for *.localhost names; the gateway also serves them under a path.
var localFunctionURL = regexp.MustCompile(`^http://([a-z0-9]+)\.lambda-url\.[a-z0-9-]+\.localhost(:\d+)?(/.*)?$`)

// localURL rewrites an AWS API Gateway URL of one of the stack's APIs to
// where Lamina's gateway serves it; "" when v is not such a URL.
func localURL(v string, s *StackState) string {
	if m := localFunctionURL.FindStringSubmatch(v); m != nil {
		return "http://127.0.0.1" + m[2] + "/_lamina/function-urls/" + m[1] + m[3]
	}
	m := awsAPIURL.FindStringSubmatch(v)
	if m == nil {
		return ""
	}
	for _, rs := range s.Resources {
		if (rs.Type == manifest.TypeHTTPAPI || rs.Type == manifest.TypeRestAPI) && rs.PhysicalID == m[1] {
			base := LocalAPIBase(rs.Attrs["ApiEndpoint"], m[1])
			if base == "" {
				return ""
			}
			return base + m[2]
		}
	}
	return ""
}

// LocalAPIBase turns an API's ApiEndpoint into the gateway's path form
// (http://127.0.0.1:3000/{api}), which needs no DNS for *.localhost names.
// Other endpoints are returned as they are.
func LocalAPIBase(endpoint, apiID string) string {
	if endpoint == "" {
		return ""
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	if strings.HasPrefix(u.Hostname(), apiID+".execute-api.") && strings.HasSuffix(u.Hostname(), ".localhost") {
		host := "127.0.0.1"
		if p := u.Port(); p != "" {
			host += ":" + p
		}
		return u.Scheme + "://" + host + "/" + apiID
	}
	return strings.TrimSuffix(endpoint, "/")
}
