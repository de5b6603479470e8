package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

func spec(name string, priority int) Job {
	return Job{Name: name, Scene: "shot010.usd", FrameStart: 1, FrameEnd: 24, Priority: priority}
}

func TestValidate(t *testing.T) {
	cases := map[string]struct {
		edit func(*Job)
		want string // "" means valid
	}{
		"ok":             {func(*Job) {}, ""},
		"empty name":     {func(j *Job) { j.Name = " " }, "name is empty"},
		"empty scene":    {func(j *Job) { j.Scene = "" }, "scene is empty"},
		"negative start": {func(j *Job) { j.FrameStart = -1 }, "negative"},
		"end before":     {func(j *Job) { j.FrameEnd = 0 }, "before frame_start"},
		"too many":       {func(j *Job) { j.FrameEnd = MaxFrames + 1 }, "more than"},
		"priority":       {func(j *Job) { j.Priority = MaxPriority + 1 }, "outside"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			j := spec("a", 1)
			c.edit(&j)
			err := j.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want ErrInvalid containing %q", err, c.want)
			}
		})
	}
}

func TestNextHonoursPriorityThenOrder(t *testing.T) {
	q := NewQueue()
	for _, s := range []Job{spec("low", 1), spec("high-a", 50), spec("mid", 10), spec("high-b", 50)} {
		if _, err := q.Submit(s); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for {
		j, ok := q.Next()
		if !ok {
			break
		}
		if j.Status != StatusRunning {
			t.Fatalf("Next() returned a job with status %s", j.Status)
		}
		got = append(got, j.Name)
	}
	want := "high-a high-b mid low"
	if strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
}

func TestLifeCycle(t *testing.T) {
	q := NewQueue()
	a, _ := q.Submit(spec("a", 1))
	b, _ := q.Submit(spec("b", 1))
	c, _ := q.Submit(spec("c", 1))
	if err := q.Cancel(b.ID); err != nil {
		t.Fatal(err)
	}
	first, _ := q.Next()
	second, _ := q.Next()
	if first.ID != a.ID || second.ID != c.ID {
		t.Fatalf("Next() gave %d then %d, want %d then %d (b cancelled)", first.ID, second.ID, a.ID, c.ID)
	}
	if err := q.Finish(a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(c.ID, errors.New("out of memory")); err != nil {
		t.Fatal(err)
	}
	if err := q.Finish(a.ID, nil); err == nil {
		t.Fatal("finishing a finished job should fail")
	}
	if err := q.Cancel(a.ID); err == nil {
		t.Fatal("cancelling a finished job should fail")
	}
	got := q.List()
	statuses := []Status{got[0].Status, got[1].Status, got[2].Status}
	if statuses[0] != StatusDone || statuses[1] != StatusCancelled || statuses[2] != StatusFailed {
		t.Fatalf("statuses = %v", statuses)
	}
	if got[2].Error != "out of memory" {
		t.Fatalf("failed job error = %q", got[2].Error)
	}
	if _, err := q.Get(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(99) = %v, want ErrNotFound", err)
	}
}

func TestSubmitConcurrently(t *testing.T) {
	q := NewQueue()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := q.Submit(spec("j", 5)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	jobs := q.List()
	if len(jobs) != 50 || jobs[0].ID != 1 || jobs[49].ID != 50 {
		t.Fatalf("got %d jobs, IDs %d..%d", len(jobs), jobs[0].ID, jobs[len(jobs)-1].ID)
	}
}

func TestStatusText(t *testing.T) {
	for s := StatusQueued; s <= StatusCancelled; s++ {
		back, err := ParseStatus(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseStatus(%q) = %v, %v", s.String(), back, err)
		}
	}
	if got := Status(42).String(); got != "Status(42)" {
		t.Fatalf("unknown status prints %q", got)
	}
	if !StatusDone.Terminal() || StatusRunning.Terminal() {
		t.Fatal("Terminal() is wrong")
	}
}

func TestJobJSON(t *testing.T) {
	data, err := json.Marshal(Job{ID: 7, Name: "n", Scene: "s", FrameEnd: 3, Status: StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"status":"running"`) {
		t.Fatalf("JSON = %s", data)
	}
	var back Job
	if err := json.Unmarshal(data, &back); err != nil || back.Status != StatusRunning {
		t.Fatalf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"status":"bogus"}`), &back); err == nil {
		t.Fatal("want an error for an unknown status")
	}
}
