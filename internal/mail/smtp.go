package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// smtpTimeout bounds one whole delivery: dial, handshake and the SMTP dialogue.
const smtpTimeout = 30 * time.Second

// SMTP sends mail through an SMTP server (a relay or a provider's submission
// port). One value is safe for concurrent use; each Send opens its own
// connection.
type SMTP struct {
	client      *gomail.Client
	from        string
	domain      string // of the From address, for Message-IDs
	password    string // kept only to scrub it from error texts
	implicitTLS bool
	tlsConfig   *tls.Config
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP returns a Mailer for an SMTP URL, sending as from
// ("Name <address>" or a bare address):
//
//	smtp://user:pass@host:587          STARTTLS, required (the default; port 587)
//	smtps://user:pass@host:465         implicit TLS (port 465)
//	smtp://host:25?tls=none            no TLS at all (port 25)
//
// User and password are optional and URL-escaped; with them the client
// authenticates with PLAIN, or LOGIN given ?auth=login. tls=none is for a
// relay on the same host and for tests only: production must never use it,
// and credentials are refused over it unless the host is localhost,
// 127.0.0.1 or ::1. Errors never contain the password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	return newSMTP(rawURL, from, nil)
}

// newSMTP is NewSMTP with other trusted roots, so tests can run TLS servers.
func newSMTP(rawURL, from string, roots *x509.CertPool) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the whole URL, password included, and an escaping
		// error quotes part of it: say only what to look at.
		return nil, errors.New("mail: malformed SMTP URL (check the URL-escaping of the user and password)")
	}
	sender, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid From address %q: %w", from, err)
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("mail: the SMTP URL has no host")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errors.New("mail: the SMTP URL must not have a path")
	}

	s := &SMTP{
		from:      from,
		domain:    sender.Address[strings.LastIndexByte(sender.Address, '@')+1:],
		tlsConfig: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12},
	}
	if roots != nil {
		s.tlsConfig.RootCAs = roots
	}
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "auth" {
			return nil, fmt.Errorf("mail: unknown SMTP URL parameter %q (known: tls, auth)", k)
		}
	}

	policy, port := gomail.TLSMandatory, 587
	switch tlsMode := q.Get("tls"); {
	case u.Scheme == "smtps" && (tlsMode == "" || tlsMode == "implicit"):
		s.implicitTLS, port = true, 465
	case u.Scheme == "smtp" && (tlsMode == "" || tlsMode == "starttls"):
	case u.Scheme == "smtp" && tlsMode == "none":
		policy, port = gomail.NoTLS, 25
	case u.Scheme != "smtp" && u.Scheme != "smtps":
		return nil, fmt.Errorf("mail: SMTP URL scheme must be smtp or smtps, not %q", u.Scheme)
	default:
		return nil, fmt.Errorf("mail: tls=%q does not fit scheme %s (smtp: starttls or none; smtps: implicit)", tlsMode, u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: invalid SMTP port %q", p)
		}
		port = n
	}

	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithTLSPolicy(policy),
		gomail.WithTLSConfig(s.tlsConfig),
		// Our own dialer: it does the implicit TLS handshake, and it lets Send
		// close connections that go-mail abandons after a failed handshake.
		gomail.WithDialContextFunc(s.dial),
	}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	}

	if u.User != nil && u.User.Username() != "" {
		pass, ok := u.User.Password()
		if !ok || pass == "" {
			return nil, errors.New("mail: the SMTP URL has a user but no password")
		}
		if policy == gomail.NoTLS && !isLocalhost(host) {
			return nil, errors.New("mail: refusing to send SMTP credentials without TLS to a host other than localhost")
		}
		mech := gomail.SMTPAuthPlain
		switch a := q.Get("auth"); a {
		case "", "plain":
		case "login":
			mech = gomail.SMTPAuthLogin
		default:
			return nil, fmt.Errorf("mail: unknown SMTP auth %q (plain or login)", a)
		}
		s.password = pass
		opts = append(opts, gomail.WithSMTPAuth(mech),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	} else if q.Has("auth") {
		return nil, errors.New("mail: auth given without a user in the SMTP URL")
	}

	s.client, err = gomail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: configuring SMTP client: %w", err)
	}
	return s, nil
}

// isLocalhost matches go-mail's rule for when PLAIN and LOGIN may go without TLS.
func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Send delivers m as multipart/alternative (text, then HTML when given).
// Errors name the recipient and the server's answer, never the body or the
// password.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("sending mail: %w", err)
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("sending mail: From: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("sending mail: %w: recipient %q: %v", ErrInvalidMessage, m.To, err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(newMessageID(s.domain))
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	opened := &openConns{}
	err := s.client.DialAndSendWithContext(context.WithValue(ctx, openConnsKey{}, opened), msg)
	opened.closeAll()
	if err != nil {
		return &sendError{
			text:  fmt.Sprintf("sending mail to %s: %s", m.To, scrub(err.Error(), s.secrets(m))),
			cause: err,
		}
	}
	return nil
}

// newMessageID is random@domain-of-From: the host name of the machine that
// happens to send is nobody's business.
func newMessageID(domain string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b) + "@" + domain
}

// openConnsKey carries a Send's openConns to dial through go-mail.
type openConnsKey struct{}

// openConns holds the connections one Send dialled. go-mail returns without
// closing the connection when EHLO, STARTTLS or AUTH fails.
type openConns struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (o *openConns) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.conns {
		_ = c.Close() // already closed after a successful QUIT
	}
	o.conns = nil
}

func (s *SMTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{}
	var (
		c   net.Conn
		err error
	)
	if s.implicitTLS {
		c, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig.Clone()}).DialContext(ctx, network, addr)
	} else {
		c, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	if o, ok := ctx.Value(openConnsKey{}).(*openConns); ok {
		o.mu.Lock()
		o.conns = append(o.conns, c)
		o.mu.Unlock()
	}
	return c, nil
}

// sendError is a delivery failure whose text has been scrubbed of the body
// and the password. Unwrap reaches go-mail's error for errors.As; do not
// print that cause, since a server may quote what it was sent.
type sendError struct {
	text  string
	cause error
}

func (e *sendError) Error() string { return e.text }
func (e *sendError) Unwrap() error { return e.cause }

// IsPermanent reports whether retrying the same message cannot help: the
// message is invalid, or the server refused it with a 5xx reply to MAIL,
// RCPT or DATA. Connection, TLS and authentication failures are not
// permanent: they are fixed by the operator, not by changing the message.
func IsPermanent(err error) bool {
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode() >= 500 && se.ErrorCode() < 600
	}
	return false
}

// minSecretLen is the shortest body word treated as a possible secret: link
// tokens are 43 characters; ordinary words stay readable in errors.
const minSecretLen = 16

// secrets lists what must not appear in an error about m: the password and
// every long word of the bodies (which includes each link's token).
func (s *SMTP) secrets(m Message) []string {
	var out []string
	if len(s.password) >= 3 {
		out = append(out, s.password)
	}
	isWordRune := func(r rune) bool {
		return r == '-' || r == '_' || r == '.' || r == '~' || r == '%' || r == '+' || r == '=' ||
			('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	for _, body := range []string{m.Text, m.HTML} {
		for _, w := range strings.FieldsFunc(body, func(r rune) bool { return !isWordRune(r) }) {
			if len(w) >= minSecretLen {
				out = append(out, w)
			}
		}
	}
	return out
}

// scrub replaces each secret in text.
func scrub(text string, secrets []string) string {
	for _, sec := range secrets {
		text = strings.ReplaceAll(text, sec, "[redacted]")
	}
	return text
}
