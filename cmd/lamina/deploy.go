package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/spf13/cobra"
)

// defaultRole is the execution role of functions deployed without --role;
// Lamina does not need one, but the Lambda API requires it.
const defaultRole = "arn:aws:iam::000000000000:role/lamina"

// updateWait bounds each wait for a function to finish an update.
const updateWait = 30 * time.Second

// deployFlags are the options of `lamina deploy`.
type deployFlags struct {
	Name        string
	Runtime     string
	Handler     string
	Role        string
	Env         []string
	Timeout     int32
	Memory      int32
	Description string
	Publish     bool
	Arch        string
}

func newDeployCommand(g *globals) *cobra.Command {
	var f deployFlags
	cmd := &cobra.Command{
		Use:   "deploy PATH --name NAME --runtime RUNTIME",
		Short: "Package and deploy a function (create or update)",
		Long: `Package the code at PATH and deploy it as function NAME: create the function,
or if it exists, update its code and then its configuration.

PATH is a .zip deployment package, uploaded as is, or a directory, zipped
(without .git and .lamina). For a provided.* or go1.x runtime, a directory
holding a Go main package and no ready executable is first built for Linux:
  go build -tags lambda.norpc -trimpath -ldflags=-s
with GOARCH from --arch and CGO_ENABLED=0, into an executable named bootstrap
(go1.x: named after --handler) at the root of the package; the Go sources
are then left out. The same files always give the same zip, so an unchanged
function keeps its CodeSha256.

On update, the settings given on the command line change and the others keep
their values; --env replaces all environment variables.

Progress goes to stderr; the function's resulting configuration to stdout.`,
		Example: `  # A Go function (package main using aws-lambda-go), built for arm64
  lamina deploy ./hello --name hello --runtime provided.al2023 --arch arm64

  # A Python function with settings, publishing a version
  lamina deploy ./src --name orders --runtime python3.12 --handler app.handler \
      --env TABLE=orders --env LOG_LEVEL=debug --timeout 30 --memory 256 --publish

  # A ready package
  lamina deploy build/function.zip --name api --runtime nodejs20.x --handler index.handler`,
		Args: exactArgs(1, "the PATH of a directory or .zip file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd, g, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Name, "name", "", "function name (required)")
	fl.StringVar(&f.Runtime, "runtime", "", "runtime, such as provided.al2023, python3.12, nodejs20.x (required)")
	fl.StringVar(&f.Handler, "handler", "", "handler, such as app.handler (required unless the runtime is provided.*)")
	fl.StringVar(&f.Role, "role", "", "execution role ARN (default "+defaultRole+" on create)")
	fl.StringArrayVar(&f.Env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	fl.Int32Var(&f.Timeout, "timeout", 0, "timeout in seconds (default 3 on create)")
	fl.Int32Var(&f.Memory, "memory", 0, "memory in MB (default 128 on create)")
	fl.StringVar(&f.Description, "description", "", "description")
	fl.BoolVar(&f.Publish, "publish", false, "publish a new version after deploying")
	fl.StringVar(&f.Arch, "arch", "x86_64", "architecture: x86_64 or arm64")
	return withTemplateMode(cmd, g) // -t TEMPLATE: see deploy_template.go
}

// parseEnv turns KEY=VALUE arguments into a map; a later KEY wins.
func parseEnv(args []string) (map[string]string, error) {
	env := make(map[string]string, len(args))
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --env %q: want KEY=VALUE", a)
		}
		env[k] = v
	}
	return env, nil
}

func runDeploy(cmd *cobra.Command, g *globals, f *deployFlags, path string) error {
	ctx := cmd.Context()
	changed := cmd.Flags().Changed
	stderr := cmd.ErrOrStderr()

	switch {
	case f.Name == "":
		return errors.New("--name is required")
	case f.Runtime == "":
		return errors.New("--runtime is required (for example provided.al2023, python3.12, nodejs20.x)")
	case f.Handler == "" && !strings.HasPrefix(f.Runtime, "provided"):
		return fmt.Errorf("--handler is required for runtime %s (for example app.handler)", f.Runtime)
	}
	env, err := parseEnv(f.Env)
	if err != nil {
		return err
	}
	arch, _, err := lambdaArch(f.Arch)
	if err != nil {
		return err
	}

	pkg, err := packageCode(ctx, packageOptions{Path: path, Runtime: f.Runtime, Handler: f.Handler, Arch: arch, Log: stderr})
	if err != nil {
		return err
	}
	files := "files"
	if pkg.Files == 1 {
		files = "file"
	}
	fmt.Fprintf(stderr, "packaged %d %s, %s\n", pkg.Files, files, formatSize(int64(len(pkg.Zip))))

	client, err := g.lambdaClient(ctx)
	if err != nil {
		return err
	}
	d := deployer{client: client, g: g, log: stderr}

	in := &lambda.CreateFunctionInput{
		FunctionName:  aws.String(f.Name),
		Runtime:       types.Runtime(f.Runtime),
		Role:          aws.String(defaultRole),
		Code:          &types.FunctionCode{ZipFile: pkg.Zip},
		Architectures: []types.Architecture{types.Architecture(arch)},
		Publish:       f.Publish,
	}
	if f.Role != "" {
		in.Role = aws.String(f.Role)
	}
	if f.Handler != "" {
		in.Handler = aws.String(f.Handler)
	} else {
		in.Handler = aws.String("bootstrap") // provided.*: not used, conventional
	}
	if changed("description") {
		in.Description = aws.String(f.Description)
	}
	if changed("timeout") {
		in.Timeout = aws.Int32(f.Timeout)
	}
	if changed("memory") {
		in.MemorySize = aws.Int32(f.Memory)
	}
	if changed("env") {
		in.Environment = &types.Environment{Variables: env}
	}

	version, err := d.create(ctx, in)
	if errorCode(err) == "ResourceConflictException" {
		up := &lambda.UpdateFunctionConfigurationInput{
			FunctionName: in.FunctionName,
			Runtime:      in.Runtime,
			Description:  in.Description,
			Timeout:      in.Timeout,
			MemorySize:   in.MemorySize,
			Environment:  in.Environment,
		}
		if f.Handler != "" {
			up.Handler = in.Handler
		}
		if f.Role != "" {
			up.Role = in.Role
		}
		code := &lambda.UpdateFunctionCodeInput{FunctionName: in.FunctionName, ZipFile: pkg.Zip}
		if changed("arch") || pkg.Built != "" {
			code.Architectures = in.Architectures
		}
		version, err = d.update(ctx, code, up, f.Publish)
	}
	if err != nil {
		return err
	}

	get := &lambda.GetFunctionInput{FunctionName: in.FunctionName}
	if version != "" {
		get.Qualifier = aws.String(version)
	}
	res, err := client.GetFunction(ctx, get)
	if err != nil {
		return g.apiError(err)
	}
	if g.Output == outputJSON {
		return writeJSON(cmd.OutOrStdout(), res.Configuration)
	}
	return writeRows(cmd.OutOrStdout(), configurationRows(res.Configuration))
}

// deployer makes the API calls of a deploy and reports them.
type deployer struct {
	client *lambda.Client
	g      *globals
	log    io.Writer
}

// create creates the function; it returns the published version, if any.
// A ResourceConflictException is returned as is, for the caller to update.
func (d deployer) create(ctx context.Context, in *lambda.CreateFunctionInput) (string, error) {
	out, err := d.client.CreateFunction(ctx, in)
	if errorCode(err) == "ResourceConflictException" {
		return "", err
	}
	if err != nil {
		return "", d.g.apiError(err)
	}
	fmt.Fprintf(d.log, "created function %s\n", aws.ToString(in.FunctionName))
	if in.Publish {
		v := aws.ToString(out.Version)
		if v == "" || v == "$LATEST" {
			fmt.Fprintln(d.log, "published a version")
			return "", nil
		}
		fmt.Fprintf(d.log, "published version %s\n", v)
		return v, nil
	}
	return "", nil
}

// update replaces the code, then the configuration, waiting for each update
// to finish before the next call (as Lambda requires), and then publishes a
// version if asked; it returns the published version, if any.
func (d deployer) update(ctx context.Context, code *lambda.UpdateFunctionCodeInput, conf *lambda.UpdateFunctionConfigurationInput, publish bool) (string, error) {
	name := aws.ToString(code.FunctionName)
	codeOut, err := d.client.UpdateFunctionCode(ctx, code)
	if err != nil {
		return "", d.g.apiError(err)
	}
	if err := d.waitUpdated(ctx, name); err != nil {
		return "", err
	}
	if _, err := d.client.UpdateFunctionConfiguration(ctx, conf); err != nil {
		return "", d.g.apiError(err)
	}
	fmt.Fprintf(d.log, "updated function %s\n", name)
	if !publish {
		return "", nil
	}
	if err := d.waitUpdated(ctx, name); err != nil {
		return "", err
	}
	pub, err := d.client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: code.FunctionName, CodeSha256: codeOut.CodeSha256})
	if err != nil {
		return "", d.g.apiError(err)
	}
	v := aws.ToString(pub.Version)
	fmt.Fprintf(d.log, "published version %s\n", v)
	return v, nil
}

func (d deployer) waitUpdated(ctx context.Context, name string) error {
	w := lambda.NewFunctionUpdatedV2Waiter(d.client, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay = 250 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, updateWait); err != nil {
		return fmt.Errorf("waiting for function %s to finish updating: %w", name, d.g.apiError(err))
	}
	return nil
}
