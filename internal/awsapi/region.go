package awsapi

import (
	"net/http"
	"strings"
)

// regionOf reads the region from the request's SigV4 credential scope:
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240131/eu-west-1/lambda/aws4_request, SignedHeaders=..., Signature=...
//	?X-Amz-Credential=AKID%2F20240131%2Feu-west-1%2Flambda%2Faws4_request   (presigned)
//
// and falls back to def when there is none or it is malformed. Signatures
// are not verified yet: any credentials are accepted.
func regionOf(r *http.Request, def string) string {
	if cred, ok := credentialFromAuthorization(r.Header.Get("Authorization")); ok {
		if region, ok := scopeRegion(cred); ok {
			return region
		}
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		if region, ok := scopeRegion(cred); ok {
			return region
		}
	}
	return def
}

// credentialFromAuthorization returns the Credential= value of a SigV4
// Authorization header.
func credentialFromAuthorization(auth string) (string, bool) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || alg != "AWS4-HMAC-SHA256" {
		return "", false
	}
	for part := range strings.SplitSeq(rest, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential="); ok {
			return v, true
		}
	}
	return "", false
}

// scopeRegion returns the region of a credential "AKID/date/region/service/aws4_request".
func scopeRegion(cred string) (string, bool) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return "", false
	}
	region := parts[2]
	if !validRegion(region) {
		return "", false
	}
	return region, true
}

// validRegion accepts region-shaped names (us-east-1, eu-central-2,
// us-gov-west-1, and local names like "local"): lower-case letters, digits
// and hyphens, at most 32 characters.
func validRegion(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// partition is the ARN partition of a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}
