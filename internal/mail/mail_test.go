package mail

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"cardfile/internal/db/dbtest"
	"cardfile/internal/sealer"

	"github.com/emersion/go-smtp"
)

const testFrom = "cardfile <no-reply@cardfile.test>"

// newLink is a card request link with a fresh 256-bit token, like the real one.
func newLink(t *testing.T) (link, token string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return "https://cardfile.test/card-request/" + token, token
}

func cardRequest(t *testing.T, to, company string) (Message, string) {
	t.Helper()
	link, _ := newLink(t)
	return CardRequestMessage(CardRequestData{
		To:           to,
		CompanyName:  company,
		CustomerName: "Jane Roe",
		Link:         link,
		ExpiresAt:    time.Date(2026, 3, 2, 17, 4, 0, 0, time.UTC),
		ValidFor:     8 * time.Hour,
	}), link
}

func plainURL(ts *testServer) string {
	return fmt.Sprintf("smtp://%s:%d?tls=none", ts.Host, ts.Port)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSMTPDeliversCardRequestAsTextAndHTML(t *testing.T) {
	ts := startServer(t, serverConfig{})
	m, link := cardRequest(t, "Jane Roe <jane@customer.test>", "Bloom & <Co>")
	s, err := NewSMTP(plainURL(ts), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctxT(t), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := ts.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "no-reply@cardfile.test" || len(r.To) != 1 || r.To[0] != "jane@customer.test" {
		t.Fatalf("envelope: from %q to %q, want no-reply@cardfile.test to [jane@customer.test]", r.From, r.To)
	}
	p := parseMail(t, r.Data)
	if p.BodyType != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", p.BodyType)
	}
	if p.Subject != "Bloom & <Co> asks for a card on file" {
		t.Errorf("Subject %q", p.Subject)
	}
	if from, err := p.Header.AddressList("From"); err != nil || from[0].Address != "no-reply@cardfile.test" || from[0].Name != "cardfile" {
		t.Errorf("From %v (%v)", from, err)
	}
	if to, err := p.Header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "jane@customer.test" {
		t.Errorf("To %v (%v)", to, err)
	}
	if d, err := p.Header.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
		t.Errorf("Date %v (%v), want about now", d, err)
	}
	if id := p.Header.Get("Message-Id"); !regexp.MustCompile(`^<[0-9a-f]{32}@cardfile\.test>$`).MatchString(id) {
		t.Errorf("Message-ID %q, want <random@cardfile.test>", id)
	}
	if ua := p.Header.Get("User-Agent") + p.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("mailer advertised: %q", ua)
	}

	text, htmlBody := p.Parts["text/plain"], p.Parts["text/html"]
	if text == "" || htmlBody == "" {
		t.Fatalf("parts %v, want text/plain and text/html", keys(p.Parts))
	}
	for name, body := range map[string]string{"text": text, "html": htmlBody} {
		for _, want := range []string{link, "8 hours", "Mon, 2 Mar 2026 17:04 UTC"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s part lacks %q", name, want)
			}
		}
	}
	if !strings.Contains(text, "Bloom & <Co>") {
		t.Errorf("text part lacks the company name as written")
	}
	if !strings.Contains(htmlBody, "Bloom &amp; &lt;Co&gt;") || strings.Contains(htmlBody, "<Co>") {
		t.Errorf("html part does not escape the company name")
	}
	if !strings.Contains(htmlBody, `href="`+link+`"`) {
		t.Errorf("html part has no button linking to %s", link)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSMTPRefusalIsAnErrorWithoutTheBody(t *testing.T) {
	m, link := cardRequest(t, "jane@customer.test", "Bloom & Co")
	token := link[strings.LastIndexByte(link, '/')+1:]
	tests := []struct {
		name      string
		cfg       serverConfig
		permanent bool
	}{
		{
			name: "recipient deferred (451)",
			cfg: serverConfig{rcpt: func(string) error {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
			}},
		},
		{
			name: "recipient unknown (550)",
			cfg: serverConfig{rcpt: func(string) error {
				return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
			}},
			permanent: true,
		},
		{
			name: "data deferred (451)",
			cfg: serverConfig{data: func([]byte) error {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "local error"}
			}},
		},
		{
			name: "data refused, server quotes the link (554)",
			cfg: serverConfig{data: func([]byte) error {
				return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "suspicious link " + link}
			}},
			permanent: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			s, err := NewSMTP(plainURL(ts), testFrom)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(ctxT(t), m)
			if err == nil {
				t.Fatal("Send succeeded against a refusing server")
			}
			t.Logf("error: %v", err)
			msg := err.Error()
			for _, secret := range []string{link, token, "card-request/" + token[:8], "valid for"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error text contains %q", secret)
				}
			}
			if !strings.Contains(msg, "jane@customer.test") {
				t.Errorf("error text does not name the recipient")
			}
			if IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v", IsPermanent(err), tt.permanent)
			}
			if n := len(ts.received()); n != 0 {
				t.Errorf("server kept %d messages", n)
			}
		})
	}
}

func TestSMTPAuthentication(t *testing.T) {
	const user, pass = "mailer@cardfile.test", "s3cret p@ss/word"
	esc := "mailer%40cardfile.test:s3cret%20p%40ss%2Fword"
	tests := []struct {
		name     string
		userinfo string
		query    string
		wantErr  bool
	}{
		{name: "PLAIN with the right password", userinfo: esc + "@"},
		{name: "LOGIN with the right password", userinfo: esc + "@", query: "&auth=login"},
		{name: "wrong password", userinfo: "mailer%40cardfile.test:not-" + escapeUserinfo(pass) + "@", wantErr: true},
		{name: "no credentials", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{user: user, pass: pass})
			rawURL := fmt.Sprintf("smtp://%s%s:%d?tls=none%s", tt.userinfo, ts.Host, ts.Port, tt.query)
			s, err := NewSMTP(rawURL, testFrom)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := cardRequest(t, "jane@customer.test", "Bloom & Co")
			err = s.Send(ctxT(t), m)
			got := ts.received()
			ts.waitClosed(t)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Send succeeded")
				}
				t.Logf("error: %v", err)
				if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "s3cret%20") {
					t.Errorf("error text contains the password")
				}
				if len(got) != 0 {
					t.Errorf("server accepted %d messages", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(got) != 1 || got[0].Authn != user {
				t.Fatalf("received %d messages (authenticated as %q), want 1 as %s", len(got), firstAuthn(got), user)
			}
		})
	}
}

func escapeUserinfo(s string) string {
	return strings.NewReplacer(" ", "%20", "@", "%40", "/", "%2F").Replace(s)
}

func firstAuthn(r []received) string {
	if len(r) == 0 {
		return ""
	}
	return r[0].Authn
}

func TestSMTPTLS(t *testing.T) {
	serverTLS, roots := testCA(t)
	const user, pass = "mailer", "tls-only-secret"
	tests := []struct {
		name    string
		cfg     serverConfig
		url     string // %s host, %d port
		wantTLS bool
		wantErr string
	}{
		{
			name:    "STARTTLS is the default and carries the credentials",
			cfg:     serverConfig{tls: serverTLS, user: user, pass: pass},
			url:     "smtp://mailer:tls-only-secret@%s:%d",
			wantTLS: true,
		},
		{
			name:    "implicit TLS with smtps",
			cfg:     serverConfig{tls: serverTLS, implicitTLS: true, user: user, pass: pass},
			url:     "smtps://mailer:tls-only-secret@%s:%d",
			wantTLS: true,
		},
		{
			name:    "no silent downgrade when the server lacks STARTTLS",
			cfg:     serverConfig{},
			url:     "smtp://%s:%d",
			wantErr: "STARTTLS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			s, err := newSMTP(fmt.Sprintf(tt.url, ts.Host, ts.Port), testFrom, roots)
			if err != nil {
				t.Fatal(err)
			}
			m, _ := cardRequest(t, "jane@customer.test", "Bloom & Co")
			err = s.Send(ctxT(t), m)
			got := ts.received()
			ts.waitClosed(t)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Send error %v, want one mentioning %q", err, tt.wantErr)
				}
				if len(got) != 0 {
					t.Fatalf("server received %d messages", len(got))
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if len(got) != 1 || got[0].TLS != tt.wantTLS || got[0].Authn != user {
				t.Fatalf("received %+v, want 1 message over TLS from %s", got, user)
			}
		})
	}

	t.Run("an untrusted certificate fails", func(t *testing.T) {
		ts := startServer(t, serverConfig{tls: serverTLS, implicitTLS: true})
		s, err := NewSMTP(fmt.Sprintf("smtps://%s:%d", ts.Host, ts.Port), testFrom) // system roots
		if err != nil {
			t.Fatal(err)
		}
		m, _ := cardRequest(t, "jane@customer.test", "Bloom & Co")
		if err := s.Send(ctxT(t), m); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("Send error %v, want a certificate error", err)
		}
	})
}

func TestNewSMTPRejectsBadConfiguration(t *testing.T) {
	const secret = "hunter2-very-secret"
	tests := []struct {
		name, url, from, want string
	}{
		{"unknown scheme", "http://mail.test:25", testFrom, "scheme"},
		{"no host", "smtp://:587", testFrom, "no host"},
		{"tls=none with smtps", "smtps://mail.test?tls=none", testFrom, "does not fit"},
		{"unknown tls mode", "smtp://mail.test?tls=maybe", testFrom, "does not fit"},
		{"unknown parameter", "smtp://mail.test?tsl=none", testFrom, "unknown SMTP URL parameter"},
		{"bad port", "smtp://mail.test:99999", testFrom, "port"},
		{"user without password", "smtp://user@mail.test", testFrom, "no password"},
		{"unknown auth", "smtp://u:" + secret + "@mail.test?auth=cram", testFrom, "auth"},
		{"credentials in clear to a remote host", "smtp://u:" + secret + "@mail.test:25?tls=none", testFrom, "without TLS"},
		{"malformed URL with a password", "smtp://u:" + secret + "%zz@mail.test", testFrom, "malformed"},
		{"invalid From", "smtp://mail.test", "not an address", "From"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSMTP(tt.url, tt.from)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSMTP error %v, want one mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "%zz") {
				t.Fatalf("error text %q contains the password", err)
			}
		})
	}

	for _, ok := range []string{
		"smtp://user:pass@mail.test:587",
		"smtps://user:pass@mail.test",
		"smtp://mail.test:25?tls=none",
		"smtp://user:pass@localhost:25?tls=none&auth=login",
	} {
		if _, err := NewSMTP(ok, testFrom); err != nil {
			t.Errorf("NewSMTP(%q): %v", ok, err)
		}
	}
}

func TestInvalidMessagesAreRefusedBeforeSending(t *testing.T) {
	ts := startServer(t, serverConfig{})
	s, err := NewSMTP(plainURL(ts), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := cardRequest(t, "jane@customer.test", "Bloom & Co")
	tests := []struct {
		name   string
		change func(*Message)
	}{
		{"recipient is not an address", func(m *Message) { m.To = "jane at customer" }},
		{"recipient smuggles a header", func(m *Message) { m.To = "jane@customer.test\r\nBcc: eve@evil.test" }},
		{"two recipients", func(m *Message) { m.To = "jane@customer.test, eve@evil.test" }},
		{"subject smuggles a header", func(m *Message) { m.Subject = "Hi\r\nBcc: eve@evil.test" }},
		{"empty subject", func(m *Message) { m.Subject = " " }},
		{"empty text", func(m *Message) { m.Text = "" }},
	}
	ob := NewOutbox(dbtest.Open(t), testSealer(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.change(&m)
			for name, mailer := range map[string]Mailer{"smtp": s, "outbox": ob} {
				err := mailer.Send(ctxT(t), m)
				if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
					t.Errorf("%s: Send error %v, want ErrInvalidMessage", name, err)
				}
			}
		})
	}
	if n := len(ts.received()); n != 0 {
		t.Fatalf("server received %d messages", n)
	}
	if sent, err := ob.List(ctxT(t), 0); err != nil || len(sent) != 0 {
		t.Fatalf("outbox holds %d messages (%v)", len(sent), err)
	}
}

func testSealer(t *testing.T) *sealer.Sealer {
	t.Helper()
	key := make([]byte, sealer.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s, err := sealer.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOutboxKeepsMessagesSealed(t *testing.T) {
	ctx := ctxT(t)
	d := dbtest.Open(t)
	ob := NewOutbox(d, testSealer(t))

	first, firstLink := cardRequest(t, "first@customer.test", "Bloom & <Co>")
	second, secondLink := cardRequest(t, "second@customer.test", "Acme")
	for _, m := range []Message{first, second} {
		if err := ob.Send(ctx, m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	sent, err := ob.List(ctx, 10)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(sent) != 2 {
		t.Fatalf("List returned %d messages, want 2", len(sent))
	}
	if sent[0].Message != second || sent[1].Message != first {
		t.Errorf("List = [%s, %s], want the newest (second) first, bodies opened", sent[0].To, sent[1].To)
	}
	if sent[0].ID == 0 || sent[0].CreatedAt.IsZero() || time.Since(sent[0].CreatedAt) > time.Minute {
		t.Errorf("ID %d, CreatedAt %v", sent[0].ID, sent[0].CreatedAt)
	}
	if one, err := ob.List(ctx, 1); err != nil || len(one) != 1 || one[0].To != "second@customer.test" {
		t.Errorf("List(1) = %v (%v), want the newest only", one, err)
	}

	// No column holds a link or its token in clear.
	rows, err := d.SQL.QueryContext(ctx, "SELECT * FROM outbox_messages")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var nrows int
	for rows.Next() {
		nrows++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			s := fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				s = string(b)
			}
			for _, link := range []string{firstLink, secondLink} {
				token := link[strings.LastIndexByte(link, '/')+1:]
				if strings.Contains(s, token) {
					t.Errorf("column %s holds a link token in clear", cols[i])
				}
			}
			if (cols[i] == "text_body" || cols[i] == "html_body") && !strings.HasPrefix(s, "v1:") {
				t.Errorf("column %s is not sealed: %.20q…", cols[i], s)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if nrows != 2 {
		t.Fatalf("outbox_messages has %d rows, want 2", nrows)
	}

	// Another key cannot read them, and says so.
	_, err = NewOutbox(d, testSealer(t)).List(ctx, 10)
	if err == nil || !strings.Contains(err.Error(), "wrong key") {
		t.Fatalf("List with another key: %v, want a wrong-key error", err)
	}
	if strings.Contains(err.Error(), "v1:") {
		t.Errorf("error quotes the sealed value: %v", err)
	}
}

func TestCardRequestMessage(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		newYork = time.FixedZone("EST", -5*3600)
	}
	tests := []struct {
		name       string
		expiresAt  time.Time
		validFor   time.Duration
		wantValid  string
		wantExpiry string
	}{
		{"eight hours", time.Date(2026, 3, 2, 17, 4, 0, 0, time.UTC), 8 * time.Hour, "8 hours", "Mon, 2 Mar 2026 17:04 UTC"},
		{"expiry given in another zone is shown in UTC", time.Date(2026, 1, 9, 20, 30, 0, 0, newYork), 8 * time.Hour, "8 hours", "Sat, 10 Jan 2026 01:30 UTC"},
		{"hours and minutes", time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), 90 * time.Minute, "1 hour and 30 minutes", "Wed, 1 Jul 2026 09:00 UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			link, _ := newLink(t)
			m := CardRequestMessage(CardRequestData{
				To: "jane@customer.test", CompanyName: "Bloom & <Co>", CustomerName: `Jane "JR" Roe`,
				Link: link, ExpiresAt: tt.expiresAt, ValidFor: tt.validFor,
			})
			if m.To != "jane@customer.test" || m.Subject != "Bloom & <Co> asks for a card on file" {
				t.Errorf("To %q, Subject %q", m.To, m.Subject)
			}
			wantText := []string{
				link, "valid for " + tt.wantValid, "until " + tt.wantExpiry, "works once",
				"Bloom & <Co>", `Hello Jane "JR" Roe,`, "payment gateway's secure page", "did not expect this email, ignore it",
			}
			for _, w := range wantText {
				if !strings.Contains(strings.Join(strings.Fields(m.Text), " "), w) {
					t.Errorf("text lacks %q", w)
				}
				if !strings.Contains(visibleText(m.HTML), w) {
					t.Errorf("html lacks %q", w)
				}
			}
			if strings.Contains(m.HTML, "<Co>") || strings.Contains(m.HTML, `"JR"`) {
				t.Errorf("html does not escape the names")
			}
			// Nothing loads from elsewhere: the only URL is the link itself.
			for _, u := range regexp.MustCompile(`https?://[^\s"'<>]+`).FindAllString(m.HTML, -1) {
				if u != link {
					t.Errorf("html refers to %q", u)
				}
			}
			for _, tag := range []string{"<img", "<script", "<link", "src=", "url("} {
				if strings.Contains(strings.ToLower(m.HTML), tag) {
					t.Errorf("html contains %s", tag)
				}
			}
		})
	}
}

// visibleText is what a reader sees of an HTML body: tags dropped, entities
// decoded, whitespace folded.
func visibleText(s string) string {
	s = html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, ""))
	return strings.Join(strings.Fields(s), " ")
}

func TestCardRequestMessageKeepsHeadersOnOneLine(t *testing.T) {
	m := CardRequestMessage(CardRequestData{
		To: "jane@customer.test", CompanyName: "Evil\r\nBcc: eve@evil.test", Link: "https://cardfile.test/card-request/x",
		ExpiresAt: time.Now(), ValidFor: 8 * time.Hour,
	})
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("Subject %q spans lines", m.Subject)
	}
	if !strings.HasPrefix(m.Text, "Hello,") {
		t.Errorf("text without a customer name starts %.20q", m.Text)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		8 * time.Hour:                "8 hours",
		time.Hour:                    "1 hour",
		90 * time.Minute:             "1 hour and 30 minutes",
		61 * time.Minute:             "1 hour and 1 minute",
		45 * time.Minute:             "45 minutes",
		8*time.Hour + 20*time.Second: "8 hours",
		7*time.Hour + 59*time.Minute + 45*time.Second: "8 hours",
		10 * time.Second: "less than a minute",
		48 * time.Hour:   "48 hours",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCardRequestSubjectFitsWhateverTheCompanyName(t *testing.T) {
	m := CardRequestMessage(CardRequestData{To: "a@b.example", CompanyName: strings.Repeat("Ö", 400), Link: "http://x/card-request/t", ValidFor: time.Hour})
	if n := len(m.Subject); n > 200 || !utf8.ValidString(m.Subject) || !strings.HasSuffix(m.Subject, "asks for a card on file") {
		t.Fatalf("subject has %d bytes: %q", n, m.Subject)
	}
	if err := m.validate(); err != nil {
		t.Fatalf("the message is refused: %v", err)
	}
}
