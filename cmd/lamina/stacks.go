package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
	"github.com/lamina-dev/lamina/internal/provision"
)

func newStacksCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stacks",
		Short: "List, describe and delete the stacks deployed from templates",
		Long: `A stack is everything one template deployed (lamina deploy -t / lamina up):
its resources with their physical names, the outputs, and the result of its
last deploy. The server keeps each stack's state, so these commands work from
any machine that reaches it.`,
		Example: `  lamina stacks list
  lamina stacks describe orders
  lamina stacks describe orders --output json
  lamina stacks delete orders`,
	}
	cmd.AddCommand(newStacksListCommand(g), newStacksDescribeCommand(g), newStacksDeleteCommand(g))
	return cmd
}

func (g *globals) stackStore(ctx context.Context) (deploy.StateStore, error) {
	_, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return provision.NewStackClient(endpoint, &http.Client{Timeout: 30 * time.Second}), nil
}

func newStacksListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stacks",
		Long: `List every stack the server keeps: its name, the result of its last deploy
(Deployed or Failed), how many resources it has, when it was last deployed and
from which template.`,
		Example: `  lamina stacks list
  lamina stacks list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := g.stackStore(cmd.Context())
			if err != nil {
				return err
			}
			stacks, err := store.List(cmd.Context())
			if err != nil {
				return err
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"stacks": stacks})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATUS\tRESOURCES\tUPDATED\tTEMPLATE")
			for _, s := range stacks {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.Stack, s.Status, len(s.Resources), s.UpdatedAt.Format(time.RFC3339), dash(s.Template))
			}
			return tw.Flush()
		},
	}
}

func newStacksDescribeCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "describe STACK",
		Short: "Show a stack's resources, outputs and last deploy",
		Long: `Show a stack: the result of its last deploy (and why it failed, if it did),
each resource's logical id, type and physical id (the function name, queue
URL, API id...), and the outputs with their local addresses. --output json
prints the whole stored state.`,
		Example: `  lamina stacks describe orders
  lamina stacks describe orders --output json | jq '.outputs'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.stackStore(cmd.Context())
			if err != nil {
				return err
			}
			s, _, err := store.Load(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("stack %q does not exist", args[0])
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Stack:     %s\nStatus:    %s\nUpdated:   %s\nTemplate:  %s\n", s.Stack, s.Status, s.UpdatedAt.Format(time.RFC3339), dash(s.Template))
			if s.Reason != "" {
				fmt.Fprintf(w, "Reason:    %s\n", s.Reason)
			}
			fmt.Fprintln(w)
			ids := make([]string, 0, len(s.Resources))
			for id := range s.Resources {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "LOGICAL ID\tTYPE\tPHYSICAL ID")
			for _, id := range ids {
				rs := s.Resources[id]
				fmt.Fprintf(tw, "%s\t%s\t%s\n", id, rs.Type, dash(rs.PhysicalID))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(s.Outputs) > 0 {
				fmt.Fprintln(w)
			}
			return writeOutputs(w, s)
		},
	}
}

func newStacksDeleteCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete STACK",
		Short: "Delete every resource of a stack, then the stack",
		Long: `Deletes the stack's resources in reverse dependency order (dependents
first), then its stored state. If a resource cannot be deleted, the stack
keeps the resources that remain and the command says which one failed; run
it again once the cause is fixed.`,
		Example: `  lamina stacks delete orders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, endpoint, err := g.awsConfig(ctx)
			if err != nil {
				return err
			}
			store := provision.NewStackClient(endpoint, &http.Client{Timeout: 30 * time.Second})
			prev, rev, err := store.Load(ctx, args[0])
			if err != nil {
				return err
			}
			if prev == nil {
				return fmt.Errorf("stack %q does not exist", args[0])
			}
			// Deleting is deploying an empty template.
			empty := &manifest.Application{}
			plan, err := deploy.ComputePlan(empty, prev, nil)
			if err != nil {
				return err
			}
			plan.Stack = prev.Stack
			d := &stackDeployer{g: g, errw: cmd.ErrOrStderr()}
			next, applyErr := deploy.Apply(ctx, plan, empty, prev, deploy.ApplyOptions{
				Provisioner: provision.New(provision.Config{AWS: cfg, Endpoint: endpoint}),
				Progress:    d.progress, Template: prev.Template, Parameters: prev.Parameters,
			})
			if applyErr != nil {
				if next != nil {
					if _, err := store.Save(context.WithoutCancel(ctx), next, rev); err != nil {
						return fmt.Errorf("%w (and storing what remains failed: %v)", applyErr, err)
					}
				}
				return fmt.Errorf("delete stack %s: %w", prev.Stack, applyErr)
			}
			if err := store.Delete(ctx, prev.Stack, rev); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "stack %s deleted (%d resources)\n", prev.Stack, len(plan.Changes))
			return nil
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
