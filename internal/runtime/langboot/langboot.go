// Package langboot owns Lamina's own bootstraps for the managed-language
// runtimes, python3.x and nodejs*: small custom runtimes, embedded in the
// binary, that load a handler named by _HANDLER from LAMBDA_TASK_ROOT and
// speak the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API, so Python and Node
// functions run unmodified without AWS's runtime images.
//
// It only writes the bootstrap files and finds the interpreter; starting,
// sandboxing and supervising the process is package runtime's business.
//
// The bootstraps use the standard library only (Python) or plain Node (no npm
// packages) and mirror AWS's runtime interface clients where functions can
// see the difference: handler resolution, the context object, the error
// documents and their errorType names, and the log line prefixes.
package langboot

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

//go:embed bootstrap.py
var pythonBootstrap []byte

//go:embed bootstrap.cjs
var nodeBootstrap []byte

// ErrUnsupportedRuntime is wrapped by the errors of Command, Resolve and their
// AllUsers variants for a runtime identifier this package has no bootstrap
// for (for example "java21" or "python2.7").
var ErrUnsupportedRuntime = errors.New("langboot: unsupported runtime")

// ErrInterpreterMissing is wrapped by the errors of Command, Resolve and their
// AllUsers variants when the interpreter a runtime needs (python3, node) is
// not installed on this node, cannot be run, or (AllUsers) cannot be run by
// every user.
var ErrInterpreterMissing = errors.New("langboot: interpreter missing")

// Language is the interpreter family of a runtime.
type Language string

// The languages of the supported runtimes.
const (
	Python Language = "python" // python3.8 … python3.14
	Node   Language = "node"   // nodejs18.x … nodejs24.x
)

// lang describes how one Language is found and started.
type lang struct {
	name      Language
	human     string // for error messages: "Python 3", "Node.js"
	command   string // looked up on PATH
	bootstrap []byte
	ext       string // of the written bootstrap file
	// probe prints the real executable's path and the version, one a line.
	probe []string
	// flags come between the interpreter and the bootstrap path.
	flags []string
}

var (
	pythonLang = &lang{
		name:      Python,
		human:     "Python 3",
		command:   "python3",
		bootstrap: pythonBootstrap,
		ext:       ".py",
		// -S: the probe needs no site-packages, only the interpreter's path.
		probe: []string{"-S", "-c", "import sys;print(sys.executable);print('%d.%d.%d' % sys.version_info[:3])"},
		// -u: unbuffered stdout/stderr, so log lines are not held back.
		// -B: write no __pycache__ into the code directory (read-only on
		// AWS; shared between instances here).
		flags: []string{"-u", "-B"},
	}
	nodeLang = &lang{
		name:      Node,
		human:     "Node.js",
		command:   "node",
		bootstrap: nodeBootstrap,
		// .cjs: CommonJS whatever package.json may be found above workDir.
		ext:   ".cjs",
		probe: []string{"-e", "process.stdout.write(process.execPath + '\\n' + process.versions.node + '\\n')"},
	}
)

var pythonRuntimes = map[string]bool{
	"python3.8": true, "python3.9": true, "python3.10": true, "python3.11": true,
	"python3.12": true, "python3.13": true, "python3.14": true,
}

var nodeRuntimes = map[string]bool{
	"nodejs18.x": true, "nodejs20.x": true, "nodejs22.x": true, "nodejs24.x": true,
}

func langOf(runtime string) (*lang, error) {
	switch {
	case pythonRuntimes[runtime]:
		return pythonLang, nil
	case nodeRuntimes[runtime]:
		return nodeLang, nil
	}
	return nil, fmt.Errorf("%w %q: Lamina's bootstraps run python3.8 to python3.14 and nodejs18.x, 20.x, 22.x and 24.x", ErrUnsupportedRuntime, runtime)
}

// Supported reports whether runtime (a Lambda runtime identifier such as
// "python3.12" or "nodejs20.x") is one Command can start.
func Supported(runtime string) bool {
	_, err := langOf(runtime)
	return err == nil
}

// Interpreter is the interpreter that runs a runtime's functions on this node.
type Interpreter struct {
	Language Language
	// Path is the absolute path of the real executable (a version manager's
	// shim such as pyenv's is resolved away: it costs ~50 ms per start).
	Path string
	// Version is the interpreter's own version, e.g. "3.11.7" or "20.20.2".
	// It need not match the runtime's: python3.12 functions run on whatever
	// Python 3 is installed.
	Version string
	// AllUsers reports whether every user can execute Path (each directory on
	// the way is world-searchable and the file world-executable). It is false
	// for example for a pyenv install under a 0700 /root; instances started
	// as another user ('nobody') cannot run it then.
	AllUsers bool
}

// Resolve returns the interpreter Command uses for runtime: the first
// python3 or node on PATH, as it resolves itself. It is found once per PATH
// value and cached; a cached interpreter whose executable has disappeared is
// found again.
func Resolve(runtime string) (Interpreter, error) {
	return resolveFor(runtime, false)
}

// ResolveAllUsers is Resolve for instances that run as another user than
// Lamina (nobody): it returns the first interpreter on PATH that every user
// can execute (see Interpreter.AllUsers), skipping for example a pyenv
// install under a 0700 /root in favour of /usr/bin/python3.
func ResolveAllUsers(runtime string) (Interpreter, error) {
	return resolveFor(runtime, true)
}

// Command writes the bootstrap for runtime under workDir (as
// workDir/langboot/bootstrap-<hash>.py or .cjs; once; safe for concurrent
// callers; files readable and executable by any user) and returns the argv
// that starts it with the interpreter Resolve returns. The bootstrap finds
// the handler in _HANDLER, the code in LAMBDA_TASK_ROOT (which should also
// be the working directory) and the Runtime API at AWS_LAMBDA_RUNTIME_API.
//
// Errors wrap ErrUnsupportedRuntime or ErrInterpreterMissing, or are
// failures to write under workDir.
func Command(runtime, workDir string) ([]string, error) {
	return command(runtime, workDir, false)
}

// CommandAllUsers is Command with the interpreter ResolveAllUsers returns,
// for instances that run as another user than Lamina.
func CommandAllUsers(runtime, workDir string) ([]string, error) {
	return command(runtime, workDir, true)
}

func command(runtime, workDir string, allUsers bool) ([]string, error) {
	l, err := langOf(runtime)
	if err != nil {
		return nil, err
	}
	in, err := resolveFor(runtime, allUsers)
	if err != nil {
		return nil, err
	}
	script, err := writeBootstrap(l, workDir)
	if err != nil {
		return nil, err
	}
	argv := make([]string, 0, len(l.flags)+2)
	argv = append(argv, in.Path)
	argv = append(argv, l.flags...)
	return append(argv, script), nil
}

func resolveFor(runtime string, allUsers bool) (Interpreter, error) {
	l, err := langOf(runtime)
	if err != nil {
		return Interpreter{}, err
	}
	in, err := resolve(l, allUsers)
	if err != nil {
		return Interpreter{}, &missingError{runtime: runtime, lang: l, detail: err.Error()}
	}
	return in, nil
}

// missingError reads as a sentence an operator can act on and wraps
// ErrInterpreterMissing.
type missingError struct {
	runtime string
	lang    *lang
	detail  string
}

func (e *missingError) Error() string {
	return fmt.Sprintf("%s functions need %s on this Lamina node: %s", e.runtime, e.lang.human, e.detail)
}

func (e *missingError) Unwrap() error { return ErrInterpreterMissing }

// Interpreter cache. Concurrency: probeMu guards probes; a probe's fields are
// written by the goroutine that created it before it closes done, and only
// read by others after done is closed. Failed probes are dropped from the map
// so that a later call tries again (after the operator installs Python, say).
var (
	probeMu sync.Mutex
	probes  = map[string]*probe{}
)

type probe struct {
	done chan struct{}
	in   Interpreter
	err  error
}

// probeTimeout bounds the one-off run of the interpreter that finds its real
// path; a shim that hangs must not hang every cold start.
const probeTimeout = 20 * time.Second

func resolve(l *lang, allUsers bool) (Interpreter, error) {
	key := fmt.Sprintf("%s\x00%v\x00%s", l.name, allUsers, os.Getenv("PATH"))
	for {
		probeMu.Lock()
		p, ok := probes[key]
		if ok {
			probeMu.Unlock()
			<-p.done
			if p.err != nil {
				return Interpreter{}, p.err
			}
			if _, err := os.Stat(p.in.Path); err == nil {
				return p.in, nil
			}
			// Uninstalled or upgraded away since: probe again.
			probeMu.Lock()
			if probes[key] == p {
				delete(probes, key)
			}
			probeMu.Unlock()
			continue
		}
		p = &probe{done: make(chan struct{})}
		probes[key] = p
		probeMu.Unlock()

		p.in, p.err = find(l, allUsers)
		if p.err != nil {
			probeMu.Lock()
			delete(probes, key)
			probeMu.Unlock()
		}
		close(p.done)
		return p.in, p.err
	}
}

// find probes the candidates on PATH in order: the first, or with allUsers
// the first whose real executable every user can run.
func find(l *lang, allUsers bool) (Interpreter, error) {
	candidates := lookPathAll(l.command)
	if len(candidates) == 0 {
		return Interpreter{}, fmt.Errorf("%q was not found on PATH", l.command)
	}
	if !allUsers {
		return probeInterpreter(l, candidates[0])
	}
	var firstErr error
	var private []string
	for _, c := range candidates {
		in, err := probeInterpreter(l, c)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case in.AllUsers:
			return in, nil
		default:
			private = append(private, in.Path)
		}
	}
	if len(private) == 0 {
		return Interpreter{}, firstErr
	}
	return Interpreter{}, fmt.Errorf("no %q on PATH can be run by every user, as instances running as another user need (%s: a directory on the way is not searchable by others, or the file not executable by them)",
		l.command, strings.Join(private, ", "))
}

// lookPathAll lists the executables named file in the absolute directories
// of PATH, in order, like `which -a`.
func lookPathAll(file string) []string {
	var out []string
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, file)
		if seen[p] {
			continue
		}
		seen[p] = true
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			out = append(out, p)
		}
	}
	return out
}

// probeInterpreter runs the candidate once to learn its real executable
// (through shims) and version.
func probeInterpreter(l *lang, found string) (Interpreter, error) {
	// Detached on purpose: the probe's result is cached and shared by every
	// caller waiting in resolve, so no one caller's cancellation may end it
	// (a caller's ctx would need context.WithoutCancel anyway); probeTimeout
	// bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, found, l.probe...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		if msg != "" {
			msg = ": " + msg
		}
		return Interpreter{}, fmt.Errorf("%q (%s) could not be run (%v)%s", l.command, found, err, msg)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		return Interpreter{}, fmt.Errorf("%q (%s) gave unexpected output %q", l.command, found, stdout.String())
	}
	path, version := strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1])
	if !filepath.IsAbs(path) {
		path = found // sys.executable may be empty in odd embeddings
	}
	if _, err := os.Stat(path); err != nil {
		return Interpreter{}, fmt.Errorf("%q (%s) names %s as its executable: %v", l.command, found, path, err)
	}
	if l.name == Python && !strings.HasPrefix(version, "3.") {
		return Interpreter{}, fmt.Errorf("%q (%s) is Python %s, not Python 3", l.command, path, version)
	}
	return Interpreter{Language: l.name, Path: path, Version: version, AllUsers: allUsersCanRun(path)}, nil
}

// allUsersCanRun reports whether a user who is neither owner nor in the group
// could execute path: every directory on the way (of the path as given and of
// its symlink target) searchable by others, the file executable by others.
func allUsersCanRun(path string) bool {
	paths := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		paths = append(paths, real)
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			di, err := os.Stat(dir)
			if err != nil || di.Mode().Perm()&0o001 == 0 {
				return false
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	return true
}

// Bootstrap files this process has written or verified.
var (
	writeMu sync.Mutex
	written = map[string]bool{}
)

// writeBootstrap writes l's bootstrap as workDir/langboot/bootstrap-<sha>.<ext>
// and returns its path. The content hash in the name lets binaries of
// different versions share a workDir; the write goes through a temporary
// file and a rename, so a reader never sees a partial file.
func writeBootstrap(l *lang, workDir string) (string, error) {
	absDir, err := filepath.Abs(workDir)
	if err != nil {
		return "", fmt.Errorf("langboot: work directory: %w", err)
	}
	dir := filepath.Join(absDir, "langboot")
	sum := sha256.Sum256(l.bootstrap)
	path := filepath.Join(dir, "bootstrap-"+hex.EncodeToString(sum[:6])+l.ext)

	writeMu.Lock()
	defer writeMu.Unlock()
	if written[path] {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		// Removed behind our back (a cleaned work directory): write again.
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("langboot: %w", err)
	}
	// MkdirAll is subject to the umask; instances may run as another user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", fmt.Errorf("langboot: %w", err)
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, l.bootstrap) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == 0o755 {
			written[path] = true
			return path, nil
		}
	}
	f, err := os.CreateTemp(dir, ".bootstrap-*")
	if err != nil {
		return "", fmt.Errorf("langboot: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(l.bootstrap)
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o755)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("langboot: writing bootstrap: %w", werr)
	}
	written[path] = true
	return path, nil
}
