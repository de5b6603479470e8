package render

import (
	"testing"
	"time"
)

func TestFrameIsDeterministic(t *testing.T) {
	a, err := Defaults.Frame("shot010", 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Defaults.Frame("shot010", 7)
	if a != b {
		t.Fatalf("two renders differ: %+v vs %+v", a, b)
	}
	if a.Mean <= 0 || a.Mean >= 255 {
		t.Fatalf("mean %v: the frame is blank", a.Mean)
	}
}

func TestFramesDiffer(t *testing.T) {
	a, _ := Defaults.Frame("shot010", 1)
	b, _ := Defaults.Frame("shot010", 2)
	c, _ := Defaults.Frame("shot020", 1)
	if a.Checksum == b.Checksum || a.Checksum == c.Checksum {
		t.Fatalf("frames should differ by number and scene: %x %x %x", a.Checksum, b.Checksum, c.Checksum)
	}
}

func TestGoldenChecksum(t *testing.T) {
	f, _ := Defaults.Frame("golden", 1)
	const want = uint64(0xeb8bbf4ac0785711)
	if f.Checksum != want {
		t.Fatalf("checksum = %#x, want %#x: the renderer's output changed", f.Checksum, want)
	}
}

func TestRangeIndependentOfWorkers(t *testing.T) {
	one, err := Defaults.Range("shot010", 1, 40, 1)
	if err != nil {
		t.Fatal(err)
	}
	four, _ := Defaults.Range("shot010", 1, 40, 4)
	if one != four {
		t.Fatalf("1 worker: %+v, 4 workers: %+v", one, four)
	}
	if one.Frames != 40 {
		t.Fatalf("frames = %d", one.Frames)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := (Settings{}).Frame("x", 1); err == nil {
		t.Fatal("zero settings should fail")
	}
	if _, err := Defaults.Range("x", 5, 4, 1); err == nil {
		t.Fatal("an empty range should fail")
	}
}

// TestSlowRender renders seven full-size frames on one goroutine, about 2 s
// on a current x86-64 core. It is skipped under -short.
func TestSlowRender(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: renders full-size frames; run without -short")
	}
	start := time.Now()
	hd := Settings{Width: 640, Height: 360, MaxIter: 1000}
	s, err := hd.Range("hero", 1, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames in %v, checksum %#x", s.Frames, time.Since(start), s.Checksum)
}
