// Package api serves the farm's HTTP API and its dashboard.
//
// Routes:
//
//	GET  /healthz                {"status": "ok", "version": "..."}
//	GET  /api/jobs[?status=s]    all jobs, by ID, optionally of one status
//	POST /api/jobs               submit a job spec; 201 with the stored job
//	GET  /api/jobs/{id}          one job
//	POST /api/jobs/{id}/cancel   cancel a job that has not finished
//	GET  /...                    the embedded dashboard
//
// Errors are JSON objects {"error": "..."} with a 4xx status.
package api

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	"example.com/polyglot/internal/jobs"
	"example.com/polyglot/internal/version"
)

const maxBodyBytes = 64 << 10

// NewHandler returns the API on top of q, with static served at "/".
func NewHandler(q *jobs.Queue, static fs.FS) http.Handler {
	s := &server{q: q}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /api/jobs", s.list)
	mux.HandleFunc("POST /api/jobs", s.submit)
	mux.HandleFunc("GET /api/jobs/{id}", s.get)
	mux.HandleFunc("POST /api/jobs/{id}/cancel", s.cancel)
	mux.Handle("GET /", http.FileServerFS(static))
	return mux
}

type server struct {
	q *jobs.Queue
}

func (s *server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": version.Version})
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	all := s.q.List()
	text := r.URL.Query().Get("status")
	if text == "" {
		writeJSON(w, http.StatusOK, all)
		return
	}
	want, err := jobs.ParseStatus(text)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	picked := make([]jobs.Job, 0, len(all))
	for _, j := range all {
		if j.Status == want {
			picked = append(picked, j)
		}
	}
	writeJSON(w, http.StatusOK, picked)
}

func (s *server) submit(w http.ResponseWriter, r *http.Request) {
	var spec jobs.Job
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	job, err := s.q.Submit(spec)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, err)
		return
	}
	w.Header().Set("Location", "/api/jobs/"+strconv.Itoa(job.ID))
	writeJSON(w, http.StatusCreated, job)
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	job, err := s.q.Get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}

func (s *server) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if err := s.q.Cancel(id); err != nil {
		status := http.StatusConflict
		if errors.Is(err, jobs.ErrNotFound) {
			status = http.StatusNotFound
		}
		writeError(w, status, err)
		return
	}
	job, _ := s.q.Get(id)
	writeJSON(w, http.StatusOK, job)
}

func pathID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, errors.New("job id must be an integer"))
		return 0, false
	}
	return id, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone; nothing to do
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
