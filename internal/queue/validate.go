package queue

import (
	"math/big"

	"github.com/lamina-dev/lamina/internal/fault"
	"strings"
	"unicode/utf8"
)

// validBody reports whether every character of body is in the set SQS
// accepts: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
func validBody(body string) bool {
	for i := 0; i < len(body); {
		c := body[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != 0x9 && c != 0xA && c != 0xD {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(body[i:])
		if r == utf8.RuneError && n <= 1 {
			return false
		}
		if !(r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
		i += n
	}
	return true
}

func errContents() error {
	return newErr(fault.Invalid, CodeInvalidMessageContents,
		"Invalid binary character in message body. Valid Unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF")
}

// validAttrName applies SQS's rules for message attribute names.
func validAttrName(name string) bool {
	if name == "" || len(name) > 256 || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false
	}
	l := strings.ToLower(name)
	if strings.HasPrefix(l, "aws.") || strings.HasPrefix(l, "amazon.") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// baseType returns the base of a data type ("Number.float" → "Number"),
// or "" when the type is not valid.
func baseType(t string) string {
	if t == "" || len(t) > 256 {
		return ""
	}
	base, custom, dotted := strings.Cut(t, ".")
	if dotted && custom == "" {
		return ""
	}
	switch base {
	case "String", "Number", "Binary":
		return base
	}
	return ""
}

// validNumber checks a Number attribute value: a decimal number of at most
// 38 significant digits between -10^128 and 10^126, as SQS documents.
func validNumber(v string) bool {
	f, ok := new(big.Float).SetString(strings.TrimSpace(v))
	if !ok || f.IsInf() {
		return false
	}
	digits := 0
	for _, c := range strings.TrimLeft(strings.SplitN(strings.ToLower(v), "e", 2)[0], "+-0.") {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	if digits > 38 {
		return false
	}
	a := new(big.Float).Abs(f)
	lim := new(big.Float).SetFloat64(1e126)
	return a.Cmp(lim) <= 0
}

// checkAttributes validates message attributes and returns their size in
// bytes as SQS counts it toward the message size (name, type and value).
func checkAttributes(attrs map[string]Attribute) (int, error) {
	if len(attrs) > MaxAttributesPerMessage {
		return 0, errInvalidParam("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(attrs), MaxAttributesPerMessage)
	}
	size := 0
	for name, a := range attrs {
		if !validAttrName(name) {
			return 0, errInvalidParam("Message (user) attribute name '%s' is invalid.", name)
		}
		switch baseType(a.DataType) {
		case "":
			return 0, errInvalidParam("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, errInvalidParam("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, a.DataType)
			}
			size += len(a.BinaryValue)
		case "Number":
			if a.StringValue == "" {
				return 0, errInvalidParam("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, a.DataType)
			}
			if !validNumber(a.StringValue) {
				return 0, errInvalidParam("Can't cast the value of message (user) attribute '%s' to a number.", name)
			}
			size += len(a.StringValue)
		default:
			if a.StringValue == "" {
				return 0, errInvalidParam("Message (user) attribute '%s' must contain a non-empty value of type '%s'.", name, a.DataType)
			}
			if !validBody(a.StringValue) {
				return 0, errInvalidParam("Message (user) attribute '%s' contains invalid characters.", name)
			}
			size += len(a.StringValue)
		}
		size += len(name) + len(a.DataType)
	}
	return size, nil
}

// validFIFOID checks a MessageGroupId or MessageDeduplicationId: 1 to 128
// characters, alphanumeric or punctuation.
func validFIFOID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7E {
			return false
		}
	}
	return true
}
