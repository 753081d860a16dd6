package awsapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/fault"
)

// TestSDKDecodesShapes drives the handlers through the real aws-sdk-go-v2
// Lambda client (against the fake registry), so the shapes and error
// rendering are checked by the deserializer that users run. The end-to-end
// version against the real platform is lambda_sdk_test.go.
func TestSDKDecodesShapes(t *testing.T) {
	reg := newFakeRegistry()
	api := New(Options{Functions: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	client := lambda.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	ctx := context.Background()
	zip := zipOf(t, map[string]string{"bootstrap": "#!/bin/sh\n"})

	created, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("f"),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/r"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: zip},
		Environment:  &types.Environment{Variables: map[string]string{"A": "1"}},
		Tags:         map[string]string{"team": "a"},
	})
	if err != nil {
		t.Fatalf("CreateFunction: %v", err)
	}
	if aws.ToString(created.FunctionArn) != "arn:aws:lambda:eu-west-1:000000000000:function:f" ||
		created.CodeSize != int64(len(zip)) || aws.ToString(created.LastModified) != "2024-01-31T12:34:56.789+0000" ||
		created.State != types.StateActive || created.Environment.Variables["A"] != "1" ||
		created.TracingConfig.Mode != types.TracingModePassThrough || aws.ToInt32(created.EphemeralStorage.Size) != 512 ||
		created.PackageType != types.PackageTypeZip || created.Architectures[0] != types.ArchitectureX8664 ||
		created.LoggingConfig.LogFormat != types.LogFormatText || aws.ToString(created.LoggingConfig.LogGroup) != "/aws/lambda/f" {
		t.Errorf("CreateFunction output: %+v", created)
	}

	got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:000000000000:function:f"), Qualifier: aws.String("$LATEST")})
	if err != nil {
		t.Fatalf("GetFunction: %v", err)
	}
	if aws.ToString(got.Configuration.FunctionArn) != "arn:aws:lambda:eu-west-1:000000000000:function:f:$LATEST" ||
		got.Configuration.LastUpdateStatus != types.LastUpdateStatusSuccessful || aws.ToString(got.Code.RepositoryType) != "S3" ||
		got.Tags["team"] != "a" || got.Concurrency != nil {
		t.Errorf("GetFunction output: %+v %+v", got.Configuration, got.Code)
	}
	resp, err := http.Get(aws.ToString(got.Code.Location))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != string(zip) {
		t.Errorf("code download: %d, %d bytes", resp.StatusCode, len(body))
	}

	if _, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("f"), ReservedConcurrentExecutions: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	conc, err := client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("f")})
	if err != nil || aws.ToInt32(conc.ReservedConcurrentExecutions) != 3 {
		t.Errorf("GetFunctionConcurrency: %v %v", conc, err)
	}
	if _, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("f")}); err != nil {
		t.Fatal(err)
	}
	alias, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{
		FunctionName: aws.String("f"), Name: aws.String("live"), FunctionVersion: aws.String("1"),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.5}},
	})
	if err != nil || aws.ToString(alias.AliasArn) != "arn:aws:lambda:eu-west-1:000000000000:function:f:live" || alias.RoutingConfig.AdditionalVersionWeights["2"] != 0.5 {
		t.Errorf("CreateAlias: %+v %v", alias, err)
	}
	versions, err := client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("f"), MaxItems: aws.Int32(1)})
	if err != nil || len(versions.Versions) != 1 || aws.ToString(versions.NextMarker) == "" {
		t.Errorf("ListVersionsByFunction: %+v %v", versions, err)
	}
	settings, err := client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil || settings.AccountLimit.TotalCodeSize != 80530636800 || settings.AccountUsage.FunctionCount != 1 {
		t.Errorf("GetAccountSettings: %+v %v", settings, err)
	}
	if _, err := client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String("arn:aws:lambda:eu-west-1:000000000000:function:f"), TagKeys: []string{"team", "x"}}); err != nil {
		t.Fatal(err)
	}
	if len(reg.lastUntag) != 2 {
		t.Errorf("untag keys %v", reg.lastUntag)
	}

	// Errors arrive as the SDK's typed errors with their messages.
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || aws.ToString(nf.Message) == "" || aws.ToString(nf.Type) != "User" {
		t.Errorf("not found: %T %v", err, err)
	}
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f:1"), Qualifier: aws.String("2")})
	var ipv *types.InvalidParameterValueException
	if !errors.As(err, &ipv) || aws.ToString(ipv.Message) == "" {
		t.Errorf("qualifier mismatch: %T %v", err, err)
	}
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("111111111111:function:f")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDeniedException" {
		t.Errorf("other account: %T %v", err, err)
	}

	reg.fail["Get"] = &fault.Error{Kind: fault.Throttled, Message: "slow down", Reason: string(types.ThrottleReasonCallerRateLimitExceeded)}
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	var tmr *types.TooManyRequestsException
	if !errors.As(err, &tmr) || tmr.Reason != types.ThrottleReasonCallerRateLimitExceeded || aws.ToString(tmr.RetryAfterSeconds) != "1" || aws.ToString(tmr.Message) != "slow down" {
		t.Errorf("throttled: %T %v", err, err)
	}
	reg.fail["Get"] = errors.New("secret internal detail")
	_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("f")})
	var se *types.ServiceException
	if !errors.As(err, &se) || aws.ToString(se.Message) != internalMessage {
		t.Errorf("internal: %T %v", err, err)
	}
	reg.fail["UpdateConfig"] = fault.New(fault.PreconditionFailed, "stale")
	_, err = client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("f"), RevisionId: aws.String("x")})
	var pf *types.PreconditionFailedException
	if !errors.As(err, &pf) || aws.ToString(pf.Message) != "stale" {
		t.Errorf("precondition: %T %v", err, err)
	}
}
