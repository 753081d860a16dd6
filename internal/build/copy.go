package build

import (
	"context"
	"fmt"
	"os"

	"github.com/lamina-dev/lamina/internal/function"
)

// keyVersion changes whenever the way packages are made changes, so that
// old cache entries are not reused for a different layout.
const keyVersion = "3"

// copyDir zips the CodeUri directory as it is.
func (b *Builder) copyDir(ctx context.Context, p *buildPlan) (Artifact, error) {
	files, err := collect(p.path, copyRules(b.cacheDir))
	if err != nil {
		return Artifact{}, p.fail("reading the directory: %v", err)
	}
	if len(files) == 0 {
		return Artifact{}, p.fail("%s has no files to package", p.path)
	}
	k := newKey(keyVersion)
	k.field("kind", string(KindCopy))
	k.field("runtime", p.spec.Runtime)
	k.field("arch", p.goarch)
	k.field("buildmethod", p.spec.BuildMethod)
	if err := k.files("", files, &b.digests); err != nil {
		return Artifact{}, p.fail("reading the directory: %v", err)
	}
	key := k.sum()
	if data, ok, err := b.cached(key); err != nil {
		return Artifact{}, err
	} else if ok {
		return Artifact{Zip: data, ZipPath: b.cachePath(key), Cached: true}, nil
	}
	data, err := zipFiles(ctx, fileEntries(files))
	if err != nil {
		return Artifact{}, fmt.Errorf("build: zipping %s: %w", p.path, err)
	}
	path, err := b.store(key, data)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Zip: data, ZipPath: path}, nil
}

// passThrough reads a .zip CodeUri and checks it is a deployment package
// the registry would take for the runtime.
func (b *Builder) passThrough(p *buildPlan) (Artifact, error) {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return Artifact{}, p.fail("%v", err)
	}
	if err := function.ValidatePackage(data, p.spec.Runtime, p.spec.Handler, 0); err != nil {
		return Artifact{}, p.fail("%s: %v", p.path, err)
	}
	return Artifact{Zip: data, ZipPath: p.path}, nil
}
