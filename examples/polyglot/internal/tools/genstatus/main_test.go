package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `package colors

type Color int

const (
	ColorRed Color = iota
	ColorGreen
	_
	ColorBlue
)

const Other = 3
`

func TestGenerateNamesConstantsInOrder(t *testing.T) {
	code, err := Generate("Color", "sample.go", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	got := string(code)
	for _, want := range []string{`return "red"`, `return "green"`, `return "blue"`, "package colors", "DO NOT EDIT"} {
		if !strings.Contains(got, want) {
			t.Errorf("generated code lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Other") {
		t.Errorf("generated code names a constant of another type:\n%s", got)
	}
	if strings.Index(got, `"red"`) > strings.Index(got, `"blue"`) {
		t.Errorf("constants are out of source order")
	}
}

func TestGenerateUnknownType(t *testing.T) {
	if _, err := Generate("Shape", "sample.go", []byte(sample)); err == nil {
		t.Fatal("want an error for a type with no constants")
	}
}

// TestCommittedFileIsCurrent fails when status_string.go was edited by hand
// or status.go changed without running go generate.
func TestCommittedFileIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..", "jobs")
	src, err := os.ReadFile(filepath.Join(dir, "status.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "status_string.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate("Status", "status.go", src)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/jobs/status_string.go is stale: run go generate ./...")
	}
}
