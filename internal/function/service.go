package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Limits bound what the registry accepts. Zero fields take the defaults.
type Limits struct {
	// MaxZipSize is the largest deployment package accepted (default 50 MB, as AWS's direct upload).
	MaxZipSize int64
	// MaxUnzippedSize is the largest total extracted size (default 250 MB, as AWS).
	MaxUnzippedSize int64
	// MaxTimeout is the largest Timeout in seconds (default 900, as AWS; larger when configured).
	MaxTimeout int
	// MaxMemorySize in MB (default 10240).
	MaxMemorySize int
	// AccountConcurrency is the node's concurrency, for reserved-concurrency checks (default 1000).
	AccountConcurrency int
	// MaxAsyncRetryAttempts is the largest MaximumRetryAttempts of an
	// EventInvokeConfig (default 2, as AWS; more when configured).
	MaxAsyncRetryAttempts int
	// MaxEventAge is the largest MaximumEventAgeInSeconds (default 21600, as AWS).
	MaxEventAge int
}

// Default limits.
const (
	DefaultMaxTimeout         = 900
	DefaultMaxMemorySize      = 10240
	DefaultAccountConcurrency = 1000
	// MinUnreservedConcurrency is what reserved concurrency must leave to
	// the other functions with the default account concurrency (as AWS).
	MinUnreservedConcurrency = 100
)

func (l Limits) withDefaults() Limits {
	if l.MaxZipSize <= 0 {
		l.MaxZipSize = DefaultMaxZipSize
	}
	if l.MaxUnzippedSize <= 0 {
		l.MaxUnzippedSize = DefaultMaxUnzippedSize
	}
	if l.MaxTimeout <= 0 {
		l.MaxTimeout = DefaultMaxTimeout
	}
	if l.MaxMemorySize <= 0 {
		l.MaxMemorySize = DefaultMaxMemorySize
	}
	if l.AccountConcurrency <= 0 {
		l.AccountConcurrency = DefaultAccountConcurrency
	}
	if l.MaxAsyncRetryAttempts <= 0 {
		l.MaxAsyncRetryAttempts = DefaultAsyncRetryAttempts
	}
	if l.MaxEventAge <= 0 {
		l.MaxEventAge = DefaultMaxEventAge
	}
	return l
}

// MinUnreserved is the concurrency that reservations must leave unreserved:
// 100 as AWS, or a tenth of AccountConcurrency when that is below 1000.
func (l Limits) MinUnreserved() int {
	return min(MinUnreservedConcurrency, l.AccountConcurrency/10)
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	Clock  clock.Clock // nil = clock.Real{}
	Limits Limits
	Logger *slog.Logger
	// Region and AccountID are used in the ARNs that error messages quote
	// ("Function not found: arn:aws:lambda:<Region>:<AccountID>:function:f").
	// Defaults: DefaultRegion and DefaultAccountID.
	Region    string
	AccountID string
	// FunctionURLBase renders the FunctionUrl of a function URL config from
	// its id and the caller's region; the server points it at the gateway
	// listener. Nil = DefaultFunctionURLBase (port 3000).
	FunctionURLBase func(urlID, region string) string
}

// Service is the function registry: definitions, code, versions, aliases,
// tags and reserved concurrency, kept durably in the store.
type Service struct {
	opts      Options
	log       *slog.Logger
	functions store.KV
	versions  store.KV
	code      store.Objects
	// sweepGrace is how old an unreferenced record must be before a sweep
	// removes it (tests shorten it).
	sweepGrace time.Duration
	// view is the in-memory copy of the registry that invocations read (view.go).
	view *view
	// recent holds the packages uploaded last, for the first invocations (recent.go).
	recent recentCode
}

// New opens the registry's buckets in the store.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("function: Options.Store is required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	opts.Limits = opts.Limits.withDefaults()
	s := &Service{opts: opts, log: opts.Logger, sweepGrace: defaultSweepGrace}
	s.view = newView(s)
	s.recent.budget = recentCodeBudget
	var err error
	if s.functions, err = opts.Store.KV(ctx, bucketFunctions); err != nil {
		return nil, fmt.Errorf("function: open bucket %s: %w", bucketFunctions, err)
	}
	if s.versions, err = opts.Store.KV(ctx, bucketVersions); err != nil {
		return nil, fmt.Errorf("function: open bucket %s: %w", bucketVersions, err)
	}
	if s.code, err = opts.Store.Objects(ctx, objectsCode); err != nil {
		return nil, fmt.Errorf("function: open object store %s: %w", objectsCode, err)
	}
	return s, nil
}

// checkZip applies the size limit and validates the package for runtime and
// handler (the entrypoint check is skipped when layers may bring it).
func (s *Service) checkZip(zipData []byte, c Config) error {
	if len(zipData) == 0 {
		return fault.New(fault.Invalid, "Please provide a source for function code.")
	}
	if int64(len(zipData)) > s.opts.Limits.MaxZipSize {
		return fault.New(fault.TooLarge, "Zipped size must be smaller than %d bytes", s.opts.Limits.MaxZipSize)
	}
	return validatePackage(zipData, c.Runtime, c.Handler, s.opts.Limits.MaxUnzippedSize, len(c.Layers) == 0)
}

// Create registers a new function ($LATEST, and version 1 if Publish).
// Errors: Invalid (bad name, runtime, values, or package), Conflict (exists), TooLarge.
// FunctionName may also be an ARN (without qualifier).
func (s *Service) Create(ctx context.Context, in CreateInput) (Function, error) {
	ref, err := ParseRef(in.FunctionName)
	if err != nil {
		return Function{}, err
	}
	if ref.Qualifier != "" {
		return Function{}, validation(in.FunctionName, "functionName", "Member must satisfy regular expression pattern: "+functionNamePattern)
	}
	name := ref.Name
	cfg := cloneConfig(in.Config)
	applyDefaults(name, &cfg)
	if err := s.validateConfig(&cfg); err != nil {
		return Function{}, err
	}
	if err := checkTags(in.Tags); err != nil {
		return Function{}, err
	}
	if err := s.checkZip(in.ZipFile, cfg); err != nil {
		return Function{}, err
	}
	if _, err := s.functions.Get(ctx, name); err == nil {
		return Function{}, s.exists(name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return Function{}, fmt.Errorf("function: load %s: %w", name, err)
	}

	codeKey, err := s.putCode(ctx, name, in.ZipFile)
	if err != nil {
		return Function{}, err
	}
	latest := Version{
		FunctionName:     name,
		Version:          Latest,
		Config:           cfg,
		PackageType:      PackageTypeZip,
		CodeSha256:       codeSha(in.ZipFile),
		CodeSize:         int64(len(in.ZipFile)),
		CodeKey:          codeKey,
		LastModified:     s.now(),
		RevisionID:       newRevision(),
		State:            StateActive,
		LastUpdateStatus: LastUpdateSuccessful,
	}
	d := &fnDoc{Schema: docSchema, Latest: latest, Tags: maps.Clone(in.Tags)}
	t := &tx{s: s}
	result := latest
	if in.Publish {
		v, _, err := s.publish(ctx, d, t, "")
		if err != nil {
			s.dropCode(ctx, codeKey)
			return Function{}, err
		}
		result = v
	}
	b, err := marshalDoc(d)
	if err != nil {
		return Function{}, err
	}
	rev, err := s.functions.Create(ctx, name, b)
	if err != nil {
		if errors.Is(err, store.ErrExists) {
			t.rollback(ctx)
			s.dropCode(ctx, codeKey)
			return Function{}, s.exists(name)
		}
		return Function{}, errUncertain{err}
	}
	s.view.put(name, rev, d, t.written)
	s.sweep(ctx, name, d)
	return Function{Version: result, Tags: maps.Clone(d.Tags)}, nil
}

func (s *Service) exists(name string) error {
	return fault.New(fault.Conflict, "Function already exist: %s", name)
}

func (s *Service) dropCode(ctx context.Context, key string) {
	if err := s.code.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.log.Warn("function: delete unused code object", "key", key, "err", err)
	}
}

func marshalDoc(d *fnDoc) ([]byte, error) {
	d.Schema = docSchema
	return json.Marshal(d)
}

// Get returns the function at qualifier ("" or Latest, a version number, or an alias name,
// which resolves to the alias's FunctionVersion). Errors: NotFound.
func (s *Service) Get(ctx context.Context, name, qualifier string) (Function, error) {
	if err := checkName(name); err != nil {
		return Function{}, err
	}
	if err := checkQualifier(qualifier); err != nil {
		return Function{}, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		if qualifier != "" && fault.Is(err, fault.NotFound) {
			return Function{}, s.notFound(name, qualifier)
		}
		return Function{}, err
	}
	v, err := s.resolve(ctx, d, name, qualifier)
	if err != nil {
		return Function{}, err
	}
	f := Function{Version: v, Tags: maps.Clone(d.Tags)}
	if d.Reserved != nil {
		r := *d.Reserved
		f.ReservedConcurrency = &r
	}
	return f, nil
}

// resolve finds the version a qualifier names in d.
func (s *Service) resolve(ctx context.Context, d *fnDoc, name, qualifier string) (Version, error) {
	q := qualifier
	if a, ok := d.Aliases[q]; ok {
		q = a.FunctionVersion
	}
	switch {
	case q == "" || q == Latest:
		return d.Latest, nil
	case isVersionNumber(q):
		n, _ := strconv.Atoi(q)
		if r, ok := d.version(n); ok {
			return s.readVersion(ctx, r)
		}
	}
	return Version{}, s.notFound(name, qualifier)
}

// List returns functions sorted by name: their $LATEST, or with allVersions
// every version of each. The returned string is the next marker ("" = last page).
func (s *Service) List(ctx context.Context, page Page, allVersions bool) ([]Version, string, error) {
	limit, err := checkPage(page)
	if err != nil {
		return nil, "", err
	}
	var after listMarker
	if page.Marker != "" {
		if after, err = decodeMarker(page.Marker); err != nil {
			return nil, "", err
		}
	}
	entries, err := s.functions.List(ctx, "")
	if err != nil {
		return nil, "", fmt.Errorf("function: list: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
	type item struct {
		d   *fnDoc
		ref *verRef // nil = $LATEST
	}
	var items []item
	more := false
	for _, e := range entries {
		if page.Marker != "" && e.Key < after.F {
			continue
		}
		d, err := decodeDoc(e.Value)
		if err != nil {
			return nil, "", err
		}
		cands := []item{{d: d}}
		if allVersions {
			for i := range d.Versions {
				cands = append(cands, item{d: d, ref: &d.Versions[i]})
			}
		}
		for _, c := range cands {
			v := Latest
			if c.ref != nil {
				v = strconv.Itoa(c.ref.N)
			}
			if page.Marker != "" && !afterMarker(e.Key, v, after) {
				continue
			}
			if len(items) == limit {
				more = true
				break
			}
			items = append(items, c)
		}
		if more {
			break
		}
	}
	out := make([]Version, 0, len(items))
	for _, it := range items {
		if it.ref == nil {
			out = append(out, it.d.Latest)
			continue
		}
		v, err := s.readVersion(ctx, *it.ref)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	next := ""
	if more && len(out) > 0 {
		last := out[len(out)-1]
		next = encodeMarker(listMarker{F: last.FunctionName, V: last.Version})
	}
	return out, next, nil
}

// UpdateCode replaces $LATEST's code (and publishes a version if asked).
func (s *Service) UpdateCode(ctx context.Context, name string, in UpdateCodeInput) (Version, error) {
	if err := checkName(name); err != nil {
		return Version{}, err
	}
	if len(in.Architectures) > 0 {
		if err := checkArchitectures(in.Architectures); err != nil {
			return Version{}, err
		}
	}
	cur, _, err := s.load(ctx, name)
	if err != nil {
		return Version{}, err
	}
	if err := s.checkZip(in.ZipFile, cur.Latest.Config); err != nil {
		return Version{}, err
	}
	sha := codeSha(in.ZipFile)
	apply := func(d *fnDoc, codeKey string) {
		d.Latest.CodeSha256 = sha
		d.Latest.CodeSize = int64(len(in.ZipFile))
		d.Latest.CodeKey = codeKey
		if len(in.Architectures) > 0 {
			d.Latest.Architectures = slices.Clone(in.Architectures)
		}
		d.Latest.LastModified = s.now()
		d.Latest.RevisionID = newRevision()
		d.Latest.State, d.Latest.LastUpdateStatus = StateActive, LastUpdateSuccessful
	}
	if in.DryRun {
		if in.RevisionID != "" && in.RevisionID != cur.Latest.RevisionID {
			return Version{}, errRevision()
		}
		// Report what the update would make of $LATEST, changing nothing.
		v := cur.Latest
		key, _ := cur.codeKeyFor(sha)
		apply(cur, key)
		cur.Latest.RevisionID, cur.Latest.LastModified = v.RevisionID, v.LastModified
		return cur.Latest, nil
	}

	uploaded := ""
	var result Version
	_, after, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if in.RevisionID != "" && in.RevisionID != d.Latest.RevisionID {
			return errRevision()
		}
		key, ok := d.codeKeyFor(sha)
		if !ok {
			if uploaded == "" {
				k, err := s.putCode(ctx, name, in.ZipFile)
				if err != nil {
					return err
				}
				uploaded = k
			}
			key = uploaded
		}
		apply(d, key)
		result = d.Latest
		if in.Publish {
			v, _, err := s.publish(ctx, d, t, "")
			if err != nil {
				return err
			}
			result = v
		}
		return nil
	})
	var unc errUncertain
	if uploaded != "" && !errors.As(err, &unc) {
		if _, used := after.codeKeys()[uploaded]; err != nil || !used {
			s.dropCode(ctx, uploaded)
		}
	}
	if err != nil {
		return Version{}, err
	}
	return result, nil
}

func errRevision() error {
	return fault.New(fault.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
}

// UpdateConfig changes $LATEST's configuration.
func (s *Service) UpdateConfig(ctx context.Context, name string, in UpdateConfigInput) (Version, error) {
	if err := checkName(name); err != nil {
		return Version{}, err
	}
	// The entrypoint check (bootstrap for provided*, the handler's executable
	// for go1.x) reads the package; remember its answer across retries.
	checked := map[string]error{}
	_, after, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if in.RevisionID != "" && in.RevisionID != d.Latest.RevisionID {
			return errRevision()
		}
		old := d.Latest.Config
		c := cloneConfig(old)
		setIf(&c.Runtime, in.Runtime)
		setIf(&c.Handler, in.Handler)
		setIf(&c.Role, in.Role)
		setIf(&c.Description, in.Description)
		setIf(&c.Timeout, in.Timeout)
		setIf(&c.MemorySize, in.MemorySize)
		setIf(&c.EphemeralStorage, in.EphemeralStorage)
		if in.Environment != nil {
			c.Environment = maps.Clone(*in.Environment)
		}
		setIf(&c.DeadLetterTargetArn, in.DeadLetterTargetArn)
		setIf(&c.TracingMode, in.TracingMode)
		if c.TracingMode == "" {
			c.TracingMode = DefaultTracingMode
		}
		if in.Layers != nil {
			c.Layers = slices.Clone(*in.Layers)
		}
		if in.LogFormat != nil && *in.LogFormat != old.LogFormat {
			c.LogFormat = *in.LogFormat
			if c.LogFormat != "JSON" && in.ApplicationLogLevel == nil && in.SystemLogLevel == nil {
				// Leaving JSON drops the levels that only apply to it.
				c.ApplicationLogLevel, c.SystemLogLevel = "", ""
			}
		}
		setIf(&c.ApplicationLogLevel, in.ApplicationLogLevel)
		setIf(&c.SystemLogLevel, in.SystemLogLevel)
		setIf(&c.LogGroup, in.LogGroup)
		normalizeLogging(name, &c)
		if err := s.validateConfig(&c); err != nil {
			return err
		}
		if len(c.Layers) == 0 && runtimeEntrypoint(c.Runtime, c.Handler) != "" &&
			(runtimeEntrypoint(c.Runtime, c.Handler) != runtimeEntrypoint(old.Runtime, old.Handler) || len(old.Layers) > 0) {
			ck := d.Latest.CodeKey + "\x00" + c.Runtime + "\x00" + c.Handler
			err, ok := checked[ck]
			if !ok {
				err = s.checkStoredEntrypoint(ctx, d.Latest.CodeKey, c)
				checked[ck] = err
			}
			if err != nil {
				return err
			}
		}
		d.Latest.Config = c
		d.Latest.LastModified = s.now()
		d.Latest.RevisionID = newRevision()
		d.Latest.State, d.Latest.LastUpdateStatus = StateActive, LastUpdateSuccessful
		return nil
	})
	if err != nil {
		return Version{}, err
	}
	return after.Latest, nil
}

// checkStoredEntrypoint checks that the stored package has what runtime c
// starts (only the zip's directory is read, nothing is decompressed but
// symlink targets).
func (s *Service) checkStoredEntrypoint(ctx context.Context, codeKey string, c Config) error {
	rc, err := s.code.Get(ctx, codeKey)
	if err != nil {
		return fmt.Errorf("function: read code %s: %w", codeKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("function: read code %s: %w", codeKey, err)
	}
	entries, err := scanZip(data)
	if err != nil {
		return err
	}
	return checkEntrypoint(entries, c.Runtime, c.Handler)
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func cloneConfig(c Config) Config {
	c.Architectures = slices.Clone(c.Architectures)
	c.Layers = slices.Clone(c.Layers)
	c.Environment = maps.Clone(c.Environment)
	return c
}

// Delete removes the whole function (qualifier "" ) or one published version.
// Deleting $LATEST by qualifier, or a version an alias points at, is Invalid/Conflict as AWS.
// As AWS: deleting a version that does not exist succeeds, and a qualifier
// that is not a version number is Invalid ("Deletion of aliases is not
// currently supported.").
func (s *Service) Delete(ctx context.Context, name, qualifier string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkQualifier(qualifier); err != nil {
		return err
	}
	switch {
	case qualifier == Latest:
		return fault.New(fault.Invalid, "$LATEST version cannot be deleted without deleting the function.")
	case qualifier != "" && !isVersionNumber(qualifier):
		return fault.New(fault.Invalid, "Deletion of aliases is not currently supported.")
	case qualifier != "":
		n, _ := strconv.Atoi(qualifier)
		_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
			i := slices.IndexFunc(d.Versions, func(r verRef) bool { return r.N == n })
			if i < 0 {
				return errNoWrite
			}
			if users := aliasesUsing(d, qualifier); len(users) > 0 {
				return fault.New(fault.Conflict, "Unable to delete version because the following aliases reference it: [%s]", strings.Join(users, ", "))
			}
			d.Versions = slices.Delete(d.Versions, i, i+1)
			delete(d.Provisioned, qualifier)
			delete(d.EventInvoke, qualifier)
			return nil
		})
		return err
	}
	for attempt := 0; ; attempt++ {
		d, rev, err := s.load(ctx, name)
		if err != nil {
			return err
		}
		err = s.functions.Delete(ctx, name, rev)
		if err == nil {
			s.view.remove(name, rev)
			s.collect(ctx, d, nil)
			s.sweep(ctx, name, nil)
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("function: delete %s: %w", name, err)
		}
		if attempt+1 >= maxCASAttempts {
			return fault.New(fault.Conflict, "The operation cannot be performed at this time. An update is in progress for resource: %s", s.arn(name, ""))
		}
		if err := sleepCtx(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// aliasesUsing lists, sorted, the aliases that route to version v.
func aliasesUsing(d *fnDoc, v string) []string {
	var users []string
	for n, a := range d.Aliases {
		if _, ok := a.AdditionalVersionWeights[v]; ok || a.FunctionVersion == v {
			users = append(users, n)
		}
	}
	sort.Strings(users)
	return users
}

// PublishVersion snapshots $LATEST as the next version number. Publishing
// when nothing changed since the last version returns that version, as AWS.
func (s *Service) PublishVersion(ctx context.Context, name string, in PublishInput) (Version, error) {
	if err := checkName(name); err != nil {
		return Version{}, err
	}
	if len(in.Description) > maxDescription {
		return Version{}, validation(in.Description, "description", fmt.Sprintf("Member must have length less than or equal to %d", maxDescription))
	}
	var result Version
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if in.RevisionID != "" && in.RevisionID != d.Latest.RevisionID {
			return errRevision()
		}
		if in.CodeSha256 != "" && in.CodeSha256 != d.Latest.CodeSha256 {
			return fault.New(fault.Invalid, "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSha256, d.Latest.CodeSha256)
		}
		v, created, err := s.publish(ctx, d, t, in.Description)
		if err != nil {
			return err
		}
		result = v
		if !created {
			return errNoWrite
		}
		return nil
	})
	if err != nil {
		return Version{}, err
	}
	return result, nil
}

// loadPage checks a listing request on function name and loads its
// document: the page size and the position after which the page starts.
func (s *Service) loadPage(ctx context.Context, name string, page Page) (d *fnDoc, limit int, after listMarker, err error) {
	if err := checkName(name); err != nil {
		return nil, 0, after, err
	}
	if limit, err = checkPage(page); err != nil {
		return nil, 0, after, err
	}
	if page.Marker != "" {
		if after, err = decodeMarker(page.Marker); err != nil {
			return nil, 0, after, err
		}
	}
	if d, _, err = s.load(ctx, name); err != nil {
		return nil, 0, after, err
	}
	return d, limit, after, nil
}

// ListVersions returns $LATEST then published versions in ascending order.
func (s *Service) ListVersions(ctx context.Context, name string, page Page) ([]Version, string, error) {
	d, limit, after, err := s.loadPage(ctx, name, page)
	if err != nil {
		return nil, "", err
	}
	var out []Version
	more := false
	if page.Marker == "" || versionRank(Latest) > versionRank(after.V) {
		out = append(out, d.Latest)
	}
	for _, r := range d.Versions {
		if page.Marker != "" && versionRank(strconv.Itoa(r.N)) <= versionRank(after.V) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		v, err := s.readVersion(ctx, r)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	next := ""
	if more {
		next = encodeMarker(listMarker{V: out[len(out)-1].Version})
	}
	return out, next, nil
}

// CreateAlias creates alias a.Name for function name.
func (s *Service) CreateAlias(ctx context.Context, name string, a Alias) (Alias, error) {
	if err := checkName(name); err != nil {
		return Alias{}, err
	}
	if err := checkAliasName(a.Name); err != nil {
		return Alias{}, err
	}
	if err := checkAliasVersion(a.FunctionVersion); err != nil {
		return Alias{}, err
	}
	if len(a.Description) > maxDescription {
		return Alias{}, validation(a.Description, "description", fmt.Sprintf("Member must have length less than or equal to %d", maxDescription))
	}
	var result Alias
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if !hasVersion(d, a.FunctionVersion) {
			return s.notFound(name, a.FunctionVersion)
		}
		if _, ok := d.Aliases[a.Name]; ok {
			return fault.New(fault.Conflict, "Alias already exists: %s", s.arn(name, a.Name))
		}
		if err := s.checkWeights(d, name, a.FunctionVersion, a.AdditionalVersionWeights); err != nil {
			return err
		}
		na := Alias{
			FunctionName:             name,
			Name:                     a.Name,
			FunctionVersion:          a.FunctionVersion,
			Description:              a.Description,
			AdditionalVersionWeights: cloneWeights(a.AdditionalVersionWeights),
			RevisionID:               newRevision(),
		}
		if d.Aliases == nil {
			d.Aliases = map[string]Alias{}
		}
		d.Aliases[a.Name] = na
		result = na
		return nil
	})
	if err != nil {
		return Alias{}, err
	}
	return cloneAlias(result), nil
}

func hasVersion(d *fnDoc, v string) bool {
	if v == Latest {
		return true
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return false
	}
	_, ok := d.version(n)
	return ok
}

// checkWeights validates an alias's routing configuration as AWS: at most
// one extra version, a published one other than the primary, weight in
// [0, 1], and the primary may not be $LATEST.
func (s *Service) checkWeights(d *fnDoc, name, primary string, w map[string]float64) error {
	if len(w) == 0 {
		return nil
	}
	if len(w) > 1 {
		return fault.New(fault.Invalid, "Number of items in AdditionalVersionWeights cannot be greater than 1")
	}
	for v, weight := range w {
		if weight < 0 || weight > 1 || weight != weight {
			return validation(fmt.Sprintf("{%s=%v}", v, weight), "routingConfig.additionalVersionWeights",
				"Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]")
		}
		if v == primary {
			return fault.New(fault.Invalid, "Invalid function version %s. Function version %s is already included in routing configuration.", v, v)
		}
		if primary == Latest {
			return fault.New(fault.Invalid, "$LATEST is not supported for an alias pointing to more than 1 version")
		}
		if !isVersionNumber(v) {
			return validation(fmt.Sprintf("{%s=%v}", v, weight), "routingConfig.additionalVersionWeights",
				"Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]")
		}
		if !hasVersion(d, v) {
			return s.notFound(name, v)
		}
	}
	return nil
}

func cloneWeights(w map[string]float64) map[string]float64 {
	if len(w) == 0 {
		return nil
	}
	return maps.Clone(w)
}

func cloneAlias(a Alias) Alias {
	a.AdditionalVersionWeights = cloneWeights(a.AdditionalVersionWeights)
	return a
}

func (s *Service) aliasNotFound(name, alias string) error {
	return fault.New(fault.NotFound, "Cannot find alias arn: %s", s.arn(name, alias))
}

// GetAlias returns one alias.
func (s *Service) GetAlias(ctx context.Context, name, alias string) (Alias, error) {
	if err := checkName(name); err != nil {
		return Alias{}, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		return Alias{}, err
	}
	a, ok := d.Aliases[alias]
	if !ok {
		return Alias{}, s.aliasNotFound(name, alias)
	}
	return cloneAlias(a), nil
}

// ListAliases returns aliases sorted by name, only those pointing at
// functionVersion when it is not "".
func (s *Service) ListAliases(ctx context.Context, name, functionVersion string, page Page) ([]Alias, string, error) {
	d, limit, after, err := s.loadPage(ctx, name, page)
	if err != nil {
		return nil, "", err
	}
	names := slices.Sorted(maps.Keys(d.Aliases))
	var out []Alias
	more := false
	for _, n := range names {
		a := d.Aliases[n]
		if functionVersion != "" && a.FunctionVersion != functionVersion {
			continue
		}
		if page.Marker != "" && n <= after.A {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, cloneAlias(a))
	}
	next := ""
	if more {
		next = encodeMarker(listMarker{A: out[len(out)-1].Name})
	}
	return out, next, nil
}

// UpdateAlias changes an alias.
func (s *Service) UpdateAlias(ctx context.Context, name, alias string, in AliasUpdate) (Alias, error) {
	if err := checkName(name); err != nil {
		return Alias{}, err
	}
	if in.FunctionVersion != nil {
		if err := checkAliasVersion(*in.FunctionVersion); err != nil {
			return Alias{}, err
		}
	}
	if in.Description != nil && len(*in.Description) > maxDescription {
		return Alias{}, validation(*in.Description, "description", fmt.Sprintf("Member must have length less than or equal to %d", maxDescription))
	}
	var result Alias
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		a, ok := d.Aliases[alias]
		if !ok {
			return s.aliasNotFound(name, alias)
		}
		if in.RevisionID != "" && in.RevisionID != a.RevisionID {
			return errRevision()
		}
		if in.FunctionVersion != nil {
			if !hasVersion(d, *in.FunctionVersion) {
				return s.notFound(name, *in.FunctionVersion)
			}
			a.FunctionVersion = *in.FunctionVersion
		}
		setIf(&a.Description, in.Description)
		if in.AdditionalVersionWeights != nil {
			a.AdditionalVersionWeights = cloneWeights(*in.AdditionalVersionWeights)
		}
		if err := s.checkWeights(d, name, a.FunctionVersion, a.AdditionalVersionWeights); err != nil {
			return err
		}
		a.RevisionID = newRevision()
		d.Aliases[alias] = a
		result = a
		return nil
	})
	if err != nil {
		return Alias{}, err
	}
	return cloneAlias(result), nil
}

// DeleteAlias removes an alias; a missing alias is not an error (as AWS).
func (s *Service) DeleteAlias(ctx context.Context, name, alias string) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if _, ok := d.Aliases[alias]; !ok {
			return errNoWrite
		}
		delete(d.Aliases, alias)
		delete(d.Provisioned, alias)
		delete(d.EventInvoke, alias)
		// The alias's URL goes with it (as AWS); its id stops answering.
		delete(d.URLs, alias)
		return nil
	})
	return err
}

// PutConcurrency sets the function's reserved concurrency.
// The sum of all functions' reservations must leave Limits.MinUnreserved()
// unreserved (checked against the other functions as stored when the call
// starts; two concurrent reservations on different functions may together
// pass it).
func (s *Service) PutConcurrency(ctx context.Context, name string, reserved int) (int, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if reserved < 0 {
		return 0, validation(reserved, "reservedConcurrentExecutions", "Member must have value greater than or equal to 0")
	}
	entries, err := s.functions.List(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("function: list: %w", err)
	}
	others, found := 0, false
	for _, e := range entries {
		if e.Key == name {
			found = true
			continue
		}
		d, err := decodeDoc(e.Value)
		if err != nil {
			return 0, err
		}
		if d.Reserved != nil {
			others += *d.Reserved
		}
	}
	if !found {
		return 0, s.notFound(name, "")
	}
	lim := s.opts.Limits
	if others+reserved > lim.AccountConcurrency-lim.MinUnreserved() {
		return 0, fault.New(fault.Invalid, "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", lim.MinUnreserved())
	}
	_, _, err = s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		r := reserved
		d.Reserved = &r
		return nil
	})
	if err != nil {
		return 0, err
	}
	return reserved, nil
}

// GetConcurrency returns the reserved concurrency, nil when none is set.
func (s *Service) GetConcurrency(ctx context.Context, name string) (*int, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.Reserved == nil {
		return nil, nil
	}
	r := *d.Reserved
	return &r, nil
}

// DeleteConcurrency removes the reserved concurrency.
func (s *Service) DeleteConcurrency(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if d.Reserved == nil {
			return errNoWrite
		}
		d.Reserved = nil
		return nil
	})
	return err
}

// Tag adds or replaces tags on the function.
func (s *Service) Tag(ctx context.Context, name string, tags map[string]string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if d.Tags == nil {
			d.Tags = map[string]string{}
		}
		maps.Copy(d.Tags, tags)
		return checkTags(d.Tags)
	})
	return err
}

// Untag removes tags by key.
func (s *Service) Untag(ctx context.Context, name string, keys []string) error {
	if err := checkName(name); err != nil {
		return err
	}
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		n := len(d.Tags)
		for _, k := range keys {
			delete(d.Tags, k)
		}
		if len(d.Tags) == n {
			return errNoWrite
		}
		return nil
	})
	return err
}

// Tags lists the function's tags.
func (s *Service) Tags(ctx context.Context, name string) (map[string]string, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		return nil, err
	}
	t := maps.Clone(d.Tags)
	if t == nil {
		t = map[string]string{}
	}
	return t, nil
}

// Code opens the deployment package of the function at qualifier.
func (s *Service) Code(ctx context.Context, name, qualifier string) (io.ReadCloser, Version, error) {
	f, err := s.Get(ctx, name, qualifier)
	if err != nil {
		return nil, Version{}, err
	}
	rc, err := s.code.Get(ctx, f.CodeKey)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since Get read it.
		return nil, Version{}, s.notFound(name, qualifier)
	}
	if err != nil {
		return nil, Version{}, fmt.Errorf("function: read code %s: %w", f.CodeKey, err)
	}
	return rc, f.Version, nil
}

// Usage counts functions and their code size. TotalCodeSize counts each
// stored package once per function ($LATEST and versions sharing a package
// share its size).
func (s *Service) Usage(ctx context.Context) (Usage, error) {
	entries, err := s.functions.List(ctx, "")
	if err != nil {
		return Usage{}, fmt.Errorf("function: list: %w", err)
	}
	var u Usage
	for _, e := range entries {
		d, err := decodeDoc(e.Value)
		if err != nil {
			return Usage{}, err
		}
		u.FunctionCount++
		if d.Reserved != nil {
			u.ReservedConcurrency += int64(*d.Reserved)
		}
		for _, size := range d.codeKeys() {
			u.TotalCodeSize += size
		}
	}
	return u, nil
}

// Limits returns the limits in force (defaults filled in).
func (s *Service) Limits() Limits {
	return s.opts.Limits
}

// ARN returns the ARN of function name (qualified when qualifier is not "")
// in the service's region and account.
func (s *Service) ARN(name, qualifier string) string { return s.arn(name, qualifier) }
