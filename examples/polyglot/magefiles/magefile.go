//go:build mage

// The polyglot example's tasks written the Mage way, for the side-by-side benchmark in
// bench/mage.py: the same work as ../dodo.py (conjure), with Mage's idioms. It lives in
// Mage's usual magefiles/ folder, with its own go.mod (so the example's go.mod stays
// standard-library only); Mage finds the folder and runs the targets from its parent,
// `go list ./...` at the example's root skips the nested module, and conjure.discover()
// skips a module with no packages (every file here needs the mage build tag):
//
//	cd examples/polyglot
//	go run github.com/magefile/mage@v1.17.2 -l
//	go run github.com/magefile/mage@v1.17.2 -v testAll build
//
// Like most magefiles, this one skips work by modification time (target.Dir) for the
// files it writes (status_string.go, the binaries) and leaves the rest to the tools' own
// caches: `go test` reuses results from GOCACHE, `uv sync` returns early when the venv
// matches uv.lock. The pytest runs have no output file to compare, so they run every time.

// Mage targets for the polyglot example (Go server + worker, Python add-on).
package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/magefile/mage/mg"
	"github.com/magefile/mage/sh"
	"github.com/magefile/mage/target"
)

// Default is what a bare `mage` runs.
var Default = TestAll

const versionPkg = "example.com/polyglot/internal/version"

// pyMarkers are the add-on's pytest markers; each has its own test run.
var pyMarkers = []string{"unit", "api", "integration", "performance", "database"}

// Generate regenerates internal/jobs/status_string.go with go generate.
//
// Skipped when status_string.go is newer than status.go and the generator's sources.
func Generate() error {
	stale, err := target.Dir("internal/jobs/status_string.go",
		"internal/jobs/status.go", "internal/tools/genstatus")
	if err != nil || !stale {
		log.Println("generate: status_string.go is newer than its sources, skipped")
		return err
	}
	return sh.RunV("go", "generate", "./internal/jobs")
}

// Build builds the server and worker binaries into bin/, stamped with the git version.
func Build() {
	mg.Deps(mg.F(binary, "server"), mg.F(binary, "worker"))
}

// stamp is the -ldflags value: git describe, the commit and its date (computed once).
var stamp = sync.OnceValue(func() string {
	describe, err := sh.Output("git", "describe", "--tags", "--always")
	if err != nil || describe == "" {
		describe = "dev"
	}
	hash, date := "unknown", "unknown"
	if out, err := sh.Output("git", "log", "-1", "--format=%h %cI"); err == nil && out != "" {
		hash, date, _ = strings.Cut(out, " ")
	}
	return fmt.Sprintf("-X %s.Version=%s -X %s.GitHash=%s -X %s.BuildDate=%s",
		versionPkg, describe, versionPkg, hash, versionPkg, date)
})

// binary builds ./cmd/<name> into bin/<name> unless the binary is newer than every Go
// source a command can import (its own folder, internal/, web/, go.mod): Mage has no
// package graph, so an edit anywhere under internal/ rebuilds both binaries.
func binary(name string) error {
	mg.Deps(Generate)
	out := filepath.Join("bin", name)
	stale, err := target.Dir(out, "go.mod", filepath.Join("cmd", name), "internal", "web")
	if err != nil || !stale {
		log.Printf("build:%s: %s is newer than its sources, skipped", name, out)
		return err
	}
	return sh.RunV("go", "build", "-buildvcs=false", "-ldflags", stamp(),
		"-o", out, "./cmd/"+name)
}

// Vet runs go vet, with and without the integration build tag.
func Vet() {
	mg.Deps(mg.F(vet, ""), mg.F(vet, "integration"))
}

func vet(tags string) error {
	mg.Deps(Generate)
	if tags == "" {
		return sh.RunV("go", "vet", "./...")
	}
	return sh.RunV("go", "vet", "-tags", tags, "./...")
}

// FmtCheck fails if any Go file of the module is not gofmt-formatted.
func FmtCheck() error {
	out, err := sh.Output("gofmt", "-l", "cmd", "internal", "web")
	if err != nil {
		return err
	}
	if out != "" {
		return fmt.Errorf("not gofmt-ed:\n%s", out)
	}
	return nil
}

// Check runs the static checks: go vet and gofmt.
func Check() {
	mg.Deps(Vet, FmtCheck)
}

// TestGo runs the Go unit tests (-short: skips TestSlowRender).
func TestGo() error {
	mg.Deps(Generate)
	return sh.RunV("go", "test", "-short", "./...")
}

// TestGoSlow runs the Go tests that -short skips (TestSlowRender, about 2 s).
func TestGoSlow() error {
	mg.Deps(Generate)
	return sh.RunV("go", "test", "-run", "Slow", "./internal/render")
}

// TestGoIntegration runs the Go integration tests behind the integration build tag.
func TestGoIntegration() error {
	mg.Deps(Generate)
	return sh.RunV("go", "test", "-tags", "integration", "-run", "Integration", "./...")
}

// PySync creates addon/.venv from addon/uv.lock (fails if the lock is stale).
func PySync() error {
	return sh.RunV("uv", "--directory", "addon", "sync", "--locked")
}

// TestPy runs the add-on's tests with one pytest marker (unit, api, integration,
// performance, database); integration runs the Python client against bin/server.
func TestPy(marker string) error {
	mg.Deps(PySync)
	env := map[string]string{}
	if marker == "integration" {
		mg.Deps(mg.F(binary, "server"))
		server, err := filepath.Abs(filepath.Join("bin", "server"))
		if err != nil {
			return err
		}
		env["POLYGLOT_SERVER_BIN"] = server
	}
	return sh.RunWithV(env, "uv", "--directory", "addon", "run", "--locked",
		"pytest", "-q", "-m", marker, "--durations=10")
}

// TestUnit runs the fast unit tests of both languages.
func TestUnit() {
	mg.Deps(TestGo, mg.F(TestPy, "unit"))
}

// TestAll runs every test: Go (short, slow, integration) and every Python marker.
func TestAll() {
	deps := []any{TestGo, TestGoSlow, TestGoIntegration}
	for _, marker := range pyMarkers {
		deps = append(deps, mg.F(TestPy, marker))
	}
	mg.Deps(deps...)
}

func init() {
	// The pytest runs use the add-on's own venv, never one this process was started in.
	os.Unsetenv("VIRTUAL_ENV")
}
