// Command lamina is the Lamina binary: `lamina serve` runs the platform and
// every other subcommand is a client of its HTTP API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	// Schedules name IANA time zones; machines without zoneinfo still know them.
	_ "time/tzdata"
)

// gcPercent is Lamina's GOGC unless the environment sets one: the platform
// allocates fast (every event crosses the store and the Runtime API) and
// keeps a small live heap, so collecting at 3x instead of 2x the live heap
// halves the collector's work for a few more MB (async throughput +2–4%
// in alternating runs of `lamina bench async`).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	// The first SIGINT/SIGTERM cancels ctx (graceful); once it has, signals
	// are handed back to the runtime, so a second one ends the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()

	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
