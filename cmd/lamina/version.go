package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time:
//
//	go build -ldflags "-X main.version=v0.1.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/lamina
var (
	version = "dev"
	commit  = ""
)

// buildVersion is what `lamina version` reports.
type buildVersion struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
}

// currentVersion combines the -ldflags values with what the Go toolchain
// recorded in the binary: the module version when installed with
// `go install ...@vX`, and vcs.revision/vcs.modified when built from a
// checkout with VCS stamping on (it is off under -buildvcs=false).
func currentVersion() buildVersion {
	v := buildVersion{Version: version, Commit: commit, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if v.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v.Version = info.Main.Version
		}
		if v.Commit == "" {
			v.Commit = vcsCommit(info.Settings)
		}
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

// vcsCommit returns the revision recorded by the go command, marked
// "-dirty" when the work tree had changes, or "" when none was recorded.
func vcsCommit(settings []debug.BuildSetting) string {
	var rev string
	var modified bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" && modified {
		rev += "-dirty"
	}
	return rev
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Lamina's version and commit",
		Long: `Print the version and the commit this binary was built from.

Release builds set both with -ldflags; otherwise the commit comes from the
VCS information the go command stamps into the binary, or is "unknown" when
the build had none (for example with -buildvcs=false).`,
		Example: `  lamina version
  lamina version --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
			out := cmd.OutOrStdout()
			if output, _ := cmd.Flags().GetString("output"); output == outputJSON {
				return writeJSON(out, v)
			}
			_, err := fmt.Fprintf(out, "lamina %s\ncommit: %s\ngo:     %s\n", v.Version, v.Commit, v.Go)
			return err
		},
	}
}
