package function

import (
	"context"
	"io"
	"log/slog"

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
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	Clock  clock.Clock // nil = clock.Real{}
	Limits Limits
	Logger *slog.Logger
}

// Service is the function registry: definitions, code, versions, aliases,
// tags and reserved concurrency, kept durably in the store.
type Service struct {
	opts Options
}

// New opens the registry's buckets in the store.
func New(ctx context.Context, opts Options) (*Service, error) {
	return &Service{opts: opts}, nil
}

var errTODO = fault.New(fault.Unsupported, "not implemented yet")

// Create registers a new function ($LATEST, and version 1 if Publish).
// Errors: Invalid (bad name, runtime, values, or package), Conflict (exists), TooLarge.
func (s *Service) Create(ctx context.Context, in CreateInput) (Function, error) {
	return Function{}, errTODO
}

// Get returns the function at qualifier ("" or Latest, a version number, or an alias name,
// which resolves to the alias's FunctionVersion). Errors: NotFound.
func (s *Service) Get(ctx context.Context, name, qualifier string) (Function, error) {
	return Function{}, errTODO
}

// List returns functions sorted by name: their $LATEST, or with allVersions
// every version of each. The returned string is the next marker ("" = last page).
func (s *Service) List(ctx context.Context, page Page, allVersions bool) ([]Version, string, error) {
	return nil, "", errTODO
}

// UpdateCode replaces $LATEST's code (and publishes a version if asked).
func (s *Service) UpdateCode(ctx context.Context, name string, in UpdateCodeInput) (Version, error) {
	return Version{}, errTODO
}

// UpdateConfig changes $LATEST's configuration.
func (s *Service) UpdateConfig(ctx context.Context, name string, in UpdateConfigInput) (Version, error) {
	return Version{}, errTODO
}

// Delete removes the whole function (qualifier "" ) or one published version.
// Deleting $LATEST by qualifier, or a version an alias points at, is Invalid/Conflict as AWS.
func (s *Service) Delete(ctx context.Context, name, qualifier string) error {
	return errTODO
}

// PublishVersion snapshots $LATEST as the next version number. Publishing
// when nothing changed since the last version returns that version, as AWS.
func (s *Service) PublishVersion(ctx context.Context, name string, in PublishInput) (Version, error) {
	return Version{}, errTODO
}

// ListVersions returns $LATEST then published versions in ascending order.
func (s *Service) ListVersions(ctx context.Context, name string, page Page) ([]Version, string, error) {
	return nil, "", errTODO
}

// CreateAlias creates alias a.Name for function name.
func (s *Service) CreateAlias(ctx context.Context, name string, a Alias) (Alias, error) {
	return Alias{}, errTODO
}

// GetAlias returns one alias.
func (s *Service) GetAlias(ctx context.Context, name, alias string) (Alias, error) {
	return Alias{}, errTODO
}

// ListAliases returns aliases sorted by name, only those pointing at
// functionVersion when it is not "".
func (s *Service) ListAliases(ctx context.Context, name, functionVersion string, page Page) ([]Alias, string, error) {
	return nil, "", errTODO
}

// UpdateAlias changes an alias.
func (s *Service) UpdateAlias(ctx context.Context, name, alias string, in AliasUpdate) (Alias, error) {
	return Alias{}, errTODO
}

// DeleteAlias removes an alias; a missing alias is not an error (as AWS).
func (s *Service) DeleteAlias(ctx context.Context, name, alias string) error {
	return errTODO
}

// PutConcurrency sets the function's reserved concurrency.
func (s *Service) PutConcurrency(ctx context.Context, name string, reserved int) (int, error) {
	return 0, errTODO
}

// GetConcurrency returns the reserved concurrency, nil when none is set.
func (s *Service) GetConcurrency(ctx context.Context, name string) (*int, error) {
	return nil, errTODO
}

// DeleteConcurrency removes the reserved concurrency.
func (s *Service) DeleteConcurrency(ctx context.Context, name string) error {
	return errTODO
}

// Tag adds or replaces tags on the function.
func (s *Service) Tag(ctx context.Context, name string, tags map[string]string) error {
	return errTODO
}

// Untag removes tags by key.
func (s *Service) Untag(ctx context.Context, name string, keys []string) error {
	return errTODO
}

// Tags lists the function's tags.
func (s *Service) Tags(ctx context.Context, name string) (map[string]string, error) {
	return nil, errTODO
}

// Code opens the deployment package of the function at qualifier.
func (s *Service) Code(ctx context.Context, name, qualifier string) (io.ReadCloser, Version, error) {
	return nil, Version{}, errTODO
}

// Usage counts functions and their code size.
func (s *Service) Usage(ctx context.Context) (Usage, error) {
	return Usage{}, errTODO
}

// Limits returns the limits in force (defaults filled in).
func (s *Service) Limits() Limits {
	return s.opts.Limits
}
