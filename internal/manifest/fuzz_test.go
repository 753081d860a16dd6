package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary bytes through Read and Expand: they may refuse
// the input, never panic.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !Sub '${A.Arn}${!B}${'\n"))
	f.Add([]byte("a: &a [*a, *a]\nResources: *a\n"))
	f.Add([]byte(`{"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"InlineCode": "x", "Handler": "h", "Runtime": "r", "Events": {"E": {"Type": "HttpApi"}}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, err := Read("template.yaml", data)
		if err != nil {
			return
		}
		app, err := Expand(tmpl, Options{AllowUnsupported: true})
		if err != nil {
			return
		}
		for _, r := range app.Order() {
			_ = r.Digest()
			_, _ = Resolve(r.Properties, MapResolver{})
		}
	})
}
