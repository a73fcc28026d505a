package frontend

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandlerServesFilesAndRoutes(t *testing.T) {
	old := assets
	t.Cleanup(func() { assets = old })
	assets = nil
	if Handler() != nil {
		t.Fatal("a binary without the app returned a handler")
	}
	assets = fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>cardfile</title>")},
		"assets/app-1a2b.js": {Data: []byte("console.log(1)")},
	}
	h := Handler()
	for _, c := range []struct {
		path, want, cache string
		status            int
	}{
		{"/", "<title>cardfile</title>", "no-cache", 200},
		{"/customers/42/cards", "<title>cardfile</title>", "no-cache", 200},
		{"/card-request/abc_DEF-123", "<title>cardfile</title>", "no-cache", 200},
		{"/assets/app-1a2b.js", "console.log(1)", "immutable", 200},
		{"/assets/missing.js", "404", "", 404}, // errors drop caching headers
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) || !strings.Contains(rec.Header().Get("Cache-Control"), c.cache) {
			t.Errorf("GET %s = %d %q cache %q", c.path, rec.Code, rec.Body, rec.Header().Get("Cache-Control"))
		}
		if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s has no CSP", c.path)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d", rec.Code)
	}
}
