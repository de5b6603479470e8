// Package jobs holds the render job model and a priority queue of jobs.
package jobs

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on a job spec; a spec outside them is rejected by Validate.
const (
	MaxPriority = 100
	MaxFrames   = 100_000
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid job")

// Job is one render job: a scene rendered over an inclusive frame range.
type Job struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Scene      string `json:"scene"`
	FrameStart int    `json:"frame_start"`
	FrameEnd   int    `json:"frame_end"`
	Priority   int    `json:"priority"`
	Status     Status `json:"status"`
	Error      string `json:"error,omitempty"`
}

// Frames returns the number of frames in the job's range.
func (j Job) Frames() int {
	return j.FrameEnd - j.FrameStart + 1
}

// Validate reports the first problem with the spec part of a job (name,
// scene, frames, priority), or nil. Errors wrap ErrInvalid.
func (j Job) Validate() error {
	switch {
	case strings.TrimSpace(j.Name) == "":
		return fmt.Errorf("%w: name is empty", ErrInvalid)
	case strings.TrimSpace(j.Scene) == "":
		return fmt.Errorf("%w: scene is empty", ErrInvalid)
	case j.FrameStart < 0:
		return fmt.Errorf("%w: frame_start %d is negative", ErrInvalid, j.FrameStart)
	case j.FrameEnd < j.FrameStart:
		return fmt.Errorf("%w: frame_end %d is before frame_start %d", ErrInvalid, j.FrameEnd, j.FrameStart)
	case j.Frames() > MaxFrames:
		return fmt.Errorf("%w: %d frames is more than %d", ErrInvalid, j.Frames(), MaxFrames)
	case j.Priority < 0 || j.Priority > MaxPriority:
		return fmt.Errorf("%w: priority %d is outside 0..%d", ErrInvalid, j.Priority, MaxPriority)
	}
	return nil
}
