package server

import (
	"html/template"
	"net/http"
)

var placeholderPage = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>cardfile</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}code{background:#f1f3f5;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
<h1>cardfile is running</h1>
<p>The staff app is not built into this binary yet. The GraphQL API is at <code>{{.}}/query</code> (POST); sign in with the <code>login</code> mutation and send the token as <code>Authorization: Bearer …</code>.</p>
<ul><li><a href="/healthz">/healthz</a> and <a href="/readyz">/readyz</a></li>
<li><a href="/sandbox/fields?button=1">The sandbox gateway's hosted card fields</a></li></ul>
</body></html>`))

// Placeholder serves a page at / until the staff app is built in.
func Placeholder(publicURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = placeholderPage.Execute(w, publicURL)
	})
}
