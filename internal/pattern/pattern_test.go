package pattern

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// ec2Event is the EC2 state-change event used throughout AWS's EventBridge
// pattern documentation, with fields added for the content-filter examples.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {
    "instance-id": "i-1234567890abcdef0",
    "state": "terminated",
    "c-count": 5,
    "d-count": 7,
    "x-limit": 301.8,
    "source-ip": "10.0.0.255",
    "FileName": "photo.PNG",
    "FilePath": "/usr/lib/libc.so",
    "service": "EventBridge",
    "tags": ["prod", "web"],
    "empty": "",
    "nothing": null,
    "obj": {"a": 1},
    "arr": [{"name": "x", "v": 1}, {"name": "y", "v": 2}]
  }
}`

func TestMatchEventBridge(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"exact source", `{"source":["aws.ec2"]}`, true},
		{"exact other source", `{"source":["aws.s3"]}`, false},
		{"OR within array", `{"source":["aws.s3","aws.ec2"]}`, true},
		{"AND across keys fails on one", `{"source":["aws.ec2"],"region":["eu-west-1"]}`, false},
		{"nested exact", `{"detail":{"state":["terminated"]}}`, true},
		{"event array any element", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}`, true},
		{"event array element", `{"detail":{"tags":["web"]}}`, true},
		{"event array no element", `{"detail":{"tags":["dev"]}}`, false},
		{"missing key", `{"detail":{"color":["red"]}}`, false},
		{"case sensitive", `{"source":["AWS.EC2"]}`, false},
		{"number exact", `{"detail":{"c-count":[5]}}`, true},
		{"number exact other notation", `{"detail":{"c-count":[5.0e0]}}`, true},
		{"number is not string", `{"detail":{"c-count":["5"]}}`, false},
		{"string is not number", `{"account":[111122223333]}`, false},
		{"empty string", `{"detail":{"empty":[""]}}`, true},
		{"null", `{"detail":{"nothing":[null]}}`, true},
		{"null does not match absent", `{"detail":{"absent":[null]}}`, false},
		{"prefix", `{"time":[{"prefix":"2017-12-22"}]}`, true},
		{"prefix no", `{"time":[{"prefix":"2018"}]}`, false},
		{"prefix ignore case", `{"detail":{"service":[{"prefix":{"equals-ignore-case":"eventb"}}]}}`, true},
		{"suffix case sensitive", `{"detail":{"FileName":[{"suffix":".png"}]}}`, false},
		{"suffix ignore case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, true},
		{"equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, true},
		{"anything-but string", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, true},
		{"anything-but same string", `{"detail":{"state":[{"anything-but":"terminated"}]}}`, false},
		{"anything-but list", `{"detail":{"state":[{"anything-but":["stopped","terminated"]}]}}`, false},
		{"anything-but number", `{"detail":{"c-count":[{"anything-but":123}]}}`, true},
		{"anything-but numbers", `{"detail":{"c-count":[{"anything-but":[5,6]}]}}`, false},
		{"anything-but absent key", `{"detail":{"absent":[{"anything-but":"x"}]}}`, false},
		{"anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}`, false},
		{"anything-but prefix other", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, true},
		{"anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".txt"}}]}}`, true},
		{"anything-but ignore case list", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","TERMINATED"]}}]}}`, false},
		{"anything-but wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, false},
		{"anything-but wildcard other", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/bin/*"}}]}}`, true},
		{"numeric range (AWS example)", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`, true},
		{"numeric exclusive bound", `{"detail":{"c-count":[{"numeric":[">",5]}]}}`, false},
		{"numeric inclusive bound", `{"detail":{"c-count":[{"numeric":[">=",5]}]}}`, true},
		{"numeric upper", `{"detail":{"d-count":[{"numeric":["<",7]}]}}`, false},
		{"numeric on string", `{"account":[{"numeric":[">",0]}]}`, false},
		{"exists true", `{"detail":{"state":[{"exists":true}]}}`, true},
		{"exists true on null", `{"detail":{"nothing":[{"exists":true}]}}`, true},
		{"exists false", `{"detail":{"state":[{"exists":false}]}}`, false},
		{"exists false absent", `{"detail":{"color":[{"exists":false}]}}`, true},
		{"exists false absent parent", `{"nope":{"color":[{"exists":false}]}}`, true},
		{"exists only on leaves", `{"detail":{"obj":[{"exists":true}]}}`, false},
		{"exists or value", `{"detail":{"color":["red",{"exists":false}]}}`, true},
		{"cidr", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, true},
		{"cidr outside", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, false},
		{"cidr non ip", `{"detail":{"state":[{"cidr":"10.0.0.0/8"}]}}`, false},
		{"wildcard", `{"resources":[{"wildcard":"arn:aws:ec2:*:instance/*"}]}`, true},
		{"wildcard no", `{"resources":[{"wildcard":"arn:aws:s3:*"}]}`, false},
		{"wildcard middle", `{"detail":{"FilePath":[{"wildcard":"/usr/*/libc*"}]}}`, true},
		{"wildcard no star is exact", `{"detail":{"state":[{"wildcard":"terminated"}]}}`, true},
		{"$or (AWS example)", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`, true},
		{"$or none", `{"$or":[{"source":["aws.s3"]},{"region":["eu-west-1"]}]}`, false},
		{"$or top with AND", `{"source":["aws.ec2"],"$or":[{"region":["eu-west-1"]},{"detail":{"state":["terminated"]}}]}`, true},
		{"nested $or", `{"$or":[{"source":["x"]},{"$or":[{"region":["y"]},{"account":["111122223333"]}]}]}`, true},
		{"array of objects same element", `{"detail":{"arr":{"name":["x"],"v":[1]}}}`, true},
		{"array of objects across elements", `{"detail":{"arr":{"name":["x"],"v":[2]}}}`, false},
		{"nested pattern on scalar", `{"source":{"x":["y"]}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern), Options{Dialect: EventBridge})
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.pattern, err)
			}
			got, err := p.Match([]byte(ec2Event))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Match(%s) = %v, want %v", tc.pattern, got, tc.want)
			}
		})
	}
}

func TestMatchAttributesSNS(t *testing.T) {
	attrs := map[string]Attribute{
		"customer_interests": {Type: "String.Array", Value: `["rugby", "tennis", 7, true]`},
		"store":              {Type: "String", Value: "example_corp"},
		"event":              {Type: "String", Value: "order_placed"},
		"price_usd":          {Type: "Number", Value: "210.75"},
		"precise":            {Type: "Number.float", Value: "100.000001"},
		"source_ip":          {Type: "String", Value: "192.168.1.7"},
		"blob":               {Type: "Binary", Value: "AAEC"},
		"empty_array":        {Type: "String.Array", Value: `[]`},
		"bad_array":          {Type: "String.Array", Value: `not json`},
	}
	tests := []struct {
		name, policy string
		want         bool
	}{
		{"AWS example matches", `{"store":["example_corp"],"event":[{"anything-but":"order_cancelled"}],"customer_interests":["rugby","football","baseball"],"price_usd":[{"numeric":[">=",100]}]}`, true},
		{"string array element", `{"customer_interests":["tennis"]}`, true},
		{"string array number element", `{"customer_interests":[7]}`, true},
		{"string array bool element", `{"customer_interests":[true]}`, true},
		{"string array no element", `{"customer_interests":["golf"]}`, false},
		{"number exact", `{"price_usd":[210.75]}`, true},
		{"number not string", `{"price_usd":["210.75"]}`, false},
		{"numeric range", `{"price_usd":[{"numeric":[">",100,"<=",210.75]}]}`, true},
		{"five digits of accuracy", `{"precise":[{"numeric":[">",100]}]}`, false},
		{"five digits equal", `{"precise":[100]}`, true},
		{"prefix", `{"event":[{"prefix":"order_"}]}`, true},
		{"suffix", `{"event":[{"suffix":"_placed"}]}`, true},
		{"equals-ignore-case", `{"store":[{"equals-ignore-case":"EXAMPLE_CORP"}]}`, true},
		{"anything-but list", `{"store":[{"anything-but":["example_corp","other"]}]}`, false},
		{"anything-but prefix", `{"event":[{"anything-but":{"prefix":"order"}}]}`, false},
		{"anything-but absent", `{"color":[{"anything-but":"red"}]}`, false},
		{"exists", `{"store":[{"exists":true}]}`, true},
		{"not exists", `{"color":[{"exists":false}]}`, true},
		{"not exists present", `{"store":[{"exists":false}]}`, false},
		{"binary ignored", `{"blob":[{"exists":true}]}`, false},
		{"binary absent", `{"blob":[{"exists":false}]}`, true},
		{"empty string array exists", `{"empty_array":[{"exists":true}]}`, true},
		{"unparseable string array", `{"bad_array":["not json"]}`, false},
		{"cidr", `{"source_ip":[{"cidr":"192.168.1.0/24"}]}`, true},
		{"$or", `{"store":["example_corp"],"$or":[{"event":["x"]},{"price_usd":[{"numeric":[">",200]}]}]}`, true},
		{"$or none", `{"$or":[{"event":["x"]},{"store":["y"]}]}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.policy), Options{Dialect: SNS})
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.policy, err)
			}
			if got := p.MatchAttributes(attrs); got != tc.want {
				t.Errorf("MatchAttributes(%s) = %v, want %v", tc.policy, got, tc.want)
			}
		})
	}
}

func TestMatchSNSMessageBody(t *testing.T) {
	policy := `{"store":["example_corp"],"customer":{"interests":["rugby"],"level":[{"numeric":[">",2]}]}}`
	p, err := Compile([]byte(policy), Options{Dialect: SNS, Scope: MessageBody})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		body string
		want bool
	}{
		{`{"store":"example_corp","customer":{"interests":["rugby","tennis"],"level":3}}`, true},
		{`{"store":"example_corp","customer":{"interests":["golf"],"level":3}}`, false},
		{`{"store":"example_corp","customer":{"interests":"rugby","level":2}}`, false},
		{`plain text message`, false},
		{`["store","example_corp"]`, false},
		{``, false},
	}
	for _, tc := range tests {
		got, err := p.Match([]byte(tc.body))
		if err != nil {
			t.Fatalf("Match(%q): %v", tc.body, err)
		}
		if got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestMatchLambdaFilter(t *testing.T) {
	sqs := func(body string) string {
		return fmt.Sprintf(`{"messageId":"059f36b4","body":%q,"attributes":{"ApproximateReceiveCount":"1"},"eventSource":"aws:sqs"}`, body)
	}
	kinesis := func(data string) string {
		return fmt.Sprintf(`{"kinesis":{"partitionKey":"1"},"data":%q,"eventSource":"aws:kinesis"}`, base64.StdEncoding.EncodeToString([]byte(data)))
	}
	tests := []struct {
		name, pattern, record string
		want                  bool
	}{
		{"json body field (AWS example)", `{"body":{"RequestCode":["BBBB"]}}`, sqs(`{"RecordNumber":1234,"TimeStamp":"yyyy-mm-ddThh:mm:ss","RequestCode":"BBBB"}`), true},
		{"json body field other", `{"body":{"RequestCode":["BBBB"]}}`, sqs(`{"RecordNumber":1234,"RequestCode":"AAAA"}`), false},
		{"json body numeric", `{"body":{"RecordNumber":[{"numeric":[">",1000]}]}}`, sqs(`{"RecordNumber":1234}`), true},
		{"plain body exact", `{"body":["hello world"]}`, sqs(`hello world`), true},
		{"plain body prefix", `{"body":[{"prefix":"hello"}]}`, sqs(`hello world`), true},
		{"plain body vs object pattern", `{"body":{"RequestCode":["BBBB"]}}`, sqs(`RequestCode BBBB`), false},
		{"plain body exists false in object pattern", `{"body":{"x":[{"exists":false}]}}`, sqs(`not json`), false},
		{"record metadata", `{"attributes":{"ApproximateReceiveCount":["1"]}}`, sqs(`x`), true},
		{"kinesis data", `{"data":{"temperature":[{"numeric":[">=",30]}]}}`, kinesis(`{"temperature":31.5}`), true},
		{"kinesis data low", `{"data":{"temperature":[{"numeric":[">=",30]}]}}`, kinesis(`{"temperature":29}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern), Options{Dialect: LambdaFilter})
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.pattern, err)
			}
			got, err := p.Match([]byte(tc.record))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Match(%s, %s) = %v, want %v", tc.pattern, tc.record, got, tc.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	many := func(n int) string {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("%q", fmt.Sprint(i))
		}
		return `{"store":[` + strings.Join(vals, ",") + `]}`
	}
	tests := []struct {
		name    string
		opts    Options
		pattern string
		message string // substring of the error; "" means it compiles
	}{
		{"not json", Options{}, `{"a":`, "Event pattern is not valid. Reason: Filter is not valid JSON"},
		{"trailing data", Options{}, `{"a":["x"]} {}`, "not valid JSON"},
		{"not object", Options{}, `["a"]`, "Filter is not an object"},
		{"leaf not array", Options{}, `{"a":"x"}`, `"a" must be an object or an array`},
		{"empty array", Options{}, `{"a":[]}`, "Empty arrays are not allowed"},
		{"nested array", Options{}, `{"a":[["x"]]}`, "Match value must be String, number, true, false, or null"},
		{"two keys in operator", Options{}, `{"a":[{"prefix":"x","suffix":"y"}]}`, "Only one key allowed in match expression"},
		{"unknown operator", Options{}, `{"a":[{"regex":"x"}]}`, "Unrecognized match type regex"},
		{"prefix not string", Options{}, `{"a":[{"prefix":1}]}`, "prefix match pattern must be a string"},
		{"exists not bool", Options{}, `{"a":[{"exists":"yes"}]}`, "exists match pattern must be either true or false"},
		{"numeric odd", Options{}, `{"a":[{"numeric":[">"]}]}`, "numeric"},
		{"numeric bad op", Options{}, `{"a":[{"numeric":["!=",1]}]}`, "Unrecognized numeric range operator"},
		{"numeric inverted", Options{}, `{"a":[{"numeric":[">",5,"<",1]}]}`, "Bottom must be less than top"},
		{"numeric two lower", Options{}, `{"a":[{"numeric":[">",1,">",2]}]}`, "Bad numeric range operator"},
		{"numeric out of range", Options{}, `{"a":[{"numeric":[">",6e9]}]}`, "between -5.0E9 and 5.0E9"},
		{"numeric equals with more", Options{}, `{"a":[{"numeric":["=",1,"<",2]}]}`, "only operator"},
		{"anything-but mixed", Options{}, `{"a":[{"anything-but":["x",1]}]}`, "same type"},
		{"anything-but null", Options{}, `{"a":[{"anything-but":[null]}]}`, "not supported"},
		{"wildcard consecutive", Options{}, `{"a":[{"wildcard":"a**b"}]}`, "Consecutive wildcard"},
		{"wildcard bad escape", Options{}, `{"a":[{"wildcard":"a\\b"}]}`, "Invalid escape"},
		{"wildcard escapes ok", Options{}, `{"a":[{"wildcard":"a\\*b\\\\*"}]}`, ""},
		{"cidr invalid", Options{}, `{"a":[{"cidr":"10.0.0.0/99"}]}`, "Nonstandard IP address"},
		{"ipv6 cidr", Options{}, `{"a":[{"cidr":"2001:db8::/32"}]}`, ""},
		{"empty pattern", Options{}, `{}`, ""},
		{"sns prefix", Options{Dialect: SNS}, `{"a":"x"}`, `Invalid parameter: FilterPolicy: "a" must be an object or an array`},
		{"sns nested attributes", Options{Dialect: SNS}, `{"a":{"b":["x"]}}`, "Filter policy scope MessageAttributes does not support nested filter policy"},
		{"sns nested body", Options{Dialect: SNS, Scope: MessageBody}, `{"a":{"b":["x"]}}`, ""},
		{"sns too deep", Options{Dialect: SNS, Scope: MessageBody}, `{"a":{"b":{"c":{"d":{"e":{"f":["x"]}}}}}}`, "levels of nesting"},
		{"sns five levels", Options{Dialect: SNS, Scope: MessageBody}, `{"a":{"b":{"c":{"d":{"e":["x"]}}}}}`, ""},
		{"sns six keys", Options{Dialect: SNS}, `{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}`, "Filter policy can not have more than 5 keys"},
		{"sns nested keys do not count", Options{Dialect: SNS, Scope: MessageBody}, `{"state":["SUCCESS"],"severity":[{"exists":true}],"message":[{"exists":true}],"finding":{"standard_control":[{"exists":true}],"region":[{"exists":true}],"account":[{"exists":true}]}}`, ""},
		{"sns 150 combinations", Options{Dialect: SNS}, many(150), ""},
		{"sns 151 combinations", Options{Dialect: SNS}, many(151), "Filter policy is too complex"},
		{"sns documented nested 72", Options{Dialect: SNS, Scope: MessageBody}, `{"key_a":{"key_b":{"key_c":["1","2","3","4"]}},"key_d":{"key_e":["1","2","3"]}}`, ""},
		{"sns product over 150", Options{Dialect: SNS}, `{"a":["1","2","3","4","5","6","7","8","9","10","11","12","13"],"b":["1","2","3","4","5","6","7","8","9","10","11","12"]}`, "too complex"},
		{"sns no wildcard", Options{Dialect: SNS}, `{"a":[{"wildcard":"x*"}]}`, "Unrecognized match type wildcard"},
		{"sns numeric beyond documented range accepted", Options{Dialect: SNS}, `{"a":[{"numeric":[">",6e9]}]}`, ""},
		{"lambda prefix", Options{Dialect: LambdaFilter}, `{"body":[]}`, "Invalid filter pattern definition. Reason: Empty arrays are not allowed"},
		{"lambda no cidr", Options{Dialect: LambdaFilter}, `{"a":[{"cidr":"10.0.0.0/8"}]}`, "Unrecognized match type cidr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.pattern), tc.opts)
			if tc.message == "" {
				if err != nil {
					t.Fatalf("Compile(%s) = %v, want success", tc.pattern, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Compile(%s) succeeded, want error containing %q", tc.pattern, tc.message)
			}
			if !fault.Is(err, fault.Invalid) {
				t.Errorf("error %v is not fault Invalid", err)
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not contain %q", err.Error(), tc.message)
			}
		})
	}
}

func TestWildcardEscapes(t *testing.T) {
	p, err := Compile([]byte(`{"a":[{"wildcard":"x\\*y*z\\\\"}]}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]bool{
		`{"a":"x*y-z\\"}`:   true,
		`{"a":"x*yz\\"}`:    true,
		`{"a":"xQy-z\\"}`:   false, // \* is a literal star
		`{"a":"x*y-z"}`:     false,
		`{"a":"x*y-z\\\\"}`: false, // ends in two backslashes
	} {
		got, err := p.Match([]byte(doc))
		if err != nil || got != want {
			t.Errorf("Match(%s) = %v, %v; want %v", doc, got, err, want)
		}
	}
}

func TestMatchInvalidEvent(t *testing.T) {
	p, err := Compile([]byte(`{"a":["x"]}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{"a":`, `"a"`, `{"a":"x"} trailing`} {
		if _, err := p.Match([]byte(doc)); !fault.Is(err, fault.InvalidContent) {
			t.Errorf("Match(%s) error = %v, want InvalidContent", doc, err)
		}
	}
}

// TestConcurrentMatch exercises a shared Pattern from many goroutines so
// the race detector can see that matching does not write to it.
func TestConcurrentMatch(t *testing.T) {
	p, err := Compile([]byte(`{"detail":{"$or":[{"state":["terminated"]},{"c-count":[{"numeric":[">",9]}]}]}}`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 200 {
				m, err := p.Match([]byte(ec2Event))
				ok = ok && m && err == nil
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent match failed")
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	p, err := Compile([]byte(`{"source":["aws.ec2"],"detail-type":[{"prefix":"EC2"}],"detail":{"state":[{"anything-but":["pending","running"]}],"c-count":[{"numeric":[">",0,"<=",5]}],"tags":["web"]}}`), Options{})
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(ec2Event)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := p.Match(doc); !ok {
			b.Fatal("no match")
		}
	}
}

func BenchmarkMatchAttributes(b *testing.B) {
	p, err := Compile([]byte(`{"store":["example_corp"],"event":[{"anything-but":"order_cancelled"}],"price_usd":[{"numeric":[">=",100]}]}`), Options{Dialect: SNS})
	if err != nil {
		b.Fatal(err)
	}
	attrs := map[string]Attribute{
		"store":     {Type: "String", Value: "example_corp"},
		"event":     {Type: "String", Value: "order_placed"},
		"price_usd": {Type: "Number", Value: "210.75"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if !p.MatchAttributes(attrs) {
			b.Fatal("no match")
		}
	}
}
