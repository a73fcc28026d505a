package mail

import (
	"context"
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/outboxmessage"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/sealer"
)

// outboxPurpose binds sealed bodies to the outbox.
const outboxPurpose = "outbox.body"

// List limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// Outbox is the embedded default's Mailer: it keeps each message in the
// outbox_messages table, bodies sealed, for a developer on one machine to
// read in the app instead of receiving it. Never a production mailer.
type Outbox struct {
	db     *db.DB
	sealer *sealer.Sealer
}

var _ Mailer = (*Outbox)(nil)

// Sent is a message kept in the outbox.
type Sent struct {
	ID        int
	CreatedAt time.Time
	Message
}

// NewOutbox returns an Outbox storing into d, sealing bodies with s.
func NewOutbox(d *db.DB, s *sealer.Sealer) *Outbox {
	return &Outbox{db: d, sealer: s}
}

// Send stores m; recipient and subject in clear, bodies sealed.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return fmt.Errorf("storing mail in the outbox: %w", err)
	}
	text, err := o.sealer.Seal(m.Text, outboxPurpose)
	if err != nil {
		return fmt.Errorf("storing mail to %s in the outbox: %w", m.To, err)
	}
	html, err := o.sealer.Seal(m.HTML, outboxPurpose)
	if err != nil {
		return fmt.Errorf("storing mail to %s in the outbox: %w", m.To, err)
	}
	err = o.db.OutboxMessage.Create().
		SetTo(m.To).
		SetSubject(m.Subject).
		SetTextBody(text).
		SetHTMLBody(html).
		Exec(system(ctx))
	if err != nil {
		return fmt.Errorf("storing mail to %s in the outbox: %w", m.To, err)
	}
	return nil
}

// List returns up to limit messages, newest first, bodies opened. limit <= 0
// means DefaultListLimit; it is capped at MaxListLimit. A body that does not
// open (another sealer key, or a tampered row) fails the whole call.
func (o *Outbox) List(ctx context.Context, limit int) ([]Sent, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	rows, err := o.db.OutboxMessage.Query().
		Order(ent.Desc(outboxmessage.FieldCreatedAt), ent.Desc(outboxmessage.FieldID)).
		Limit(limit).
		All(system(ctx))
	if err != nil {
		return nil, fmt.Errorf("listing the outbox: %w", err)
	}
	out := make([]Sent, 0, len(rows))
	for _, r := range rows {
		text, err := o.sealer.Open(r.TextBody, outboxPurpose)
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: text body: %w", r.ID, err)
		}
		html, err := o.sealer.Open(r.HTMLBody, outboxPurpose)
		if err != nil {
			return nil, fmt.Errorf("outbox message %d: HTML body: %w", r.ID, err)
		}
		out = append(out, Sent{
			ID:        r.ID,
			CreatedAt: r.CreatedAt,
			Message:   Message{To: r.To, Subject: r.Subject, Text: text, HTML: html},
		})
	}
	return out, nil
}

// system marks ctx as the mailer's own work: the outbox has no tenant and
// is closed to every viewer (see OutboxMessage's privacy policy).
func system(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}
