// Package mail sends cardfile's email: over SMTP in production, or into the
// outbox table for the embedded default on one developer machine. Bodies
// hold single-use links, so they never appear in errors, logs or in clear in
// the database.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
)

// Message is one email to one recipient. Text is required; HTML is the
// alternative rendering of the same content.
type Message struct {
	To, Subject, Text, HTML string
}

// Mailer sends a Message.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// Length limits, matching the outbox columns.
const (
	maxToLen      = 254
	maxSubjectLen = 200
)

// ErrInvalidMessage means a Message was refused before sending: a bad
// recipient address, an empty or overlong subject, or an empty text body.
var ErrInvalidMessage = errors.New("invalid message")

// validate checks what both mailers need before anything leaves the process.
// Its errors never quote the body.
func (m Message) validate() error {
	if len(m.To) > maxToLen {
		return fmt.Errorf("%w: the recipient address is longer than %d characters", ErrInvalidMessage, maxToLen)
	}
	if _, err := netmail.ParseAddress(m.To); err != nil {
		return fmt.Errorf("%w: recipient address %q: %v", ErrInvalidMessage, m.To, err)
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return fmt.Errorf("%w: the subject is empty", ErrInvalidMessage)
	case len(m.Subject) > maxSubjectLen:
		return fmt.Errorf("%w: the subject is longer than %d characters", ErrInvalidMessage, maxSubjectLen)
	case strings.ContainsAny(m.Subject, "\r\n"):
		return fmt.Errorf("%w: the subject contains a line break", ErrInvalidMessage)
	case strings.TrimSpace(m.Text) == "":
		return fmt.Errorf("%w: the text body is empty", ErrInvalidMessage)
	}
	return nil
}
