package server

import (
	"net/http"

	"github.com/klauspost/compress/gzhttp"
)

// compress encodes responses with zstd or gzip when the client accepts one
// (zstd preferred), through gzhttp: it adds Vary: Accept-Encoding, skips
// small bodies and already-compressed types, and keeps Flush and Hijack
// working through http.ResponseController. The app's JS, the GraphQL
// answers and the gateway's pages all go through it.
//
// Websocket upgrades never do: the handshake has no body to encode and the
// connection is hijacked, so they get the writer untouched.
//
// BREACH needs a secret the browser attaches by itself beside text an
// attacker reflects; the API's credential is a bearer token the app adds,
// never a cookie, so a cross-site page cannot mount it.
func compress(next http.Handler) http.Handler {
	encoded := gzhttp.GzipHandler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		encoded.ServeHTTP(w, r)
	})
}

// noStore keeps API answers (sessions, card-request details) out of every
// cache, the browser's included.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
