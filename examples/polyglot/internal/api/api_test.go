package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"example.com/polyglot/internal/jobs"
)

func newTestHandler(t *testing.T) (http.Handler, *jobs.Queue) {
	t.Helper()
	q := jobs.NewQueue()
	for _, name := range []string{"a", "b"} {
		if _, err := q.Submit(jobs.Job{Name: name, Scene: "s.usd", FrameStart: 1, FrameEnd: 10, Priority: 5}); err != nil {
			t.Fatal(err)
		}
	}
	static := fstest.MapFS{"index.html": {Data: []byte("<h1>farm</h1>")}}
	return NewHandler(q, static), q
}

func do(t *testing.T, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec
}

func TestHealth(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := do(t, h, "GET", "/healthz", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"ok"`) {
		t.Fatalf("GET /healthz = %d %s", rec.Code, rec.Body)
	}
}

func TestListAndFilter(t *testing.T) {
	h, q := newTestHandler(t)
	q.Next()
	var all, queued []jobs.Job
	decode(t, do(t, h, "GET", "/api/jobs", ""), http.StatusOK, &all)
	decode(t, do(t, h, "GET", "/api/jobs?status=queued", ""), http.StatusOK, &queued)
	if len(all) != 2 || len(queued) != 1 || queued[0].Name != "b" {
		t.Fatalf("all = %+v, queued = %+v", all, queued)
	}
	if rec := do(t, h, "GET", "/api/jobs?status=bogus", ""); rec.Code != http.StatusBadRequest {
		t.Fatalf("bad status filter gave %d", rec.Code)
	}
}

func TestSubmit(t *testing.T) {
	h, _ := newTestHandler(t)
	var job jobs.Job
	rec := do(t, h, "POST", "/api/jobs", `{"name":"c","scene":"c.usd","frame_start":1,"frame_end":5,"priority":9}`)
	decode(t, rec, http.StatusCreated, &job)
	if job.ID != 3 || job.Status != jobs.StatusQueued || rec.Header().Get("Location") != "/api/jobs/3" {
		t.Fatalf("submitted job = %+v, Location %q", job, rec.Header().Get("Location"))
	}
	cases := map[string]int{
		`{"name":"c"`:                           http.StatusBadRequest,
		`{"name":"c","colour":"red"}`:           http.StatusBadRequest,
		`{"name":"c","scene":"","frame_end":1}`: http.StatusUnprocessableEntity,
	}
	for body, want := range cases {
		if rec := do(t, h, "POST", "/api/jobs", body); rec.Code != want {
			t.Errorf("POST %s = %d, want %d", body, rec.Code, want)
		}
	}
}

func TestGetAndCancel(t *testing.T) {
	h, _ := newTestHandler(t)
	var job jobs.Job
	decode(t, do(t, h, "POST", "/api/jobs/2/cancel", ""), http.StatusOK, &job)
	if job.Status != jobs.StatusCancelled {
		t.Fatalf("cancelled job = %+v", job)
	}
	decode(t, do(t, h, "GET", "/api/jobs/2", ""), http.StatusOK, &job)
	if job.Status != jobs.StatusCancelled {
		t.Fatalf("GET after cancel = %+v", job)
	}
	for target, want := range map[string]int{"/api/jobs/9": 404, "/api/jobs/x": 400} {
		if rec := do(t, h, "GET", target, ""); rec.Code != want {
			t.Errorf("GET %s = %d, want %d", target, rec.Code, want)
		}
	}
	if rec := do(t, h, "POST", "/api/jobs/9/cancel", ""); rec.Code != http.StatusNotFound {
		t.Errorf("cancel unknown job = %d", rec.Code)
	}
}

func TestStaticAndMethods(t *testing.T) {
	h, _ := newTestHandler(t)
	if rec := do(t, h, "GET", "/", ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "farm") {
		t.Fatalf("GET / = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, h, "DELETE", "/api/jobs", ""); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /api/jobs = %d", rec.Code)
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, wantCode int, v any) {
	t.Helper()
	if rec.Code != wantCode {
		t.Fatalf("status %d, want %d: %s", rec.Code, wantCode, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
}
