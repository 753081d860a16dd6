// Package affinity reads and sets the CPUs the calling thread may run on.
// Linux children inherit their forking thread's affinity, so pinning the
// thread around a fork pins the child from its first instruction, before
// its runtime sizes itself (a Go program's GOMAXPROCS follows it).
package affinity

import "golang.org/x/sys/unix"

// Allowed lists the CPUs the calling thread may run on, in order (nil when
// they cannot be read).
func Allowed() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var cpus []int
	for cpu := range len(set) * 64 {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus
}

// PinThread restricts the calling thread, which must be locked to its
// goroutine (runtime.LockOSThread), to cpus, and returns a function that
// restores its previous affinity. With no cpus it changes nothing.
func PinThread(cpus []int) (restore func(), err error) {
	if len(cpus) == 0 {
		return func() {}, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, err
	}
	for _, cpu := range cpus {
		set.Set(cpu)
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, err
	}
	return func() { _ = unix.SchedSetaffinity(0, &old) }, nil
}
