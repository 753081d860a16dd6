package function

import (
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func validConfig() Config {
	c := Config{Runtime: "python3.12", Handler: "app.handler", Role: "arn:aws:iam::123456789012:role/lambda-role"}
	applyDefaults("f", &c)
	return c
}

func TestApplyDefaults(t *testing.T) {
	c := Config{}
	applyDefaults("my-fn", &c)
	want := Config{
		Timeout: 3, MemorySize: 128, EphemeralStorage: 512, Architectures: []string{"x86_64"},
		TracingMode: "PassThrough", LogFormat: "Text", LogGroup: "/aws/lambda/my-fn",
	}
	if c.Timeout != want.Timeout || c.MemorySize != want.MemorySize || c.EphemeralStorage != want.EphemeralStorage ||
		len(c.Architectures) != 1 || c.Architectures[0] != "x86_64" || c.TracingMode != want.TracingMode ||
		c.LogFormat != want.LogFormat || c.LogGroup != want.LogGroup || c.ApplicationLogLevel != "" {
		t.Errorf("defaults = %+v", c)
	}
	j := Config{LogFormat: "JSON"}
	applyDefaults("f", &j)
	if j.ApplicationLogLevel != "INFO" || j.SystemLogLevel != "INFO" {
		t.Errorf("JSON logging levels = %q, %q", j.ApplicationLogLevel, j.SystemLogLevel)
	}
}

func TestValidateConfig(t *testing.T) {
	s := &Service{opts: Options{Limits: Limits{}.withDefaults()}}
	bigEnv := map[string]string{"BIG": strings.Repeat("x", 4090)}
	tests := []struct {
		name string
		edit func(c *Config)
		msg  string // "" = valid
	}{
		{name: "valid", edit: func(c *Config) {}},
		{name: "provided without handler", edit: func(c *Config) { c.Runtime, c.Handler = "provided.al2023", "" }},
		{name: "arm64", edit: func(c *Config) { c.Architectures = []string{"arm64"} }},
		{name: "limits", edit: func(c *Config) { c.Timeout, c.MemorySize, c.EphemeralStorage = 900, 10240, 10240 }},
		{name: "env ok", edit: func(c *Config) {
			c.Environment = map[string]string{"TZ": "Europe/Paris", "AWS_LAMBDA_EXEC_WRAPPER": "/opt/w", "Ab_1": ""}
		}},
		{name: "gov role", edit: func(c *Config) { c.Role = "arn:aws-us-gov:iam::123456789012:role/path/to/r" }},
		{name: "dlq sqs", edit: func(c *Config) { c.DeadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:dlq" }},
		{name: "layers", edit: func(c *Config) { c.Layers = []string{"arn:aws:lambda:us-east-1:123456789012:layer:l:1"} }},
		{name: "json logs", edit: func(c *Config) { c.LogFormat, c.ApplicationLogLevel, c.SystemLogLevel = "JSON", "DEBUG", "WARN" }},

		{name: "no runtime", edit: func(c *Config) { c.Runtime = "" }, msg: "Runtime and Handler are mandatory parameters"},
		{name: "unknown runtime", edit: func(c *Config) { c.Runtime = "java21" }, msg: "The runtime parameter of java21 is not supported"},
		{name: "no handler", edit: func(c *Config) { c.Handler = "" }, msg: "Runtime and Handler are mandatory parameters"},
		{name: "long handler", edit: func(c *Config) { c.Handler = strings.Repeat("h", 129) }, msg: "at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{name: "handler space", edit: func(c *Config) { c.Handler = "a b" }, msg: "at 'handler'"},
		{name: "no role", edit: func(c *Config) { c.Role = "" }, msg: "at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern"},
		{name: "user not role", edit: func(c *Config) { c.Role = "arn:aws:iam::123456789012:user/u" }, msg: "at 'role'"},
		{name: "short account", edit: func(c *Config) { c.Role = "arn:aws:iam::1234:role/r" }, msg: "at 'role'"},
		{name: "description", edit: func(c *Config) { c.Description = strings.Repeat("d", 257) }, msg: "at 'description' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{name: "timeout 0", edit: func(c *Config) { c.Timeout = 0 }, msg: "Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{name: "timeout 901", edit: func(c *Config) { c.Timeout = 901 }, msg: "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900"},
		{name: "memory 127", edit: func(c *Config) { c.MemorySize = 127 }, msg: "at 'memorySize'"},
		{name: "memory 10241", edit: func(c *Config) { c.MemorySize = 10241 }, msg: "at 'memorySize'"},
		{name: "ephemeral 511", edit: func(c *Config) { c.EphemeralStorage = 511 }, msg: "at 'ephemeralStorage.size'"},
		{name: "ephemeral 10241", edit: func(c *Config) { c.EphemeralStorage = 10241 }, msg: "at 'ephemeralStorage.size'"},
		{name: "two architectures", edit: func(c *Config) { c.Architectures = []string{"x86_64", "arm64"} }, msg: "at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{name: "bad architecture", edit: func(c *Config) { c.Architectures = []string{"riscv"} }, msg: "enum value set: [x86_64, arm64]"},
		{name: "reserved env", edit: func(c *Config) {
			c.Environment = map[string]string{"AWS_REGION": "x", "OK_KEY": "y", "LAMBDA_TASK_ROOT": "z"}
		}, msg: "Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT"},
		{name: "env key pattern", edit: func(c *Config) { c.Environment = map[string]string{"1BAD": "x"} }, msg: "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]"},
		{name: "env key too short", edit: func(c *Config) { c.Environment = map[string]string{"A": "x"} }, msg: "at 'environment.variables'"},
		{name: "env too big", edit: func(c *Config) { c.Environment = bigEnv }, msg: "exceeded the 4KB limit. String measured: {\"BIG\":"},
		{name: "dlq not sqs", edit: func(c *Config) { c.DeadLetterTargetArn = "arn:aws:s3:::bucket" }, msg: "dead-letter target"},
		{name: "tracing", edit: func(c *Config) { c.TracingMode = "On" }, msg: "enum value set: [Active, PassThrough]"},
		{name: "six layers", edit: func(c *Config) {
			c.Layers = strings.Split(strings.Repeat("arn:aws:lambda:us-east-1:123456789012:layer:l:1,", 6)[:6*48-1], ",")
		}, msg: "Cannot reference more than 5 layers."},
		{name: "bad layer", edit: func(c *Config) { c.Layers = []string{"nope"} }, msg: "at 'layers'"},
		{name: "log format", edit: func(c *Config) { c.LogFormat = "XML" }, msg: "enum value set: [JSON, Text]"},
		{name: "app log level", edit: func(c *Config) { c.LogFormat, c.ApplicationLogLevel = "JSON", "LOUD" }, msg: "applicationLogLevel"},
		{name: "system log level", edit: func(c *Config) { c.LogFormat, c.SystemLogLevel = "JSON", "TRACE" }, msg: "systemLogLevel"},
		{name: "log group", edit: func(c *Config) { c.LogGroup = "bad group" }, msg: "loggingConfig.logGroup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := s.validateConfig(&c)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("validateConfig: %v", err)
				}
				return
			}
			wantFault(t, err, fault.Invalid, tt.msg)
		})
	}
	for _, rt := range Runtimes {
		c := validConfig()
		c.Runtime = rt
		if err := s.validateConfig(&c); err != nil {
			t.Errorf("runtime %s: %v", rt, err)
		}
	}
	s.opts.Limits.MaxTimeout = 3600
	c := validConfig()
	c.Timeout = 3600
	if err := s.validateConfig(&c); err != nil {
		t.Errorf("timeout 3600 with MaxTimeout 3600: %v", err)
	}
}

func TestCheckTags(t *testing.T) {
	if err := checkTags(map[string]string{"team": "a", "cost center": "b:c/d"}); err != nil {
		t.Fatal(err)
	}
	wantFault(t, checkTags(map[string]string{"aws:x": "y"}), fault.Invalid, "aws:")
	wantFault(t, checkTags(map[string]string{"": "y"}), fault.Invalid, "tag key")
	wantFault(t, checkTags(map[string]string{"k": strings.Repeat("v", 257)}), fault.Invalid, "256")
	many := map[string]string{}
	for i := range 51 {
		many[strings.Repeat("k", i+1)] = ""
	}
	wantFault(t, checkTags(many), fault.Invalid, "limit of 50")
}

func TestAliasNameRules(t *testing.T) {
	for _, ok := range []string{"prod", "v2", "2a", "a-b_c", strings.Repeat("a", 128)} {
		if err := checkAliasName(ok); err != nil {
			t.Errorf("alias %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "12", "$LATEST", "a b", "a.b", strings.Repeat("a", 129)} {
		if err := checkAliasName(bad); !fault.Is(err, fault.Invalid) {
			t.Errorf("alias %q: err = %v, want Invalid", bad, err)
		}
	}
}
