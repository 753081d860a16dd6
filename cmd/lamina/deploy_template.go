package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
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

Until stacks are stored, --dry-run plans against an empty stack, so every
resource shows as "create". Applying templates is not available yet: without
--dry-run the plan is printed and the command fails.`

const templateExamples = `

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
	cmd.Use += "\n  lamina deploy -t TEMPLATE --dry-run [--stack NAME] [--parameter-overrides K=V ...]"
	cmd.Short += "; with -t, plan a template's deploy"
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
	params, err := parseOverrides(tf.Overrides)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(tf.Template)
	if err != nil {
		return fmt.Errorf("read template: %w", err)
	}
	stack := tf.Stack
	if stack == "" {
		stack, err = stackFromPath(tf.Template)
		if err != nil {
			return err
		}
	}
	if !stackName.MatchString(stack) {
		return fmt.Errorf("invalid stack name %q: want letters, digits and hyphens, starting with a letter (at most 128)", stack)
	}
	app, err := manifest.Load(tf.Template, data, manifest.Options{
		Parameters:       params,
		Pseudo:           manifest.Pseudo{StackName: stack, Region: g.Region},
		AllowUnsupported: tf.AllowUnsupported,
	})
	if err != nil {
		return err // names file:line and the resource
	}
	stderr := cmd.ErrOrStderr()
	for _, w := range app.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	// No stored stack state yet: plan against an empty stack.
	plan, err := deploy.ComputePlan(app, &deploy.StackState{Stack: stack}, nil)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		err = plan.WriteJSON(cmd.OutOrStdout())
	} else {
		fmt.Fprintln(stderr, "note: until stacks are stored, --dry-run plans against an empty stack")
		err = plan.WriteTable(cmd.OutOrStdout())
	}
	if err != nil {
		return err
	}
	if !tf.DryRun {
		return errors.New("applying templates is not available yet: nothing was deployed (use --dry-run to only show the plan)")
	}
	return nil
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
