package app_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent/cardrequest"
	"cardfile/internal/app"
	"cardfile/internal/app/apptest"
	"cardfile/internal/viewer"

	"github.com/emersion/go-smtp"
)

// flakySMTP is a real SMTP server (in-process) that refuses the first
// failures messages with a temporary error, then accepts.
type flakySMTP struct {
	mu       sync.Mutex
	failures int
	refused  int
	accepted [][]byte
	addr     string
}

func startFlakySMTP(t *testing.T, failures int) *flakySMTP {
	t.Helper()
	f := &flakySMTP{failures: failures}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &flakySession{f: f}, nil }))
	s.Domain, s.AllowInsecureAuth = "localhost", true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return f
}

func (f *flakySMTP) messages() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.accepted...)
}

type flakySession struct{ f *flakySMTP }

func (s *flakySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *flakySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *flakySession) Reset()                               {}
func (s *flakySession) Logout() error                        { return nil }
func (s *flakySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.refused < s.f.failures {
		s.f.refused++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.f.accepted = append(s.f.accepted, b)
	return nil
}

// A mail server that fails is retried, and the email goes out exactly once
// when it recovers; the request's delivery status follows.
func TestFailingSMTPServerIsRetriedAndSendsOnce(t *testing.T) {
	srv := startFlakySMTP(t, 2)
	h := newHarness(t, func(o *app.Options) {
		o.SMTPURL = "smtp://" + srv.addr + "?tls=none"
		o.MailFrom = "cardfile <no-reply@cardfile.test>"
	})
	tn := h.newTenant("Blossom", 1)
	h.requestCard(tn.tokens[viewer.Admin], fmt.Sprint(tn.customers[0].ID), "ap@buyer.example")
	waitFor(t, func() bool {
		return h.app.DB.CardRequest.Query().Where(cardrequest.DeliveryStatusEQ(cardrequest.DeliveryStatusSENT)).CountX(h.sys) == 1
	})
	// A wrong second send could only come from the job running again: wait
	// until it is finished for good rather than for a while.
	waitFor(t, func() bool { return apptest.JobsFinished(t, h.app.DB.SQL, "card_request_email") })
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("the server accepted %d emails, want exactly 1", len(msgs))
	}
	if !strings.Contains(string(msgs[0]), "card-request/") {
		t.Fatal("the accepted email has no link")
	}
	req := h.app.DB.CardRequest.Query().OnlyX(h.sys)
	if req.DeliveryAttempts != 3 || req.SentAt == nil {
		t.Fatalf("delivery attempts = %d, sent at %v; want 3 attempts (2 refused) and a send time", req.DeliveryAttempts, req.SentAt)
	}
}
