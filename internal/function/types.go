package function

import "time"

// Latest is the qualifier of the mutable, unpublished version.
const Latest = "$LATEST"

// States and update statuses. Lamina applies changes synchronously, so a
// function is always Active and its last update Successful; SDK waiters
// (function-active-v2, function-updated-v2) poll for exactly these values.
const (
	StateActive             = "Active"
	LastUpdateSuccessful    = "Successful"
	PackageTypeZip          = "Zip"
	DefaultTimeout          = 3   // seconds, as AWS
	DefaultMemorySize       = 128 // MB, as AWS
	DefaultEphemeralStorage = 512 // MB, as AWS
)

// Config is the part of a function that its owner sets: everything in
// CreateFunction and UpdateFunctionConfiguration except the code.
type Config struct {
	Runtime     string
	Handler     string
	Role        string
	Description string
	// Timeout in seconds.
	Timeout int
	// MemorySize in MB.
	MemorySize int
	// EphemeralStorage (the /tmp size) in MB.
	EphemeralStorage int
	Architectures    []string
	Environment      map[string]string
	// DeadLetterTargetArn is DeadLetterConfig.TargetArn ("" = none).
	DeadLetterTargetArn string
	// TracingMode is TracingConfig.Mode ("PassThrough" by default).
	TracingMode string
	// Layers are layer version ARNs (stored, not applied yet).
	Layers []string
	// LogFormat is LoggingConfig.LogFormat ("Text" by default); the log
	// group defaults to /aws/lambda/<name>.
	LogFormat           string
	ApplicationLogLevel string
	SystemLogLevel      string
	LogGroup            string
}

// Version is a function at one qualifier: $LATEST (mutable) or a published,
// immutable version "1", "2", ...
type Version struct {
	FunctionName string
	// Version is Latest or a decimal version number.
	Version string
	Config
	PackageType string
	// CodeSha256 is the base64 of the SHA-256 of the zip, as AWS reports it.
	CodeSha256 string
	// CodeSize is the zip's size in bytes.
	CodeSize int64
	// CodeKey names the zip in the code object store.
	CodeKey string
	// LastModified is when this version's code or configuration last changed.
	LastModified time.Time
	// RevisionID changes on every change of this version (a UUID).
	RevisionID       string
	State            string
	LastUpdateStatus string
}

// Function is what GetFunction returns: a version plus function-wide settings.
type Function struct {
	Version
	Tags map[string]string
	// ReservedConcurrency is nil when none is set; 0 means fully throttled.
	ReservedConcurrency *int
}

// Alias names a version, optionally splitting traffic with a second one.
type Alias struct {
	FunctionName    string
	Name            string
	FunctionVersion string
	Description     string
	// AdditionalVersionWeights maps one other version to the share (0..1) of
	// invocations it receives.
	AdditionalVersionWeights map[string]float64
	RevisionID               string
}

// CreateInput is a CreateFunction request.
type CreateInput struct {
	FunctionName string
	Config
	// ZipFile is the deployment package.
	ZipFile []byte
	// Publish also publishes version 1.
	Publish bool
	Tags    map[string]string
}

// UpdateCodeInput is an UpdateFunctionCode request.
type UpdateCodeInput struct {
	ZipFile []byte
	Publish bool
	// DryRun validates and reports without changing anything.
	DryRun bool
	// RevisionID, when set, must equal $LATEST's current revision.
	RevisionID    string
	Architectures []string
}

// UpdateConfigInput is an UpdateFunctionConfiguration request; nil fields
// are left as they are.
type UpdateConfigInput struct {
	Runtime             *string
	Handler             *string
	Role                *string
	Description         *string
	Timeout             *int
	MemorySize          *int
	EphemeralStorage    *int
	Environment         *map[string]string
	DeadLetterTargetArn *string
	TracingMode         *string
	Layers              *[]string
	LogFormat           *string
	ApplicationLogLevel *string
	SystemLogLevel      *string
	LogGroup            *string
	// RevisionID, when set, must equal $LATEST's current revision.
	RevisionID string
}

// PublishInput is a PublishVersion request.
type PublishInput struct {
	// CodeSha256, when set, must equal $LATEST's (else fault.Invalid, as AWS's InvalidParameterValueException).
	CodeSha256  string
	Description string
	RevisionID  string
}

// AliasUpdate is an UpdateAlias request; nil fields are left as they are.
type AliasUpdate struct {
	FunctionVersion *string
	Description     *string
	// AdditionalVersionWeights replaces the routing weights when non-nil.
	AdditionalVersionWeights *map[string]float64
	RevisionID               string
}

// Page asks for one page of a listing. Marker is the NextMarker of the
// previous page ("" = first page); MaxItems 0 means the default (50).
type Page struct {
	Marker   string
	MaxItems int
}

// Usage summarises the registry for GetAccountSettings.
type Usage struct {
	FunctionCount int64
	TotalCodeSize int64
	// ReservedConcurrency sums every function's reserved concurrency.
	ReservedConcurrency int64
}
