package build

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
)

// Kind says how a package was made.
type Kind string

const (
	// KindGo is a Go main package compiled to a static linux executable.
	KindGo Kind = "go"
	// KindCopy is a directory zipped as it is.
	KindCopy Kind = "copy"
	// KindZip is a .zip CodeUri used as it is.
	KindZip Kind = "zip"
)

// Options configure a Builder. The zero value works: the cache goes under
// the user's cache directory and go is looked up on PATH.
type Options struct {
	// CacheDir holds built packages as <key>.zip. "" means
	// <os.UserCacheDir>/lamina/build.
	CacheDir string
	// GoBinary is the go command; "" means "go" on PATH.
	GoBinary string
	// Logger receives debug details; nil discards them.
	Logger *slog.Logger
	// Progress receives one human-readable line per Build; nil discards.
	Progress io.Writer
	// Clock measures build durations; nil means the wall clock.
	Clock clock.Clock
}

// Spec is one function's build inputs, as the template gives them.
type Spec struct {
	// Name is the function's logical id, used only in messages.
	Name string
	// TemplateDir is the directory relative CodeURIs are resolved against.
	TemplateDir string
	// CodeURI is a directory or a .zip file, relative to TemplateDir
	// (or absolute). "" means TemplateDir itself, as in sam build.
	CodeURI      string
	Runtime      string
	Handler      string
	Architecture string // "x86_64" (or "") | "arm64"
	// BuildMethod is Metadata.BuildMethod: "go1.x" forces a Go build;
	// other values are accepted and packaged by runtime.
	BuildMethod string
	// BuildProperties is Metadata.BuildProperties. For Go builds "GOFLAGS"
	// is added to the go command's GOFLAGS; every entry is in the cache key.
	BuildProperties map[string]string
	// Env is extra environment for the go command (KEY=VALUE), e.g.
	// GOFLAGS=-mod=mod or GOPROXY=off. CGO_ENABLED, GOOS and GOARCH are
	// always set by the builder.
	Env []string
}

// Artifact is a deployment package.
type Artifact struct {
	// Zip is the package's bytes.
	Zip []byte
	// ZipPath is where those bytes live on disk: the cache entry, or the
	// CodeUri itself for KindZip.
	ZipPath string
	// SHA256 is the base64 SHA-256 of Zip, as Lambda's CodeSha256.
	SHA256 string
	// Cached says the package came from the cache without building.
	Cached   bool
	Kind     Kind
	Duration time.Duration
}

// Builder builds deployment packages. It is safe for concurrent use.
type Builder struct {
	cacheDir string
	goBin    string
	log      *slog.Logger
	progress io.Writer
	clk      clock.Clock

	progressMu sync.Mutex
	digests    digestMemo
}

// New returns a Builder for opts.
func New(opts Options) (*Builder, error) {
	b := &Builder{cacheDir: opts.CacheDir, goBin: opts.GoBinary, log: opts.Logger, progress: opts.Progress, clk: opts.Clock}
	if b.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("build: no cache directory given and none found: %w", err)
		}
		b.cacheDir = filepath.Join(dir, "lamina", "build")
	}
	abs, err := filepath.Abs(b.cacheDir)
	if err != nil {
		return nil, fmt.Errorf("build: cache directory: %w", err)
	}
	b.cacheDir = abs
	if b.goBin == "" {
		b.goBin = "go"
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.progress == nil {
		b.progress = io.Discard
	}
	if b.clk == nil {
		b.clk = clock.Real{}
	}
	return b, nil
}

// Build makes the deployment package for spec. Errors about the function's
// code (a missing CodeUri, a compile error, a bad zip) are *fault.Error of
// kind Invalid naming the function and its CodeUri.
func (b *Builder) Build(ctx context.Context, spec Spec) (Artifact, error) {
	start := b.clk.Now()
	p, err := plan(spec)
	if err != nil {
		return Artifact{}, err
	}
	var art Artifact
	switch p.kind {
	case KindZip:
		art, err = b.passThrough(p)
	case KindGo:
		art, err = b.buildGo(ctx, p)
	default:
		art, err = b.copyDir(ctx, p)
	}
	art.Kind = p.kind
	art.Duration = b.clk.Now().Sub(start)
	b.report(p, art, err)
	if err != nil {
		return Artifact{}, err
	}
	art.SHA256 = codeSHA256(art.Zip)
	return art, nil
}

func codeSHA256(zip []byte) string {
	sum := sha256.Sum256(zip)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// report writes the one progress line of a build, in one Write so that
// concurrent builds do not interleave.
func (b *Builder) report(p *buildPlan, art Artifact, err error) {
	verb, what := "packaging", string(p.kind)+", "+p.spec.Runtime
	switch p.kind {
	case KindGo:
		verb, what = "building", "go, linux/"+p.goarch
	case KindZip:
		verb, what = "using", "zip"
	}
	result := art.Duration.Round(time.Millisecond).String()
	if art.Duration >= time.Second {
		result = art.Duration.Round(100 * time.Millisecond).String()
	}
	if art.Cached {
		result = "cached"
	}
	if err != nil {
		result = "failed"
	}
	b.progressMu.Lock()
	defer b.progressMu.Unlock()
	fmt.Fprintf(b.progress, "%s %s (%s)… %s\n", verb, p.name(), what, result)
}
