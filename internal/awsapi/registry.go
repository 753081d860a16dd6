package awsapi

import (
	"context"
	"io"

	"github.com/lamina-dev/lamina/internal/function"
)

// FunctionRegistry is what the Lambda control API needs of the function
// registry; *function.Service satisfies it.
type FunctionRegistry interface {
	Create(ctx context.Context, in function.CreateInput) (function.Function, error)
	Get(ctx context.Context, name, qualifier string) (function.Function, error)
	List(ctx context.Context, page function.Page, allVersions bool) ([]function.Version, string, error)
	UpdateCode(ctx context.Context, name string, in function.UpdateCodeInput) (function.Version, error)
	UpdateConfig(ctx context.Context, name string, in function.UpdateConfigInput) (function.Version, error)
	Delete(ctx context.Context, name, qualifier string) error

	PublishVersion(ctx context.Context, name string, in function.PublishInput) (function.Version, error)
	ListVersions(ctx context.Context, name string, page function.Page) ([]function.Version, string, error)

	CreateAlias(ctx context.Context, name string, a function.Alias) (function.Alias, error)
	GetAlias(ctx context.Context, name, alias string) (function.Alias, error)
	ListAliases(ctx context.Context, name, functionVersion string, page function.Page) ([]function.Alias, string, error)
	UpdateAlias(ctx context.Context, name, alias string, in function.AliasUpdate) (function.Alias, error)
	DeleteAlias(ctx context.Context, name, alias string) error

	PutConcurrency(ctx context.Context, name string, reserved int) (int, error)
	GetConcurrency(ctx context.Context, name string) (*int, error)
	DeleteConcurrency(ctx context.Context, name string) error

	PutEventInvokeConfig(ctx context.Context, name, qualifier string, u function.EventInvokeUpdate) (function.EventInvokeConfig, error)
	GetEventInvokeConfig(ctx context.Context, name, qualifier string) (function.EventInvokeConfig, error)
	ListEventInvokeConfigs(ctx context.Context, name string, page function.Page) ([]function.EventInvokeConfig, string, error)
	DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error

	CreateFunctionURL(ctx context.Context, name, qualifier string, in function.FunctionURLInput) (function.FunctionURLConfig, error)
	GetFunctionURL(ctx context.Context, name, qualifier string) (function.FunctionURLConfig, error)
	UpdateFunctionURL(ctx context.Context, name, qualifier string, in function.FunctionURLInput) (function.FunctionURLConfig, error)
	DeleteFunctionURL(ctx context.Context, name, qualifier string) error
	ListFunctionURLs(ctx context.Context, name string, page function.Page) ([]function.FunctionURLConfig, string, error)
	// FunctionURL renders a URL config's FunctionUrl for the caller's region.
	FunctionURL(urlID, region string) string

	Tag(ctx context.Context, name string, tags map[string]string) error
	Untag(ctx context.Context, name string, keys []string) error
	Tags(ctx context.Context, name string) (map[string]string, error)

	Code(ctx context.Context, name, qualifier string) (io.ReadCloser, function.Version, error)
	Usage(ctx context.Context) (function.Usage, error)
	Limits() function.Limits
}

var _ FunctionRegistry = (*function.Service)(nil)
