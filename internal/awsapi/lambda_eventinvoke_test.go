package awsapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/store"
)

// TestEventInvokeConfigSDK drives the five event-invoke-config operations
// through the real aws-sdk-go-v2 client against the edge with a real
// registry on an embedded JetStream. The client signs for eu-west-1, so
// ARNs in answers and messages must name that region.
func TestEventInvokeConfigSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2025, 6, 1, 10, 0, 0, 250_000_000, time.UTC)
	clk := clock.NewFake(now)
	reg, err := function.New(ctx, function.Options{Store: st, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(awsapi.New(awsapi.Options{Functions: reg, Logger: quiet}))
	t.Cleanup(srv.Close)
	client := lambda.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1 // an error is the answer under test, not something to retry
	})

	for _, name := range []string{"fn", "dest"} {
		_, err := reg.Create(ctx, function.CreateInput{
			FunctionName: name,
			Config:       function.Config{Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/lambda"},
			ZipFile:      bootstrapZip(t, "#!/bin/sh\necho "+name+"\n"),
			Publish:      true,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := reg.CreateAlias(ctx, "fn", function.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	const (
		arn   = "arn:aws:lambda:eu-west-1:000000000000:function:fn"
		dest  = "arn:aws:lambda:eu-west-1:000000000000:function:dest"
		queue = "arn:aws:sqs:eu-west-1:000000000000:failed"
	)

	t.Run("put and get", func(t *testing.T) {
		out, err := client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName:             aws.String("fn"),
			MaximumRetryAttempts:     aws.Int32(1),
			MaximumEventAgeInSeconds: aws.Int32(3600),
			DestinationConfig: &types.DestinationConfig{
				OnSuccess: &types.OnSuccess{Destination: aws.String(dest)},
				OnFailure: &types.OnFailure{Destination: aws.String(queue)},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionArn) != arn+":$LATEST" || aws.ToInt32(out.MaximumRetryAttempts) != 1 ||
			aws.ToInt32(out.MaximumEventAgeInSeconds) != 3600 || aws.ToString(out.DestinationConfig.OnSuccess.Destination) != dest ||
			aws.ToString(out.DestinationConfig.OnFailure.Destination) != queue {
			t.Errorf("Put output %+v", out)
		}
		if out.LastModified == nil || out.LastModified.UnixMilli() != now.UnixMilli() {
			t.Errorf("LastModified = %v, want %v", out.LastModified, now)
		}
		got, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{
			FunctionName: aws.String(arn), Qualifier: aws.String("$LATEST"),
		})
		if err != nil || aws.ToString(got.FunctionArn) != arn+":$LATEST" || aws.ToInt32(got.MaximumEventAgeInSeconds) != 3600 ||
			aws.ToString(got.DestinationConfig.OnSuccess.Destination) != dest {
			t.Errorf("Get = %+v, %v", got, err)
		}
	})

	t.Run("put replaces, leaving defaults", func(t *testing.T) {
		out, err := client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String("fn"), MaximumRetryAttempts: aws.Int32(0),
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.MaximumRetryAttempts) != 0 || out.MaximumRetryAttempts == nil || out.MaximumEventAgeInSeconds != nil ||
			out.DestinationConfig == nil || out.DestinationConfig.OnSuccess.Destination != nil || out.DestinationConfig.OnFailure.Destination != nil {
			t.Errorf("Put output %+v", out)
		}
		// On the wire: a LastModified number, empty destination objects, unset members absent.
		resp, err := http.Get(srv.URL + "/2019-09-25/functions/fn/event-invoke-config")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET: %d %v", resp.StatusCode, err)
		}
		dc, _ := json.Marshal(raw["DestinationConfig"])
		if _, isNum := raw["LastModified"].(float64); !isNum || string(dc) != `{"OnFailure":{},"OnSuccess":{}}` ||
			raw["MaximumRetryAttempts"] != 0.0 || raw["MaximumEventAgeInSeconds"] != nil {
			t.Errorf("wire body %v", raw)
		}
	})

	t.Run("update merges", func(t *testing.T) {
		clk.Advance(time.Minute)
		out, err := client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{
			FunctionName: aws.String("fn"), MaximumEventAgeInSeconds: aws.Int32(120),
		})
		if err != nil {
			t.Fatal(err)
		}
		if out.MaximumRetryAttempts == nil || *out.MaximumRetryAttempts != 0 || aws.ToInt32(out.MaximumEventAgeInSeconds) != 120 ||
			!out.LastModified.Equal(now.Add(time.Minute)) {
			t.Errorf("Update output %+v", out)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			what string
			in   lambda.PutFunctionEventInvokeConfigInput
			msg  string
		}{
			{"retries 3", lambda.PutFunctionEventInvokeConfigInput{MaximumRetryAttempts: aws.Int32(3)},
				"Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
			{"age 59", lambda.PutFunctionEventInvokeConfigInput{MaximumEventAgeInSeconds: aws.Int32(59)},
				"Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"},
			{"nothing", lambda.PutFunctionEventInvokeConfigInput{}, "You must specify at least one of error handling or destination setting."},
			{"not a destination", lambda.PutFunctionEventInvokeConfigInput{DestinationConfig: &types.DestinationConfig{
				OnFailure: &types.OnFailure{Destination: aws.String("arn:aws:iam::000000000000:role/r")}}},
				"The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=arn:aws:iam::000000000000:role/r)) is invalid."},
			{"itself", lambda.PutFunctionEventInvokeConfigInput{DestinationConfig: &types.DestinationConfig{
				OnSuccess: &types.OnSuccess{Destination: aws.String(arn)}}},
				"You can't specify the function as a destination for itself."},
			{"qualifier conflict", lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn:live"), Qualifier: aws.String("1"), MaximumRetryAttempts: aws.Int32(1)},
				"The derived qualifier from the function name does not match the specified qualifier."},
		} {
			in := tc.in
			if in.FunctionName == nil {
				in.FunctionName = aws.String("fn")
			}
			_, err := client.PutFunctionEventInvokeConfig(ctx, &in)
			e := wantErr[*types.InvalidParameterValueException](t, err)
			if aws.ToString(e.Message) != tc.msg && !strings.HasSuffix(aws.ToString(e.Message), tc.msg) {
				t.Errorf("%s: message %q, want %q", tc.what, aws.ToString(e.Message), tc.msg)
			}
		}
	})

	t.Run("alias", func(t *testing.T) {
		out, err := client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName: aws.String("fn:live"), MaximumRetryAttempts: aws.Int32(2),
		})
		if err != nil || aws.ToString(out.FunctionArn) != arn+":live" {
			t.Fatalf("Put on fn:live = %+v, %v", out, err)
		}
		got, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{
			FunctionName: aws.String("fn"), Qualifier: aws.String("live"),
		})
		if err != nil || aws.ToInt32(got.MaximumRetryAttempts) != 2 || aws.ToString(got.FunctionArn) != arn+":live" {
			t.Errorf("Get live = %+v, %v", got, err)
		}
	})

	t.Run("list", func(t *testing.T) {
		var arns []string
		pages := 0
		p := lambda.NewListFunctionEventInvokeConfigsPaginator(client, &lambda.ListFunctionEventInvokeConfigsInput{
			FunctionName: aws.String("fn"), MaxItems: aws.Int32(1),
		})
		for p.HasMorePages() && pages < 5 {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range out.FunctionEventInvokeConfigs {
				arns = append(arns, aws.ToString(c.FunctionArn))
			}
		}
		if want := []string{arn + ":$LATEST", arn + ":live"}; !slices.Equal(arns, want) || pages != 2 {
			t.Errorf("listed %v in %d pages, want %v in 2", arns, pages, want)
		}
		_, err := client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{
			FunctionName: aws.String("fn"), MaxItems: aws.Int32(51),
		})
		wantErr[*types.InvalidParameterValueException](t, err)
	})

	t.Run("not found", func(t *testing.T) {
		for _, tc := range []struct {
			what string
			call func() error
			msg  string
		}{
			{"get, missing function", func() error {
				_, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("missing")})
				return err
			}, "The function arn:aws:lambda:eu-west-1:000000000000:function:missing:$LATEST doesn't have an EventInvokeConfig"},
			{"get, version without config", func() error {
				_, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("1")})
				return err
			}, "The function " + arn + ":1 doesn't have an EventInvokeConfig"},
			{"put, missing alias", func() error {
				_, err := client.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("nope"), MaximumRetryAttempts: aws.Int32(1)})
				return err
			}, "The function doesn't exist."},
			{"update, no config", func() error {
				_, err := client.UpdateFunctionEventInvokeConfig(ctx, &lambda.UpdateFunctionEventInvokeConfigInput{FunctionName: aws.String("dest"), MaximumRetryAttempts: aws.Int32(1)})
				return err
			}, "The function arn:aws:lambda:eu-west-1:000000000000:function:dest:$LATEST doesn't have an EventInvokeConfig"},
			{"list, missing function", func() error {
				_, err := client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("missing")})
				return err
			}, "The function doesn't exist."},
			{"delete, no config", func() error {
				_, err := client.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("dest")})
				return err
			}, "The function arn:aws:lambda:eu-west-1:000000000000:function:dest:$LATEST doesn't have an EventInvokeConfig"},
		} {
			e := wantErr[*types.ResourceNotFoundException](t, tc.call())
			if aws.ToString(e.Message) != tc.msg {
				t.Errorf("%s: message %q, want %q", tc.what, aws.ToString(e.Message), tc.msg)
			}
		}
	})

	t.Run("deleting the alias deletes its config", func(t *testing.T) {
		if _, err := client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live")}); err != nil {
			t.Fatal(err)
		}
		_, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn:live")})
		wantErr[*types.ResourceNotFoundException](t, err)
		out, err := client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("fn")})
		if err != nil || len(out.FunctionEventInvokeConfigs) != 1 {
			t.Fatalf("List after DeleteAlias = %+v, %v", out, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := client.DeleteFunctionEventInvokeConfig(ctx, &lambda.DeleteFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")}); err != nil {
			t.Fatal(err)
		}
		_, err := client.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("fn")})
		wantErr[*types.ResourceNotFoundException](t, err)
		out, err := client.ListFunctionEventInvokeConfigs(ctx, &lambda.ListFunctionEventInvokeConfigsInput{FunctionName: aws.String("fn")})
		if err != nil || len(out.FunctionEventInvokeConfigs) != 0 {
			t.Errorf("List after delete = %+v, %v", out, err)
		}
	})
}
