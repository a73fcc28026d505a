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

// Hashed assets go out as the build's .br or .gz sibling when the client
// accepts that coding (brotli first), and as they are otherwise.
func TestHandlerServesPrecompressedAssets(t *testing.T) {
	old := assets
	t.Cleanup(func() { assets = old })
	assets = fstest.MapFS{
		"index.html":            {Data: []byte("<!doctype html>")},
		"assets/app-1a2b.js":    {Data: []byte("console.log(1)")},
		"assets/app-1a2b.js.br": {Data: []byte("brotli bytes")},
		"assets/app-1a2b.js.gz": {Data: []byte("gzip bytes")},
		"assets/tiny-3c4d.js":   {Data: []byte("1")}, // too small to have siblings
	}
	h := Handler()
	for _, c := range []struct{ path, accept, encoding, body string }{
		{"/assets/app-1a2b.js", "gzip, deflate, br, zstd", "br", "brotli bytes"},
		{"/assets/app-1a2b.js", "gzip", "gzip", "gzip bytes"},
		{"/assets/app-1a2b.js", "br;q=0, gzip;q=0.5", "gzip", "gzip bytes"},
		{"/assets/app-1a2b.js", "", "", "console.log(1)"},
		{"/assets/app-1a2b.js", "zstd", "", "console.log(1)"},
		{"/assets/tiny-3c4d.js", "br, gzip", "", "1"},
	} {
		req := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		hd := rec.Header()
		if rec.Code != 200 || hd.Get("Content-Encoding") != c.encoding || rec.Body.String() != c.body {
			t.Errorf("GET %s (Accept-Encoding %q) = %d %q %q, want %q %q", c.path, c.accept, rec.Code, hd.Get("Content-Encoding"), rec.Body, c.encoding, c.body)
		}
		if !strings.Contains(hd.Get("Content-Type"), "javascript") || hd.Get("Vary") != "Accept-Encoding" || !strings.Contains(hd.Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s (Accept-Encoding %q): Content-Type %q Vary %q Cache-Control %q", c.path, c.accept, hd.Get("Content-Type"), hd.Get("Vary"), hd.Get("Cache-Control"))
		}
	}
}
