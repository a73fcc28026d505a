package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// An in-process SMTP server (emersion/go-smtp) that records what it accepts,
// so the tests assert on delivered mail rather than on a mock.

type received struct {
	From  string
	To    []string
	Data  []byte
	TLS   bool   // the message travelled over TLS
	Authn string // the user who authenticated, if any
}

type serverConfig struct {
	user, pass  string                  // require AUTH (PLAIN or LOGIN) with these
	rcpt        func(to string) error   // nil accepts every recipient
	data        func(body []byte) error // nil accepts every message
	tls         *tls.Config             // offer STARTTLS, or implicit TLS with implicitTLS
	implicitTLS bool
}

type testServer struct {
	cfg  serverConfig
	Host string
	Port int

	mu       sync.Mutex
	msgs     []received
	sessions int // open sessions: connections not yet closed
}

func startServer(t *testing.T, cfg serverConfig) *testServer {
	t.Helper()
	ts := &testServer{cfg: cfg}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		return &session{srv: ts, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = cfg.tls == nil // with TLS on offer, credentials only after it
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.MaxMessageBytes = 1 << 20
	s.ErrorLog = testLogger{t}
	var l net.Listener
	var err error
	if cfg.implicitTLS {
		l, err = tls.Listen("tcp", "127.0.0.1:0", cfg.tls)
	} else {
		s.TLSConfig = cfg.tls
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	ts.Host = "127.0.0.1"
	ts.Port = l.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ts
}

func (ts *testServer) received() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

// waitClosed fails unless the client has closed every connection soon: a
// failed handshake must not leave one open until the server times out. Half
// the server's 10 s read timeout tells the two apart with room for a loaded
// machine.
func (ts *testServer) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ts.mu.Lock()
		n := ts.sessions
		ts.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after Send returned", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("smtp server: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"smtp server:"}, v...)...) }

type session struct {
	srv  *testServer
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.srv.cfg.user || pass != s.srv.cfg.pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.cfg.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := s.srv.cfg.rcpt; f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if f := s.srv.cfg.data; f != nil {
		if err := f(b); err != nil {
			return err
		}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, received{From: s.from, To: s.to, Data: b, TLS: isTLS, Authn: s.user})
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }
func (s *session) Logout() error {
	s.srv.mu.Lock()
	s.srv.sessions--
	s.srv.mu.Unlock()
	return nil
}

// loginServer is the server side of SASL LOGIN, which go-sasl leaves out.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 3:
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

// testCA makes a certificate for 127.0.0.1 and a pool that trusts it.
func testCA(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cardfile test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// parsedMail is a received message taken apart the way a mail client would.
type parsedMail struct {
	Header   netmail.Header
	Subject  string
	Parts    map[string]string // media type → decoded body
	BodyType string            // media type of the whole message
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parsing received message: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decoding Subject: %v", err)
	}
	p := parsedMail{Header: msg.Header, Subject: subject, Parts: map[string]string{}}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.BodyType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		p.Parts[mt] = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart() // raw: prove the transfer encoding decodes
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading MIME part: %v", err)
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part Content-Type: %v", err)
		}
		p.Parts[pt] = decodeBody(t, part.Header.Get("Content-Transfer-Encoding"), part)
	}
	return p
}

func decodeBody(t *testing.T, encoding string, r io.Reader) string {
	t.Helper()
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "", "7bit", "8bit":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", encoding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s body: %v", encoding, err)
	}
	return string(b)
}
