package function

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Paging defaults, as AWS.
const (
	DefaultMaxItems = 50
	MaxMaxItems     = 10000
)

func checkPage(p Page) (int, error) {
	if p.MaxItems == 0 {
		return DefaultMaxItems, nil
	}
	if p.MaxItems < 1 {
		return 0, validation(p.MaxItems, "maxItems", "Member must have value greater than or equal to 1")
	}
	if p.MaxItems > MaxMaxItems {
		return 0, validation(p.MaxItems, "maxItems", "Member must have value less than or equal to 10000")
	}
	return p.MaxItems, nil
}

// listMarker is the position a page ended at; markers are its JSON in
// unpadded base64url, opaque to callers.
type listMarker struct {
	F string `json:"f,omitempty"` // function name
	V string `json:"v,omitempty"` // version ($LATEST or a number)
	A string `json:"a,omitempty"` // alias name
}

func encodeMarker(m listMarker) string {
	b, _ := json.Marshal(m)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeMarker(s string) (listMarker, error) {
	var m listMarker
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err == nil && m.V != "" && m.V != Latest && !isVersionNumber(m.V) {
		err = strconv.ErrSyntax
	}
	if err != nil {
		return listMarker{}, fault.New(fault.Invalid, "The marker %q is not valid.", s)
	}
	return m, nil
}

// versionRank orders $LATEST before published versions, which go by number.
func versionRank(v string) int64 {
	if v == Latest || v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// afterMarker reports whether (name, version) comes after the marker m.
func afterMarker(name, version string, m listMarker) bool {
	if name != m.F {
		return name > m.F
	}
	return versionRank(version) > versionRank(m.V)
}
