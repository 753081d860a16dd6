package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/spf13/cobra"
)

func newFunctionsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "functions",
		Aliases: []string{"function", "fn"},
		Short:   "List, inspect and delete functions",
		Long: `List, inspect and delete the functions deployed on Lamina.

To create or update a function, use "lamina deploy".`,
		Example: `  lamina functions list
  lamina functions get hello
  lamina functions delete hello`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newFunctionsListCommand(g), newFunctionsGetCommand(g), newFunctionsDeleteCommand(g))
	return cmd
}

func newFunctionsListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List functions",
		Long: `List every function (its $LATEST version), following all pages of the
ListFunctions API. The table shows NAME, RUNTIME, MEMORY, TIMEOUT and
LAST MODIFIED; --output json prints the functions' full configurations.`,
		Example: `  lamina functions list
  lamina functions list --output json
  lamina functions list --endpoint http://10.0.0.5:4566`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.lambdaClient(cmd.Context())
			if err != nil {
				return err
			}
			all := &lambda.ListFunctionsOutput{Functions: []types.FunctionConfiguration{}}
			pages := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{})
			for pages.HasMorePages() {
				page, err := pages.NextPage(cmd.Context())
				if err != nil {
					return g.apiError(err)
				}
				all.Functions = append(all.Functions, page.Functions...)
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, all)
			}
			if len(all.Functions) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no functions yet; create one with: lamina deploy PATH --name NAME --runtime RUNTIME")
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "NAME\tRUNTIME\tMEMORY\tTIMEOUT\tLAST MODIFIED")
			for _, f := range all.Functions {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", str(f.FunctionName), runtimeOf(f), memoryOf(f), timeoutOf(f), str(f.LastModified))
			}
			return tw.Flush()
		},
	}
}

func newFunctionsGetCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME[:QUALIFIER]",
		Short: "Show a function's configuration",
		Long: `Show a function's configuration, code and tags. QUALIFIER is a version
number or an alias name; without it, $LATEST is shown. NAME may also be the
function's ARN.`,
		Example: `  lamina functions get hello
  lamina functions get hello:2
  lamina functions get hello:live --output json`,
		Args: exactArgs(1, "a function NAME[:QUALIFIER]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := g.lambdaClient(cmd.Context())
			if err != nil {
				return err
			}
			name, qualifier := splitQualifier(args[0])
			in := &lambda.GetFunctionInput{FunctionName: aws.String(name)}
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
			}
			res, err := client.GetFunction(cmd.Context(), in)
			if err != nil {
				return g.apiError(err)
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, res)
			}
			rows := configurationRows(res.Configuration)
			if res.Code != nil && res.Code.Location != nil {
				rows = append(rows, row{"Code location", *res.Code.Location})
			}
			if res.Concurrency != nil && res.Concurrency.ReservedConcurrentExecutions != nil {
				rows = append(rows, row{"Reserved concurrency", fmt.Sprint(*res.Concurrency.ReservedConcurrentExecutions)})
			}
			rows = append(rows, row{"Tags", pairs(res.Tags)})
			return writeRows(out, rows)
		},
	}
}

func newFunctionsDeleteCommand(g *globals) *cobra.Command {
	var qualifier string
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a function or one of its versions",
		Long: `Delete a function with all its versions and aliases, or with --qualifier
only one published version.`,
		Example: `  lamina functions delete hello
  lamina functions delete hello --qualifier 3`,
		Args: exactArgs(1, "a function NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := g.lambdaClient(cmd.Context())
			if err != nil {
				return err
			}
			in := &lambda.DeleteFunctionInput{FunctionName: aws.String(args[0])}
			what := "function " + args[0]
			if qualifier != "" {
				in.Qualifier = aws.String(qualifier)
				what = "version " + qualifier + " of function " + args[0]
			}
			res, err := client.DeleteFunction(cmd.Context(), in)
			if err != nil {
				return g.apiError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), res)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "deleted", what)
			return err
		},
	}
	cmd.Flags().StringVar(&qualifier, "qualifier", "", "delete only this published version")
	return cmd
}

// splitQualifier splits "name:qualifier"; an ARN is passed on whole, as the
// API accepts one with or without its qualifier.
func splitQualifier(s string) (name, qualifier string) {
	if strings.HasPrefix(s, "arn:") {
		return s, ""
	}
	name, qualifier, _ = strings.Cut(s, ":")
	return name, qualifier
}

func runtimeOf(f types.FunctionConfiguration) string {
	if f.Runtime == "" {
		return "-"
	}
	return string(f.Runtime)
}

func memoryOf(f types.FunctionConfiguration) string {
	if f.MemorySize == nil {
		return "-"
	}
	return fmt.Sprintf("%d MB", *f.MemorySize)
}

func timeoutOf(f types.FunctionConfiguration) string {
	if f.Timeout == nil {
		return "-"
	}
	return fmt.Sprintf("%ds", *f.Timeout)
}

// row is one line of a key/value block.
type row struct{ key, value string }

// configurationRows describes a function configuration for people.
func configurationRows(c *types.FunctionConfiguration) []row {
	if c == nil {
		return nil
	}
	var env map[string]string
	if c.Environment != nil {
		env = c.Environment.Variables
	}
	archs := make([]string, len(c.Architectures))
	for i, a := range c.Architectures {
		archs[i] = string(a)
	}
	state := string(c.State)
	if c.LastUpdateStatus != "" {
		state += " (last update " + string(c.LastUpdateStatus) + ")"
	}
	return []row{
		{"Name", str(c.FunctionName)},
		{"ARN", str(c.FunctionArn)},
		{"Version", str(c.Version)},
		{"Runtime", runtimeOf(*c)},
		{"Handler", str(c.Handler)},
		{"Architectures", strings.Join(archs, ", ")},
		{"Memory", memoryOf(*c)},
		{"Timeout", timeoutOf(*c)},
		{"Role", str(c.Role)},
		{"Description", str(c.Description)},
		{"Code size", formatSize(c.CodeSize)},
		{"Code SHA-256", str(c.CodeSha256)},
		{"State", state},
		{"Last modified", str(c.LastModified)},
		{"Revision", str(c.RevisionId)},
		{"Environment", pairs(env)},
	}
}

// pairs renders a map as sorted KEY=VALUE lines.
func pairs(m map[string]string) string {
	if len(m) == 0 {
		return "-"
	}
	lines := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		lines = append(lines, k+"="+m[k])
	}
	return strings.Join(lines, "\n")
}

// writeRows prints an aligned key/value block; a multi-line value continues
// under its first line.
func writeRows(w io.Writer, rows []row) error {
	tw := newTable(w)
	for _, r := range rows {
		v := r.value
		if v == "" {
			v = "-"
		}
		for i, line := range strings.Split(v, "\n") {
			key := ""
			if i == 0 {
				key = r.key + ":"
			}
			fmt.Fprintf(tw, "%s\t%s\n", key, line)
		}
	}
	return tw.Flush()
}
