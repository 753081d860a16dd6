package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestCPUPlacer(t *testing.T) {
	p := &cpuPlacer{cpus: []int{0, 1, 2, 3}, load: map[int]int{}}
	var got [][]int
	for range 5 {
		got = append(got, p.place(128))
	}
	want := [][]int{{0}, {1}, {2}, {3}, {0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("128 MB instances placed on %v, want %v (least loaded first)", got, want)
	}
	// 2,048 MB buys two CPUs: the two least loaded (1 and 2 hold one each,
	// 0 holds two).
	if two := p.place(2048); fmt.Sprint(two) != "[1 2]" {
		t.Fatalf("2048 MB placed on %v, want [1 2]", two)
	}
	p.release([]int{0})
	p.release([]int{0})
	if one := p.place(128); fmt.Sprint(one) != "[0]" {
		t.Fatalf("after CPU 0 was released, placed on %v, want [0]", one)
	}
	// Six vCPUs' worth is more than there are: not pinned at all.
	if all := p.place(10240); all != nil {
		t.Fatalf("10240 MB placed on %v, want every CPU (nil)", all)
	}
	var nilPlacer *cpuPlacer
	if got := nilPlacer.place(128); got != nil {
		t.Fatalf("no placer placed on %v", got)
	}
	nilPlacer.release([]int{1}) // must not panic
}

func TestVCPUs(t *testing.T) {
	for _, c := range []struct{ mb, want int }{
		{128, 1}, {1769, 1}, {1770, 2}, {3538, 2}, {3539, 3}, {10240, 6},
	} {
		if got := vcpus(c.mb); got != c.want {
			t.Errorf("vcpus(%d) = %d, want %d", c.mb, got, c.want)
		}
	}
}

// allowedCPUs reads a process's CPU affinity list from /proc.
func allowedCPUs(t *testing.T, pid string) []int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		list, ok := strings.CutPrefix(line, "Cpus_allowed_list:")
		if !ok {
			continue
		}
		var cpus []int
		for part := range strings.SplitSeq(strings.TrimSpace(list), ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, _ := strconv.Atoi(lo)
			b := a
			if isRange {
				b, _ = strconv.Atoi(hi)
			}
			for c := a; c <= b; c++ {
				cpus = append(cpus, c)
			}
		}
		return cpus
	}
	t.Fatalf("no Cpus_allowed_list for %s", pid)
	return nil
}

type cpuReport struct {
	PID        int
	NumCPU     int
	GOMAXPROCS int
}

func cpusOf(t *testing.T, p *Pool, spec *Spec) cpuReport {
	t.Helper()
	res := invoke(t, p, spec, `{"op":"cpus"}`)
	var r cpuReport
	if err := json.Unmarshal(res.Payload, &r); err != nil || r.PID == 0 {
		t.Fatalf("cpus answered %s (%s)", res.Payload, res.ErrorType)
	}
	return r
}

// An instance gets the whole CPUs its memory buys on Lambda, and the Go
// runtime inside sizes itself from them; busy instances are spread over
// different CPUs.
func TestInstancesGetTheCPUsTheirMemoryBuys(t *testing.T) {
	mine := allowedCPUs(t, "self")
	p, _ := newTestPool(t, Options{})

	small := goSpec(t, "cpus-small", nil)
	if r := cpusOf(t, p, small); r.NumCPU != 1 || r.GOMAXPROCS != 1 {
		t.Fatalf("a 128 MB instance sees %d CPUs (GOMAXPROCS %d), want 1", r.NumCPU, r.GOMAXPROCS)
	}

	big := goSpec(t, "cpus-big", nil)
	big.MemoryMB = mbPerVCPU * len(mine)
	if r := cpusOf(t, p, big); r.NumCPU != len(mine) {
		t.Fatalf("a %d MB instance sees %d CPUs, want all %d", big.MemoryMB, r.NumCPU, len(mine))
	}

	if len(mine) >= 2 {
		// Two 128 MB instances busy at once are pinned to different CPUs.
		spread := goSpec(t, "cpus-spread", nil)
		var wg sync.WaitGroup
		pids := make([]int, 2)
		for i := range pids {
			wg.Go(func() {
				pids[i] = pidOf(t, invokeAsync(t, p, spread, `{"op":"sleep","ms":300}`))
			})
		}
		wg.Wait()
		if pids[0] == pids[1] {
			t.Fatalf("two overlapping invocations ran in one instance (pid %d)", pids[0])
		}
		a, b := allowedCPUs(t, strconv.Itoa(pids[0])), allowedCPUs(t, strconv.Itoa(pids[1]))
		if len(a) != 1 || len(b) != 1 || a[0] == b[0] || !slices.Contains(mine, a[0]) || !slices.Contains(mine, b[0]) {
			t.Fatalf("two busy instances pinned to %v and %v, want one distinct CPU each out of %v", a, b, mine)
		}
	}

	shared, _ := newTestPool(t, Options{SharedCPUs: true})
	if r := cpusOf(t, shared, goSpec(t, "cpus-shared", nil)); r.NumCPU != len(mine) {
		t.Fatalf("with SharedCPUs a 128 MB instance sees %d CPUs, want all %d", r.NumCPU, len(mine))
	}
}
