// Package render "renders" frames: a fixed-point escape-time fractal whose
// view depends on the scene name and frame number. It is a stand-in for a
// real renderer: CPU-bound, and bit-for-bit deterministic on every platform
// (integer arithmetic only, so no fused multiply-add differences).
package render

import (
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"sync"
)

// Settings describe the image. The zero value is not valid; use Defaults.
type Settings struct {
	Width, Height int
	MaxIter       int // iterations per pixel before it counts as inside
}

// Defaults are small enough to render a frame in well under a millisecond.
var Defaults = Settings{Width: 64, Height: 36, MaxIter: 64}

// Frame is the result of rendering one frame.
type Frame struct {
	Number   int
	Checksum uint64  // FNV-1a of the pixel values
	Mean     float64 // mean pixel value, 0..255
}

// Summary combines the frames of one range.
type Summary struct {
	Frames   int
	Checksum uint64 // FNV-1a over the frame checksums, in frame order
	Mean     float64
}

const fracBits = 24 // fixed point: 1.0 == 1 << fracBits

// Frame renders one frame of scene.
func (s Settings) Frame(scene string, number int) (Frame, error) {
	if s.Width <= 0 || s.Height <= 0 || s.MaxIter <= 0 {
		return Frame{}, fmt.Errorf("render: bad settings %+v", s)
	}
	seed := sceneSeed(scene)
	// The camera drifts with the frame number and zooms in slowly.
	cx := int64(-1<<fracBits) + int64(seed%4096)<<8 + int64(number)<<12
	cy := int64(seed/4096%4096)<<8 - int64(1<<(fracBits-3))
	span := int64(3<<fracBits) - int64(number%512)<<14
	h := fnv.New64a()
	var total int64
	px := make([]byte, s.Width)
	for y := 0; y < s.Height; y++ {
		ci := cy + (int64(y)-int64(s.Height/2))*span/int64(s.Width)
		for x := 0; x < s.Width; x++ {
			cr := cx + (int64(x)-int64(s.Width/2))*span/int64(s.Width)
			v := byte(escape(cr, ci, s.MaxIter) * 255 / s.MaxIter)
			px[x] = v
			total += int64(v)
		}
		h.Write(px)
	}
	return Frame{Number: number, Checksum: h.Sum64(), Mean: float64(total) / float64(s.Width*s.Height)}, nil
}

// Range renders frames start..end (inclusive) on up to workers goroutines
// (0 means GOMAXPROCS). The summary does not depend on workers.
func (s Settings) Range(scene string, start, end, workers int) (Summary, error) {
	if end < start {
		return Summary{}, errors.New("render: empty frame range")
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	frames := make([]Frame, end-start+1)
	errs := make([]error, len(frames))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				frames[i], errs[i] = s.Frame(scene, start+i)
			}
		}()
	}
	for i := range frames {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Summary{}, err
	}
	return summarize(frames), nil
}

func summarize(frames []Frame) Summary {
	h := fnv.New64a()
	var mean float64
	buf := make([]byte, 8)
	for _, f := range frames {
		for i := range buf {
			buf[i] = byte(f.Checksum >> (8 * i))
		}
		h.Write(buf)
		mean += f.Mean
	}
	return Summary{Frames: len(frames), Checksum: h.Sum64(), Mean: mean / float64(len(frames))}
}

// escape returns how many iterations z = z² + c takes to leave the radius-2
// disc, or maxIter if it never does.
func escape(cr, ci int64, maxIter int) int {
	var zr, zi int64
	for i := 0; i < maxIter; i++ {
		zr2 := zr * zr >> fracBits
		zi2 := zi * zi >> fracBits
		if zr2+zi2 > 4<<fracBits {
			return i
		}
		zi = 2*zr*zi>>fracBits + ci
		zr = zr2 - zi2 + cr
	}
	return maxIter
}

func sceneSeed(scene string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(scene))
	return h.Sum64()
}
