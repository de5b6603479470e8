// The magefile's own module (see magefile.go for why it is not in magefiles/), so the
// example's go.mod stays standard-library only; `go list ./...` at the root skips it.
module example.com/polyglot/_magefiles

go 1.22

require github.com/magefile/mage v1.17.2
