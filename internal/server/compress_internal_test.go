package server

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/zstd"
)

// Decoded lets the package's external tests decode bodies too.
var Decoded = decoded

// decoded undoes a Content-Encoding of gzip, zstd or none.
func decoded(t *testing.T, enc string, body io.Reader) []byte {
	t.Helper()
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	case "zstd":
		zr, err := zstd.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		body = zr
	case "":
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("decoding %q: %v", enc, err)
	}
	return b
}

// acceptCases are Accept-Encoding headers and the encoding each must get.
var acceptCases = []struct{ accept, want string }{
	{"gzip", "gzip"},
	{"zstd", "zstd"},
	{"gzip, deflate, br, zstd", "zstd"}, // what browsers send: zstd preferred
	{"", ""},
	{"identity", ""},
	{"br", ""}, // brotli is not offered
}

// A hashed JS asset, served the way frontend.Handler serves it, is encoded
// when the client accepts it and left alone when not; caches are told the
// answer varies by Accept-Encoding.
func TestCompressEncodesAssetsTheClientAccepts(t *testing.T) {
	js := strings.Repeat("export function render(customer){return customer.name+customer.code}\n", 400)
	h := compress(http.FileServerFS(fstest.MapFS{"assets/app-1a2b.js": {Data: []byte(js)}}))
	for _, tc := range acceptCases {
		t.Run("Accept-Encoding="+tc.accept, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/assets/app-1a2b.js", nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Header().Get("Content-Encoding"); rec.Code != http.StatusOK || got != tc.want {
				t.Fatalf("HTTP %d Content-Encoding %q, want %q", rec.Code, got, tc.want)
			}
			if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q lacks Accept-Encoding", rec.Header().Get("Vary"))
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.want != "" && rec.Body.Len() >= len(js)/4 {
				t.Errorf("%d bytes encoded from %d", rec.Body.Len(), len(js))
			}
			if body := string(decoded(t, rec.Header().Get("Content-Encoding"), rec.Body)); body != js {
				t.Errorf("decoded body differs (%d bytes, want %d)", len(body), len(js))
			}
		})
	}
}

// The 503 shim (inside) and the request log's status (outside) still see
// and set the real status when the body is compressed between them.
func TestCompressKeepsTheOutageStatus(t *testing.T) {
	body := `{"errors":[` + strings.Repeat(`{"message":"unavailable","extensions":{"code":"SERVICE_UNAVAILABLE"}},`, 40) + `{}],"data":null}`
	h := compress(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		uw := &unavailableWriter{ResponseWriter: w, unavailable: true}
		uw.Header().Set("Content-Type", "application/json")
		_, _ = uw.Write([]byte(body))
	}))
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec, status: http.StatusOK}
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(nil))
	req.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(sw, req)
	if rec.Code != http.StatusServiceUnavailable || sw.status != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("HTTP %d (logged %d) Retry-After %q", rec.Code, sw.status, rec.Header().Get("Retry-After"))
	}
	if rec.Header().Get("Content-Encoding") != "gzip" || string(decoded(t, "gzip", rec.Body)) != body {
		t.Fatalf("Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
}
