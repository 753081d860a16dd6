package runtime

import (
	"context"
	"log/slog"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// Spec is everything needed to start an instance of one function version.
// Two specs with the same Key run in interchangeable instances; a change of
// code or configuration changes the Key, which retires the old instances.
type Spec struct {
	// Key identifies the exact code+configuration (for example
	// "<name>:<version>:<revision id>"). Instances are pooled per Key.
	Key          string
	FunctionName string
	// Version is "$LATEST" or a published version number.
	Version string
	Runtime string
	Handler string
	// CodeSha256 (base64, as the registry reports it) names the package; the
	// pool extracts each package once into its code cache.
	CodeSha256 string
	// Code reads the zip; called only when the package is not yet extracted.
	Code             func(ctx context.Context) ([]byte, error)
	MemoryMB         int
	Timeout          time.Duration
	EphemeralStorage int // MB
	Environment      map[string]string
	Region           string
	AccountID        string
	LogGroup         string
	LogFormat        string
}

// Invocation is one event for a function.
type Invocation struct {
	RequestID string
	Payload   []byte
	// Deadline is when the function times out (start + Timeout).
	Deadline time.Time
	// InvokedFunctionARN is the ARN as the caller qualified it.
	InvokedFunctionARN string
	TraceID            string
	// ClientContext is the decoded JSON of X-Amz-Client-Context ("" = none).
	ClientContext string
	// CognitoIdentity is JSON {"cognitoIdentityId","cognitoIdentityPoolId"} ("" = none).
	CognitoIdentity string
	// WantLogTail asks for the last 4 KB of this invocation's log.
	WantLogTail bool
}

// Result is what became of an invocation that reached an instance.
type Result struct {
	// Payload is the function's response, or the error document when
	// FunctionError is set.
	Payload []byte
	// FunctionError is "Unhandled" when the function (or the platform on its
	// behalf: timeout, crash, oversize response) failed.
	FunctionError string
	// ErrorType is the errorType of a failure, e.g. "Sandbox.Timedout".
	ErrorType string
	// ContentType of the response as the runtime posted it.
	ContentType string
	// LogTail is the last 4 KB of the invocation's log (when asked for).
	LogTail  []byte
	Duration time.Duration
	// InitDuration is set on a cold start.
	InitDuration time.Duration
	// MaxMemoryUsedMB as measured for the instance (0 when unknown).
	MaxMemoryUsedMB int
}

// Options configure a Pool. Zero fields take the defaults.
type Options struct {
	// Dir is the runtime's work directory: the code cache (one read-only
	// extracted copy per package) and each instance's private tmp directory.
	Dir string
	// Logs receives every line functions write plus START/END/REPORT.
	Logs telemetry.LogSink
	// KeepWarm is how long an idle instance is kept before it is reaped (default 10 min).
	KeepWarm time.Duration
	// InitTimeout bounds the init phase, from process start to the first
	// /next (default 10 s, as AWS).
	InitTimeout time.Duration
	// MaxResponseSize is the largest response accepted (default 6 MB:
	// 6291556 bytes as AWS reports it).
	MaxResponseSize int64
	// AllowRoot lets instances keep Lamina's user (root) when the only
	// Python or Node interpreter found cannot be run by the sandbox user
	// (nobody), e.g. a pyenv install under a 0700 /root. By default
	// (false) such functions fail with Runtime.InvalidEntrypoint instead:
	// running untrusted code as root defeats the sandbox. It changes
	// nothing when Lamina does not run as root.
	AllowRoot bool
	// EndpointURL is Lamina's edge (AWS APIs), given to functions as
	// AWS_ENDPOINT_URL so that their AWS SDK clients (aws-sdk-go-v2,
	// boto3, the JS SDK v3) call Lamina's queues and topics instead of AWS.
	// A function's own AWS_ENDPOINT_URL wins; "" sets none.
	EndpointURL string
	// SharedCPUs lets every instance run on all of Lamina's CPUs. By
	// default an instance is pinned to the whole CPUs its memory buys on
	// Lambda (one per 1,769 MB, at least one), spread over the least
	// loaded ones.
	SharedCPUs bool
	Clock      clock.Clock
	Logger     *slog.Logger
}

// InstanceInfo describes one live instance (for stats and tests).
type InstanceInfo struct {
	ID           string
	Key          string
	FunctionName string
	Version      string
	// State is "starting", "idle", "invoking" or "dead".
	State string
	PID   int
	// Provisioned instances are kept started ahead of traffic.
	Provisioned bool
	Invocations int
	Started     time.Time
	LastUsed    time.Time
}
