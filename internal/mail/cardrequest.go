package mail

import (
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

// CardRequestData fills the email that asks a customer to put a card on file.
type CardRequestData struct {
	To, CompanyName, CustomerName, Link string
	ExpiresAt                           time.Time
	ValidFor                            time.Duration
}

// CardRequestMessage renders the card request email. The HTML escapes every
// value and loads nothing from elsewhere: no images, fonts or tracking.
func CardRequestMessage(d CardRequestData) Message {
	v := cardRequestView{
		Company:   oneLine(d.CompanyName),
		Customer:  oneLine(d.CustomerName),
		Link:      d.Link,
		ValidFor:  humanDuration(d.ValidFor),
		ExpiresAt: d.ExpiresAt.UTC().Format("Mon, 2 Jan 2006 15:04") + " UTC",
	}
	// The subject must fit the 200-byte limit whatever the company's name.
	v.Subject = clip(v.Company, 150) + " asks for a card on file"
	var text, html strings.Builder
	// The templates are fixed and their data is strings: execution cannot fail.
	if err := cardRequestText.Execute(&text, v); err != nil {
		panic(fmt.Sprintf("mail: card request text template: %v", err))
	}
	if err := cardRequestHTML.Execute(&html, v); err != nil {
		panic(fmt.Sprintf("mail: card request HTML template: %v", err))
	}
	return Message{To: d.To, Subject: v.Subject, Text: text.String(), HTML: html.String()}
}

type cardRequestView struct {
	Subject, Company, Customer, Link, ValidFor, ExpiresAt string
}

// oneLine folds whitespace, line breaks included, so names cannot break a
// header or the layout.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// humanDuration writes d for people, rounded to the minute: "8 hours",
// "1 hour and 30 minutes", "45 minutes".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case m == 0:
		return plural(h, "hour")
	case h == 0:
		return plural(m, "minute")
	default:
		return plural(h, "hour") + " and " + plural(m, "minute")
	}
}

var cardRequestText = texttemplate.Must(texttemplate.New("text").Parse(
	`Hello{{if .Customer}} {{.Customer}}{{end}},

{{.Company}} asks you to put a credit card on file with them.

Open this link to enter your card:

{{.Link}}

The link is valid for {{.ValidFor}} (until {{.ExpiresAt}})
and works once. You enter the card on the payment gateway's secure
page; {{.Company}} never sees your full card number.

If you did not expect this email, ignore it: nothing happens unless you
open the link and enter a card.
`))

var cardRequestHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Arial,Helvetica,sans-serif;color:#1f2933;">
<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;border-radius:6px;">
<p style="margin:0 0 16px;">Hello{{if .Customer}} {{.Customer}}{{end}},</p>
<p style="margin:0 0 16px;"><strong>{{.Company}}</strong> asks you to put a credit card on file with them.</p>
<p style="margin:24px 0;"><a href="{{.Link}}" style="display:inline-block;padding:12px 24px;background:#1d4ed8;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold;">Enter your card</a></p>
<p style="margin:0 0 16px;font-size:14px;">Or copy this link into your browser:<br><span style="word-break:break-all;">{{.Link}}</span></p>
<p style="margin:0 0 16px;">The link is valid for <strong>{{.ValidFor}}</strong> (until {{.ExpiresAt}}) and works once.
You enter the card on the payment gateway's secure page; {{.Company}} never sees your full card number.</p>
<p style="margin:0;font-size:14px;color:#52606d;">If you did not expect this email, ignore it: nothing happens unless you open the link and enter a card.</p>
</div>
</body>
</html>
`))

// clip cuts s to at most n bytes on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
