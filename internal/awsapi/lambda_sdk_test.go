package awsapi_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestLambdaSDK drives every Lambda control operation Lamina serves through
// the real aws-sdk-go-v2 client against a whole in-process platform
// (laminatest: embedded JetStream, the real registry, the real edge), with
// the error cases users meet, as the SDK's typed errors.
func TestLambdaSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the whole platform")
	}
	p := laminatest.Start(t)
	client := lambda.NewFromConfig(p.AWSConfig(), func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(p.Endpoint)
		o.RetryMaxAttempts = 1 // an error is the answer under test, not something to retry
	})
	ctx := t.Context()
	const (
		name = "sdk-fn"
		role = "arn:aws:iam::000000000000:role/lambda"
		arn  = "arn:aws:lambda:us-east-1:000000000000:function:" + name
	)
	zip1 := bootstrapZip(t, "#!/bin/sh\necho one\n")
	zip2 := bootstrapZip(t, "#!/bin/sh\necho two\n")
	createInput := func(fn string, code []byte) *lambda.CreateFunctionInput {
		return &lambda.CreateFunctionInput{
			FunctionName: aws.String(fn),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String(role),
			Handler:      aws.String("bootstrap"),
			Code:         &types.FunctionCode{ZipFile: code},
		}
	}

	t.Run("GetAccountSettings empty", func(t *testing.T) {
		out, err := client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		l := out.AccountLimit
		if l.TotalCodeSize != 80530636800 || l.CodeSizeUnzipped != 262144000 || l.CodeSizeZipped != 52428800 ||
			aws.ToInt32(&l.ConcurrentExecutions) != 1000 || aws.ToInt32(l.UnreservedConcurrentExecutions) != 1000 {
			t.Errorf("AccountLimit %+v", l)
		}
		if out.AccountUsage.FunctionCount != 0 || out.AccountUsage.TotalCodeSize != 0 {
			t.Errorf("AccountUsage %+v", out.AccountUsage)
		}
	})

	t.Run("CreateFunction", func(t *testing.T) {
		in := createInput(name, zip1)
		in.Environment = &types.Environment{Variables: map[string]string{"GREETING": "hi"}}
		in.Tags = map[string]string{"team": "a"}
		in.Timeout = aws.Int32(5)
		in.Description = aws.String("made by the SDK test")
		out, err := client.CreateFunction(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(zip1)
		if aws.ToString(out.FunctionArn) != arn || aws.ToString(out.FunctionName) != name || aws.ToString(out.Version) != "$LATEST" ||
			out.State != types.StateActive || out.CodeSize != int64(len(zip1)) ||
			aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) ||
			aws.ToInt32(out.Timeout) != 5 || aws.ToInt32(out.MemorySize) != 128 || out.Runtime != types.RuntimeProvidedal2023 ||
			out.Environment.Variables["GREETING"] != "hi" || out.PackageType != types.PackageTypeZip ||
			aws.ToString(out.RevisionId) == "" || aws.ToString(out.Description) != "made by the SDK test" {
			t.Errorf("CreateFunction output %+v", out)
		}
		if _, err := time.Parse("2006-01-02T15:04:05.000-0700", aws.ToString(out.LastModified)); err != nil {
			t.Errorf("LastModified %q: %v", aws.ToString(out.LastModified), err)
		}
	})

	t.Run("FunctionActiveV2 waiter", func(t *testing.T) {
		w := lambda.NewFunctionActiveV2Waiter(client)
		if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CreateFunction errors", func(t *testing.T) {
		_, err := client.CreateFunction(ctx, createInput(name, zip1))
		wantErr[*types.ResourceConflictException](t, err)

		_, err = client.CreateFunction(ctx, createInput("bad name!", zip1))
		wantErr[*types.InvalidParameterValueException](t, err)

		in := createInput("bad-runtime", zip1)
		in.Runtime = "cobol85"
		_, err = client.CreateFunction(ctx, in)
		wantErr[*types.InvalidParameterValueException](t, err)

		_, err = client.CreateFunction(ctx, createInput("bad-zip", []byte("this is not a zip")))
		wantErr[*types.InvalidParameterValueException](t, err)

		_, err = client.CreateFunction(ctx, createInput("no-bootstrap", zipOf(t, map[string]string{"main.go": "package main"})))
		wantErr[*types.InvalidParameterValueException](t, err)

		in = createInput("from-s3", nil)
		in.Code = &types.FunctionCode{S3Bucket: aws.String("bucket"), S3Key: aws.String("key.zip")}
		_, err = client.CreateFunction(ctx, in)
		if e := wantErr[*types.InvalidParameterValueException](t, err); !strings.Contains(aws.ToString(e.Message), "ZipFile") {
			t.Errorf("S3 code: %q", aws.ToString(e.Message))
		}
	})

	t.Run("GetFunction", func(t *testing.T) {
		out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Configuration
		if aws.ToString(c.FunctionArn) != arn || aws.ToString(c.Version) != "$LATEST" || c.State != types.StateActive ||
			c.LastUpdateStatus != types.LastUpdateStatusSuccessful {
			t.Errorf("Configuration %+v", c)
		}
		if out.Tags["team"] != "a" || out.Concurrency != nil || aws.ToString(out.Code.RepositoryType) != "S3" {
			t.Errorf("Tags %v Concurrency %v Code %+v", out.Tags, out.Concurrency, out.Code)
		}
		if got := download(t, aws.ToString(out.Code.Location)); !bytes.Equal(got, zip1) {
			t.Errorf("Code.Location gave %d bytes, want the %d-byte zip", len(got), len(zip1))
		}
		for _, ref := range []struct{ fn, qualifier, wantArn string }{
			{arn, "", arn},
			{"000000000000:function:" + name, "", arn},
			{name + ":$LATEST", "", arn + ":$LATEST"},
			{name, "$LATEST", arn + ":$LATEST"},
		} {
			out, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(ref.fn), Qualifier: optional(ref.qualifier)})
			if err != nil {
				t.Errorf("GetFunction(%s, %q): %v", ref.fn, ref.qualifier, err)
				continue
			}
			if got := aws.ToString(out.Configuration.FunctionArn); got != ref.wantArn {
				t.Errorf("GetFunction(%s, %q): FunctionArn %s, want %s", ref.fn, ref.qualifier, got, ref.wantArn)
			}
		}
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("does-not-exist")})
		wantErr[*types.ResourceNotFoundException](t, err)
		// A caller in another region sees ARNs of its region in the message.
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("does-not-exist")},
			func(o *lambda.Options) { o.Region = "eu-west-1" })
		if nf := wantErr[*types.ResourceNotFoundException](t, err); !strings.Contains(aws.ToString(nf.Message), "arn:aws:lambda:eu-west-1:000000000000:function:does-not-exist") {
			t.Errorf("not-found message in eu-west-1: %q", aws.ToString(nf.Message))
		}
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("arn:aws:lambda:eu-west-1:000000000000:function:" + name)})
		wantErr[*types.ResourceNotFoundException](t, err)
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bad name!")})
		wantErr[*types.InvalidParameterValueException](t, err)
	})

	t.Run("GetFunctionConfiguration", func(t *testing.T) {
		out, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.FunctionArn) != arn || out.Environment.Variables["GREETING"] != "hi" {
			t.Errorf("%+v", out)
		}
		_, err = client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("does-not-exist")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("UpdateFunctionConfiguration", func(t *testing.T) {
		cur, err := client.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Timeout: aws.Int32(10), RevisionId: aws.String("not-the-revision"),
		})
		wantErr[*types.PreconditionFailedException](t, err)
		_, err = client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name), Runtime: "cobol85",
		})
		wantErr[*types.InvalidParameterValueException](t, err)

		out, err := client.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(name),
			Timeout:      aws.Int32(10),
			Description:  aws.String("updated"),
			Environment:  &types.Environment{Variables: map[string]string{"GREETING": "hello"}},
			RevisionId:   cur.RevisionId,
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToInt32(out.Timeout) != 10 || aws.ToString(out.Description) != "updated" || out.Environment.Variables["GREETING"] != "hello" ||
			aws.ToString(out.RevisionId) == aws.ToString(cur.RevisionId) || aws.ToString(out.FunctionArn) != arn {
			t.Errorf("%+v", out)
		}
		w := lambda.NewFunctionUpdatedV2Waiter(client)
		if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("UpdateFunctionCode", func(t *testing.T) {
		_, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{
			FunctionName: aws.String(name), ZipFile: zip2, RevisionId: aws.String("not-the-revision"),
		})
		wantErr[*types.PreconditionFailedException](t, err)
		_, err = client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: []byte("PK not really")})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ImageUri: aws.String("repo/image:tag")})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("does-not-exist"), ZipFile: zip2})
		wantErr[*types.ResourceNotFoundException](t, err)

		out, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip2})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(zip2)
		if aws.ToString(out.CodeSha256) != base64.StdEncoding.EncodeToString(sum[:]) || out.CodeSize != int64(len(zip2)) || aws.ToString(out.FunctionArn) != arn {
			t.Errorf("%+v", out)
		}
		w := lambda.NewFunctionUpdatedV2Waiter(client)
		if err := w.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(download(t, aws.ToString(got.Code.Location)), zip2) {
			t.Errorf("Code.Location does not give the new package")
		}
	})

	t.Run("PublishVersion", func(t *testing.T) {
		_, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), RevisionId: aws.String("not-the-revision")})
		wantErr[*types.PreconditionFailedException](t, err)
		_, err = client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), CodeSha256: aws.String("not-the-sha")})
		wantErr[*types.InvalidParameterValueException](t, err)

		v1, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name), Description: aws.String("first")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v1.Version) != "1" || aws.ToString(v1.FunctionArn) != arn+":1" {
			t.Errorf("first publish: Version %s FunctionArn %s", aws.ToString(v1.Version), aws.ToString(v1.FunctionArn))
		}
		// Nothing changed: AWS answers with the latest version again.
		again, err := client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String(name)})
		if err != nil || aws.ToString(again.Version) != "1" {
			t.Errorf("republish: %v %v", again, err)
		}
		v2, err := client.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: zip1, Publish: true})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(v2.Version) != "2" || aws.ToString(v2.FunctionArn) != arn+":2" {
			t.Errorf("publish by code update: Version %s FunctionArn %s", aws.ToString(v2.Version), aws.ToString(v2.FunctionArn))
		}
		got, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Configuration.FunctionArn) != arn+":1" || aws.ToString(got.Configuration.Description) != "first" {
			t.Errorf("version 1: %+v", got.Configuration)
		}
		if !bytes.Equal(download(t, aws.ToString(got.Code.Location)), zip2) {
			t.Errorf("version 1's Code.Location does not give its package")
		}
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name + ":1"), Qualifier: aws.String("2")})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("99")})
		wantErr[*types.ResourceNotFoundException](t, err)
		_, err = client.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("does-not-exist")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("ListVersionsByFunction", func(t *testing.T) {
		var versions, arns []string
		pages := 0
		pg := lambda.NewListVersionsByFunctionPaginator(client, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(name), MaxItems: aws.Int32(1)})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, v := range out.Versions {
				versions = append(versions, aws.ToString(v.Version))
				arns = append(arns, aws.ToString(v.FunctionArn))
			}
		}
		if strings.Join(versions, ",") != "$LATEST,1,2" || pages != 3 {
			t.Errorf("versions %v in %d pages", versions, pages)
		}
		if !slices.Equal(arns, []string{arn + ":$LATEST", arn + ":1", arn + ":2"}) {
			t.Errorf("ARNs %v", arns)
		}
		_, err := client.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("does-not-exist")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("Aliases", func(t *testing.T) {
		a, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1"), Description: aws.String("prod traffic"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.1}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(a.AliasArn) != arn+":live" || aws.ToString(a.FunctionVersion) != "1" || a.RoutingConfig.AdditionalVersionWeights["2"] != 0.1 || aws.ToString(a.RevisionId) == "" {
			t.Errorf("CreateAlias %+v", a)
		}
		_, err = client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")})
		wantErr[*types.ResourceConflictException](t, err)
		_, err = client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("broken"), FunctionVersion: aws.String("42")})
		wantErr[*types.ResourceNotFoundException](t, err)
		_, err = client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("123"), FunctionVersion: aws.String("1")})
		wantErr[*types.InvalidParameterValueException](t, err)
		if _, err := client.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("canary"), FunctionVersion: aws.String("2")}); err != nil {
			t.Fatal(err)
		}

		got, err := client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
		if err != nil || aws.ToString(got.Description) != "prod traffic" || aws.ToString(got.RevisionId) != aws.ToString(a.RevisionId) {
			t.Errorf("GetAlias %+v %v", got, err)
		}
		fn, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("live")})
		if err != nil || aws.ToString(fn.Configuration.FunctionArn) != arn+":live" || aws.ToString(fn.Configuration.Version) != "1" {
			t.Errorf("GetFunction at alias: %+v %v", fn, err)
		}

		list, err := client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(name)})
		if err != nil || len(list.Aliases) != 2 || aws.ToString(list.Aliases[0].Name) != "canary" || aws.ToString(list.Aliases[1].Name) != "live" {
			t.Errorf("ListAliases %+v %v", list, err)
		}
		list, err = client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(name), FunctionVersion: aws.String("2")})
		if err != nil || len(list.Aliases) != 1 || aws.ToString(list.Aliases[0].Name) != "canary" {
			t.Errorf("ListAliases for version 2: %+v %v", list, err)
		}
		list, err = client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(name), MaxItems: aws.Int32(1)})
		if err != nil || len(list.Aliases) != 1 || aws.ToString(list.NextMarker) == "" {
			t.Errorf("ListAliases page: %+v %v", list, err)
		} else if next, err := client.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String(name), Marker: list.NextMarker}); err != nil ||
			len(next.Aliases) != 1 || aws.ToString(next.Aliases[0].Name) != "live" || next.NextMarker != nil {
			t.Errorf("ListAliases next page: %+v %v", next, err)
		}

		_, err = client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("2"), RevisionId: aws.String("not-the-revision")})
		wantErr[*types.PreconditionFailedException](t, err)
		_, err = client.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String(name), Name: aws.String("nope"), FunctionVersion: aws.String("2")})
		wantErr[*types.ResourceNotFoundException](t, err)
		up, err := client.UpdateAlias(ctx, &lambda.UpdateAliasInput{
			FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("2"),
			RoutingConfig: &types.AliasRoutingConfiguration{}, RevisionId: a.RevisionId,
		})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(up.FunctionVersion) != "2" || (up.RoutingConfig != nil && len(up.RoutingConfig.AdditionalVersionWeights) != 0) || aws.ToString(up.RevisionId) == aws.ToString(a.RevisionId) {
			t.Errorf("UpdateAlias %+v", up)
		}

		for _, alias := range []string{"live", "canary"} {
			if _, err := client.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String(name), Name: aws.String(alias)}); err != nil {
				t.Fatal(err)
			}
		}
		_, err = client.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(name), Name: aws.String("live")})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("FunctionConcurrency", func(t *testing.T) {
		put, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(5)})
		if err != nil || aws.ToInt32(put.ReservedConcurrentExecutions) != 5 {
			t.Fatalf("Put: %+v %v", put, err)
		}
		got, err := client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
		if err != nil || aws.ToInt32(got.ReservedConcurrentExecutions) != 5 {
			t.Errorf("Get: %+v %v", got, err)
		}
		fn, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil || fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 5 {
			t.Errorf("GetFunction Concurrency: %+v %v", fn.Concurrency, err)
		}
		settings, err := client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil || aws.ToInt32(settings.AccountLimit.UnreservedConcurrentExecutions) != 995 {
			t.Errorf("UnreservedConcurrentExecutions with 5 reserved = %v (%v), want 995", settings.AccountLimit.UnreservedConcurrentExecutions, err)
		}
		_, err = client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name + ":1"), ReservedConcurrentExecutions: aws.Int32(5)})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String(name), ReservedConcurrentExecutions: aws.Int32(5000)})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("does-not-exist"), ReservedConcurrentExecutions: aws.Int32(1)})
		wantErr[*types.ResourceNotFoundException](t, err)

		if _, err := client.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		got, err = client.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(name)})
		if err != nil || got.ReservedConcurrentExecutions != nil {
			t.Errorf("Get after delete: %+v %v", got, err)
		}
	})

	t.Run("Tags", func(t *testing.T) {
		if _, err := client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"b": "2", "c": "3"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"team", "c"}}); err != nil {
			t.Fatal(err)
		}
		out, err := client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)})
		if err != nil || len(out.Tags) != 1 || out.Tags["b"] != "2" {
			t.Errorf("ListTags %+v %v", out, err)
		}
		_, err = client.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(name)})
		wantErr[*types.InvalidParameterValueException](t, err)
		_, err = client.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn + "-missing"), Tags: map[string]string{"a": "b"}})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("ListFunctions", func(t *testing.T) {
		for _, fn := range []string{"sdk-a", "sdk-b", "sdk-c"} {
			if _, err := client.CreateFunction(ctx, createInput(fn, zip1)); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		var marker *string
		for {
			out, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2), Marker: marker})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Functions) > 2 {
				t.Fatalf("page of %d", len(out.Functions))
			}
			for _, f := range out.Functions {
				names = append(names, aws.ToString(f.FunctionName))
				if strings.HasSuffix(aws.ToString(f.FunctionArn), "$LATEST") {
					t.Errorf("ListFunctions qualified %s", aws.ToString(f.FunctionArn))
				}
			}
			if out.NextMarker == nil {
				break
			}
			marker = out.NextMarker
		}
		if strings.Join(names, ",") != "sdk-a,sdk-b,sdk-c,sdk-fn" {
			t.Errorf("functions %v", names)
		}
		var all []string
		pg := lambda.NewListFunctionsPaginator(client, &lambda.ListFunctionsInput{FunctionVersion: types.FunctionVersionAll})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range out.Functions {
				all = append(all, aws.ToString(f.FunctionArn))
			}
		}
		for _, want := range []string{arn + ":$LATEST", arn + ":1", arn + ":2"} {
			if !slices.Contains(all, want) {
				t.Errorf("ListFunctions ALL lacks %s: %v", want, all)
			}
		}
	})

	t.Run("GetAccountSettings", func(t *testing.T) {
		out, err := client.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if out.AccountUsage.FunctionCount != 4 || out.AccountUsage.TotalCodeSize <= 0 {
			t.Errorf("AccountUsage %+v", out.AccountUsage)
		}
	})

	t.Run("Region from the signature", func(t *testing.T) {
		cfg := p.AWSConfig()
		cfg.Region = "eu-west-1"
		eu := lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(p.Endpoint); o.RetryMaxAttempts = 1 })
		out, err := eu.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil || aws.ToString(out.FunctionArn) != "arn:aws:lambda:eu-west-1:000000000000:function:"+name {
			t.Errorf("%v %v", out, err)
		}
		_, err = eu.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(arn)})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("DeleteFunction", func(t *testing.T) {
		_, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("$LATEST")})
		wantErr[*types.InvalidParameterValueException](t, err)
		if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("1")})
		wantErr[*types.ResourceNotFoundException](t, err)
		if _, err := client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String("2")}); err != nil {
			t.Errorf("version 2 after deleting 1: %v", err)
		}
		if _, err := client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		_, err = client.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		wantErr[*types.ResourceNotFoundException](t, err)
		_, err = client.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)})
		wantErr[*types.ResourceNotFoundException](t, err)
	})

	t.Run("unknown operation", func(t *testing.T) {
		resp, err := http.Get(p.Endpoint + "/2099-01-01/nothing-here")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" || resp.Header.Get("X-Amzn-RequestId") == "" {
			t.Errorf("%d %v", resp.StatusCode, resp.Header)
		}
	})
}

// wantErr fails the test unless err is (or wraps) an error of type T.
func wantErr[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		code := ""
		var api smithy.APIError
		if errors.As(err, &api) {
			code = api.ErrorCode()
		}
		t.Fatalf("got %T (%s) %v, want %T", err, code, err, target)
	}
	return target
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func download(t *testing.T, location string) []byte {
	t.Helper()
	resp, err := http.Get(location)
	if err != nil {
		t.Fatalf("GET %s: %v", location, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", location, resp.StatusCode, err)
	}
	return b
}

// bootstrapZip is a provided.al2023 package: an executable bootstrap at the root.
func bootstrapZip(t *testing.T, script string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, script); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
