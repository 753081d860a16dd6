package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// physicalName names a resource the template does not name:
// "<stack>-<logicalID>" with characters outside [A-Za-z0-9_-] replaced,
// cut to max (with suffix, e.g. ".fifo") and, when cut, ended with 8 hex
// characters of the full name's hash so that names stay distinct and the
// same on every deploy.
func physicalName(stack, logicalID string, max int, suffix string) string {
	full := sanitize(stack + "-" + logicalID)
	room := max - len(suffix)
	if len(full) <= room {
		return full + suffix
	}
	sum := sha256.Sum256([]byte(full))
	h := hex.EncodeToString(sum[:])[:8]
	return full[:room-9] + "-" + h + suffix
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}
