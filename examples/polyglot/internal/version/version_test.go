package version

import "testing"

func TestStringDefaults(t *testing.T) {
	got := String("server")
	want := "server dev (commit unknown, built unknown)"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestStringStamped(t *testing.T) {
	old := [3]string{Version, GitHash, BuildDate}
	t.Cleanup(func() { Version, GitHash, BuildDate = old[0], old[1], old[2] })
	Version, GitHash, BuildDate = "v1.2.3", "abc1234", "2024-05-01"
	got := String("worker")
	want := "worker v1.2.3 (commit abc1234, built 2024-05-01)"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
