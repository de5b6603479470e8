//go:build integration

package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/polyglot/internal/jobs"
	"example.com/polyglot/web"
)

// TestIntegrationServer runs the real handler and the real embedded
// dashboard behind a real HTTP listener. Run it with:
//
//	go test -tags integration -run Integration ./...
func TestIntegrationServer(t *testing.T) {
	srv := httptest.NewServer(NewHandler(jobs.NewQueue(), web.Static()))
	defer srv.Close()
	client := srv.Client()

	resp, err := client.Post(srv.URL+"/api/jobs", "application/json",
		strings.NewReader(`{"name":"hero","scene":"hero.usd","frame_start":1,"frame_end":48,"priority":80}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/jobs = %d", resp.StatusCode)
	}

	resp, err = client.Get(srv.URL + "/api/jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []jobs.Job
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "hero" || list[0].Status != jobs.StatusQueued {
		t.Fatalf("GET /api/jobs = %+v", list)
	}

	resp, err = client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Polyglot render farm") {
		t.Fatalf("GET / did not serve the embedded dashboard: %.80s", page)
	}
}
