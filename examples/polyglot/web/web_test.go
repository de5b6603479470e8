package web

import (
	"io/fs"
	"testing"
)

func TestStaticHasDashboard(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		if _, err := fs.Stat(Static(), name); err != nil {
			t.Errorf("embedded %s: %v", name, err)
		}
	}
}
