package runtime

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/lamina-dev/lamina/internal/function"
)

// The sandbox of an instance: its own process group, SIGKILL when Lamina
// dies, resource limits, an unprivileged user when Lamina runs as root, a
// private writable tmp directory, the read-only code directory as its
// working directory, and an environment built from nothing but the Lambda
// variables (spec A.8), the function's own and a PATH.

// sandboxUID and sandboxGID are the user instances run as when Lamina runs as
// root: nobody/nogroup.
const (
	sandboxUID = 65534
	sandboxGID = 65534
)

// Resource limits of every instance. RLIMIT_AS is deliberately absent: Go
// and Node reserve far more address space than they use.
const (
	limitNoFile = 1024 // AWS's
)

// layout is where the sandbox files live: root/code/<sha> (read-only code),
// root/tmp/<instance> (private tmp dirs) and root/langboot (the embedded
// bootstraps, LAMBDA_RUNTIME_DIR).
type layout struct {
	root string
	// temporary reports that root is not Options.Dir but a directory made for
	// this pool (Options.Dir is not reachable by the sandbox user); Close
	// removes it.
	temporary bool
}

func (l layout) codeDir() string    { return filepath.Join(l.root, "code") }
func (l layout) tmpDir() string     { return filepath.Join(l.root, "tmp") }
func (l layout) runtimeDir() string { return filepath.Join(l.root, "langboot") }

// chooseLayout prepares the sandbox directories under dir, or, when the
// instances will run as another user who cannot reach dir (for example dir
// sits under a 0700 directory such as Go's t.TempDir()), under a fresh
// directory in os.TempDir().
func chooseLayout(dir string, dropUser bool) (layout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return layout{}, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return layout{}, err
	}
	l := layout{root: abs}
	if dropUser && !othersCanTraverse(abs) {
		removeStale(os.TempDir(), sandboxPrefix, func(dir string) { removeTree(dir) })
		tmp, err := os.MkdirTemp(os.TempDir(), sandboxPrefix+strconv.Itoa(os.Getpid())+"-")
		if err != nil {
			return layout{}, err
		}
		if err := os.Chmod(tmp, 0o711); err != nil {
			return layout{}, err
		}
		if !othersCanTraverse(tmp) {
			os.Remove(tmp)
			return layout{}, fmt.Errorf("neither %s nor %s can be reached by uid %d: make one of them searchable by others (chmod o+x on each parent)", abs, os.TempDir(), sandboxUID)
		}
		l = layout{root: tmp, temporary: true}
	}
	for _, d := range []string{l.codeDir(), l.tmpDir()} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return layout{}, err
		}
		// MkdirAll obeys the umask; the sandbox user must be able to pass.
		if err := os.Chmod(d, 0o711); err != nil {
			return layout{}, err
		}
	}
	return l, nil
}

// Names of what a pool leaves behind if its process dies without Close:
// "<prefix><pid>-<random>". The next pool removes those of dead processes.
const (
	sandboxPrefix = "lamina-sandbox-"
	cgroupPrefix  = "lamina-"
)

// removeStale removes the entries of dir named prefix<pid>-... whose
// process is gone.
func removeStale(dir, prefix string, remove func(path string)) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			remove(filepath.Join(dir, e.Name()))
		}
	}
}

// othersCanTraverse reports whether a user who is neither owner nor in the
// group can reach dir: every directory from / to dir is searchable by others.
func othersCanTraverse(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// makeReadOnly removes every write bit under dir (the extracted code).
func makeReadOnly(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, path) // chmod after the walk, children first
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(path, fi.Mode().Perm()&^0o222|0o444)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}

// removeTree removes dir even where makeReadOnly took the write bits away.
func removeTree(dir string) error {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// Environment. Reserved variables are set by the platform and cannot be
// overridden by the function's configuration; the defaults can.
var reservedEnv = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_REGION": true, "AWS_DEFAULT_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true,
	"AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
	"AWS_LAMBDA_RUNTIME_API": true, "LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true, "TZ": true,
	"TMPDIR": true,
	// Never: it switches aws-lambda-go to its legacy net/rpc mode.
	"_LAMBDA_SERVER_PORT": true,
	// One event at a time per instance; more /next loops would be refused.
	"AWS_LAMBDA_MAX_CONCURRENCY": true,
}

// defaultPath is AWS's PATH; the directories of Lamina's own PATH are
// appended so that interpreters installed elsewhere are found.
const defaultPath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// Placeholder credentials: functions that build an AWS SDK client find
// well-formed variables (Lamina's edge accepts any credentials from loopback).
const (
	placeholderKeyID  = "ASIALAMINAEXAMPLE0001"
	placeholderSecret = "lamina/placeholder/secret/access/key0000"
	placeholderToken  = "lamina-placeholder-session-token"
)

// baseEnv is the environment shared by all instances of spec (all but the
// per-instance variables, which spawn appends).
func baseEnv(spec *Spec, codeDir, runtimeDir, endpointURL string, memMB int) []string {
	env := make([]string, 0, len(spec.Environment)+24)
	set := map[string]bool{}
	for k, v := range spec.Environment {
		if reservedEnv[k] || k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			continue
		}
		env = append(env, k+"="+v)
		set[k] = true
	}
	def := func(k, v string) {
		if !set[k] {
			env = append(env, k+"="+v)
		}
	}
	path := defaultPath
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d != "" && filepath.IsAbs(d) && !strings.Contains(":"+path+":", ":"+d+":") {
			path += ":" + d
		}
	}
	def("PATH", path)
	def("LANG", "en_US.UTF-8")
	if endpointURL != "" {
		def("AWS_ENDPOINT_URL", endpointURL)
	}
	// Lambda gives a function CPU in proportion to its memory, one vCPU at
	// 1769 MB; Go functions size their scheduler to that share unless they
	// say otherwise (GOMAXPROCS=NumCPU costs a warm invocation ~20% in
	// cross-thread wake-ups for no gain in a fraction of a CPU).
	def("GOMAXPROCS", strconv.Itoa(min(max(1, (memMB+1768)/1769), goruntime.NumCPU())))
	def("LD_LIBRARY_PATH", "/var/lang/lib:/lib64:/usr/lib64:"+runtimeDir+":"+runtimeDir+"/lib:"+codeDir+":"+codeDir+"/lib:/opt/lib")
	region := spec.Region
	if region == "" {
		region = "us-east-1"
	}
	logGroup := spec.LogGroup
	if logGroup == "" {
		logGroup = "/aws/lambda/" + spec.FunctionName
	}
	version := spec.Version
	if version == "" {
		version = "$LATEST"
	}
	env = append(env,
		"_HANDLER="+spec.Handler,
		"AWS_REGION="+region,
		"AWS_DEFAULT_REGION="+region,
		"AWS_LAMBDA_FUNCTION_NAME="+spec.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(memMB),
		"AWS_LAMBDA_FUNCTION_VERSION="+version,
		"AWS_LAMBDA_LOG_GROUP_NAME="+logGroup,
		"AWS_ACCESS_KEY_ID="+placeholderKeyID,
		"AWS_SECRET_ACCESS_KEY="+placeholderSecret,
		"AWS_SESSION_TOKEN="+placeholderToken,
		"LAMBDA_TASK_ROOT="+codeDir,
		"LAMBDA_RUNTIME_DIR="+runtimeDir,
		"TZ=:UTC",
	)
	if spec.LogFormat != "" {
		env = append(env, "AWS_LAMBDA_LOG_FORMAT="+spec.LogFormat)
	}
	if !function.IsProvidedRuntime(spec.Runtime) {
		env = append(env, "AWS_EXECUTION_ENV=AWS_Lambda_"+spec.Runtime)
	}
	return env
}

// rlimit is one resource limit for an instance.
type rlimit struct {
	resource int
	value    uint64 // soft and hard
}

// instanceRlimits are the limits of an instance of spec.
func instanceRlimits(ephemeralMB int) []rlimit {
	l := []rlimit{{syscall.RLIMIT_NOFILE, limitNoFile}, {syscall.RLIMIT_CORE, 0}}
	if ephemeralMB > 0 {
		l = append(l, rlimit{syscall.RLIMIT_FSIZE, uint64(ephemeralMB) << 20})
	}
	return l
}

// setRlimit sets a resource limit of another process (prlimit(2)).
func setRlimit(pid, resource int, cur, max uint64) error {
	lim := syscall.Rlimit{Cur: cur, Max: max}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(resource),
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// applyRlimits limits a freshly started process. Lowering another user's
// limits takes CAP_SYS_RESOURCE, which root may lack (in containers): then,
// for a child running as uid:gid, the calling thread (a locked spawner
// thread; Linux credentials are per thread) takes that uid and gid as its
// real and effective ids for the call, keeping 0 as its saved ids to come
// back. It reports whether the thread is still fit for use.
func applyRlimits(pid int, limits []rlimit, uid, gid int) (ok bool, err error) {
	apply := func() error {
		for _, l := range limits {
			if err := setRlimit(pid, l.resource, l.value, l.value); err != nil {
				return err
			}
		}
		return nil
	}
	err = apply()
	if err != syscall.EPERM || uid < 0 {
		return true, err
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(gid), uintptr(gid), 0); e != 0 {
		return true, e
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(uid), uintptr(uid), 0); e != 0 {
		syscall.RawSyscall(syscall.SYS_SETRESGID, 0, 0, 0)
		return true, e
	}
	err = apply()
	_, _, e1 := syscall.RawSyscall(syscall.SYS_SETRESUID, 0, 0, 0)
	_, _, e2 := syscall.RawSyscall(syscall.SYS_SETRESGID, 0, 0, 0)
	return e1 == 0 && e2 == 0, err
}

// devNull is every instance's stdin.
var (
	devNullOnce sync.Once
	devNull     *os.File
	devNullErr  error
)

func openDevNull() (*os.File, error) {
	devNullOnce.Do(func() { devNull, devNullErr = os.Open(os.DevNull) })
	return devNull, devNullErr
}
