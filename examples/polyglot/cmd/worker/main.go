// Command worker renders one job and prints a one-line summary.
//
//	worker -scene shot010.usd -frames 1-24 [-width 64 -height 36 -iter 64] [-workers N]
//	worker -spec job.json        (a job as the server's /api/jobs returns it)
//	worker -version
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"example.com/polyglot/internal/jobs"
	"example.com/polyglot/internal/render"
	"example.com/polyglot/internal/version"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	flags := flag.NewFlagSet("worker", flag.ContinueOnError)
	specPath := flags.String("spec", "", "JSON job spec to render (overrides -scene and -frames)")
	scene := flags.String("scene", "", "scene to render")
	frames := flags.String("frames", "1", "frame range: N or FIRST-LAST")
	settings := render.Defaults
	flags.IntVar(&settings.Width, "width", settings.Width, "image width in pixels")
	flags.IntVar(&settings.Height, "height", settings.Height, "image height in pixels")
	flags.IntVar(&settings.MaxIter, "iter", settings.MaxIter, "iterations per pixel")
	workers := flags.Int("workers", 0, "goroutines to render on (0: one per CPU)")
	showVersion := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(out, version.String("worker"))
		return nil
	}
	job, err := loadJob(*specPath, *scene, *frames)
	if err != nil {
		return err
	}
	sum, err := settings.Range(job.Scene, job.FrameStart, job.FrameEnd, *workers)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rendered %d frames of %s (%dx%d): checksum %016x, mean %.2f\n",
		sum.Frames, job.Scene, settings.Width, settings.Height, sum.Checksum, sum.Mean)
	return nil
}

// loadJob reads the spec file if one is given, else builds a job from the
// scene and frame range; either way the job is validated.
func loadJob(specPath, scene, frames string) (jobs.Job, error) {
	var job jobs.Job
	if specPath != "" {
		data, err := os.ReadFile(specPath)
		if err != nil {
			return job, err
		}
		if err := json.Unmarshal(data, &job); err != nil {
			return job, fmt.Errorf("%s: %w", specPath, err)
		}
	} else {
		first, last, err := parseFrames(frames)
		if err != nil {
			return job, err
		}
		job = jobs.Job{Name: "cli", Scene: scene, FrameStart: first, FrameEnd: last}
	}
	return job, job.Validate()
}

// parseFrames reads "N" or "FIRST-LAST".
func parseFrames(text string) (first, last int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(text), "-")
	if first, err = strconv.Atoi(a); err != nil {
		return 0, 0, fmt.Errorf("bad frame range %q", text)
	}
	if !isRange {
		return first, first, nil
	}
	if last, err = strconv.Atoi(b); err != nil {
		return 0, 0, fmt.Errorf("bad frame range %q", text)
	}
	if last < first {
		return 0, 0, errors.New("frame range ends before it starts")
	}
	return first, last, nil
}
