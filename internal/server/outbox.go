package server

import (
	"html/template"
	"net/http"
	"regexp"

	"cardfile/internal/mail"
)

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+/card-request/[A-Za-z0-9_-]+`)

var outboxPage = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Outbox — cardfile (development)</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
article{border:1px solid #d0d7de;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}pre{white-space:pre-wrap;background:#f6f8fa;padding:.5rem}
.meta{color:#57606a;font-size:.9em}</style></head><body>
<h1>Outbox</h1>
<p>Emails cardfile has "sent" on this machine (no SMTP server is configured). Development only.</p>
{{range .}}<article><h2>{{.Subject}}</h2><p class="meta">To {{.To}} · {{.CreatedAt.Format "2006-01-02 15:04:05 MST"}}</p>
{{range .Links}}<p><a href="{{.}}">Open the card form</a></p>{{end}}
<pre>{{.Text}}</pre></article>
{{else}}<p>No emails yet.</p>{{end}}
</body></html>`))

type outboxEntry struct {
	mail.Sent
	Links []string
}

// outboxHandler lists the outbox's emails with their links, so a new user
// can walk the card-request flow on one machine. Mounted only in dev mode
// with the outbox mailer.
func outboxHandler(o *mail.Outbox) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent, err := o.List(r.Context(), 50)
		if err != nil {
			http.Error(w, "cannot read the outbox", http.StatusInternalServerError)
			return
		}
		entries := make([]outboxEntry, len(sent))
		for i, s := range sent {
			entries[i] = outboxEntry{Sent: s, Links: linkPattern.FindAllString(s.Text, -1)}
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("format") == "json" || r.Header.Get("Accept") == "application/json" {
			type item struct {
				ID        int      `json:"id"`
				To        string   `json:"to"`
				Subject   string   `json:"subject"`
				CreatedAt string   `json:"createdAt"`
				Links     []string `json:"links"`
				Text      string   `json:"text"`
			}
			out := make([]item, len(entries))
			for i, e := range entries {
				out[i] = item{e.ID, e.To, e.Subject, e.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), e.Links, e.Text}
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = outboxPage.Execute(w, entries)
	})
}
