package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

func strp(s string) *string { return &s }

func TestDigestMD5OfBody(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		// aws-sdk-go-v2 service/sqs cust_checksum_validation_test.go.
		{"test", "098f6bcd4621d373cade4e832627b4f6"},
		// RFC 1321 test suite.
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		// The SQS → Lambda example event (spec C.3): md5OfBody of "Test message.".
		{"Test message.", "e4e68fb7bd0e697a0ae8f1bb342846b3"},
	} {
		if got := MD5OfBody(tc.body); got != tc.want {
			t.Errorf("MD5OfBody(%q) = %s, want %s", tc.body, got, tc.want)
		}
	}
}

// Vectors published with the algorithm: AWS's documentation example
// attributes (SellerName / City / PostalCode / Region / PricePerGallon), as
// checked in SQS clients' test suites, and the "test_attribute_name" vectors
// of AWS's SDK tests (also ydb's "AmazonSample" tests).
func TestDigestMD5OfMessageAttributesPublished(t *testing.T) {
	docs := map[string]MessageAttributeValue{
		"City":       {DataType: "String", StringValue: strp("Any City")},
		"PostalCode": {DataType: "String", StringValue: strp("99065")},
		"Region":     {DataType: "String", StringValue: strp("WA")},
		"SellerName": {DataType: "String", StringValue: strp("Example Store")},
	}
	withPrice := map[string]MessageAttributeValue{"PricePerGallon": {DataType: "Number", StringValue: strp("1.99")}}
	for k, v := range docs {
		withPrice[k] = v
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]MessageAttributeValue
		want  string
	}{
		{"one", map[string]MessageAttributeValue{"SellerName": {DataType: "String", StringValue: strp("Example Store")}}, "cd28f3b68aeee4b2eac9c66f2f694b58"},
		{"four strings", docs, "66d793da93becb551e41562575418975"},
		{"strings and number", withPrice, "10809b55e3d9b22c17220b7dbaf283ef"},
		{"two strings, names out of order", map[string]MessageAttributeValue{
			"test_attribute_name_2": {DataType: "String", StringValue: strp("test_attribute_value_2")},
			"test_attribute_name_1": {DataType: "String", StringValue: strp("test_attribute_value_1")},
		}, "d53f3b558fe951154770f25cb63dbba9"},
		{"binary", map[string]MessageAttributeValue{
			"test_attribute_name": {DataType: "Binary", BinaryValue: []byte("test_attribute_value")},
		}, "23f6bd27ea87aab7dfeadcc9aebee495"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MD5OfMessageAttributes(tc.attrs); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// Vectors from testdata/sqs_digest/gen_vectors.py, an independent Python
// (hashlib) implementation: custom data types, binary, empty values, lists
// (transport types 3 and 4), values without a member, UTF-16 name order.
func TestDigestMD5OfMessageAttributesVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "sqs_digest", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Name       string
		Attributes map[string]MessageAttributeValue
		MD5        string
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) < 10 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			if got := MD5OfMessageAttributes(v.Attributes); got != v.MD5 {
				t.Errorf("MD5OfMessageAttributes = %s, want %s", got, v.MD5)
			}
			if got := MD5OfMessageSystemAttributes(v.Attributes); got != v.MD5 {
				t.Errorf("MD5OfMessageSystemAttributes = %s, want %s", got, v.MD5)
			}
		})
	}
}

func TestDigestMD5OfMessageAttributesProperties(t *testing.T) {
	if got := MD5OfMessageAttributes(nil); got != "" {
		t.Errorf("nil attributes: %q, want \"\"", got)
	}
	if got := MD5OfMessageSystemAttributes(map[string]MessageAttributeValue{}); got != "" {
		t.Errorf("empty system attributes: %q, want \"\"", got)
	}
	base := map[string]MessageAttributeValue{"k": {DataType: "String", StringValue: strp("v")}}
	for _, tc := range []struct {
		name  string
		other map[string]MessageAttributeValue
	}{
		// The full data type is hashed, so a custom label changes the digest.
		{"custom type", map[string]MessageAttributeValue{"k": {DataType: "String.x", StringValue: strp("v")}}},
		// Same bytes as binary: the transport byte differs.
		{"binary of same bytes", map[string]MessageAttributeValue{"k": {DataType: "String", BinaryValue: []byte("v")}}},
		// Length prefixes keep ("k","v") and ("kv","") apart.
		{"shifted boundary", map[string]MessageAttributeValue{"kv": {DataType: "String", StringValue: strp("")}}},
		// An empty value is hashed, an absent one is not.
		{"absent value", map[string]MessageAttributeValue{"k": {DataType: "String"}}},
	} {
		if MD5OfMessageAttributes(tc.other) == MD5OfMessageAttributes(base) {
			t.Errorf("%s: digest equals the base case", tc.name)
		}
	}
	// StringValue wins over BinaryValue, as in the SDKs.
	both := map[string]MessageAttributeValue{"k": {DataType: "String", StringValue: strp("v"), BinaryValue: []byte("zz")}}
	if MD5OfMessageAttributes(both) != MD5OfMessageAttributes(base) {
		t.Error("StringValue does not take precedence over BinaryValue")
	}
	// Order independence over many runs (map iteration is randomised),
	// including names that are not valid UTF-8.
	many := map[string]MessageAttributeValue{}
	for _, n := range []string{"a", "b", "\xff", "\xfe", "\xff\xfe", "A.b", "😀", "！"} {
		many[n] = MessageAttributeValue{DataType: "String", StringValue: strp(n)}
	}
	first := MD5OfMessageAttributes(many)
	for range 50 {
		if got := MD5OfMessageAttributes(many); got != first {
			t.Fatalf("digest varies with map order: %s vs %s", got, first)
		}
	}
}

func TestDigestCompareUTF16(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int // sign
	}{
		{"a", "b", -1},
		{"a", "ab", -1},
		{"😀", "！", -1}, // U+1F600 is D83D DE00 in UTF-16, below U+FF01
		{"！", "😀", 1},
		{"😀", "😁", -1},
		{"\u00e9", "😀", -1},
		{"x", "x", 0},
		{"\xfe", "\xff", -1}, // both decode as U+FFFD; bytes decide
	} {
		got := compareUTF16(tc.a, tc.b)
		if sign(got) != tc.want {
			t.Errorf("compareUTF16(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestDigestMessageAttributeValueJSON(t *testing.T) {
	v := MessageAttributeValue{DataType: "Binary", BinaryValue: []byte{0, 1, 2}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"DataType":"Binary","BinaryValue":"AAEC"}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	var back MessageAttributeValue
	if err := json.Unmarshal([]byte(`{"DataType":"String","StringValue":""}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.StringValue == nil || *back.StringValue != "" {
		t.Errorf("empty StringValue lost: %+v", back)
	}
}

func TestDigestMessageAttributeValueXML(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    MessageAttributeValue
		want string
	}{
		{"string", MessageAttributeValue{DataType: "String", StringValue: strp("a<b")},
			`<Value><StringValue>a&lt;b</StringValue><DataType>String</DataType></Value>`},
		{"binary is base64", MessageAttributeValue{DataType: "Binary", BinaryValue: []byte{0xff, 0}},
			`<Value><BinaryValue>/wA=</BinaryValue><DataType>Binary</DataType></Value>`},
		{"lists flattened", MessageAttributeValue{DataType: "String.Array", StringListValues: []string{"x", "y"}, BinaryListValues: [][]byte{{1}}},
			`<Value><StringListValue>x</StringListValue><StringListValue>y</StringListValue><BinaryListValue>AQ==</BinaryListValue><DataType>String.Array</DataType></Value>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := xml.Marshal(struct {
				XMLName xml.Name              `xml:"w"`
				V       MessageAttributeValue `xml:"Value"`
			}{V: tc.v})
			if err != nil {
				t.Fatal(err)
			}
			got := string(b)
			want := "<w>" + tc.want + "</w>"
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}
