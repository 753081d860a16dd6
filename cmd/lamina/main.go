// Command lamina is the Lamina binary: `lamina serve` runs the platform and
// every other subcommand is a client of its HTTP API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	// Schedules name IANA time zones; machines without zoneinfo still know them.
	_ "time/tzdata"
)

func main() {
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
