// The magefile's own module, so the example's go.mod stays standard-library only;
// `go list ./...` at the example's root skips it.
module example.com/polyglot/magefiles

go 1.22

require github.com/magefile/mage v1.17.2
