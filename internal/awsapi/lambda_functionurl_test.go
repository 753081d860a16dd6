package awsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
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

// TestFunctionURLConfigSDK drives the five function URL operations through
// the aws-sdk-go-v2 client against the edge, with a real registry on an
// embedded JetStream. The client signs for eu-west-1: ARNs and the
// FunctionUrl must name that region.
func TestFunctionURLConfigSDK(t *testing.T) {
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
	reg, err := function.New(ctx, function.Options{Store: st, Clock: clk, Logger: quiet,
		FunctionURLBase: func(id, region string) string {
			return fmt.Sprintf("http://%s.lambda-url.%s.localhost:4567/", id, region)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.StartView(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	srv := httptest.NewServer(awsapi.New(awsapi.Options{Functions: reg, Logger: quiet}))
	t.Cleanup(srv.Close)
	client := lambda.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1
	})
	for _, name := range []string{"fn", "other"} {
		if _, err := reg.Create(ctx, function.CreateInput{
			FunctionName: name,
			Config:       function.Config{Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/lambda"},
			ZipFile:      bootstrapZip(t, "#!/bin/sh\necho "+name+"\n"),
			Publish:      true,
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, alias := range []string{"live", "beta"} {
		if _, err := reg.CreateAlias(ctx, "fn", function.Alias{Name: alias, FunctionVersion: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	const arn = "arn:aws:lambda:eu-west-1:000000000000:function:fn"
	urlRe := regexp.MustCompile(`^http://([a-z0-9]{32})\.lambda-url\.eu-west-1\.localhost:4567/$`)
	var latestURL string

	t.Run("create and get", func(t *testing.T) {
		out, err := client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
			FunctionName: aws.String("fn"),
			AuthType:     types.FunctionUrlAuthTypeNone,
			Cors: &types.Cors{
				AllowOrigins: []string{"https://app.example"}, AllowMethods: []string{"GET", "POST"},
				AllowCredentials: aws.Bool(true), MaxAge: aws.Int32(300),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		m := urlRe.FindStringSubmatch(aws.ToString(out.FunctionUrl))
		if m == nil || aws.ToString(out.FunctionArn) != arn || out.AuthType != types.FunctionUrlAuthTypeNone ||
			out.InvokeMode != types.InvokeModeBuffered || aws.ToString(out.CreationTime) != "2025-06-01T10:00:00.250000Z" ||
			out.Cors == nil || !slices.Equal(out.Cors.AllowMethods, []string{"GET", "POST"}) || !aws.ToBool(out.Cors.AllowCredentials) ||
			aws.ToInt32(out.Cors.MaxAge) != 300 || out.Cors.AllowHeaders != nil {
			t.Fatalf("Create output %+v (Cors %+v)", out, out.Cors)
		}
		latestURL = aws.ToString(out.FunctionUrl)
		// The data plane finds the URL by its id in the view.
		fn, q, cfg, ok := reg.LookupFunctionURL(m[1])
		if !ok || fn != "fn" || q != function.Latest || cfg.AuthType != "NONE" || cfg.Cors == nil {
			t.Errorf("LookupFunctionURL(%s) = %q %q %+v %v", m[1], fn, q, cfg, ok)
		}

		clk.Advance(time.Second)
		got, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(arn)})
		if err != nil || aws.ToString(got.FunctionUrl) != latestURL || aws.ToString(got.LastModifiedTime) != "2025-06-01T10:00:00.250000Z" ||
			aws.ToString(got.CreationTime) != "2025-06-01T10:00:00.250000Z" {
			t.Errorf("Get = %+v, %v", got, err)
		}
		// $LATEST names the same config as the unqualified function.
		if got, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("$LATEST")}); err != nil || aws.ToString(got.FunctionUrl) != latestURL {
			t.Errorf("Get $LATEST = %+v, %v", got, err)
		}
	})

	t.Run("wire: 201 on create, 204 on delete, PascalCase, no LastModifiedTime on create", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/2021-10-31/functions/other/url", "application/json", strings.NewReader(`{"AuthType":"AWS_IAM","InvokeMode":"RESPONSE_STREAM"}`))
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		err = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST: %d %v", resp.StatusCode, err)
		}
		if _, has := raw["LastModifiedTime"]; has || raw["AuthType"] != "AWS_IAM" || raw["InvokeMode"] != "RESPONSE_STREAM" || raw["Cors"] != nil {
			t.Errorf("create body %v", raw)
		}
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/2021-10-31/functions/other/url", nil)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("DELETE: %d, want 204", resp.StatusCode)
		}
	})

	t.Run("conflict", func(t *testing.T) {
		_, err := client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("fn"), AuthType: types.FunctionUrlAuthTypeAwsIam})
		e := wantErr[*types.ResourceConflictException](t, err)
		if want := "Failed to create function url config for [functionArn = " + arn + "]. Error message:  FunctionUrlConfig exists for this Lambda function"; aws.ToString(e.Message) != want {
			t.Errorf("message %q, want %q", aws.ToString(e.Message), want)
		}
	})

	t.Run("update keeps the URL and unset members", func(t *testing.T) {
		clk.Advance(time.Minute)
		out, err := client.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{
			FunctionName: aws.String("fn"), InvokeMode: types.InvokeModeResponseStream,
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionUrl) != latestURL || out.AuthType != types.FunctionUrlAuthTypeNone || out.InvokeMode != types.InvokeModeResponseStream ||
			out.Cors == nil || aws.ToString(out.LastModifiedTime) != "2025-06-01T10:01:01.250000Z" || aws.ToString(out.CreationTime) != "2025-06-01T10:00:00.250000Z" {
			t.Errorf("Update output %+v", out)
		}
		out, err = client.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{
			FunctionName: aws.String("fn"), AuthType: types.FunctionUrlAuthTypeAwsIam, Cors: &types.Cors{},
		})
		if err != nil || out.AuthType != types.FunctionUrlAuthTypeAwsIam || out.Cors != nil || out.InvokeMode != types.InvokeModeResponseStream {
			t.Errorf("Update (clear Cors) = %+v, %v", out, err)
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			what string
			in   lambda.CreateFunctionUrlConfigInput
			msg  string
		}{
			{"version qualifier", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("1"), AuthType: "NONE"},
				`Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))`},
			{"version in the name", lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("fn:1"), AuthType: "NONE"},
				"Value '1' at 'qualifier' failed to satisfy constraint"},
			{"bad auth type", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "OPEN"},
				"Value 'OPEN' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"},
			{"bad invoke mode", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "NONE", InvokeMode: "STREAM"},
				"Value 'STREAM' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"},
			{"seven methods", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "NONE",
				Cors: &types.Cors{AllowMethods: []string{"GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"}}},
				"at 'cors.allowMethods' failed to satisfy constraint: Member must have length less than or equal to 6"},
			{"long method", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "NONE",
				Cors: &types.Cors{AllowMethods: []string{"OPTIONS"}}},
				"Value '[OPTIONS]' at 'cors.allowMethods' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 6]"},
			{"max age", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "NONE", Cors: &types.Cors{MaxAge: aws.Int32(86401)}},
				"Value '86401' at 'cors.maxAge' failed to satisfy constraint: Member must have value less than or equal to 86400"},
			{"empty origin", lambda.CreateFunctionUrlConfigInput{Qualifier: aws.String("beta"), AuthType: "NONE", Cors: &types.Cors{AllowOrigins: []string{""}}},
				"at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy constraint: [Member must have length greater than or equal to 1]"},
		} {
			in := tc.in
			if in.FunctionName == nil {
				in.FunctionName = aws.String("fn")
			}
			_, err := client.CreateFunctionUrlConfig(ctx, &in)
			e := wantErr[*types.InvalidParameterValueException](t, err)
			if !strings.Contains(aws.ToString(e.Message), tc.msg) {
				t.Errorf("%s: message %q, want it to contain %q", tc.what, aws.ToString(e.Message), tc.msg)
			}
		}
		_, err := client.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("fn"), MaxItems: aws.Int32(51)})
		wantErr[*types.InvalidParameterValueException](t, err)

		// The SDK refuses a missing AuthType itself; other clients reach the server.
		resp, err := http.Post(srv.URL+"/2021-10-31/functions/fn/url?Qualifier=beta", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "InvalidParameterValueException" ||
			body["message"] != "1 validation error detected: Value 'null' at 'authType' failed to satisfy constraint: Member must not be null" {
			t.Errorf("POST without AuthType: %d %v %v", resp.StatusCode, body, err)
		}
	})

	t.Run("aliases and list", func(t *testing.T) {
		var urls []string
		for _, alias := range []string{"live", "beta"} {
			out, err := client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{
				FunctionName: aws.String("fn:" + alias), AuthType: types.FunctionUrlAuthTypeNone,
			})
			if err != nil || aws.ToString(out.FunctionArn) != arn+":"+alias || !urlRe.MatchString(aws.ToString(out.FunctionUrl)) {
				t.Fatalf("Create on %s = %+v, %v", alias, out, err)
			}
			urls = append(urls, aws.ToString(out.FunctionUrl))
		}
		if urls[0] == urls[1] || urls[0] == latestURL {
			t.Errorf("URLs not distinct: %v and %s", urls, latestURL)
		}
		var arns []string
		pages := 0
		p := lambda.NewListFunctionUrlConfigsPaginator(client, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("fn"), MaxItems: aws.Int32(2)})
		for p.HasMorePages() && pages < 5 {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, c := range out.FunctionUrlConfigs {
				arns = append(arns, aws.ToString(c.FunctionArn))
				if c.LastModifiedTime == nil || c.CreationTime == nil {
					t.Errorf("listed config without times: %+v", c)
				}
			}
		}
		if want := []string{arn, arn + ":beta", arn + ":live"}; !slices.Equal(arns, want) || pages != 2 {
			t.Errorf("listed %v in %d pages, want %v in 2", arns, pages, want)
		}
	})

	t.Run("not found", func(t *testing.T) {
		for _, tc := range []struct {
			what string
			call func() error
			msg  string
		}{
			{"get, no config", func() error {
				_, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("other")})
				return err
			}, "The resource you requested does not exist."},
			{"get, missing function", func() error {
				_, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("missing")})
				return err
			}, "Function not found: arn:aws:lambda:eu-west-1:000000000000:function:missing"},
			{"create, missing alias", func() error {
				_, err := client.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("nope"), AuthType: "NONE"})
				return err
			}, "Function not found: " + arn + ":nope"},
			{"update, no config", func() error {
				_, err := client.UpdateFunctionUrlConfig(ctx, &lambda.UpdateFunctionUrlConfigInput{FunctionName: aws.String("other"), AuthType: "NONE"})
				return err
			}, "The resource you requested does not exist."},
			{"delete, no config", func() error {
				_, err := client.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("other")})
				return err
			}, "The resource you requested does not exist."},
			{"list, missing function", func() error {
				_, err := client.ListFunctionUrlConfigs(ctx, &lambda.ListFunctionUrlConfigsInput{FunctionName: aws.String("missing")})
				return err
			}, "Function not found: arn:aws:lambda:eu-west-1:000000000000:function:missing"},
		} {
			e := wantErr[*types.ResourceNotFoundException](t, tc.call())
			if aws.ToString(e.Message) != tc.msg {
				t.Errorf("%s: message %q, want %q", tc.what, aws.ToString(e.Message), tc.msg)
			}
		}
	})

	idOf := func(url string) string { return urlRe.FindStringSubmatch(url)[1] }

	t.Run("delete", func(t *testing.T) {
		out, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("beta")})
		if err != nil {
			t.Fatal(err)
		}
		id := idOf(aws.ToString(out.FunctionUrl))
		if _, err := client.DeleteFunctionUrlConfig(ctx, &lambda.DeleteFunctionUrlConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("beta")}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := reg.LookupFunctionURL(id); ok {
			t.Error("deleted URL still found by the data plane")
		}
		_, err = client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("fn"), Qualifier: aws.String("beta")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("deleting the alias deletes its URL", func(t *testing.T) {
		out, err := client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("fn:live")})
		if err != nil {
			t.Fatal(err)
		}
		id := idOf(aws.ToString(out.FunctionUrl))
		if _, err := client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("fn"), Name: aws.String("live")}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := reg.LookupFunctionURL(id); ok {
			t.Error("URL of a deleted alias still found")
		}
		// A new alias of the same name has no URL.
		if _, err := reg.CreateAlias(ctx, "fn", function.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
			t.Fatal(err)
		}
		_, err = client.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("fn:live")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("deleting the function deletes its URLs", func(t *testing.T) {
		id := idOf(latestURL)
		if _, _, _, ok := reg.LookupFunctionURL(id); !ok {
			t.Fatal("URL not found before the delete")
		}
		if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("fn")}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := reg.LookupFunctionURL(id); ok {
			t.Error("URL of a deleted function still found")
		}
	})
}
