package manifest

import (
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// fnHeader is a minimal valid function, for error cases to extend.
const fnHeader = `Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Handler: bootstrap
      Runtime: provided.al2023
`

func TestErrorsNameResourceAndLine(t *testing.T) {
	tests := []struct {
		name string
		tmpl string
		opts Options
		want string
		kind fault.Kind
	}{
		{"not yaml", "Resources: [", Options{}, "template.yaml: not valid YAML or JSON", fault.Invalid},
		{"not a map", "- a\n- b\n", Options{}, "template.yaml:1: a template must be a map", fault.Invalid},
		{"no resources", "Parameters: {}\n", Options{}, "Resources must be a non-empty map", fault.Invalid},
		{"unknown tag", "Resources:\n  A:\n    Type: !Bogus x\n", Options{}, "template.yaml:3: unknown tag !Bogus", fault.Invalid},
		{"bad getatt", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !GetAtt nodot\n", Options{}, `template.yaml:5: !GetAtt "nodot" must be LogicalId.Attribute`, fault.Invalid},
		{"duplicate key", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n  A:\n    Type: AWS::SQS::Queue\n", Options{}, `template.yaml:4: duplicate key "A"`, fault.Invalid},
		{"bad logical id", "Resources:\n  my-queue:\n    Type: AWS::SQS::Queue\n", Options{}, `template.yaml:2: resource "my-queue": logical id must be alphanumeric`, fault.Invalid},
		{"unknown property", fnHeader + "      Memory: 5\n", Options{}, `template.yaml:8: resource "OrdersFunction": property "Memory" is not defined`, fault.Invalid},
		{"bad memory", fnHeader + "      MemorySize: lots\n", Options{}, `template.yaml:8: resource "OrdersFunction": MemorySize must be a whole number`, fault.Invalid},
		{"no code", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: h\n      Runtime: python3.12\n", Options{}, `template.yaml:2: resource "F": needs CodeUri, InlineCode or ImageUri`, fault.Invalid},
		{"unknown ref", fnHeader + "      Environment:\n        Variables:\n          Q: !Ref Missing\n", Options{}, `template.yaml:10: resource "OrdersFunction": refers to "Missing", which is not a resource or parameter`, fault.Invalid},
		{"ref to dropped", "Conditions:\n  No: !Equals [a, b]\n" + fnHeader + "      Environment:\n        Variables:\n          Q: !Ref Q\n  Q:\n    Type: AWS::SQS::Queue\n    Condition: No\n", Options{}, `template.yaml:12: resource "OrdersFunction": Ref to "Q", a resource left out because its Condition is false`, fault.Invalid},
		{"unknown condition", fnHeader + "      Timeout: !If [Nope, 1, 2]\n", Options{}, `template.yaml:8: resource "OrdersFunction": unknown condition "Nope"`, fault.Invalid},
		{"condition cycle", "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\n" + fnHeader, Options{}, `condition "A" refers to itself`, fault.Invalid},
		{"bad event", fnHeader + "      Events:\n        Tick:\n          Type: Schedule\n          Properties:\n            Rate: 1\n", Options{}, `template.yaml:12: resource "OrdersFunction": event "Tick": property "Rate" is not defined for Schedule events`, fault.Invalid},
		{"missing path", fnHeader + "      Events:\n        Get:\n          Type: Api\n          Properties:\n            Method: get\n", Options{}, `template.yaml:9: resource "OrdersFunction": event Get: Api events need Path`, fault.Invalid},
		{"duplicate route", fnHeader + "      Events:\n        A:\n          Type: HttpApi\n          Properties: {Path: /x, Method: get}\n        B:\n          Type: HttpApi\n          Properties: {Path: /x, Method: GET}\n", Options{}, `event B: route GET /x on API "ServerlessHttpApi" is already defined by OrdersFunctionA`, fault.Invalid},
		{"bad globals", "Globals:\n  Function:\n    Events: {}\n" + fnHeader, Options{}, `template.yaml:3: Globals: Function.Events is not a property that can be global`, fault.Invalid},
		{"bad globals section", "Globals:\n  Queue: {}\n" + fnHeader, Options{}, `template.yaml:2: Globals: "Queue" is not a supported section`, fault.Invalid},
		{"alias intrinsic", fnHeader + "      AutoPublishAlias: !Sub live\n", Options{}, `template.yaml:8: resource "OrdersFunction": AutoPublishAlias must be a string`, fault.Invalid},
		{"provisioned without alias", fnHeader + "      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 1}\n", Options{}, `resource "OrdersFunction": ProvisionedConcurrencyConfig needs AutoPublishAlias`, fault.Invalid},
		{"missing parameter", "Parameters:\n  Key:\n    Type: String\n" + fnHeader, Options{}, `template.yaml:2: parameter "Key" has no Default and no value was given`, fault.Invalid},
		{"pattern", "Parameters:\n  Key:\n    Type: String\n    AllowedPattern: '[a-z]+'\n    ConstraintDescription: lower case only\n" + fnHeader, Options{Parameters: map[string]string{"Key": "ABC"}}, `parameter "Key": value "ABC" does not match AllowedPattern [a-z]+ (lower case only)`, fault.Invalid},
		{"select out of range", fnHeader + "      Description: !Select [3, [a, b]]\n", Options{}, `template.yaml:8: resource "OrdersFunction": Fn::Select index 3 is out of range`, fault.Invalid},
		{"missing mapping", fnHeader + "      Description: !FindInMap [M, a, b]\n", Options{}, `resource "OrdersFunction": Fn::FindInMap: no mapping "M"`, fault.Invalid},
		{"reserved implicit id", fnHeader + "      Events:\n        G:\n          Type: HttpApi\n  ServerlessHttpApi:\n    Type: AWS::SQS::Queue\n", Options{}, `template.yaml:11: resource "ServerlessHttpApi": this logical id is reserved`, fault.Invalid},
		{"cycle", "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !GetAtt A.QueueName\n", Options{}, `circular dependency: A -> B -> A`, fault.Invalid},
		{"unsupported type", fnHeader + "  Table:\n    Type: AWS::DynamoDB::Table\n  Bucket:\n    Type: AWS::S3::Bucket\n", Options{}, `unsupported resource types (use --allow-unsupported to skip them): AWS::DynamoDB::Table (resource "Table", line 8); AWS::S3::Bucket (resource "Bucket", line 10)`, fault.Unsupported},
		{"unsupported event", fnHeader + "      Events:\n        Up:\n          Type: S3\n          Properties: {Bucket: b, Events: x}\n", Options{}, `template.yaml:9: resource "OrdersFunction": event Up: event type S3 is not supported by Lamina yet`, fault.Unsupported},
		{"unknown event", fnHeader + "      Events:\n        Up:\n          Type: Carrier\n", Options{}, `event "Up" has unknown Type "Carrier"`, fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("dir/template.yaml", []byte(tt.tmpl), tt.opts)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, tt.want)
			}
			if k := fault.KindOf(err); k != tt.kind {
				t.Errorf("kind %v, want %v", k, tt.kind)
			}
		})
	}
}

func TestAllowUnsupportedSkipsWithWarnings(t *testing.T) {
	tmpl := fnHeader + `      Environment:
        Variables:
          TABLE: !Ref Table
      Events:
        Up:
          Type: DynamoDB
          Properties: {Stream: x, StartingPosition: LATEST}
  Table:
    Type: AWS::DynamoDB::Table
`
	app, err := Load("template.yaml", []byte(tmpl), Options{AllowUnsupported: true})
	if err != nil {
		t.Fatal(err)
	}
	if app.Resource("Table") != nil || app.Resource("OrdersFunctionUp") != nil {
		t.Errorf("unsupported resources kept: %v", ids(app))
	}
	joined := strings.Join(app.Warnings, "\n")
	for _, w := range []string{`skipped unsupported resource type AWS::DynamoDB::Table (resource "Table", line 15)`,
		`event Up: event type DynamoDB is not supported`, `"OrdersFunction" refers to "Table", which was skipped`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", joined, w)
		}
	}
}

func TestOrderAndDigest(t *testing.T) {
	app := load(t, "events.yaml", Options{})
	pos := map[string]int{}
	for i, r := range app.Order() {
		pos[r.LogicalID] = i
	}
	if len(pos) != len(app.Resources) {
		t.Fatalf("Order lost resources")
	}
	for _, r := range app.Resources {
		for _, d := range r.DependsOn {
			if pos[d] >= pos[r.LogicalID] {
				t.Errorf("%s comes before its dependency %s", r.LogicalID, d)
			}
		}
	}
	again := load(t, "events.yaml", Options{})
	for _, r := range app.Resources {
		if again.Resource(r.LogicalID).Digest() != r.Digest() {
			t.Errorf("%s: digest not stable", r.LogicalID)
		}
	}
	changed := load(t, "events.yaml", Options{Pseudo: Pseudo{Region: "eu-west-1"}})
	if changed.Resource("ApiFunctionGetOrderPermissionProd").Digest() == app.Resource("ApiFunctionGetOrderPermissionProd").Digest() {
		t.Error("a different SourceArn should change the digest")
	}
	if changed.Resource("OrdersDLQ").Digest() != app.Resource("OrdersDLQ").Digest() {
		t.Error("an unchanged queue should keep its digest")
	}
}

func TestReadKeepsPositionsAndTags(t *testing.T) {
	tmpl := "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Join\n        - '-'\n        - [a, !Ref AWS::Region]\n"
	tp, err := Read("t.yaml", []byte(tmpl))
	if err != nil {
		t.Fatal(err)
	}
	q := tp.Resource("Q")
	if q.Pos.Line != 2 || q.Type != "AWS::SQS::Queue" {
		t.Errorf("resource %+v", q)
	}
	name := q.Properties.Get("QueueName")
	if name.String() != `{"Fn::Join":["-",["a",{"Ref":"AWS::Region"}]]}` || name.Pos.Line != 5 {
		t.Errorf("QueueName %s at %+v", name, name.Pos)
	}
	if tp.IsSAM() {
		t.Error("no AWS::Serverless types, no Transform: not SAM")
	}
}
