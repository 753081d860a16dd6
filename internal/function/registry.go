package function

// How the registry lives in the store
//
// KV bucket "functions", key <name>: one JSON document per function
// (fnDoc) holding $LATEST, tags, reserved concurrency, aliases, the highest
// version number ever published and the list of published versions. It is
// the only source of truth: a version, alias or code object exists for
// readers only if this document references it. Every change is a
// compare-and-set (KV.Update with the revision read), retried on
// store.ErrConflict, so concurrent writers never lose each other's changes.
//
// KV bucket "function-versions", key <name>.<n>.<id>: the immutable
// snapshot of published version n. The random <id> makes every write a new
// key, so a publisher that loses a compare-and-set race can never overwrite
// the version another publisher committed under the same number.
//
// Object store "function-code", object <name>/<id>: one deployment package
// per upload (deduplicated by CodeSha256 within a function, by reusing a key
// the document already references). Since a key is only ever referenced by
// the upload that created it and by documents derived from it, once a
// committed document drops a key nobody can reference it again, and it is
// deleted then.
//
// Crash safety: side records (code objects, version snapshots) are written
// before the document that references them, and deleted only after the
// document that dropped them is committed. A crash can therefore leak an
// unreferenced record, never leave a referenced one missing. Leaks are swept
// when a function of the same name is created or deleted: records under the
// name that the current document does not reference and that are older than
// sweepGrace (long enough that no writer is still between writing a record
// and committing its document) are removed.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Store names.
const (
	bucketFunctions = "functions"
	bucketVersions  = "function-versions"
	objectsCode     = "function-code"
)

const (
	docSchema         = 1
	defaultSweepGrace = 15 * time.Minute
	maxCASAttempts    = 64
)

// fnDoc is the stored document of one function.
type fnDoc struct {
	Schema   int               `json:"schema"`
	Latest   Version           `json:"latest"`
	Tags     map[string]string `json:"tags,omitempty"`
	Reserved *int              `json:"reserved,omitempty"`
	Aliases  map[string]Alias  `json:"aliases,omitempty"`
	// LastVersion is the highest version number ever published; numbers are
	// never reused, even after the version is deleted (as AWS).
	LastVersion int `json:"lastVersion"`
	// Versions are the published versions, ascending.
	Versions []verRef `json:"versions,omitempty"`
	// Provisioned holds provisioned-concurrency settings by qualifier (a
	// version number or an alias name).
	Provisioned map[string]ProvisionedConfig `json:"provisioned,omitempty"`
	// EventInvoke holds asynchronous-invocation configs by qualifier
	// ($LATEST, a version number or an alias name).
	EventInvoke map[string]EventInvokeConfig `json:"eventInvoke,omitempty"`
	// URLs holds function URL configs by qualifier ($LATEST or an alias
	// name), functionurl.go.
	URLs map[string]FunctionURLConfig `json:"urls,omitempty"`
}

// verRef is a published version as the document knows it.
type verRef struct {
	N          int    `json:"n"`
	Key        string `json:"key"`
	CodeKey    string `json:"codeKey"`
	CodeSize   int64  `json:"codeSize"`
	CodeSha256 string `json:"codeSha256"`
	// Fingerprint is $LATEST's code and configuration when n was published.
	Fingerprint string `json:"fp"`
}

func (d *fnDoc) version(n int) (verRef, bool) {
	for _, r := range d.Versions {
		if r.N == n {
			return r, true
		}
	}
	return verRef{}, false
}

// codeKeys lists the code objects the document references.
func (d *fnDoc) codeKeys() map[string]int64 {
	m := map[string]int64{}
	if d == nil {
		return m
	}
	if d.Latest.CodeKey != "" {
		m[d.Latest.CodeKey] = d.Latest.CodeSize
	}
	for _, r := range d.Versions {
		m[r.CodeKey] = r.CodeSize
	}
	return m
}

func (d *fnDoc) versionKeys() map[string]bool {
	m := map[string]bool{}
	if d == nil {
		return m
	}
	for _, r := range d.Versions {
		m[r.Key] = true
	}
	return m
}

// codeKeyFor returns a code object the document references with this sha.
func (d *fnDoc) codeKeyFor(sha string) (string, bool) {
	if d.Latest.CodeSha256 == sha {
		return d.Latest.CodeKey, true
	}
	for _, r := range d.Versions {
		if r.CodeSha256 == sha {
			return r.CodeKey, true
		}
	}
	return "", false
}

// fingerprint identifies $LATEST's code and configuration, to tell whether
// anything changed since the last published version.
func fingerprint(v Version) string {
	b, _ := json.Marshal(struct {
		Config
		PackageType string
		CodeSha256  string
	}{v.Config, v.PackageType, v.CodeSha256})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func codeSha(zip []byte) string {
	h := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(h[:])
}

func newRevision() string { return uuid.NewString() }

// notFound is AWS's ResourceNotFoundException message for a function
// (qualified when qualifier is not "").
func (s *Service) notFound(name, qualifier string) error {
	return fault.New(fault.NotFound, "Function not found: %s", s.arn(name, qualifier))
}

func (s *Service) arn(name, qualifier string) string {
	return ARN(s.opts.Region, s.opts.AccountID, name, qualifier)
}

func decodeDoc(b []byte) (*fnDoc, error) {
	var d fnDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("function: decode document: %w", err)
	}
	if d.Schema > docSchema {
		return nil, fmt.Errorf("function: document schema %d is newer than this binary (%d)", d.Schema, docSchema)
	}
	return &d, nil
}

// load reads a function's document. A missing function is fault.NotFound.
func (s *Service) load(ctx context.Context, name string) (*fnDoc, uint64, error) {
	e, err := s.functions.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, s.notFound(name, "")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("function: load %s: %w", name, err)
	}
	d, err := decodeDoc(e.Value)
	if err != nil {
		return nil, 0, err
	}
	return d, e.Revision, nil
}

// errNoWrite, returned by a mutation, ends it successfully without writing.
var errNoWrite = errors.New("no write needed")

// errUncertain marks a store write whose outcome is unknown (it failed with
// something other than a conflict): records it may reference are kept.
type errUncertain struct{ err error }

func (e errUncertain) Error() string { return "function: store write: " + e.err.Error() }
func (e errUncertain) Unwrap() error { return e.err }

// tx collects the side records one attempt of a mutation writes, so they
// can be removed if the attempt does not commit.
type tx struct {
	s       *Service
	created []string
	// written are the version snapshots created, by key (handed to the
	// in-memory view so it need not read them back).
	written map[string]Version
}

// putVersion stores the snapshot v under a new key.
func (t *tx) putVersion(ctx context.Context, v Version) (string, error) {
	key := fmt.Sprintf("%s.%s.%s", v.FunctionName, v.Version, uuid.NewString())
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if _, err := t.s.versions.Create(ctx, key, b); err != nil {
		return "", fmt.Errorf("function: store version %s: %w", key, err)
	}
	t.created = append(t.created, key)
	if t.written == nil {
		t.written = map[string]Version{}
	}
	t.written[key] = v
	return key, nil
}

func (t *tx) rollback(ctx context.Context) {
	for _, k := range t.created {
		if err := t.s.versions.Delete(context.WithoutCancel(ctx), k, 0); err != nil {
			t.s.log.Warn("function: remove uncommitted version record", "key", k, "err", err)
		}
	}
	t.created = nil
}

// mutate applies fn to the current document of name and writes the result
// with compare-and-set, retrying from a fresh read on conflict. It returns
// the documents before and after. fn returning errNoWrite ends the mutation
// without a write (after == before). Records the committed document no
// longer references are deleted.
func (s *Service) mutate(ctx context.Context, name string, fn func(d *fnDoc, t *tx) error) (before, after *fnDoc, err error) {
	for attempt := 0; ; attempt++ {
		e, err := s.functions.Get(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, s.notFound(name, "")
		}
		if err != nil {
			return nil, nil, fmt.Errorf("function: load %s: %w", name, err)
		}
		before, err := decodeDoc(e.Value)
		if err != nil {
			return nil, nil, err
		}
		d, _ := decodeDoc(e.Value)
		t := &tx{s: s}
		if err := fn(d, t); err != nil {
			t.rollback(ctx)
			if errors.Is(err, errNoWrite) {
				return before, before, nil
			}
			return nil, nil, err
		}
		d.Schema = docSchema
		b, err := json.Marshal(d)
		if err != nil {
			t.rollback(ctx)
			return nil, nil, err
		}
		rev, err := s.functions.Update(ctx, name, b, e.Revision)
		if err == nil {
			s.view.put(name, rev, d, t.written)
			s.collect(ctx, before, d)
			return before, d, nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, errUncertain{err}
		}
		t.rollback(ctx)
		if attempt+1 >= maxCASAttempts {
			return nil, nil, fault.New(fault.Conflict, "The operation cannot be performed at this time. An update is in progress for resource: %s", s.arn(name, ""))
		}
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return nil, nil, err
		}
	}
}

func backoff(attempt int) time.Duration {
	d := time.Millisecond << min(attempt, 6)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// collect deletes the records before references and after does not.
// after == nil means the function is gone.
func (s *Service) collect(ctx context.Context, before, after *fnDoc) {
	ctx = context.WithoutCancel(ctx)
	keep := after.versionKeys()
	for k := range before.versionKeys() {
		if !keep[k] {
			if err := s.versions.Delete(ctx, k, 0); err != nil {
				s.log.Warn("function: delete version record", "key", k, "err", err)
			}
		}
	}
	keepCode := after.codeKeys()
	for k := range before.codeKeys() {
		if _, ok := keepCode[k]; !ok {
			if err := s.code.Delete(ctx, k); err != nil {
				s.log.Warn("function: delete code object", "key", k, "err", err)
			}
		}
	}
}

// sweep removes records under name that keep does not reference and that
// are older than the grace period: leftovers of crashes or of an earlier
// function with the same name.
func (s *Service) sweep(ctx context.Context, name string, keep *fnDoc) {
	ctx = context.WithoutCancel(ctx)
	cutoff := time.Now().Add(-s.sweepGrace)
	keepVer := keep.versionKeys()
	if entries, err := s.versions.List(ctx, name+"."); err != nil {
		s.log.Warn("function: sweep versions", "function", name, "err", err)
	} else {
		for _, e := range entries {
			if !keepVer[e.Key] && !e.Created.After(cutoff) {
				if err := s.versions.Delete(ctx, e.Key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
					s.log.Warn("function: sweep version record", "key", e.Key, "err", err)
				}
			}
		}
	}
	keepCode := keep.codeKeys()
	if objs, err := s.code.List(ctx, name+"/"); err != nil {
		s.log.Warn("function: sweep code", "function", name, "err", err)
	} else {
		for _, o := range objs {
			if _, ok := keepCode[o.Name]; !ok && !o.ModTime.After(cutoff) {
				if err := s.code.Delete(ctx, o.Name); err != nil {
					s.log.Warn("function: sweep code object", "key", o.Name, "err", err)
				}
			}
		}
	}
}

// putCode stores a deployment package under a new key.
func (s *Service) putCode(ctx context.Context, name string, zip []byte) (string, error) {
	key := name + "/" + uuid.NewString()
	if _, err := s.code.Put(ctx, key, bytes.NewReader(zip)); err != nil {
		// The object may be partly written; remove it (best effort).
		_ = s.code.Delete(context.WithoutCancel(ctx), key)
		return "", fmt.Errorf("function: store code: %w", err)
	}
	s.recent.put(key, zip)
	return key, nil
}

// readVersion reads a published version's snapshot.
func (s *Service) readVersion(ctx context.Context, r verRef) (Version, error) {
	e, err := s.versions.Get(ctx, r.Key)
	if err != nil {
		return Version{}, fmt.Errorf("function: read version %s: %w", r.Key, err)
	}
	var v Version
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return Version{}, fmt.Errorf("function: decode version %s: %w", r.Key, err)
	}
	return v, nil
}

// publish snapshots d.Latest as the next version inside a mutation, or
// returns the last version when nothing changed since it (created=false).
func (s *Service) publish(ctx context.Context, d *fnDoc, t *tx, description string) (v Version, created bool, err error) {
	fp := fingerprint(d.Latest)
	if n := len(d.Versions); n > 0 {
		last := d.Versions[n-1]
		if last.N == d.LastVersion && last.Fingerprint == fp {
			v, err := s.readVersion(ctx, last)
			return v, false, err
		}
	}
	n := d.LastVersion + 1
	v = cloneVersion(d.Latest)
	v.Version = strconv.Itoa(n)
	if description != "" {
		v.Description = description
	}
	v.RevisionID = newRevision()
	v.LastModified = s.now()
	key, err := t.putVersion(ctx, v)
	if err != nil {
		return Version{}, false, err
	}
	d.LastVersion = n
	d.Versions = append(d.Versions, verRef{N: n, Key: key, CodeKey: v.CodeKey, CodeSize: v.CodeSize, CodeSha256: v.CodeSha256, Fingerprint: fp})
	// AWS gives $LATEST a new revision when a version is published from it.
	d.Latest.RevisionID = newRevision()
	return v, true, nil
}

func cloneVersion(v Version) Version {
	b, _ := json.Marshal(v)
	var c Version
	_ = json.Unmarshal(b, &c)
	return c
}

func (s *Service) now() time.Time { return s.opts.Clock.Now().UTC() }
