package runtime

import (
	"slices"
	"sync"

	"github.com/lamina-dev/lamina/internal/affinity"
)

// Lambda gives a function compute in proportion to its memory: the
// equivalent of one vCPU at 1,769 MB, six at 10,240 MB. Lamina gives each
// instance the same number of whole CPUs (at least one), by CPU affinity
// inherited from the thread that forks it. Besides matching what a function
// can count on in AWS, it matters for speed: a Go runtime sizes GOMAXPROCS
// from its affinity, and an instance that sees one CPU wakes one thread per
// event instead of spinning up idle ones (on the 2-vCPU development machine,
// alternating runs of `lamina bench invoke` against --shared-cpus: 104–110
// instead of 120–170 µs added at one caller, 5–10% more at eight).
const mbPerVCPU = 1769

// cpuPlacer spreads pinned instances over the CPUs Lamina may use, the
// least loaded first.
type cpuPlacer struct {
	mu   sync.Mutex
	cpus []int       // the CPUs Lamina's own affinity allows
	load map[int]int // instances pinned to each
}

// newCPUPlacer returns nil (no pinning) when Lamina's CPUs cannot be read.
func newCPUPlacer() *cpuPlacer {
	cpus := affinity.Allowed()
	if len(cpus) == 0 {
		return nil
	}
	return &cpuPlacer{cpus: cpus, load: map[int]int{}}
}

// vcpus is the CPUs an instance of memMB is given.
func vcpus(memMB int) int { return max(1, (memMB+mbPerVCPU-1)/mbPerVCPU) }

// place picks the CPUs for an instance of memMB. nil means every CPU (its
// share is all of them, or there is no placer).
func (p *cpuPlacer) place(memMB int) []int {
	if p == nil {
		return nil
	}
	n := vcpus(memMB)
	if n >= len(p.cpus) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	order := slices.Clone(p.cpus)
	// Stable: among equally loaded CPUs the lower numbered first.
	slices.SortStableFunc(order, func(a, b int) int { return p.load[a] - p.load[b] })
	chosen := order[:n]
	for _, cpu := range chosen {
		p.load[cpu]++
	}
	slices.Sort(chosen)
	return chosen
}

// release returns the CPUs of a stopped instance.
func (p *cpuPlacer) release(cpus []int) {
	if p == nil || len(cpus) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cpu := range cpus {
		if p.load[cpu]--; p.load[cpu] <= 0 {
			delete(p.load, cpu)
		}
	}
}
