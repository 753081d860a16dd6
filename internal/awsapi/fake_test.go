package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
)

// fakeRegistry is a small in-memory FunctionRegistry for this package's
// handler tests. It implements just enough behaviour to exercise the edge;
// the real rules live in internal/function and are tested there.
type fakeRegistry struct {
	mu    sync.Mutex
	now   time.Time
	fns   map[string]*fakeFn
	fail  map[string]error // method name → error to return
	calls []string         // method names, in order

	lastUpdateConfig function.UpdateConfigInput
	lastUpdateAlias  function.AliasUpdate
	lastPage         function.Page
	lastAll          bool
	lastUntag        []string
	lastCreate       function.CreateInput
}

type fakeFn struct {
	latest      function.Version
	versions    []function.Version
	code        map[string][]byte // version → zip
	aliases     map[string]function.Alias
	tags        map[string]string
	concurrency *int
	eventInvoke map[string]function.EventInvokeConfig // by qualifier
	urls        map[string]function.FunctionURLConfig // by qualifier
}

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{
		now:  time.Date(2024, 1, 31, 12, 34, 56, 789_000_000, time.UTC),
		fns:  map[string]*fakeFn{},
		fail: map[string]error{},
	}
}

func (f *fakeRegistry) enter(method string) error {
	f.calls = append(f.calls, method)
	return f.fail[method]
}

func notFound(name string) error { return fault.New(fault.NotFound, "Function not found: %s", name) }

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func (f *fakeRegistry) Create(ctx context.Context, in function.CreateInput) (function.Function, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Create"); err != nil {
		return function.Function{}, err
	}
	f.lastCreate = in
	if _, ok := f.fns[in.FunctionName]; ok {
		return function.Function{}, fault.New(fault.Conflict, "Function already exist: %s", in.FunctionName)
	}
	if in.Runtime == "bogus" {
		return function.Function{}, fault.New(fault.Invalid, "Value bogus at 'runtime' failed to satisfy constraint")
	}
	v := function.Version{
		FunctionName: in.FunctionName,
		Version:      function.Latest,
		Config:       in.Config,
		CodeSha256:   shaOf(in.ZipFile),
		CodeSize:     int64(len(in.ZipFile)),
		LastModified: f.now,
		RevisionID:   "rev-1",
	}
	fn := &fakeFn{latest: v, code: map[string][]byte{function.Latest: in.ZipFile}, aliases: map[string]function.Alias{}, tags: in.Tags}
	f.fns[in.FunctionName] = fn
	out := v
	if in.Publish {
		out = fn.publish("")
	}
	return function.Function{Version: out, Tags: in.Tags}, nil
}

func (fn *fakeFn) publish(desc string) function.Version {
	v := fn.latest
	v.Version = strconv.Itoa(len(fn.versions) + 1)
	if desc != "" {
		v.Description = desc
	}
	fn.versions = append(fn.versions, v)
	fn.code[v.Version] = fn.code[function.Latest]
	return v
}

func (f *fakeRegistry) fn(name string) (*fakeFn, error) {
	fn, ok := f.fns[name]
	if !ok {
		return nil, notFound(name)
	}
	return fn, nil
}

func (fn *fakeFn) at(qualifier string) (function.Version, bool) {
	if qualifier == "" || qualifier == function.Latest {
		return fn.latest, true
	}
	if al, ok := fn.aliases[qualifier]; ok {
		qualifier = al.FunctionVersion
	}
	for _, v := range fn.versions {
		if v.Version == qualifier {
			return v, true
		}
	}
	return function.Version{}, false
}

func (f *fakeRegistry) Get(ctx context.Context, name, qualifier string) (function.Function, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Get"); err != nil {
		return function.Function{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.Function{}, err
	}
	v, ok := fn.at(qualifier)
	if !ok {
		return function.Function{}, notFound(name + ":" + qualifier)
	}
	return function.Function{Version: v, Tags: maps.Clone(fn.tags), ReservedConcurrency: fn.concurrency}, nil
}

// pageOf slices items by a numeric marker.
func pageOf[T any](items []T, p function.Page) ([]T, string) {
	start, _ := strconv.Atoi(p.Marker)
	n := p.MaxItems
	if n == 0 {
		n = 50
	}
	if start > len(items) {
		start = len(items)
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func (f *fakeRegistry) List(ctx context.Context, p function.Page, all bool) ([]function.Version, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("List"); err != nil {
		return nil, "", err
	}
	f.lastPage, f.lastAll = p, all
	var out []function.Version
	for _, name := range slices.Sorted(maps.Keys(f.fns)) {
		fn := f.fns[name]
		out = append(out, fn.latest)
		if all {
			out = append(out, fn.versions...)
		}
	}
	items, next := pageOf(out, p)
	return items, next, nil
}

func (f *fakeRegistry) UpdateCode(ctx context.Context, name string, in function.UpdateCodeInput) (function.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateCode"); err != nil {
		return function.Version{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.Version{}, err
	}
	if in.RevisionID != "" && in.RevisionID != fn.latest.RevisionID {
		return function.Version{}, fault.New(fault.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id.")
	}
	fn.latest.CodeSha256, fn.latest.CodeSize = shaOf(in.ZipFile), int64(len(in.ZipFile))
	fn.latest.RevisionID += "+"
	fn.code[function.Latest] = in.ZipFile
	if in.Publish {
		return fn.publish(""), nil
	}
	return fn.latest, nil
}

func (f *fakeRegistry) UpdateConfig(ctx context.Context, name string, in function.UpdateConfigInput) (function.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateConfig"); err != nil {
		return function.Version{}, err
	}
	f.lastUpdateConfig = in
	fn, err := f.fn(name)
	if err != nil {
		return function.Version{}, err
	}
	if in.RevisionID != "" && in.RevisionID != fn.latest.RevisionID {
		return function.Version{}, fault.New(fault.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id.")
	}
	if in.Timeout != nil {
		fn.latest.Timeout = *in.Timeout
	}
	if in.Environment != nil {
		fn.latest.Environment = *in.Environment
	}
	if in.Description != nil {
		fn.latest.Description = *in.Description
	}
	fn.latest.RevisionID += "+"
	return fn.latest, nil
}

func (f *fakeRegistry) Delete(ctx context.Context, name, qualifier string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Delete"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	if qualifier == "" {
		delete(f.fns, name)
		return nil
	}
	if qualifier == function.Latest {
		return fault.New(fault.Invalid, "$LATEST version cannot be deleted without deleting the function.")
	}
	i := slices.IndexFunc(fn.versions, func(v function.Version) bool { return v.Version == qualifier })
	if i < 0 {
		return notFound(name + ":" + qualifier)
	}
	fn.versions = slices.Delete(fn.versions, i, i+1)
	return nil
}

func (f *fakeRegistry) PublishVersion(ctx context.Context, name string, in function.PublishInput) (function.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PublishVersion"); err != nil {
		return function.Version{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.Version{}, err
	}
	return fn.publish(in.Description), nil
}

func (f *fakeRegistry) ListVersions(ctx context.Context, name string, p function.Page) ([]function.Version, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListVersions"); err != nil {
		return nil, "", err
	}
	fn, err := f.fn(name)
	if err != nil {
		return nil, "", err
	}
	items, next := pageOf(append([]function.Version{fn.latest}, fn.versions...), p)
	return items, next, nil
}

func (f *fakeRegistry) CreateAlias(ctx context.Context, name string, a function.Alias) (function.Alias, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateAlias"); err != nil {
		return function.Alias{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.Alias{}, err
	}
	if _, ok := fn.aliases[a.Name]; ok {
		return function.Alias{}, fault.New(fault.Conflict, "Alias already exists: %s", a.Name)
	}
	a.RevisionID = "alias-rev-1"
	fn.aliases[a.Name] = a
	return a, nil
}

func (f *fakeRegistry) GetAlias(ctx context.Context, name, alias string) (function.Alias, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetAlias"); err != nil {
		return function.Alias{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.Alias{}, err
	}
	a, ok := fn.aliases[alias]
	if !ok {
		return function.Alias{}, fault.New(fault.NotFound, "Cannot find alias: %s", alias)
	}
	return a, nil
}

func (f *fakeRegistry) ListAliases(ctx context.Context, name, functionVersion string, p function.Page) ([]function.Alias, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListAliases"); err != nil {
		return nil, "", err
	}
	fn, err := f.fn(name)
	if err != nil {
		return nil, "", err
	}
	var out []function.Alias
	for _, a := range fn.aliases {
		if functionVersion == "" || a.FunctionVersion == functionVersion {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	items, next := pageOf(out, p)
	return items, next, nil
}

func (f *fakeRegistry) UpdateAlias(ctx context.Context, name, alias string, in function.AliasUpdate) (function.Alias, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateAlias"); err != nil {
		return function.Alias{}, err
	}
	f.lastUpdateAlias = in
	fn, err := f.fn(name)
	if err != nil {
		return function.Alias{}, err
	}
	a, ok := fn.aliases[alias]
	if !ok {
		return function.Alias{}, fault.New(fault.NotFound, "Alias not found: %s", alias)
	}
	if in.RevisionID != "" && in.RevisionID != a.RevisionID {
		return function.Alias{}, fault.New(fault.PreconditionFailed, "The Revision Id provided does not match the latest Revision Id.")
	}
	if in.FunctionVersion != nil {
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.AdditionalVersionWeights != nil {
		a.AdditionalVersionWeights = *in.AdditionalVersionWeights
	}
	fn.aliases[alias] = a
	return a, nil
}

func (f *fakeRegistry) DeleteAlias(ctx context.Context, name, alias string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteAlias"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	delete(fn.aliases, alias)
	return nil
}

func (f *fakeRegistry) PutConcurrency(ctx context.Context, name string, reserved int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PutConcurrency"); err != nil {
		return 0, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return 0, err
	}
	fn.concurrency = &reserved
	return reserved, nil
}

func (f *fakeRegistry) GetConcurrency(ctx context.Context, name string) (*int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetConcurrency"); err != nil {
		return nil, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return nil, err
	}
	return fn.concurrency, nil
}

func (f *fakeRegistry) DeleteConcurrency(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteConcurrency"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	fn.concurrency = nil
	return nil
}

func (f *fakeRegistry) Tag(ctx context.Context, name string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Tag"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	if fn.tags == nil {
		fn.tags = map[string]string{}
	}
	maps.Copy(fn.tags, tags)
	return nil
}

func (f *fakeRegistry) Untag(ctx context.Context, name string, keys []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Untag"); err != nil {
		return err
	}
	f.lastUntag = keys
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		delete(fn.tags, k)
	}
	return nil
}

func (f *fakeRegistry) Tags(ctx context.Context, name string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Tags"); err != nil {
		return nil, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return nil, err
	}
	return maps.Clone(fn.tags), nil
}

func (f *fakeRegistry) Code(ctx context.Context, name, qualifier string) (io.ReadCloser, function.Version, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Code"); err != nil {
		return nil, function.Version{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return nil, function.Version{}, err
	}
	v, ok := fn.at(qualifier)
	if !ok {
		return nil, function.Version{}, notFound(name + ":" + qualifier)
	}
	return io.NopCloser(bytes.NewReader(fn.code[v.Version])), v, nil
}

func (f *fakeRegistry) Usage(ctx context.Context) (function.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Usage"); err != nil {
		return function.Usage{}, err
	}
	var u function.Usage
	for _, fn := range f.fns {
		u.FunctionCount++
		u.TotalCodeSize += fn.latest.CodeSize
	}
	return u, nil
}

func (f *fakeRegistry) Limits() function.Limits { return function.Limits{} }

// Event-invoke configs: stored as given (validation is the registry's).

func (f *fakeRegistry) PutEventInvokeConfig(ctx context.Context, name, qualifier string, u function.EventInvokeUpdate) (function.EventInvokeConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("PutEventInvokeConfig"); err != nil {
		return function.EventInvokeConfig{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.EventInvokeConfig{}, err
	}
	if qualifier == "" {
		qualifier = function.Latest
	}
	c, ok := fn.eventInvoke[qualifier]
	if !ok && !u.Replace {
		return function.EventInvokeConfig{}, fault.New(fault.NotFound, "The function %s:%s doesn't have an EventInvokeConfig", name, qualifier)
	}
	if u.Replace {
		c = function.EventInvokeConfig{}
	}
	c.Qualifier, c.LastModified = qualifier, f.now
	if u.Replace || u.MaximumRetryAttempts != nil {
		c.MaximumRetryAttempts = u.MaximumRetryAttempts
	}
	if u.Replace || u.MaximumEventAgeInSeconds != nil {
		c.MaximumEventAgeInSeconds = u.MaximumEventAgeInSeconds
	}
	if u.OnSuccess != nil {
		c.OnSuccess = *u.OnSuccess
	}
	if u.OnFailure != nil {
		c.OnFailure = *u.OnFailure
	}
	if fn.eventInvoke == nil {
		fn.eventInvoke = map[string]function.EventInvokeConfig{}
	}
	fn.eventInvoke[qualifier] = c
	return c, nil
}

func (f *fakeRegistry) GetEventInvokeConfig(ctx context.Context, name, qualifier string) (function.EventInvokeConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetEventInvokeConfig"); err != nil {
		return function.EventInvokeConfig{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.EventInvokeConfig{}, err
	}
	if qualifier == "" {
		qualifier = function.Latest
	}
	c, ok := fn.eventInvoke[qualifier]
	if !ok {
		return function.EventInvokeConfig{}, fault.New(fault.NotFound, "The function %s:%s doesn't have an EventInvokeConfig", name, qualifier)
	}
	return c, nil
}

func (f *fakeRegistry) ListEventInvokeConfigs(ctx context.Context, name string, p function.Page) ([]function.EventInvokeConfig, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListEventInvokeConfigs"); err != nil {
		return nil, "", err
	}
	f.lastPage = p
	fn, err := f.fn(name)
	if err != nil {
		return nil, "", err
	}
	var all []function.EventInvokeConfig
	for _, q := range slices.Sorted(maps.Keys(fn.eventInvoke)) {
		all = append(all, fn.eventInvoke[q])
	}
	out, next := pageOf(all, p)
	return out, next, nil
}

func (f *fakeRegistry) DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteEventInvokeConfig"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	if qualifier == "" {
		qualifier = function.Latest
	}
	if _, ok := fn.eventInvoke[qualifier]; !ok {
		return fault.New(fault.NotFound, "The function %s:%s doesn't have an EventInvokeConfig", name, qualifier)
	}
	delete(fn.eventInvoke, qualifier)
	return nil
}

// Function URLs: stored as given (validation is the registry's).

func urlKey(q string) string {
	if q == "" {
		return function.Latest
	}
	return q
}

func (f *fakeRegistry) CreateFunctionURL(ctx context.Context, name, qualifier string, in function.FunctionURLInput) (function.FunctionURLConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("CreateFunctionURL"); err != nil {
		return function.FunctionURLConfig{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.FunctionURLConfig{}, err
	}
	q := urlKey(qualifier)
	if _, ok := fn.urls[q]; ok {
		return function.FunctionURLConfig{}, fault.New(fault.Conflict, "FunctionUrlConfig exists for this Lambda function")
	}
	c := function.FunctionURLConfig{URLID: "abcdefghijklmnopqrstuvwxyz012345", Qualifier: q, InvokeMode: function.InvokeModeBuffered,
		Cors: in.Cors, CreationTime: f.now, LastModifiedTime: f.now}
	if in.AuthType != nil {
		c.AuthType = *in.AuthType
	}
	if in.InvokeMode != nil {
		c.InvokeMode = *in.InvokeMode
	}
	if fn.urls == nil {
		fn.urls = map[string]function.FunctionURLConfig{}
	}
	fn.urls[q] = c
	return c, nil
}

func (f *fakeRegistry) GetFunctionURL(ctx context.Context, name, qualifier string) (function.FunctionURLConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GetFunctionURL"); err != nil {
		return function.FunctionURLConfig{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.FunctionURLConfig{}, err
	}
	c, ok := fn.urls[urlKey(qualifier)]
	if !ok {
		return function.FunctionURLConfig{}, fault.New(fault.NotFound, "The resource you requested does not exist.")
	}
	return c, nil
}

func (f *fakeRegistry) UpdateFunctionURL(ctx context.Context, name, qualifier string, in function.FunctionURLInput) (function.FunctionURLConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("UpdateFunctionURL"); err != nil {
		return function.FunctionURLConfig{}, err
	}
	fn, err := f.fn(name)
	if err != nil {
		return function.FunctionURLConfig{}, err
	}
	q := urlKey(qualifier)
	c, ok := fn.urls[q]
	if !ok {
		return function.FunctionURLConfig{}, fault.New(fault.NotFound, "The resource you requested does not exist.")
	}
	if in.AuthType != nil {
		c.AuthType = *in.AuthType
	}
	if in.InvokeMode != nil {
		c.InvokeMode = *in.InvokeMode
	}
	if in.Cors != nil {
		c.Cors = in.Cors
	}
	c.LastModifiedTime = f.now
	fn.urls[q] = c
	return c, nil
}

func (f *fakeRegistry) DeleteFunctionURL(ctx context.Context, name, qualifier string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("DeleteFunctionURL"); err != nil {
		return err
	}
	fn, err := f.fn(name)
	if err != nil {
		return err
	}
	q := urlKey(qualifier)
	if _, ok := fn.urls[q]; !ok {
		return fault.New(fault.NotFound, "The resource you requested does not exist.")
	}
	delete(fn.urls, q)
	return nil
}

func (f *fakeRegistry) ListFunctionURLs(ctx context.Context, name string, p function.Page) ([]function.FunctionURLConfig, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("ListFunctionURLs"); err != nil {
		return nil, "", err
	}
	f.lastPage = p
	fn, err := f.fn(name)
	if err != nil {
		return nil, "", err
	}
	var all []function.FunctionURLConfig
	for _, q := range slices.Sorted(maps.Keys(fn.urls)) {
		all = append(all, fn.urls[q])
	}
	out, next := pageOf(all, p)
	return out, next, nil
}

func (f *fakeRegistry) FunctionURL(urlID, region string) string {
	return function.DefaultFunctionURLBase(urlID, region)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time { return clock.Real{}.After(d) }
func (c *fakeClock) NewTimer(d time.Duration) clock.Timer   { return clock.Real{}.NewTimer(d) }
