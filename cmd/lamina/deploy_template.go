package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/spf13/cobra"
)

// templateFlags are the options of `lamina deploy -t TEMPLATE`.
type templateFlags struct {
	Template         string
	Stack            string
	Overrides        []string
	AllowUnsupported bool
	DryRun           bool
}

const templateHelp = `

Template mode (-t/--template): read an AWS SAM or CloudFormation template,
expand it locally (parameters, conditions, Globals, SAM resources) and show
the deploy plan: each resource in dependency order with what deploying would
do to it (create, update, delete or none) and why. The stack is named after
the template's directory unless --stack is given.

Then it builds each function (Go functions as static linux bootstrap
binaries, other runtimes packaged as they are; cached by content), compares
the template with the stack's stored state, shows the plan, applies it in
dependency order through Lamina's AWS APIs with progress as it goes, removes
what the template no longer has, stores the new state on the server and
prints the outputs (AWS API URLs with their local address). A second deploy
of the same template changes nothing and says "no changes". When a resource
fails, the deploy stops, deletes what it created and names the resource;
what the stack had keeps working. --dry-run only prints the plan.`

const templateExamples = `

  # Deploy a SAM application (the stack is named after its directory)
  lamina deploy -t template.yaml

  # The plan of a SAM application, as a table
  lamina deploy -t template.yaml --dry-run

  # With parameters, a stack name and JSON output
  lamina deploy -t app/template.yaml --stack orders --dry-run --output json \
      --parameter-overrides Env=prod --parameter-overrides Replicas=3`

// singleFunctionFlags belong to `lamina deploy PATH` only.
var singleFunctionFlags = []string{"name", "runtime", "handler", "role", "env", "timeout", "memory", "description", "publish", "arch"}

// withTemplateMode adds template mode to the deploy command: its flags, its
// help, and dispatch to runDeployTemplate when -t is given.
func withTemplateMode(cmd *cobra.Command, g *globals) *cobra.Command {
	var tf templateFlags
	fl := cmd.Flags()
	fl.StringVarP(&tf.Template, "template", "t", "", "deploy the SAM/CloudFormation template at this path instead of one function")
	fl.StringVar(&tf.Stack, "stack", "", "stack name with -t (default: the template directory's name)")
	fl.StringArrayVar(&tf.Overrides, "parameter-overrides", nil, "template parameter KEY=VALUE with -t (repeatable; also \"K1=V1 K2=V2\")")
	fl.BoolVar(&tf.AllowUnsupported, "allow-unsupported", false, "with -t, skip resources of types Lamina does not deploy (with warnings) instead of failing")
	fl.BoolVar(&tf.DryRun, "dry-run", false, "with -t, print the plan and change nothing")
	cmd.Use += "\n  lamina deploy -t TEMPLATE [--dry-run] [--stack NAME] [--parameter-overrides K=V ...]"
	cmd.Short += "; with -t, deploy a SAM template as a stack"
	cmd.Long += templateHelp
	cmd.Example += templateExamples

	single, run := cmd.Args, cmd.RunE
	cmd.Args = func(c *cobra.Command, args []string) error {
		if tf.Template == "" {
			return single(c, args)
		}
		if len(args) != 0 {
			return fmt.Errorf("%s -t takes no PATH (got %q): the template names each function's CodeUri", c.CommandPath(), args)
		}
		return nil
	}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if tf.Template == "" {
			for _, name := range []string{"stack", "parameter-overrides", "allow-unsupported", "dry-run"} {
				if c.Flags().Changed(name) {
					return fmt.Errorf("--%s needs -t/--template", name)
				}
			}
			return run(c, args)
		}
		return runDeployTemplate(c, g, &tf)
	}
	return cmd
}

func runDeployTemplate(cmd *cobra.Command, g *globals, tf *templateFlags) error {
	for _, name := range singleFunctionFlags {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s is for deploying one function (lamina deploy PATH); with -t the template sets it", name)
		}
	}
	ctx := cmd.Context()
	d, err := newStackDeployer(ctx, g, tf, cmd.OutOrStdout(), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if tf.DryRun {
		return d.dryRun(ctx, g.Output == outputJSON)
	}
	res, err := d.run(ctx)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		return writeJSON(cmd.OutOrStdout(), res.State)
	}
	return writeOutputs(cmd.OutOrStdout(), res.State)
}

// dryRun prints the plan against the stored stack (or an empty one when no
// server answers) without building or applying anything.
func (d *stackDeployer) dryRun(ctx context.Context, asJSON bool) error {
	app, _, err := d.load()
	if err != nil {
		return err
	}
	prev, _, err := d.store.Load(ctx, d.stack)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(d.errw, "note: no Lamina at %s: planning against an empty stack\n", d.g.Endpoint)
		prev = nil
	case err != nil:
		return err
	}
	if prev == nil {
		prev = &deploy.StackState{Stack: d.stack}
	}
	// Without building, code changes cannot be seen: definitions only.
	plan, err := deploy.ComputePlan(app, prev, nil)
	if err != nil {
		return err
	}
	plan.Stack = d.stack
	if asJSON {
		return plan.WriteJSON(d.out)
	}
	fmt.Fprintln(d.errw, "note: --dry-run compares definitions only; code changes show when deploying")
	return plan.WriteTable(d.out)
}

// stackName is CloudFormation's rule for stack names.
var stackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// parameterKey is CloudFormation's rule for parameter names.
var parameterKey = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// stackFromPath names a stack after the template's directory.
func stackFromPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("template path: %w", err)
	}
	return filepath.Base(filepath.Dir(abs)), nil
}

// parseOverrides reads --parameter-overrides: KEY=VALUE or SAM's
// ParameterKey=KEY,ParameterValue=VALUE, several per argument separated by
// spaces. A later KEY wins.
func parseOverrides(args []string) (map[string]string, error) {
	out := map[string]string{}
	for _, arg := range args {
		fields := strings.Fields(arg)
		if len(fields) == 0 {
			return nil, fmt.Errorf("invalid --parameter-overrides %q: want KEY=VALUE", arg)
		}
		for _, f := range fields {
			k, v, err := parseOverride(f)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
	}
	return out, nil
}

func parseOverride(s string) (string, string, error) {
	var k, v string
	if rest, ok := strings.CutPrefix(s, "ParameterKey="); ok {
		var found bool
		k, v, found = strings.Cut(rest, ",ParameterValue=")
		if !found {
			return "", "", fmt.Errorf("invalid --parameter-overrides %q: want ParameterKey=KEY,ParameterValue=VALUE", s)
		}
	} else {
		var ok bool
		k, v, ok = strings.Cut(s, "=")
		if !ok {
			return "", "", fmt.Errorf("invalid --parameter-overrides %q: want KEY=VALUE", s)
		}
	}
	if !parameterKey.MatchString(k) {
		return "", "", fmt.Errorf("invalid --parameter-overrides %q: parameter names are letters and digits", s)
	}
	return k, v, nil
}
