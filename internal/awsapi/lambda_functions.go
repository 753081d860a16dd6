package awsapi

import (
	"net/http"

	"github.com/lamina-dev/lamina/internal/function"
)

// onlyZipFile is the answer to a package Lamina cannot fetch.
const onlyZipFile = "Lamina accepts deployment packages only as ZipFile (the zip's bytes in the request); S3Bucket/S3Key/S3ObjectVersion and ImageUri are not supported."

func checkCodeSource(s3Bucket, s3Key, s3ObjectVersion, imageURI string) error {
	if s3Bucket != "" || s3Key != "" || s3ObjectVersion != "" || imageURI != "" {
		return invalidParameter("%s", onlyZipFile)
	}
	return nil
}

// positive rejects an explicit value below 1 for a member whose zero means
// "the default" in the registry's Go types.
func positive(member string, v *int) error {
	if v != nil && *v < 1 {
		return invalidParameter("1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value greater than or equal to 1", *v, member)
	}
	return nil
}

func (a *API) createFunction(w http.ResponseWriter, r *http.Request, c *call) error {
	var in createFunctionIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if in.FunctionName == "" {
		return invalidParameter("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
	}
	// CreateFunction accepts a name or a (partial) ARN, but not a qualifier.
	ref, err := a.resolve(c, in.FunctionName, "")
	if err != nil {
		return err
	}
	if ref.Qualifier != "" {
		return invalidParameter("A function name for CreateFunction cannot carry a version or alias qualifier: %s", in.FunctionName)
	}
	if in.PackageType != "" && in.PackageType != function.PackageTypeZip {
		return invalidParameter("Lamina supports only PackageType Zip; got %s.", in.PackageType)
	}
	if in.Code == nil {
		return invalidParameter("1 validation error detected: Value null at 'code' failed to satisfy constraint: Member must not be null")
	}
	if err := checkCodeSource(in.Code.S3Bucket, in.Code.S3Key, in.Code.S3ObjectVersion, in.Code.ImageUri); err != nil {
		return err
	}
	if len(in.Code.ZipFile) == 0 {
		return invalidParameter("Code.ZipFile is required: %s", onlyZipFile)
	}
	if err := positive("timeout", in.Timeout); err != nil {
		return err
	}
	if err := positive("memorySize", in.MemorySize); err != nil {
		return err
	}
	cin := function.CreateInput{
		FunctionName: ref.Name,
		Config: function.Config{
			Runtime:       in.Runtime,
			Handler:       in.Handler,
			Role:          in.Role,
			Description:   in.Description,
			Architectures: in.Architectures,
			Layers:        in.Layers,
		},
		ZipFile: in.Code.ZipFile,
		Publish: in.Publish,
		Tags:    in.Tags,
	}
	if in.Timeout != nil {
		cin.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		cin.MemorySize = *in.MemorySize
	}
	if in.Environment != nil {
		cin.Environment = in.Environment.Variables
	}
	if in.DeadLetterConfig != nil && in.DeadLetterConfig.TargetArn != nil {
		cin.DeadLetterTargetArn = *in.DeadLetterConfig.TargetArn
	}
	if in.TracingConfig != nil && in.TracingConfig.Mode != nil {
		cin.TracingMode = *in.TracingConfig.Mode
	}
	if in.EphemeralStorage != nil {
		if in.EphemeralStorage.Size == nil {
			return invalidParameter("1 validation error detected: Value null at 'ephemeralStorage.size' failed to satisfy constraint: Member must not be null")
		}
		if err := positive("ephemeralStorage.size", in.EphemeralStorage.Size); err != nil {
			return err
		}
		cin.EphemeralStorage = *in.EphemeralStorage.Size
	}
	if lc := in.LoggingConfig; lc != nil {
		cin.LogFormat = deref(lc.LogFormat)
		cin.ApplicationLogLevel = deref(lc.ApplicationLogLevel)
		cin.SystemLogLevel = deref(lc.SystemLogLevel)
		cin.LogGroup = deref(lc.LogGroup)
	}
	f, err := a.opts.Functions.Create(r.Context(), cin)
	if err != nil {
		return err
	}
	a.prepare(r.Context(), f.FunctionName)
	// AWS answers CreateFunction with the unqualified ARN, even with
	// Publish (then Version is "1").
	return writeJSON(w, http.StatusCreated, a.renderConfig(c, f.Version, configView{created: true}))
}

func (a *API) getFunction(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	f, err := a.opts.Functions.Get(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return err
	}
	out := getFunctionOut{
		Configuration: a.renderConfig(c, f.Version, configView{arnQualifier: ref.Qualifier}),
		Code: functionCodeLocation{
			RepositoryType: "S3",
			Location:       a.codeURL(r, f.FunctionName, orDefault(f.Version.Version, function.Latest), f.CodeSha256),
		},
	}
	if len(f.Tags) > 0 {
		out.Tags = f.Tags
	}
	if f.ReservedConcurrency != nil {
		out.Concurrency = &concurrencyOut{ReservedConcurrentExecutions: f.ReservedConcurrency}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) getFunctionConfiguration(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	f, err := a.opts.Functions.Get(r.Context(), ref.Name, ref.Qualifier)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderConfig(c, f.Version, configView{arnQualifier: ref.Qualifier}))
}

func (a *API) listFunctions(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	all := false
	switch fv := r.URL.Query().Get("FunctionVersion"); fv {
	case "":
	case "ALL":
		all = true
	default:
		return invalidParameter("1 validation error detected: Value '%s' at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]", fv)
	}
	versions, next, err := a.opts.Functions.List(r.Context(), p, all)
	if err != nil {
		return err
	}
	out := listFunctionsOut{Functions: make([]functionConfiguration, 0, len(versions)), NextMarker: next}
	for _, v := range versions {
		view := configView{list: true}
		if all {
			// Listing every version qualifies every ARN, $LATEST's included.
			view.arnQualifier = orDefault(v.Version, function.Latest)
		}
		out.Functions = append(out.Functions, a.renderConfig(c, v, view))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteFunction(w http.ResponseWriter, r *http.Request, c *call) error {
	ref, err := a.resolveQualified(r, c)
	if err != nil {
		return err
	}
	if err := a.opts.Functions.Delete(r.Context(), ref.Name, ref.Qualifier); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) updateFunctionCode(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in updateFunctionCodeIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := checkCodeSource(in.S3Bucket, in.S3Key, in.S3ObjectVersion, in.ImageUri); err != nil {
		return err
	}
	if len(in.ZipFile) == 0 {
		return invalidParameter("ZipFile is required: %s", onlyZipFile)
	}
	v, err := a.opts.Functions.UpdateCode(r.Context(), name, function.UpdateCodeInput{
		ZipFile:       in.ZipFile,
		Publish:       in.Publish,
		DryRun:        in.DryRun,
		RevisionID:    in.RevisionId,
		Architectures: in.Architectures,
	})
	if err != nil {
		return err
	}
	if !in.DryRun {
		a.prepare(r.Context(), name)
	}
	view := configView{}
	if v.Version != "" && v.Version != function.Latest {
		view.arnQualifier = v.Version // with Publish, the new version
	}
	return writeJSON(w, http.StatusOK, a.renderConfig(c, v, view))
}

func (a *API) updateFunctionConfiguration(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.resolveFunction(r, c)
	if err != nil {
		return err
	}
	var in updateFunctionConfigurationIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := positive("timeout", in.Timeout); err != nil {
		return err
	}
	if err := positive("memorySize", in.MemorySize); err != nil {
		return err
	}
	u := function.UpdateConfigInput{
		Runtime:     in.Runtime,
		Handler:     in.Handler,
		Role:        in.Role,
		Description: in.Description,
		Timeout:     in.Timeout,
		MemorySize:  in.MemorySize,
		Layers:      in.Layers,
		RevisionID:  in.RevisionId,
	}
	if in.Environment != nil {
		// Environment:{} (or Variables:{}) removes every variable.
		vars := in.Environment.Variables
		if vars == nil {
			vars = map[string]string{}
		}
		u.Environment = &vars
	}
	if in.DeadLetterConfig != nil {
		// DeadLetterConfig:{} removes the target.
		target := deref(in.DeadLetterConfig.TargetArn)
		u.DeadLetterTargetArn = &target
	}
	if in.TracingConfig != nil {
		u.TracingMode = in.TracingConfig.Mode
	}
	if in.EphemeralStorage != nil {
		if err := positive("ephemeralStorage.size", in.EphemeralStorage.Size); err != nil {
			return err
		}
		u.EphemeralStorage = in.EphemeralStorage.Size
	}
	if lc := in.LoggingConfig; lc != nil {
		u.LogFormat = lc.LogFormat
		u.ApplicationLogLevel = lc.ApplicationLogLevel
		u.SystemLogLevel = lc.SystemLogLevel
		u.LogGroup = lc.LogGroup
	}
	v, err := a.opts.Functions.UpdateConfig(r.Context(), name, u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.renderConfig(c, v, configView{}))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
