// Package frontend serves the staff app and the customer's card form: the
// React app in this folder, built by Vite into dist/ and embedded into the
// binary when it is built with -tags spa (make run and make build do that).
// Without the tag — `go build ./...` on a machine without Node — the binary
// has no app and the server shows a placeholder page instead.
package frontend

import (
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// assets is the built app, or nil when the binary was built without it.
var assets fs.FS

// Handler serves the built app, or returns nil when there is none. Paths
// that name no file are the app's own routes (/customers/…, /card-request/…)
// and get index.html.
func Handler() http.Handler {
	if assets == nil {
		return nil
	}
	if _, err := fs.Stat(assets, "index.html"); err != nil {
		return nil
	}
	files := http.FileServerFS(assets)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		// The app talks only to its own origin; card fields come from the
		// gateway's page under this origin too.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "+
			"frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" || isRoute(name) {
			h.Set("Cache-Control", "no-cache")
			r = r.Clone(r.Context())
			r.URL.Path = "/"
		} else if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable") // names carry content hashes
			if !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
				h.Add("Vary", "Accept-Encoding")
			}
			if servePrecompressed(w, r, name) {
				return
			}
		}
		files.ServeHTTP(w, r)
	})
}

// isRoute reports whether name is an app route rather than a built file.
func isRoute(name string) bool {
	if _, err := fs.Stat(assets, name); err == nil {
		return false
	}
	return path.Ext(name) == ""
}

// precompressed are the encodings the build writes beside each large asset
// (vite.config.ts, precompress), best first.
var precompressed = []struct{ coding, ext string }{{"br", ".br"}, {"gzip", ".gz"}}

// servePrecompressed answers with the build's compressed sibling of name when
// the client accepts its coding, and reports whether it did. Otherwise the
// file goes out as it is (and the server may compress it on the fly).
func servePrecompressed(w http.ResponseWriter, r *http.Request, name string) bool {
	accepted := acceptedCodings(r.Header.Get("Accept-Encoding"))
	for _, p := range precompressed {
		if !accepted[p.coding] {
			continue
		}
		f, err := assets.Open(name + p.ext)
		if err != nil {
			continue // this asset has no such sibling (small, or not text)
		}
		defer f.Close()
		content, ok := f.(io.ReadSeeker) // embedded files seek
		if !ok {
			continue
		}
		h := w.Header()
		h.Set("Content-Encoding", p.coding)
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		}
		http.ServeContent(w, r, name, time.Time{}, content)
		return true
	}
	return false
}

// acceptedCodings are the content codings an Accept-Encoding header accepts
// (a q-value above zero).
func acceptedCodings(header string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if coding = strings.ToLower(strings.TrimSpace(coding)); coding != "" && q > 0 {
			out[coding] = true
		}
	}
	return out
}
