package affinity

import (
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A child started while the thread is pinned runs on the pinned CPU only,
// and the thread gets its CPUs back afterwards.
func TestPinThreadIsInherited(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all := Allowed()
	if len(all) == 0 {
		t.Fatal("no CPUs allowed")
	}
	last := all[len(all)-1]
	restore, err := PinThread([]int{last})
	if err != nil {
		t.Fatal(err)
	}
	if got := Allowed(); !slices.Equal(got, []int{last}) {
		t.Errorf("pinned thread allows %v, want [%d]", got, last)
	}
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(out)); len(f) != 2 || f[1] != strconv.Itoa(last) {
		t.Errorf("child's affinity %q, want %d", out, last)
	}
	if got := Allowed(); !slices.Equal(got, all) {
		t.Errorf("after restore the thread allows %v, want %v", got, all)
	}
	if restore, err := PinThread(nil); err != nil || !slices.Equal(Allowed(), all) {
		t.Errorf("PinThread(nil) changed the affinity: %v", err)
	} else {
		restore()
	}
}
