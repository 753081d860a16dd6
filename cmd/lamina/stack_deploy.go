package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/lamina-dev/lamina/internal/build"
	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
	"github.com/lamina-dev/lamina/internal/provision"
)

// stackDeployer runs one template deploy: load, build, plan, apply, store
// the state and print the outputs. `lamina deploy -t` runs it once and
// `lamina up` again after every change.
type stackDeployer struct {
	g      *globals
	tf     *templateFlags
	out    io.Writer // plan, outputs
	errw   io.Writer // progress, warnings
	store  deploy.StateStore
	prov   deploy.Provisioner
	build  *build.Builder
	stack  string
	params map[string]string
}

// newStackDeployer resolves the stack name and parameters and connects the
// state store, provisioner and builder to the endpoint.
func newStackDeployer(ctx context.Context, g *globals, tf *templateFlags, out, errw io.Writer) (*stackDeployer, error) {
	d := &stackDeployer{g: g, tf: tf, out: out, errw: errw}
	var err error
	if d.params, err = parseOverrides(tf.Overrides); err != nil {
		return nil, err
	}
	d.stack = tf.Stack
	if d.stack == "" {
		if d.stack, err = stackFromPath(tf.Template); err != nil {
			return nil, err
		}
	}
	if !stackName.MatchString(d.stack) {
		return nil, fmt.Errorf("invalid stack name %q: want letters, digits and hyphens, starting with a letter (at most 128)", d.stack)
	}
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	d.store = provision.NewStackClient(endpoint, &http.Client{Timeout: 30 * time.Second})
	d.prov = provision.New(provision.Config{AWS: cfg, Endpoint: endpoint})
	d.build, err = build.New(build.Options{Progress: errw})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// load reads and expands the template; it returns the template's text too.
func (d *stackDeployer) load() (*manifest.Application, []byte, error) {
	data, err := os.ReadFile(d.tf.Template)
	if err != nil {
		return nil, nil, fmt.Errorf("read template: %w", err)
	}
	app, err := manifest.Load(d.tf.Template, data, manifest.Options{
		Parameters:       d.params,
		Pseudo:           manifest.Pseudo{StackName: d.stack, Region: d.g.Region},
		AllowUnsupported: d.tf.AllowUnsupported,
	})
	if err != nil {
		return nil, nil, err // names file:line and the resource
	}
	for _, w := range app.Warnings {
		fmt.Fprintln(d.errw, "warning:", w)
	}
	return app, data, nil
}

// loadPrevious expands the template the stack was last deployed from, so
// that a failed deploy can put back what it updated; nil when the state
// has no template text (deployed by an older Lamina) or it no longer loads.
func (d *stackDeployer) loadPrevious(prev *deploy.StackState) *manifest.Application {
	if prev == nil || prev.TemplateBody == "" {
		return nil
	}
	dir := filepath.Dir(prev.Template)
	app, err := manifest.Load(prev.Template, []byte(prev.TemplateBody), manifest.Options{
		Parameters:       prev.Parameters,
		Pseudo:           manifest.Pseudo{StackName: d.stack, Region: d.g.Region},
		AllowUnsupported: true, // it was deployed
		// The snippets as they were then, not as the files are now.
		ReadInclude: func(path string) ([]byte, error) {
			key := manifest.IncludeKey(dir, path)
			if s, ok := prev.TemplateIncludes[key]; ok {
				return []byte(s), nil
			}
			return nil, fmt.Errorf("%s was not recorded by the previous deploy", key)
		},
	})
	if err != nil {
		fmt.Fprintf(d.errw, "warning: the stack's previous template does not load (%v); a failed deploy will not put updated resources back\n", err)
		return nil
	}
	return app
}

// buildAll builds every function's package, a few at a time.
func (d *stackDeployer) buildAll(ctx context.Context, app *manifest.Application) (map[string]*deploy.Code, error) {
	type job struct {
		id   string
		spec build.Spec
	}
	var jobs []job
	for _, r := range app.Resources {
		fs, ok := r.Spec.(*manifest.FunctionSpec)
		if !ok || r.Type != manifest.TypeFunction {
			continue
		}
		codeURI := fs.CodeURI
		if codeURI == "" && fs.InlineCode == "" && fs.CodeS3 == nil && fs.ImageURI == nil {
			// SAM's default CodeUri is the template's directory.
			codeURI = "."
		}
		if codeURI == "" {
			return nil, fmt.Errorf("function %s: Lamina deploys code from a local CodeUri (a directory or .zip); S3, inline and image code are not supported", r.LogicalID)
		}
		jobs = append(jobs, job{r.LogicalID, build.Spec{
			Name: r.LogicalID, TemplateDir: app.Template.Dir, CodeURI: codeURI,
			Runtime: fs.Runtime, Handler: fs.Handler, Architecture: fs.Architecture,
			BuildMethod: fs.BuildMethod, BuildProperties: stringMap(fs.BuildProperties),
		}})
	}
	code := make(map[string]*deploy.Code, len(jobs))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, runtime.NumCPU()))
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			art, err := d.build.Build(ctx, j.spec)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			code[j.id] = &deploy.Code{Zip: art.Zip, SHA256: art.SHA256}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return code, nil
}

// stringMap reads Metadata.BuildProperties' scalar entries.
func stringMap(v *manifest.Value) map[string]string {
	if v == nil || v.Kind != manifest.Map {
		return nil
	}
	out := map[string]string{}
	for _, f := range v.Fields {
		if s, ok := f.Value.AsString(); ok {
			out[f.Key] = s
		}
	}
	return out
}

// deployResult is what one deploy did.
type deployResult struct {
	Plan  *deploy.Plan
	State *deploy.StackState
}

// run deploys the template once.
func (d *stackDeployer) run(ctx context.Context) (*deployResult, error) {
	app, body, err := d.load()
	if err != nil {
		return nil, err
	}
	code, err := d.buildAll(ctx, app)
	if err != nil {
		return nil, err
	}
	prev, rev, err := d.store.Load(ctx, d.stack)
	if err != nil {
		return nil, d.endpointError(err)
	}
	codeHashes := make(map[string]string, len(code))
	for id, c := range code {
		codeHashes[id] = c.SHA256
	}
	if prev == nil {
		prev = &deploy.StackState{Stack: d.stack}
	}
	plan, err := deploy.ComputePlan(app, prev, codeHashes)
	if err != nil {
		return nil, err
	}
	plan.Stack = d.stack
	if !plan.HasChanges() && prev.Status == deploy.StatusDeployed {
		fmt.Fprintf(d.errw, "stack %s: no changes\n", d.stack)
		// Outputs may still differ (an output added to the template).
		outputs, err := deploy.ResolveOutputs(app, prev)
		if err != nil {
			return nil, err
		}
		return &deployResult{Plan: plan, State: withOutputs(prev, outputs)}, nil
	}
	if err := plan.WriteTable(d.errw); err != nil {
		return nil, err
	}
	start := time.Now()
	next, applyErr := deploy.Apply(ctx, plan, app, prev, deploy.ApplyOptions{
		Provisioner: d.prov, Code: code, Progress: d.progress,
		Template: d.tf.Template, TemplateBody: string(body), TemplateIncludes: stringValues(app.Template.Included), Parameters: d.params,
		Previous: d.loadPrevious(prev),
	})
	if next != nil {
		// Store what exists even after a failure, so the next deploy
		// starts from the truth.
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := d.store.Save(saveCtx, next, rev); err != nil {
			return nil, errors.Join(applyErr, fmt.Errorf("store the state of stack %s: %w", d.stack, err))
		}
	}
	if applyErr != nil {
		return nil, fmt.Errorf("deploy of stack %s failed: %w", d.stack, applyErr)
	}
	fmt.Fprintf(d.errw, "stack %s deployed in %s (%s)\n", d.stack, time.Since(start).Round(time.Millisecond), plan.Summary())
	return &deployResult{Plan: plan, State: next}, nil
}

// stringValues converts a map of texts.
func stringValues(m map[string][]byte) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func withOutputs(s *deploy.StackState, outputs []deploy.Output) *deploy.StackState {
	c := *s
	c.Outputs = outputs
	return &c
}

// progress prints one line per finished step.
func (d *stackDeployer) progress(e deploy.Event) {
	switch e.Phase {
	case deploy.PhaseDone:
		fmt.Fprintf(d.errw, "  %-8s %-32s %-18s %s (%s)\n", e.Action, e.LogicalID, e.ResourceType, e.PhysicalID, e.Duration.Round(time.Millisecond))
	case deploy.PhaseFailed:
		fmt.Fprintf(d.errw, "  FAILED   %-32s %-18s %v\n", e.LogicalID, e.ResourceType, e.Err)
	case deploy.PhaseRollback:
		fmt.Fprintf(d.errw, "  rollback %-32s %-18s %s\n", e.LogicalID, e.ResourceType, e.PhysicalID)
	}
}

// endpointError explains a refused connection.
func (d *stackDeployer) endpointError(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no Lamina at %s (start one with `lamina serve`, or use `lamina up`): %w", d.g.Endpoint, err)
	}
	return err
}

// writeOutputs prints the stack's outputs as a table.
func writeOutputs(w io.Writer, s *deploy.StackState) error {
	if len(s.Outputs) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tVALUE")
	for _, o := range s.Outputs {
		v := o.Value
		if o.Local != "" {
			v = o.Local + "   (in AWS: " + o.Value + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\n", o.Name, v)
	}
	return tw.Flush()
}

// stackFunctions lists the physical names of the stack's functions.
func stackFunctions(s *deploy.StackState) []string {
	var out []string
	for _, rs := range s.Resources {
		if rs.Type == manifest.TypeFunction && rs.PhysicalID != "" {
			out = append(out, rs.PhysicalID)
		}
	}
	sort.Strings(out)
	return out
}

// templateDir is the directory to watch for a template's code.
func templateDir(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Dir(path)
	}
	return filepath.Dir(abs)
}
