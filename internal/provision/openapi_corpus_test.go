package provision

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// corpusInputs is the SAM translator's test corpus, beside the repository.
const corpusInputs = "../../../shared/corpora/sam-translator/input"

// everythingDeployed resolves every reference, as if the whole stack were
// deployed: Ref X is "x-id", GetAtt X.Arn a function ARN named X.
type everythingDeployed struct{}

func (everythingDeployed) Ref(id string) (string, bool) { return strings.ToLower(id) + "-id", true }
func (everythingDeployed) GetAtt(id, attr string) (string, bool) {
	return "arn:aws:lambda:us-east-1:123456789012:function:" + id, true
}

// TestOpenAPICorpus imports the inline OpenAPI documents of the SAM
// translator's corpus: each is imported or refused with an error that
// names DefinitionBody, never a panic; most of the ones with aws_proxy
// integrations import.
func TestOpenAPICorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusInputs, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus at %s: %v", corpusInputs, err)
	}
	var imported, refused, bodies, routes int
	reasons := map[string]int{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "DefinitionBody") {
			continue
		}
		app, err := manifest.Load(file, data, manifest.Options{AllowUnsupported: true, Pseudo: manifest.Pseudo{StackName: "corpus"}})
		if err != nil {
			continue // the corpus's error cases
		}
		for _, r := range app.Resources {
			as, ok := r.Spec.(*manifest.APISpec)
			if !ok || as.DefinitionBody == nil {
				continue
			}
			doc, err := plain(as.DefinitionBody, everythingDeployed{})
			if err != nil {
				continue // intrinsics the stand-in resolver does not know
			}
			bodies++
			d := &apiDef{rest: r.Type == manifest.TypeRestAPI, models: map[string]string{}}
			err = d.readDefinitionBody(asMap(doc), eventRouteKeys(app, r.LogicalID))
			if err != nil {
				if !strings.HasPrefix(err.Error(), "DefinitionBody: ") {
					t.Errorf("%s %s: an error that does not say where: %v", filepath.Base(file), r.LogicalID, err)
				}
				refused++
				reason := err.Error()
				if i := strings.Index(reason, ": "); i > 0 {
					reason = reason[i+2:]
				}
				if j := strings.IndexAny(reason, "\"("); j > 0 {
					reason = reason[:j]
				}
				reasons[reason]++
				continue
			}
			imported++
			routes += len(d.bodyRoutes)
		}
	}
	t.Logf("%d documents: %d imported (%d routes), %d refused", bodies, imported, routes, refused)
	for r, n := range reasons {
		t.Logf("  refused %d× %s", n, r)
	}
	if bodies < 20 || imported < bodies/2 || routes == 0 {
		t.Errorf("%d documents, %d imported with %d routes: want most of them imported", bodies, imported, routes)
	}
}
