package function

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Runtimes lists the runtime identifiers Lamina accepts, as AWS spells them.
var Runtimes = []string{
	"provided", "provided.al2", "provided.al2023",
	"go1.x",
	"python3.8", "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14",
	"nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x",
}

// Architectures Lamina accepts (exactly one per function).
const (
	ArchX86_64 = "x86_64"
	ArchArm64  = "arm64"
)

// Other defaults, as AWS.
const (
	DefaultTracingMode = "PassThrough"
	DefaultLogFormat   = "Text"
	// DefaultLogLevel is applied to ApplicationLogLevel and SystemLogLevel
	// when LogFormat is JSON and they are not set.
	DefaultLogLevel = "INFO"
	// MaxEnvironmentSize is the largest Environment, measured as AWS does:
	// the length of its compact JSON encoding.
	MaxEnvironmentSize = 4096
	maxDescription     = 256
	maxHandler         = 128
	maxLayers          = 5
	maxTags            = 50
)

// ReservedEnvironmentKeys are the variables Lambda sets itself and refuses
// in a function's Environment (AWS's list; TZ, LANG, PATH,
// AWS_LAMBDA_EXEC_WRAPPER and the like are not reserved and may be set).
var ReservedEnvironmentKeys = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID",
	"AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

var (
	roleRe     = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	envKeyRe   = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
	handlerRe  = regexp.MustCompile(`^[^\s]+$`)
	layerRe    = regexp.MustCompile(`^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$`)
	targetRe   = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:(sqs|sns):[a-z0-9-]+:\d{12}:.+$`)
	logGroupRe = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)
	tagKeyRe   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

var (
	appLogLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
	sysLogLevels = []string{"DEBUG", "INFO", "WARN"}
)

// IsProvidedRuntime reports whether runtime is an OS-only runtime whose
// package brings its own bootstrap.
func IsProvidedRuntime(runtime string) bool {
	return runtime == "provided" || strings.HasPrefix(runtime, "provided.")
}

// applyDefaults fills the zero fields of a new function's configuration.
func applyDefaults(name string, c *Config) {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MemorySize == 0 {
		c.MemorySize = DefaultMemorySize
	}
	if c.EphemeralStorage == 0 {
		c.EphemeralStorage = DefaultEphemeralStorage
	}
	if len(c.Architectures) == 0 {
		c.Architectures = []string{ArchX86_64}
	}
	normalizeLogging(name, c)
	if c.TracingMode == "" {
		c.TracingMode = DefaultTracingMode
	}
}

func normalizeLogging(name string, c *Config) {
	if c.LogFormat == "" {
		c.LogFormat = DefaultLogFormat
	}
	if c.LogGroup == "" {
		c.LogGroup = "/aws/lambda/" + name
	}
	if c.LogFormat == "JSON" {
		if c.ApplicationLogLevel == "" {
			c.ApplicationLogLevel = DefaultLogLevel
		}
		if c.SystemLogLevel == "" {
			c.SystemLogLevel = DefaultLogLevel
		}
	}
}

// validateConfig checks a complete configuration (defaults applied).
func (s *Service) validateConfig(c *Config) error {
	lim := s.opts.Limits
	if c.Runtime == "" {
		return fault.New(fault.Invalid, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if !slices.Contains(Runtimes, c.Runtime) {
		return fault.New(fault.Invalid, "The runtime parameter of %s is not supported for creating or updating functions. Supported runtimes: %s.", c.Runtime, strings.Join(Runtimes, ", "))
	}
	if c.Handler == "" && !IsProvidedRuntime(c.Runtime) {
		return fault.New(fault.Invalid, "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	if c.Handler != "" {
		if len(c.Handler) > maxHandler {
			return validation(c.Handler, "handler", fmt.Sprintf("Member must have length less than or equal to %d", maxHandler))
		}
		if !handlerRe.MatchString(c.Handler) {
			return validation(c.Handler, "handler", `Member must satisfy regular expression pattern: [^\s]+`)
		}
	}
	if !roleRe.MatchString(c.Role) {
		return validation(c.Role, "role", `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
	}
	if len(c.Description) > maxDescription {
		return validation(c.Description, "description", fmt.Sprintf("Member must have length less than or equal to %d", maxDescription))
	}
	if err := intRange(c.Timeout, "timeout", 1, lim.MaxTimeout); err != nil {
		return err
	}
	if err := intRange(c.MemorySize, "memorySize", 128, lim.MaxMemorySize); err != nil {
		return err
	}
	if err := intRange(c.EphemeralStorage, "ephemeralStorage.size", 512, 10240); err != nil {
		return err
	}
	if err := checkArchitectures(c.Architectures); err != nil {
		return err
	}
	if err := checkEnvironment(c.Environment); err != nil {
		return err
	}
	if c.DeadLetterTargetArn != "" && !targetRe.MatchString(c.DeadLetterTargetArn) {
		return fault.New(fault.Invalid, "The provided target ARN %s is not valid: a dead-letter target must be an Amazon SQS queue or Amazon SNS topic ARN.", c.DeadLetterTargetArn)
	}
	if c.TracingMode != "Active" && c.TracingMode != "PassThrough" {
		return validation(c.TracingMode, "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]")
	}
	if len(c.Layers) > maxLayers {
		return fault.New(fault.Invalid, "Cannot reference more than %d layers.", maxLayers)
	}
	for _, l := range c.Layers {
		if !layerRe.MatchString(l) {
			return validation("["+strings.Join(c.Layers, ", ")+"]", "layers",
				`Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+), Member must not be null]`)
		}
	}
	if c.LogFormat != "JSON" && c.LogFormat != "Text" {
		return validation(c.LogFormat, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]")
	}
	if c.ApplicationLogLevel != "" && !slices.Contains(appLogLevels, c.ApplicationLogLevel) {
		return validation(c.ApplicationLogLevel, "loggingConfig.applicationLogLevel", "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]")
	}
	if c.SystemLogLevel != "" && !slices.Contains(sysLogLevels, c.SystemLogLevel) {
		return validation(c.SystemLogLevel, "loggingConfig.systemLogLevel", "Member must satisfy enum value set: [DEBUG, INFO, WARN]")
	}
	if !logGroupRe.MatchString(c.LogGroup) {
		return validation(c.LogGroup, "loggingConfig.logGroup", `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

func intRange(v int, field string, lo, hi int) error {
	if v < lo {
		return validation(v, field, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
	if v > hi {
		return validation(v, field, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
	return nil
}

func checkArchitectures(a []string) error {
	if len(a) != 1 {
		return validation("["+strings.Join(a, ", ")+"]", "architectures", "Member must have length less than or equal to 1")
	}
	if a[0] != ArchX86_64 && a[0] != ArchArm64 {
		return validation("["+strings.Join(a, ", ")+"]", "architectures", "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]")
	}
	return nil
}

func checkEnvironment(env map[string]string) error {
	if len(env) == 0 {
		return nil
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envKeyRe.MatchString(k) {
			return validation(fmt.Sprintf("{%s=%s}", k, env[k]), "environment.variables",
				"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
	}
	var reserved []string
	for _, k := range keys {
		if slices.Contains(ReservedEnvironmentKeys, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return fault.New(fault.Invalid, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	b, _ := json.Marshal(env)
	if len(b) > MaxEnvironmentSize {
		return fault.New(fault.Invalid, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %s", b)
	}
	return nil
}

func checkTags(tags map[string]string) error {
	if len(tags) > maxTags {
		return fault.New(fault.Invalid, "Number of tags exceeds resource tag limit of %d.", maxTags)
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > 128 || !tagKeyRe.MatchString(k):
			return fault.New(fault.Invalid, "The tag key %q is not valid: tag keys are 1 to 128 letters, digits, spaces and _.:/=+-@.", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fault.New(fault.Invalid, "The tag key %q uses the reserved prefix aws:.", k)
		case len(v) > 256:
			return fault.New(fault.Invalid, "The value of tag %q is longer than 256 characters.", k)
		}
	}
	return nil
}

// checkAliasName validates an alias name: AWS's
// (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1 to 128 characters.
func checkAliasName(name string) error {
	if !aliasNameRe.MatchString(name) || isVersionNumber(name) {
		return validation(name, "name", `Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)`)
	}
	return nil
}

func checkAliasVersion(v string) error {
	if v != Latest && !isVersionNumber(v) {
		return validation(v, "functionVersion", `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`)
	}
	return nil
}
