package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// buildGo compiles the Go main package at p.path into a static linux
// executable and zips it as p.entry, unless the cache has it.
func (b *Builder) buildGo(ctx context.Context, p *buildPlan) (Artifact, error) {
	goBin, toolchain, err := b.toolchain()
	if err != nil {
		return Artifact{}, p.fail("%v", err)
	}
	env := b.goEnv(p)
	key, err := b.goKey(p, toolchain, env)
	if err != nil {
		return Artifact{}, err
	}
	if data, ok, err := b.cached(key); err != nil {
		return Artifact{}, err
	} else if ok {
		return Artifact{Zip: data, ZipPath: b.cachePath(key), Cached: true}, nil
	}

	tmp, err := os.MkdirTemp("", "lamina-build-")
	if err != nil {
		return Artifact{}, fmt.Errorf("build: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "bootstrap")
	// -buildvcs=false: the binary depends on the sources only, not on the
	// state of a git checkout around them, like the cache key.
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false",
		"-tags", "lambda.norpc", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = p.path
	cmd.Env = env
	b.log.DebugContext(ctx, "build: go build", "function", p.name(), "dir", p.path, "goarch", p.goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return Artifact{}, ctx.Err()
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return Artifact{}, p.fail("running %s: %v", goBin, err)
		}
		return Artifact{}, p.fail("go build failed:\n%s", trimOutput(msg))
	}
	data, err := zipFiles(ctx, []zipEntry{{name: p.entry, exec: true, open: func() (io.ReadCloser, error) { return os.Open(out) }}})
	if err != nil {
		return Artifact{}, fmt.Errorf("build: zipping %s: %w", out, err)
	}
	// A file saved while go was running may or may not be in the binary:
	// keep such a build out of the cache rather than file it under
	// sources it may not match.
	if after, err := b.goKey(p, toolchain, env); err != nil || after != key {
		b.log.DebugContext(ctx, "build: sources changed during the build; not cached", "function", p.name())
		// Still written out, under a name no key can have, for ZipPath.
		path, err := b.store("uncached-"+key, data)
		if err != nil {
			return Artifact{}, err
		}
		return Artifact{Zip: data, ZipPath: path}, nil
	}
	path, err := b.store(key, data)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Zip: data, ZipPath: path}, nil
}

// toolchain finds the go command and describes it without running it (a
// cache hit must not pay for starting go): its resolved path, size and
// modification time, and the version its GOROOT declares. A different or
// reinstalled toolchain is a different key.
func (b *Builder) toolchain() (goBin, id string, err error) {
	goBin, err = exec.LookPath(b.goBin)
	if err != nil {
		return "", "", fmt.Errorf("the go command (%s) is needed to build Go functions: %w", b.goBin, err)
	}
	real, err := filepath.EvalSymlinks(goBin)
	if err != nil {
		return "", "", err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", "", err
	}
	version := "unknown"
	if v, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(real)), "VERSION")); err == nil {
		version, _, _ = strings.Cut(string(v), "\n")
	}
	return goBin, fmt.Sprintf("%s %s %d %d", version, real, fi.Size(), fi.ModTime().UnixNano()), nil
}

// goEnv is the go command's environment: Lamina's own, then Spec.Env, then
// GOFLAGS from BuildProperties, then what makes the binary a static linux
// one for the function's architecture (the last value of a key wins).
func (b *Builder) goEnv(p *buildPlan) []string {
	env := append(os.Environ(), p.spec.Env...)
	if extra := p.spec.BuildProperties["GOFLAGS"]; extra != "" {
		flags := lookupEnv(env, "GOFLAGS")
		env = append(env, "GOFLAGS="+strings.TrimSpace(flags+" "+extra))
	}
	return append(env, "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+p.goarch)
}

func lookupEnv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// Variables of the go command that change where it looks or what it
// downloads but not what it builds from given sources.
var envNotInKey = map[string]bool{
	"GOPATH": true, "GOCACHE": true, "GOMODCACHE": true, "GOPROXY": true, "GONOPROXY": true,
	"GOSUMDB": true, "GONOSUMDB": true, "GOPRIVATE": true, "GOINSECURE": true, "GOTMPDIR": true,
	"GOTELEMETRY": true, "GOTELEMETRYDIR": true, "GOVCS": true, "GOAUTH": true, "GOCACHEPROG": true,
}

// goKey is the cache key of a Go build: the toolchain, the target, the go
// environment, the build properties, and every file of the module and of
// its local replacements.
func (b *Builder) goKey(p *buildPlan, toolchain string, env []string) (string, error) {
	k := newKey(keyVersion)
	k.field("kind", string(KindGo))
	k.field("runtime", p.spec.Runtime)
	k.field("arch", p.goarch)
	k.field("buildmethod", p.spec.BuildMethod)
	k.field("entry", p.entry)
	k.field("toolchain", toolchain)
	pkg, err := filepath.Rel(p.moduleRoot, p.path)
	if err != nil {
		return "", p.fail("%v", err)
	}
	k.field("package", filepath.ToSlash(pkg))

	vars := map[string]string{}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "GO") || strings.HasPrefix(name, "CGO_")) && !envNotInKey[name] {
			vars[name] = value // the last one wins, as for the go command
		}
	}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		k.field("env "+name, vars[name])
	}
	k.field("goenv file", goEnvFile(vars["GOENV"]))
	k.field("go.work", goWorkFile(p.moduleRoot, vars["GOWORK"]))
	for _, name := range slices.Sorted(maps.Keys(p.spec.BuildProperties)) {
		k.field("property "+name, p.spec.BuildProperties[name])
	}

	rules := goRules(b.cacheDir)
	gomod, err := os.ReadFile(filepath.Join(p.moduleRoot, "go.mod"))
	if err != nil {
		return "", p.fail("%v", err)
	}
	// Only the module's packages this function imports count, so that a
	// save in one function of a template does not rebuild the others.
	if err := b.keyModuleFiles(k, p, gomod, rules); err != nil {
		return "", err
	}
	for _, dir := range localReplacements(gomod) {
		abs := dir
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(p.moduleRoot, dir)
		}
		files, err := collect(abs, rules)
		if err != nil {
			return "", p.fail("reading the replacement %s in go.mod: %v", dir, err)
		}
		if err := k.files("replace "+dir, files, &b.digests); err != nil {
			return "", p.fail("reading the replacement %s in go.mod: %v", dir, err)
		}
	}
	return k.sum(), nil
}

// keyModuleFiles adds the module's files the build can read: go.mod and
// go.sum, and the packages the function imports from the module (with
// their non-package subdirectories, for //go:embed). When an import cannot
// be read, every file of the module counts.
func (b *Builder) keyModuleFiles(k *keyHash, p *buildPlan, gomod []byte, rules walkRules) error {
	modPath := modulePath(gomod)
	dirs, ok := localPackages(p.moduleRoot, modPath, p.path)
	if modPath == "" || !ok {
		files, err := collect(p.moduleRoot, rules)
		if err != nil {
			return p.fail("reading the module at %s: %v", p.moduleRoot, err)
		}
		if err := k.files("", files, &b.digests); err != nil {
			return p.fail("reading the module at %s: %v", p.moduleRoot, err)
		}
		return nil
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		if fi, err := os.Stat(filepath.Join(p.moduleRoot, name)); err == nil {
			f := file{rel: name, abs: filepath.Join(p.moduleRoot, name), size: fi.Size(), mtime: fi.ModTime()}
			if err := k.files("", []file{f}, &b.digests); err != nil {
				return p.fail("reading %s: %v", name, err)
			}
		}
	}
	pkgRules := packageRules(b.cacheDir)
	for _, dir := range dirs {
		rel, err := filepath.Rel(p.moduleRoot, dir)
		if err != nil {
			return p.fail("%v", err)
		}
		files, err := collect(dir, pkgRules)
		if err != nil {
			return p.fail("reading package %s: %v", rel, err)
		}
		if err := k.files(filepath.ToSlash(rel)+"/", files, &b.digests); err != nil {
			return p.fail("reading package %s: %v", rel, err)
		}
	}
	return nil
}

// goEnvFile is the content of the go command's configuration file (go env
// -w), which changes builds as much as the environment does.
func goEnvFile(goenv string) string {
	if goenv == "off" {
		return ""
	}
	if goenv == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return ""
		}
		goenv = filepath.Join(dir, "go", "env")
	}
	data, _ := os.ReadFile(goenv)
	return string(data)
}

// goWorkFile is the content of the workspace file the go command would use
// from the module (GOWORK, else the first go.work above it): a workspace
// can swap in other modules' sources. Those modules' files are not in the
// key; editing them needs the go.work or the module to change too.
func goWorkFile(moduleRoot, gowork string) string {
	if gowork == "off" {
		return ""
	}
	if gowork != "" {
		data, _ := os.ReadFile(gowork)
		return gowork + "\n" + string(data)
	}
	for d := moduleRoot; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.work")); err == nil {
			return d + "\n" + string(data)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// localReplacements lists the directories go.mod's replace directives point
// at (paths starting with ./ ../ or /): their files are part of the build.
func localReplacements(gomod []byte) []string {
	var dirs []string
	inBlock := false
	for line := range strings.Lines(string(gomod)) {
		line, _, _ = strings.Cut(line, "//")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch {
		case inBlock && fields[0] == ")":
			inBlock = false
			continue
		case !inBlock && fields[0] == "replace":
			if len(fields) > 1 && fields[1] == "(" {
				inBlock = true
				continue
			}
			fields = fields[1:]
		case !inBlock:
			continue
		}
		i := slices.Index(fields, "=>")
		if i < 0 || i+1 >= len(fields) {
			continue
		}
		target := strings.Trim(fields[i+1], `"`)
		if target == "." || target == ".." || strings.HasPrefix(target, "./") || strings.HasPrefix(target, "../") || filepath.IsAbs(target) {
			dirs = append(dirs, filepath.FromSlash(target))
		}
	}
	return dirs
}

// trimOutput keeps the start of the go command's output, where the first
// errors are, within a size a terminal shows at once.
func trimOutput(out []byte) string {
	const maxLines, maxBytes = 30, 4000
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(out, []byte("?"))), "\n"), "\n")
	var sb strings.Builder
	for i, l := range lines {
		if i == maxLines || sb.Len()+len(l) > maxBytes {
			fmt.Fprintf(&sb, "… (%d more lines)", len(lines)-i)
			break
		}
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return strings.TrimRight(sb.String(), "\n")
}
