package awsapi

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"hash"
	"slices"
	"strings"
	"unicode/utf8"
)

// SQS answers every send and receive with MD5 digests of what it stored, and
// the SDKs recompute them and fail the call on a mismatch: aws-sdk-go-v2
// checks MD5OfMessageBody (service/sqs cust_checksum_validation.go); the Java
// v2 and Kotlin SDKs also check MD5OfMessageAttributes and
// MD5OfMessageSystemAttributes. The digests must therefore be bit-exact with
// the SDKs' algorithm, which is AWS's documented one ("Calculating the MD5
// message digest for message attributes"):
//
//	for each attribute, names in order:
//	    uint32 BE len(name)     name
//	    uint32 BE len(DataType) DataType          (the full type: "Number.float")
//	    transport byte: 1 String/Number, 2 Binary, 3 string list, 4 binary list
//	    uint32 BE len(value)    value             (lists: each member, in order)
//
// An attribute with no value at all contributes its name and type and no
// transport byte (what the SDKs compute for it), so a caller that refuses
// such attributes earlier loses nothing.

// MessageAttributeValue is one SQS message (or message system) attribute
// value, as the JSON protocol names its members. SNS message attributes are
// the same shape without the lists.
//
// StringListValues and BinaryListValues are modeled but documented by AWS as
// "Not implemented. Reserved for future use."; SQS refuses them on send. The
// digest still covers them (transport types 3 and 4, as the Java and Kotlin
// SDKs compute) so that a refusal is a queue decision, not a digest gap.
type MessageAttributeValue struct {
	DataType         string
	StringValue      *string  `json:",omitempty"`
	BinaryValue      []byte   `json:",omitempty"`
	StringListValues []string `json:",omitempty"`
	BinaryListValues [][]byte `json:",omitempty"`
}

// Transport type bytes of the attribute digest.
const (
	transportString     byte = 1
	transportBinary     byte = 2
	transportStringList byte = 3
	transportBinaryList byte = 4
)

// MD5OfBody is the hex MD5 of a message body's UTF-8 bytes: MD5OfMessageBody
// in SendMessage(Batch) results and MD5OfBody in received messages.
func MD5OfBody(body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:])
}

// MD5OfMessageAttributes is MD5OfMessageAttributes for attrs. It is "" when
// attrs is empty: SQS then omits the member, and the SDKs skip the check.
// On receive it must be computed over the attributes actually returned (after
// MessageAttributeNames filtering), since that is what the client hashes.
func MD5OfMessageAttributes(attrs map[string]MessageAttributeValue) string {
	return digestAttributes(attrs)
}

// MD5OfMessageSystemAttributes is MD5OfMessageSystemAttributes for the
// MessageSystemAttributes of a send (today only AWSTraceHeader). The
// algorithm is the same as for message attributes (Kotlin SDK's
// calculateMessageSystemAttributesMd5); "" when there are none.
func MD5OfMessageSystemAttributes(attrs map[string]MessageAttributeValue) string {
	return digestAttributes(attrs)
}

func digestAttributes(attrs map[string]MessageAttributeValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.SortFunc(names, compareUTF16)

	h := md5.New()
	for _, name := range names {
		v := attrs[name]
		writeLengthPrefixed(h, []byte(name))
		writeLengthPrefixed(h, []byte(v.DataType))
		// The same precedence as the SDKs: the first member set wins.
		switch {
		case v.StringValue != nil:
			h.Write([]byte{transportString})
			writeLengthPrefixed(h, []byte(*v.StringValue))
		case v.BinaryValue != nil:
			h.Write([]byte{transportBinary})
			writeLengthPrefixed(h, v.BinaryValue)
		case len(v.StringListValues) > 0:
			h.Write([]byte{transportStringList})
			for _, s := range v.StringListValues {
				writeLengthPrefixed(h, []byte(s))
			}
		case len(v.BinaryListValues) > 0:
			h.Write([]byte{transportBinaryList})
			for _, b := range v.BinaryListValues {
				writeLengthPrefixed(h, b)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLengthPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// compareUTF16 orders strings as Java's String.compareTo does (by UTF-16 code
// unit), which is how the validating SDKs sort attribute names. It differs
// from Go's byte order only when a name mixes characters above U+FFFF with
// ones in U+E000..U+FFFF; SQS's name rules (alphanumerics, '-', '_', '.')
// never do, but a digest that disagrees with the client is a failed call.
func compareUTF16(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		rx, nx := utf8.DecodeRuneInString(x)
		ry, ny := utf8.DecodeRuneInString(y)
		if rx != ry {
			return utf16Key(rx, ry) - utf16Key(ry, rx)
		}
		x, y = x[nx:], y[ny:]
	}
	if c := len(x) - len(y); c != 0 {
		return c
	}
	// Distinct names that decode alike (invalid UTF-8 both ways) still need
	// a fixed order, or the digest would follow map iteration.
	return strings.Compare(a, b)
}

// utf16Key is r's first UTF-16 code unit for comparing with other (≠ r):
// a supplementary character starts with a surrogate (D800–DBFF), which sorts
// below BMP characters from E000 up; two supplementary characters compare in
// code point order, as their surrogate pairs do.
func utf16Key(r, other rune) int {
	if r > 0xFFFF && other <= 0xFFFF {
		return 0xD800
	}
	return int(r)
}

// MarshalXML writes the value as the query protocol's responses carry it:
// members in model order, blobs base64 (encoding/xml would write raw bytes),
// lists flattened as StringListValue / BinaryListValue elements.
func (v MessageAttributeValue) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	text := func(name, s string) error {
		return e.EncodeElement(s, xml.StartElement{Name: xml.Name{Local: name}})
	}
	if v.StringValue != nil {
		if err := text("StringValue", *v.StringValue); err != nil {
			return err
		}
	}
	if v.BinaryValue != nil {
		if err := text("BinaryValue", base64.StdEncoding.EncodeToString(v.BinaryValue)); err != nil {
			return err
		}
	}
	for _, s := range v.StringListValues {
		if err := text("StringListValue", s); err != nil {
			return err
		}
	}
	for _, b := range v.BinaryListValues {
		if err := text("BinaryListValue", base64.StdEncoding.EncodeToString(b)); err != nil {
			return err
		}
	}
	if err := text("DataType", v.DataType); err != nil {
		return err
	}
	return e.EncodeToken(start.End())
}
