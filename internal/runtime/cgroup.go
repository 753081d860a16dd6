package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memory limits through cgroups. Each instance gets its own memory cgroup
// (limit = the function's MemorySize, swap off) under a directory this pool
// creates inside Lamina's own cgroup; its peak usage is REPORT's "Max Memory
// Used" and its OOM-kill counter tells an OOM kill from other deaths. cgroup
// v2 is used when its memory controller can be delegated to us, else v1's
// memory hierarchy, else there is no memory limit (New logs which).

type cgroupVersion int

const (
	cgroupNone cgroupVersion = 0
	cgroupV1   cgroupVersion = 1
	cgroupV2   cgroupVersion = 2
)

// cgroups creates per-instance cgroups under parent.
type cgroups struct {
	version cgroupVersion
	parent  string // the pool's directory, removed by close
	home    string // v1: Lamina's own cgroup, where spawner threads return
}

// setupCgroups finds a usable memory controller and makes the pool's parent
// directory (name is unique per pool). It returns nil and the reason when
// there is none.
func setupCgroups(name string) (*cgroups, string) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, "cannot read /proc/self/mountinfo: " + err.Error()
	}
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, "cannot read /proc/self/cgroup: " + err.Error()
	}
	var reasons []string
	if mnt, root := findCgroupMount(mounts, true); mnt != "" {
		if cg, err := setupV2(mnt, root, own, name); err == nil {
			return cg, ""
		} else {
			reasons = append(reasons, "cgroup v2: "+err.Error())
		}
	} else {
		reasons = append(reasons, "cgroup v2: not mounted")
	}
	if mnt, root := findCgroupMount(mounts, false); mnt != "" {
		if cg, err := setupV1(mnt, root, own, name); err == nil {
			return cg, ""
		} else {
			reasons = append(reasons, "cgroup v1: "+err.Error())
		}
	} else {
		reasons = append(reasons, "cgroup v1: no memory hierarchy mounted")
	}
	return nil, strings.Join(reasons, "; ")
}

// findCgroupMount returns the mount point and hierarchy root of the cgroup2
// mount (v2) or of the v1 hierarchy with the memory controller.
func findCgroupMount(mountinfo []byte, v2 bool) (mountPoint, root string) {
	for _, line := range strings.Split(string(mountinfo), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		f, pf := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(pf) < 3 {
			continue
		}
		switch {
		case v2 && pf[0] == "cgroup2":
			return unescapeMount(f[4]), f[3]
		case !v2 && pf[0] == "cgroup" && hasOption(pf[2], "memory"):
			return unescapeMount(f[4]), f[3]
		}
	}
	return "", ""
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

func unescapeMount(s string) string {
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
}

// ownCgroup returns this process's cgroup path in the v2 hierarchy or the v1
// memory hierarchy, relative to that hierarchy's root.
func ownCgroup(procCgroup []byte, v2 bool) (string, bool) {
	for _, line := range strings.Split(string(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if v2 && parts[0] == "0" && parts[1] == "" {
			return parts[2], true
		}
		if !v2 && hasOption(parts[1], "memory") {
			return parts[2], true
		}
	}
	return "", false
}

// ownDir maps our cgroup path onto the mount (the mount may show only a
// sub-tree, e.g. inside a cgroup namespace).
func ownDir(mnt, mntRoot, own string) string {
	rel := own
	if mntRoot != "/" {
		if r, ok := strings.CutPrefix(own, mntRoot); ok {
			rel = r
		}
	}
	d := filepath.Join(mnt, rel)
	if _, err := os.Stat(d); err != nil {
		return mnt
	}
	return d
}

func setupV2(mnt, mntRoot string, procCgroup []byte, name string) (*cgroups, error) {
	own, ok := ownCgroup(procCgroup, true)
	if !ok {
		return nil, errors.New("this process is not in the v2 hierarchy")
	}
	base := ownDir(mnt, mntRoot, own)
	ctrl, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	if !hasField(ctrl, "memory") {
		return nil, fmt.Errorf("the memory controller is not available in %s", base)
	}
	// Enabling a controller for children fails where processes live in the
	// cgroup itself (unless it is the root): then v2 is not ours to use.
	if err := enableMemory(base); err != nil {
		return nil, fmt.Errorf("cannot enable the memory controller for sub-groups of %s: %v", base, err)
	}
	removeStale(base, cgroupPrefix, removeCgroupTree)
	parent := filepath.Join(base, name)
	if err := os.Mkdir(parent, 0o755); err != nil {
		return nil, err
	}
	if err := enableMemory(parent); err != nil {
		os.Remove(parent)
		return nil, err
	}
	cg := &cgroups{version: cgroupV2, parent: parent}
	if err := cg.probe(); err != nil {
		os.Remove(parent)
		return nil, err
	}
	return cg, nil
}

func enableMemory(dir string) error {
	sub, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err == nil && hasField(sub, "memory") {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0)
}

func hasField(b []byte, want string) bool {
	for _, f := range strings.Fields(string(b)) {
		if f == want {
			return true
		}
	}
	return false
}

func setupV1(mnt, mntRoot string, procCgroup []byte, name string) (*cgroups, error) {
	own, ok := ownCgroup(procCgroup, false)
	if !ok {
		return nil, errors.New("this process is not in the memory hierarchy")
	}
	base := ownDir(mnt, mntRoot, own)
	removeStale(base, cgroupPrefix, removeCgroupTree)
	parent := filepath.Join(base, name)
	if err := os.Mkdir(parent, 0o755); err != nil {
		return nil, err
	}
	cg := &cgroups{version: cgroupV1, parent: parent, home: base}
	if err := cg.probe(); err != nil {
		os.Remove(parent)
		return nil, err
	}
	return cg, nil
}

// removeCgroupTree removes a pool's cgroup directory left by a dead Lamina
// (its instances' cgroups first; a cgroup still holding a process stays).
func removeCgroupTree(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.IsDir() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	os.Remove(dir)
}

// probe creates and removes one instance cgroup, to fail at start rather
// than at each instance.
func (m *cgroups) probe() error {
	c, err := m.create("probe", 128)
	if err != nil {
		return err
	}
	c.remove()
	return nil
}

func (m *cgroups) describe() string {
	if m == nil {
		return "none"
	}
	return fmt.Sprintf("cgroup v%d under %s", m.version, m.parent)
}

// close removes the pool's parent directory (instances' are gone by then).
func (m *cgroups) close() {
	if m == nil {
		return
	}
	for i := 0; i < 50; i++ {
		if err := os.Remove(m.parent); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cgroup is one instance's.
type cgroup struct {
	version cgroupVersion
	dir     string
	peak    *os.File // v1 memory.max_usage_in_bytes, v2 memory.peak (or memory.current)
	fd      int      // v2: the directory, for clone into the cgroup (-1 on v1)
}

// create makes the cgroup of instance id with a limit of memMB. (On v1
// the spawner's slots are used instead: see spawn.go.)
func (m *cgroups) create(id string, memMB int) (*cgroup, error) {
	dir := filepath.Join(m.parent, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	switch m.version {
	case cgroupV2:
		err = setMemoryLimitV2(dir, memMB)
	default:
		err = setMemoryLimitV1(dir, memMB)
	}
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return m.adopt(dir)
}

// adopt opens an instance's cgroup whose limit is set.
func (m *cgroups) adopt(dir string) (*cgroup, error) {
	c := &cgroup{version: m.version, dir: dir, fd: -1}
	var err error
	switch m.version {
	case cgroupV2:
		if c.peak, err = os.Open(filepath.Join(dir, "memory.peak")); err != nil {
			c.peak, err = os.Open(filepath.Join(dir, "memory.current"))
		}
		if err == nil {
			c.fd, err = syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		}
	default:
		c.peak, err = os.Open(filepath.Join(dir, "memory.max_usage_in_bytes"))
	}
	if err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func setMemoryLimitV2(dir string, memMB int) error {
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(int64(memMB)<<20, 10)), 0); err != nil {
		return err
	}
	os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0) // absent without swap accounting
	return nil
}

func setMemoryLimitV1(dir string, memMB int) error {
	limit := []byte(strconv.FormatInt(int64(memMB)<<20, 10))
	// memory+swap must stay >= memory: raise it first, lower it after (the
	// files are absent without swap accounting).
	memsw := filepath.Join(dir, "memory.memsw.limit_in_bytes")
	os.WriteFile(memsw, limit, 0)
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), limit, 0); err != nil {
		return err
	}
	os.WriteFile(memsw, limit, 0)
	return nil
}

// add moves pid into the cgroup if it was not born there.
func (c *cgroup) add(pid int) error {
	if c.version == cgroupV2 {
		return nil
	}
	return os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// peakMB is the peak memory use in MB (rounded up), 0 when unknown.
func (c *cgroup) peakMB() int {
	// One pread: the file is a single short line, and os.File.ReadAt
	// would read again until EOF, a second syscall per invocation.
	var buf [32]byte
	rc, err := c.peak.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	if err := rc.Read(func(fd uintptr) bool {
		n, err = syscall.Pread(int(fd), buf[:], 0)
		return true
	}); err != nil || n <= 0 {
		return 0
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(buf[:n])), 10, 64)
	if err != nil {
		return 0
	}
	return int((v + 1<<20 - 1) >> 20)
}

// oomKilled reports whether the kernel's OOM killer killed a process of the
// cgroup.
func (c *cgroup) oomKilled() bool {
	name := "memory.oom_control"
	if c.version == cgroupV2 {
		name = "memory.events"
	}
	f, err := os.Open(filepath.Join(c.dir, name))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), " ")
		if k == "oom_kill" && v != "0" {
			return true
		}
	}
	return false
}

// killAll SIGKILLs every process left in the cgroup (those that left the
// instance's process group too).
func (c *cgroup) killAll() {
	if c.version == cgroupV2 {
		if os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0) == nil {
			return
		}
	}
	b, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if err != nil {
		return
	}
	self := os.Getpid() // listed while a spawner thread is in the cgroup (v1)
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 && pid != self {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// remove deletes the cgroup once its processes are gone (they may take a
// moment to leave after SIGKILL).
func (c *cgroup) remove() {
	if c.peak != nil {
		c.peak.Close()
	}
	if c.fd >= 0 {
		syscall.Close(c.fd)
		c.fd = -1
	}
	for i := 0; i < 100; i++ {
		err := os.Remove(c.dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if i == 20 {
			c.killAll()
		}
		time.Sleep(5 * time.Millisecond)
	}
}
