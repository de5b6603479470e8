package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRenderFromFlags(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-scene", "shot010.usd", "-frames", "1-24", "-workers", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "rendered 24 frames of shot010.usd (64x36): checksum ") {
		t.Fatalf("summary = %q", out.String())
	}
}

func TestRenderFromSpecMatchesFlags(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "job.json")
	body := `{"name":"n","scene":"shot010.usd","frame_start":1,"frame_end":24,"priority":1,"status":"queued"}`
	if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var fromSpec, fromFlags strings.Builder
	if err := run([]string{"-spec", spec}, &fromSpec); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-scene", "shot010.usd", "-frames", "1-24"}, &fromFlags); err != nil {
		t.Fatal(err)
	}
	if fromSpec.String() != fromFlags.String() {
		t.Fatalf("spec: %q\nflags: %q", fromSpec.String(), fromFlags.String())
	}
}

func TestParseFrames(t *testing.T) {
	for text, want := range map[string][2]int{"5": {5, 5}, "1-24": {1, 24}, " 3-3 ": {3, 3}} {
		first, last, err := parseFrames(text)
		if err != nil || first != want[0] || last != want[1] {
			t.Errorf("parseFrames(%q) = %d, %d, %v", text, first, last, err)
		}
	}
	for _, bad := range []string{"", "a", "1-", "5-1", "1-b"} {
		if _, _, err := parseFrames(bad); err == nil {
			t.Errorf("parseFrames(%q) should fail", bad)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-frames", "1-2"},                // no scene
		{"-spec", "/does/not/exist.json"}, // missing file
		{"-scene", "s", "-width", "0"},    // bad settings
	} {
		if err := run(args, &strings.Builder{}); err == nil {
			t.Errorf("run(%q) should fail", args)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-version"}, &out); err != nil || !strings.HasPrefix(out.String(), "worker dev") {
		t.Fatalf("-version printed %q, %v", out.String(), err)
	}
}
