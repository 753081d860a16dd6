package awsapi

import (
	"time"

	"github.com/lamina-dev/lamina/internal/function"
)

// Lambda's JSON shapes, member names exactly as in the service model
// (aws-sdk-go-v2 service/lambda schemas: the deserializer matches member
// names case-sensitively). Requests ignore members Lamina does not use;
// responses omit what Lamina does not have rather than send nulls.

// ---- requests

type functionCodeIn struct {
	ZipFile         []byte `json:"ZipFile"` // base64 in JSON
	S3Bucket        string `json:"S3Bucket"`
	S3Key           string `json:"S3Key"`
	S3ObjectVersion string `json:"S3ObjectVersion"`
	ImageUri        string `json:"ImageUri"`
}

type environmentIn struct {
	Variables map[string]string `json:"Variables"`
}

type deadLetterConfigIn struct {
	TargetArn *string `json:"TargetArn"`
}

type tracingConfigIn struct {
	Mode *string `json:"Mode"`
}

type ephemeralStorageIn struct {
	Size *int `json:"Size"`
}

type loggingConfigIn struct {
	LogFormat           *string `json:"LogFormat"`
	ApplicationLogLevel *string `json:"ApplicationLogLevel"`
	SystemLogLevel      *string `json:"SystemLogLevel"`
	LogGroup            *string `json:"LogGroup"`
}

type createFunctionIn struct {
	FunctionName     string              `json:"FunctionName"`
	Runtime          string              `json:"Runtime"`
	Role             string              `json:"Role"`
	Handler          string              `json:"Handler"`
	Code             *functionCodeIn     `json:"Code"`
	Description      string              `json:"Description"`
	Timeout          *int                `json:"Timeout"`
	MemorySize       *int                `json:"MemorySize"`
	Publish          bool                `json:"Publish"`
	PackageType      string              `json:"PackageType"`
	DeadLetterConfig *deadLetterConfigIn `json:"DeadLetterConfig"`
	Environment      *environmentIn      `json:"Environment"`
	TracingConfig    *tracingConfigIn    `json:"TracingConfig"`
	Tags             map[string]string   `json:"Tags"`
	Layers           []string            `json:"Layers"`
	Architectures    []string            `json:"Architectures"`
	EphemeralStorage *ephemeralStorageIn `json:"EphemeralStorage"`
	LoggingConfig    *loggingConfigIn    `json:"LoggingConfig"`
}

type updateFunctionCodeIn struct {
	ZipFile         []byte   `json:"ZipFile"`
	S3Bucket        string   `json:"S3Bucket"`
	S3Key           string   `json:"S3Key"`
	S3ObjectVersion string   `json:"S3ObjectVersion"`
	ImageUri        string   `json:"ImageUri"`
	Publish         bool     `json:"Publish"`
	DryRun          bool     `json:"DryRun"`
	RevisionId      string   `json:"RevisionId"`
	Architectures   []string `json:"Architectures"`
}

type updateFunctionConfigurationIn struct {
	Runtime          *string             `json:"Runtime"`
	Role             *string             `json:"Role"`
	Handler          *string             `json:"Handler"`
	Description      *string             `json:"Description"`
	Timeout          *int                `json:"Timeout"`
	MemorySize       *int                `json:"MemorySize"`
	Environment      *environmentIn      `json:"Environment"`
	DeadLetterConfig *deadLetterConfigIn `json:"DeadLetterConfig"`
	TracingConfig    *tracingConfigIn    `json:"TracingConfig"`
	Layers           *[]string           `json:"Layers"`
	EphemeralStorage *ephemeralStorageIn `json:"EphemeralStorage"`
	LoggingConfig    *loggingConfigIn    `json:"LoggingConfig"`
	RevisionId       string              `json:"RevisionId"`
}

type publishVersionIn struct {
	CodeSha256  string `json:"CodeSha256"`
	Description string `json:"Description"`
	RevisionId  string `json:"RevisionId"`
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights"`
}

type createAliasIn struct {
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
}

type updateAliasIn struct {
	FunctionVersion *string        `json:"FunctionVersion"`
	Description     *string        `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
	RevisionId      string         `json:"RevisionId"`
}

type putConcurrencyIn struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions"`
}

type tagResourceIn struct {
	Tags map[string]string `json:"Tags"`
}

// ---- responses

type environmentOut struct {
	Variables map[string]string `json:"Variables"`
}

type tracingConfigOut struct {
	Mode string `json:"Mode"`
}

type ephemeralStorageOut struct {
	Size int `json:"Size"`
}

type deadLetterConfigOut struct {
	TargetArn string `json:"TargetArn"`
}

type loggingConfigOut struct {
	LogFormat           string `json:"LogFormat"`
	ApplicationLogLevel string `json:"ApplicationLogLevel,omitempty"`
	SystemLogLevel      string `json:"SystemLogLevel,omitempty"`
	LogGroup            string `json:"LogGroup"`
}

type layerOut struct {
	Arn      string `json:"Arn"`
	CodeSize int64  `json:"CodeSize"`
}

// functionConfiguration is Lambda's FunctionConfiguration.
type functionConfiguration struct {
	FunctionName     string               `json:"FunctionName"`
	FunctionArn      string               `json:"FunctionArn"`
	Runtime          string               `json:"Runtime,omitempty"`
	Role             string               `json:"Role"`
	Handler          string               `json:"Handler,omitempty"`
	CodeSize         int64                `json:"CodeSize"`
	Description      string               `json:"Description"`
	Timeout          int                  `json:"Timeout"`
	MemorySize       int                  `json:"MemorySize"`
	LastModified     string               `json:"LastModified"`
	CodeSha256       string               `json:"CodeSha256"`
	Version          string               `json:"Version"`
	Environment      *environmentOut      `json:"Environment,omitempty"`
	TracingConfig    tracingConfigOut     `json:"TracingConfig"`
	RevisionId       string               `json:"RevisionId"`
	DeadLetterConfig *deadLetterConfigOut `json:"DeadLetterConfig,omitempty"`
	Layers           []layerOut           `json:"Layers,omitempty"`
	State            string               `json:"State,omitempty"`
	LastUpdateStatus string               `json:"LastUpdateStatus,omitempty"`
	PackageType      string               `json:"PackageType"`
	Architectures    []string             `json:"Architectures"`
	EphemeralStorage ephemeralStorageOut  `json:"EphemeralStorage"`
	LoggingConfig    loggingConfigOut     `json:"LoggingConfig"`
}

type functionCodeLocation struct {
	RepositoryType string `json:"RepositoryType"`
	Location       string `json:"Location"`
}

type concurrencyOut struct {
	ReservedConcurrentExecutions *int `json:"ReservedConcurrentExecutions,omitempty"`
}

type getFunctionOut struct {
	Configuration functionConfiguration `json:"Configuration"`
	Code          functionCodeLocation  `json:"Code"`
	Tags          map[string]string     `json:"Tags,omitempty"`
	Concurrency   *concurrencyOut       `json:"Concurrency,omitempty"`
}

type listFunctionsOut struct {
	Functions  []functionConfiguration `json:"Functions"`
	NextMarker string                  `json:"NextMarker,omitempty"`
}

type listVersionsOut struct {
	Versions   []functionConfiguration `json:"Versions"`
	NextMarker string                  `json:"NextMarker,omitempty"`
}

type aliasConfiguration struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
	RevisionId      string         `json:"RevisionId"`
}

type listAliasesOut struct {
	Aliases    []aliasConfiguration `json:"Aliases"`
	NextMarker string               `json:"NextMarker,omitempty"`
}

type listTagsOut struct {
	Tags map[string]string `json:"Tags"`
}

type accountLimit struct {
	TotalCodeSize                  int64 `json:"TotalCodeSize"`
	CodeSizeUnzipped               int64 `json:"CodeSizeUnzipped"`
	CodeSizeZipped                 int64 `json:"CodeSizeZipped"`
	ConcurrentExecutions           int   `json:"ConcurrentExecutions"`
	UnreservedConcurrentExecutions int   `json:"UnreservedConcurrentExecutions"`
}

type accountUsage struct {
	TotalCodeSize int64 `json:"TotalCodeSize"`
	FunctionCount int64 `json:"FunctionCount"`
}

type accountSettingsOut struct {
	AccountLimit accountLimit `json:"AccountLimit"`
	AccountUsage accountUsage `json:"AccountUsage"`
}

// ---- rendering

// lastModifiedLayout is FunctionConfiguration.LastModified's format, e.g.
// 2024-01-31T12:34:56.789+0000 (a string in the model, not a timestamp).
const lastModifiedLayout = "2006-01-02T15:04:05.000-0700"

func formatLastModified(t time.Time) string {
	return t.UTC().Format(lastModifiedLayout)
}

// configView says how to render a version in one operation's answer.
type configView struct {
	// arnQualifier qualifies FunctionArn ("" = the unqualified ARN). AWS
	// qualifies it with whatever the caller named: GetFunction without a
	// qualifier gives the unqualified ARN even though Version is $LATEST;
	// with Qualifier=$LATEST, an alias or a version, the ARN ends in it;
	// listings of versions qualify every entry, $LATEST included.
	arnQualifier string
	// list drops the per-version status members, as AWS's listings do.
	list bool
	// created drops LastUpdateStatus, as AWS's CreateFunction answer does.
	created bool
}

func (a *API) renderConfig(c *call, v function.Version, view configView) functionConfiguration {
	fc := functionConfiguration{
		FunctionName:  v.FunctionName,
		FunctionArn:   a.functionARN(c, v.FunctionName, view.arnQualifier),
		Runtime:       v.Runtime,
		Role:          v.Role,
		Handler:       v.Handler,
		CodeSize:      v.CodeSize,
		Description:   v.Description,
		Timeout:       orDefault(v.Timeout, function.DefaultTimeout),
		MemorySize:    orDefault(v.MemorySize, function.DefaultMemorySize),
		CodeSha256:    v.CodeSha256,
		Version:       orDefault(v.Version, function.Latest),
		TracingConfig: tracingConfigOut{Mode: orDefault(v.TracingMode, "PassThrough")},
		RevisionId:    v.RevisionID,
		PackageType:   orDefault(v.PackageType, function.PackageTypeZip),
		Architectures: v.Architectures,
		EphemeralStorage: ephemeralStorageOut{
			Size: orDefault(v.EphemeralStorage, function.DefaultEphemeralStorage),
		},
		LoggingConfig: loggingConfigOut{
			LogFormat:           orDefault(v.LogFormat, "Text"),
			ApplicationLogLevel: v.ApplicationLogLevel,
			SystemLogLevel:      v.SystemLogLevel,
			LogGroup:            orDefault(v.LogGroup, "/aws/lambda/"+v.FunctionName),
		},
	}
	if !v.LastModified.IsZero() {
		fc.LastModified = formatLastModified(v.LastModified)
	}
	if len(fc.Architectures) == 0 {
		fc.Architectures = []string{"x86_64"}
	}
	if len(v.Environment) > 0 {
		fc.Environment = &environmentOut{Variables: v.Environment}
	}
	if v.DeadLetterTargetArn != "" {
		fc.DeadLetterConfig = &deadLetterConfigOut{TargetArn: v.DeadLetterTargetArn}
	}
	for _, l := range v.Layers {
		fc.Layers = append(fc.Layers, layerOut{Arn: l})
	}
	if !view.list {
		// Lamina applies changes synchronously; SDK waiters poll for these.
		fc.State = orDefault(v.State, function.StateActive)
		if !view.created {
			fc.LastUpdateStatus = orDefault(v.LastUpdateStatus, function.LastUpdateSuccessful)
		}
	}
	return fc
}

func (a *API) renderAlias(c *call, al function.Alias) aliasConfiguration {
	out := aliasConfiguration{
		AliasArn:        a.functionARN(c, al.FunctionName, al.Name),
		Name:            al.Name,
		FunctionVersion: al.FunctionVersion,
		Description:     al.Description,
		RevisionId:      al.RevisionID,
	}
	if len(al.AdditionalVersionWeights) > 0 {
		out.RoutingConfig = &routingConfig{AdditionalVersionWeights: al.AdditionalVersionWeights}
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
