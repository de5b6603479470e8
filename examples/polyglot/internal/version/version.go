// Package version holds build metadata stamped in by the linker.
//
// Build with, for example:
//
//	go build -ldflags "-X example.com/polyglot/internal/version.Version=v1.2.3" ./cmd/server
package version

import "fmt"

// These are set with -ldflags "-X example.com/polyglot/internal/version.<Name>=<value>".
var (
	Version   = "dev"
	GitHash   = "unknown"
	BuildDate = "unknown"
)

// String returns a one-line description of the build, e.g.
// "server v1.2.3 (commit abc1234, built 2024-05-01T10:00:00Z)".
func String(program string) string {
	return fmt.Sprintf("%s %s (commit %s, built %s)", program, Version, GitHash, BuildDate)
}
