package manifest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// corpusDir is the SAM translator's test corpus, checked out beside the repo.
const corpusDir = "../../../shared/corpora/sam-translator"

var hashSuffix = regexp.MustCompile(`[0-9a-f]{10}$`)

// knownFailures reads testdata/corpus_known_failures.txt: "name: reason".
func knownFailures(t *testing.T) map[string]string {
	f, err := os.Open("testdata/corpus_known_failures.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("known failure %q needs a reason", line)
		}
		out[strings.TrimSpace(name)] = strings.TrimSpace(reason)
	}
	return out
}

// qualifies reports whether a template only uses resource and event types
// Lamina supports (the corpus subset the conformance test holds us to).
func qualifies(tmpl *Template) bool {
	for _, r := range tmpl.Resources {
		if !IsSupportedType(r.Type) {
			return false
		}
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		evs := r.Properties.Get("Events")
		if evs == nil || evs.Kind != Map {
			continue
		}
		for _, ev := range evs.Fields {
			typ, _ := ev.Value.Get("Type").AsString()
			if _, ok := eventProperties[typ]; !ok {
				return false
			}
		}
	}
	return true
}

type expected struct {
	Resources map[string]struct {
		Type string
	}
}

// checkIDs returns the generated (id, type) pairs missing from the expected output.
func checkIDs(app *Application, exp expected) []string {
	var missing []string
	for _, r := range app.Resources {
		if r.CFNType == "" {
			continue // Lamina-only (routes)
		}
		if e, ok := exp.Resources[r.LogicalID]; ok && e.Type == r.CFNType {
			continue
		}
		found := false
		if prefix := hashSuffix.ReplaceAllString(r.LogicalID, ""); prefix != r.LogicalID {
			for id, e := range exp.Resources {
				if e.Type == r.CFNType && strings.HasPrefix(id, prefix) && hashSuffix.MatchString(id) && len(id) == len(r.LogicalID) {
					found = true
					break
				}
			}
		}
		if !found {
			missing = append(missing, r.LogicalID+" ("+r.CFNType+")")
		}
	}
	sort.Strings(missing)
	return missing
}

func TestCorpusConformance(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(corpusDir, "input", "*.yaml"))
	if err != nil || len(inputs) == 0 {
		if _, statErr := os.Stat(corpusDir); os.IsNotExist(statErr) {
			t.Skipf("SAM translator corpus not found at %s (the repo's CI clones ../shared beside it)", corpusDir)
		}
		t.Fatalf("no corpus inputs: %v", err)
	}
	known := knownFailures(t)
	var qualifying, passed, failed, successes, errorCases, notGenerated int
	notGeneratedByType := map[string]int{}
	seen := map[string]bool{}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		if strings.HasPrefix(name, "translate_") || strings.HasPrefix(name, "feature_toggle_") {
			continue
		}
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		isErr := strings.HasPrefix(name, "error_")
		tmpl, readErr := Read(filepath.Base(in), data)
		if readErr != nil {
			if _, ok := known[name]; ok {
				seen[name] = true // refused by Read, before the type filter
			} else if !isErr {
				t.Errorf("%s: read: %v", name, readErr)
			}
			continue
		}
		if !qualifies(tmpl) {
			continue
		}
		qualifying++
		problem := ""
		app, err := Expand(tmpl, Options{Pseudo: Pseudo{Region: "ap-southeast-1"}, Parameters: dummyParameters(tmpl)})
		if isErr {
			errorCases++
			if err == nil {
				problem = "error template accepted"
			}
		} else {
			successes++
			if err != nil {
				problem = "expand: " + err.Error()
			} else {
				var exp expected
				raw, rerr := os.ReadFile(filepath.Join(corpusDir, "output", name+".json"))
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err := json.Unmarshal(raw, &exp); err != nil {
					t.Fatalf("%s: expected output: %v", name, err)
				}
				if missing := checkIDs(app, exp); len(missing) > 0 {
					problem = "ids not in SAM's output: " + strings.Join(missing, ", ")
				}
				notGenerated += countNotGenerated(app, exp, notGeneratedByType)
			}
		}
		if reason, ok := known[name]; ok {
			seen[name] = true
			if problem == "" {
				t.Errorf("%s passes now; remove it from corpus_known_failures.txt (%s)", name, reason)
			}
			failed++
			continue
		}
		if problem != "" {
			failed++
			t.Errorf("%s: %s", name, problem)
			continue
		}
		passed++
	}
	for name := range known {
		if !seen[name] {
			t.Errorf("corpus_known_failures.txt lists %s, which is not a qualifying corpus template", name)
		}
	}
	t.Logf("corpus: %d of %d templates qualify (%d success, %d error cases); %d pass, %d known failures",
		qualifying, len(inputs), successes, errorCases, passed, failed)
	// Informational: resources SAM generates that Lamina does not (custom
	// domains, CodeDeploy, usage plans, authorizer permissions, and resources
	// whose Condition is false: SAM passes conditions on, Lamina evaluates
	// them); the strict check above is the other direction.
	t.Logf("SAM resources of the passing success templates not generated by Lamina: %d %v", notGenerated, notGeneratedByType)
}

// dummyParameters supplies a value for every parameter without a Default, as
// a deploy would with --parameter-overrides (the translator needs none).
func dummyParameters(t *Template) map[string]string {
	out := map[string]string{}
	for _, p := range t.Parameters {
		if p.Default != nil {
			continue
		}
		switch {
		case len(p.AllowedValues) > 0:
			out[p.Name] = p.AllowedValues[0]
		case p.Type == "Number" || p.Type == "List<Number>":
			out[p.Name] = "1"
		default:
			out[p.Name] = "dummy"
		}
	}
	return out
}

// countNotGenerated counts SAM's output resources with no Lamina resource of
// the same id (hash-suffixed ids by prefix), by CloudFormation type.
func countNotGenerated(app *Application, exp expected, byType map[string]int) int {
	n := 0
	for id, e := range exp.Resources {
		if app.Resource(id) != nil {
			continue
		}
		if prefix := hashSuffix.ReplaceAllString(id, ""); prefix != id {
			found := false
			for _, r := range app.Resources {
				if strings.HasPrefix(r.LogicalID, prefix) && len(r.LogicalID) == len(id) && r.CFNType == e.Type {
					found = true
					break
				}
			}
			if found {
				continue
			}
		}
		byType[e.Type]++
		n++
	}
	return n
}
