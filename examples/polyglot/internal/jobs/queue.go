package jobs

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"sync"
)

// ErrNotFound is returned for a job ID the queue does not know.
var ErrNotFound = errors.New("job not found")

// Queue schedules jobs: Next hands out the queued job with the highest
// priority, and among equal priorities the one submitted first.
// A Queue is safe for concurrent use; the zero value is not, use NewQueue.
type Queue struct {
	mu     sync.Mutex
	nextID int
	jobs   map[int]*Job
	ready  readyHeap
}

// NewQueue returns an empty queue whose first job gets ID 1.
func NewQueue() *Queue {
	return &Queue{nextID: 1, jobs: make(map[int]*Job)}
}

// Submit validates j, gives it an ID and queues it. The ID and Status of
// the argument are ignored. It returns a copy of the stored job.
func (q *Queue) Submit(j Job) (Job, error) {
	if err := j.Validate(); err != nil {
		return Job{}, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	j.ID, j.Status, j.Error = q.nextID, StatusQueued, ""
	q.nextID++
	stored := j
	q.jobs[j.ID] = &stored
	heap.Push(&q.ready, &stored)
	return stored, nil
}

// Next marks the best queued job as running and returns it; ok is false
// when nothing is queued.
func (q *Queue) Next() (j Job, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ready.Len() > 0 {
		next := heap.Pop(&q.ready).(*Job)
		if next.Status != StatusQueued { // cancelled while waiting
			continue
		}
		next.Status = StatusRunning
		return *next, true
	}
	return Job{}, false
}

// Finish records the outcome of a running job: done when runErr is nil,
// failed with runErr's message otherwise.
func (q *Queue) Finish(id int, runErr error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if j.Status != StatusRunning {
		return fmt.Errorf("job %d is %s, not running", id, j.Status)
	}
	j.Status = StatusDone
	if runErr != nil {
		j.Status, j.Error = StatusFailed, runErr.Error()
	}
	return nil
}

// Cancel stops a job that has not finished yet. Cancelling a finished
// job is an error; cancelling a cancelled job is not.
func (q *Queue) Cancel(id int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	if !ok {
		return fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if j.Status == StatusDone || j.Status == StatusFailed {
		return fmt.Errorf("job %d is already %s", id, j.Status)
	}
	j.Status = StatusCancelled
	return nil
}

// Get returns a copy of the job with the given ID.
func (q *Queue) Get(id int) (Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	j, ok := q.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return *j, nil
}

// List returns copies of all jobs, ordered by ID.
func (q *Queue) List() []Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Job, 0, len(q.jobs))
	for _, j := range q.jobs {
		out = append(out, *j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID < out[b].ID })
	return out
}

// readyHeap orders queued jobs by priority (high first), then by ID.
type readyHeap []*Job

func (h readyHeap) Len() int { return len(h) }
func (h readyHeap) Less(a, b int) bool {
	if h[a].Priority != h[b].Priority {
		return h[a].Priority > h[b].Priority
	}
	return h[a].ID < h[b].ID
}
func (h readyHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *readyHeap) Push(x any)   { *h = append(*h, x.(*Job)) }
func (h *readyHeap) Pop() any {
	old := *h
	last := old[len(old)-1]
	*h = old[:len(old)-1]
	return last
}
