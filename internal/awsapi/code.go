package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// GetFunction's Code.Location is, on AWS, a presigned S3 URL valid for ten
// minutes that anyone holding it can download without credentials. Lamina
// serves the same thing on the edge port:
//
//	GET /_code/{FunctionName}/{Version}?sha=<CodeSha256>&expires=<unix>&signature=<hex HMAC>
//
// The URL pins the resolved version (an alias resolves to its version when
// the URL is made) and the package's SHA-256, and is signed with a key only
// this edge knows, so it stays safe to hand out once requests are
// authenticated: it grants exactly one package for ten minutes. If $LATEST's
// code changes meanwhile, the URL answers 404 rather than other code.

const codeURLLifetime = 10 * time.Minute

func (a *API) routeCode() {
	a.mux.Handle("GET /_code/{FunctionName}/{Version}", a.handler("DownloadFunctionCode", defaultBodyLimit, a.downloadCode))
}

// codeURL makes the download URL of one version's package, on the host and
// scheme the caller used to reach the edge.
func (a *API) codeURL(r *http.Request, name, version, sha string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	expires := strconv.FormatInt(a.clock.Now().Add(codeURLLifetime).Unix(), 10)
	q := url.Values{
		"sha":       {sha},
		"expires":   {expires},
		"signature": {a.codeSignature(name, version, sha, expires)},
	}
	u := url.URL{
		Scheme:   scheme,
		Host:     r.Host,
		Path:     "/_code/" + name + "/" + version,
		RawQuery: q.Encode(),
	}
	return u.String()
}

func (a *API) codeSignature(name, version, sha, expires string) string {
	m := hmac.New(sha256.New, a.codeKey)
	for _, s := range []string{"lamina-code-v1", name, version, sha, expires} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return hex.EncodeToString(m.Sum(nil))
}

func (a *API) downloadCode(w http.ResponseWriter, r *http.Request, c *call) error {
	name, version := r.PathValue("FunctionName"), r.PathValue("Version")
	q := r.URL.Query()
	sha, expires, sig := q.Get("sha"), q.Get("expires"), q.Get("signature")
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(a.codeSignature(name, version, sha, expires))) {
		return newAPIError(errAccessDenied, "The code URL is not valid: ask GetFunction for a new one.")
	}
	if a.clock.Now().Unix() > exp {
		return newAPIError(errAccessDenied, "The code URL has expired: ask GetFunction for a new one.")
	}
	rc, v, err := a.opts.Functions.Code(r.Context(), name, version)
	if err != nil {
		return err
	}
	defer rc.Close()
	if v.CodeSha256 != sha {
		return newAPIError(errResourceNotFound, "The code of %s:%s has changed since this URL was made: ask GetFunction for a new one.", name, version)
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	if v.CodeSize > 0 {
		h.Set("Content-Length", strconv.FormatInt(v.CodeSize, 10))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// The status is out; the wrapper can only log this.
		return err
	}
	return nil
}
