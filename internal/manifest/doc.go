// Package manifest reads AWS SAM (and plain CloudFormation) templates and
// expands them into the resources Lamina deploys. It owns template syntax and
// semantics only: it does no I/O beyond the bytes it is given, builds no
// code, and talks to no service. The deployer (lamina deploy / lamina up)
// consumes its output.
//
// # Pipeline
//
//	Read(file, bytes)  → *Template      syntax: YAML/JSON through yaml.Node,
//	                                    short-form tags (!Ref, !GetAtt, !Sub,
//	                                    ...) turned into long forms, every
//	                                    value with its line and column
//	Expand(t, Options) → *Application   semantics: parameters (overrides
//	                                    validated), conditions, Globals merge,
//	                                    intrinsics, SAM expansion
//	Load = Read + Expand
//
// # Data model
//
// A Value is one node of the template: String/Number/Bool/List/Map, or a
// kept reference (Kind Ref or GetAtt) to a resource. Maps keep source order.
// A Map whose single key is an intrinsic ("Fn::Join", ...) is an intrinsic
// that could not be computed yet because its inputs hold references.
//
// Expansion resolves everything that is known before deploying: parameters,
// pseudo parameters (AWS::Region, AWS::AccountId, AWS::StackName,
// AWS::Partition, AWS::URLSuffix, AWS::NoValue, from Options.Pseudo),
// mappings, conditions (resources and outputs whose Condition is false are
// dropped; Fn::If picks a branch; AWS::NoValue removes the key), and
// Fn::Sub/Join/Select/Split/FindInMap/Base64 over known inputs. A Fn::Sub that
// mentions a resource becomes Fn::Join ["", [parts...]] whose parts are
// strings and Ref/GetAtt values, so only references remain to resolve.
//
// An Application lists Resources sorted by logical id. Each Resource has
// SAM's logical id (ServerlessHttpApi, <Fn>Role, <Fn>Alias<name>,
// <Fn>Version<hash>, <Fn>Url, <Fn><Event>, <Fn><Event>Permission[<Stage>],
// ...), the CloudFormation type SAM would generate (empty for Lamina-only
// Route resources), the template resource it came from (Source), its
// evaluated Properties, a typed Spec (*FunctionSpec, *APISpec, *RouteSpec,
// *QueueSpec, *TopicSpec, *SubscriptionSpec, *ScheduleSpec, *RuleSpec,
// *EventSourceMappingSpec, *AliasSpec, *VersionSpec, *FunctionURLSpec,
// *EventInvokeConfigSpec, *PermissionSpec, *StageSpec; nil for accepted-only
// types such as roles and queue policies), and DependsOn: every logical id it
// refers to or declares. Digest() hashes what a resource is, so a redeploy
// can tell "unchanged" (code content is hashed by the build step, not here).
// A FunctionSpec's CodeURI stays relative to Template.Dir.
//
// # What the deployer must do with references
//
//  1. Create resources in Application.Order() (dependencies first); delete
//     removed ones in the reverse order.
//  2. After creating each resource, record its physical id (what Ref
//     returns: function name, queue URL, topic ARN, API id, alias ARN, ...)
//     and attributes (Arn, QueueName, ApiEndpoint, FunctionUrl, ...).
//  3. Before creating a resource, pass each *Value it needs (Spec fields,
//     Properties) to Resolve with a Resolver over what exists so far;
//     ResolveString when a plain string is required. Outputs resolve the
//     same way once everything exists.
//
// # Scope
//
// Supported: AWS::Serverless::Function (events Api, HttpApi, Schedule,
// ScheduleV2, SQS, SNS, EventBridgeRule/CloudWatchEvent; AutoPublishAlias,
// ProvisionedConcurrencyConfig, FunctionUrlConfig, EventInvokeConfig,
// DeadLetterQueue), AWS::Serverless::Api and ::HttpApi (explicit and
// implicit), and the CloudFormation types listed in cfnTypes. Anything else
// is refused with a list of the unsupported types and their lines, or
// skipped with warnings under Options.AllowUnsupported. IAM is recorded and
// never enforced. API DefinitionBody/Auth/Cors are checked for shape and
// passed through for the deployer's OpenAPI import.
//
// Errors are *fault.Error (Invalid, or Unsupported for unsupported types)
// whose message reads `template.yaml:42: resource "OrdersFunction": ...`.
// Read and Expand never panic (FuzzRead).
package manifest
