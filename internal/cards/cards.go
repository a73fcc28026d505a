// Package cards holds the card-on-file rules: add, rename, delete and mark
// primary, with the one-primary invariant, duplicate detection, the audit
// trail and events after commit. Tenancy and roles are enforced again by the
// ent privacy rules underneath; the checks here exist to audit denials and
// to answer with clear codes.
package cards

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"cardfile/ent"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/db"
	"cardfile/internal/eligibility"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/sealer"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"

	"entgo.io/ent/dialect"
)

// Limits on what one customer may keep.
const (
	MaxCardsPerCustomer = 20
	DescriptionMaxLen   = 100
)

// Service applies the card rules.
type Service struct {
	db      *db.DB
	client  *ent.Client
	gateway gateway.Gateway
	sealer  *sealer.Sealer
	events  events.Broker
	cleanup GatewayCleanup
	log     *slog.Logger
	now     func() time.Time
}

// GatewayTokenPurpose binds sealed gateway tokens to the credit card column.
const GatewayTokenPurpose = "credit_card.gateway_token"

// GatewayCleanup retries, durably, deleting a stored card at the gateway
// when the first try fails.
type GatewayCleanup interface {
	RetryGatewayCardDeletion(ctx context.Context, sealedToken string) error
}

// New returns a Service. Gateway tokens are stored sealed with s; cleanup
// may be nil (failed gateway deletions are then only logged). now may be nil
// (time.Now).
func New(d *db.DB, gw gateway.Gateway, s *sealer.Sealer, pub events.Broker, cleanup GatewayCleanup, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: d, client: d.Client, gateway: gw, sealer: s, events: pub, cleanup: cleanup, log: log, now: now}
}

// Now is the service's clock, for the expiry flags.
func (s *Service) Now() time.Time { return s.now() }

// AddInput is a card to save from a single-use payment token.
type AddInput struct {
	CustomerID     int
	PaymentToken   string
	Description    string
	MakePrimary    bool
	AllowDuplicate bool
	Source         creditcard.Source
}

// Add exchanges the payment token at the gateway and saves the card. The
// customer's first card, or any card while none is primary, becomes primary.
func (s *Service) Add(ctx context.Context, in AddInput) (*ent.CreditCard, error) {
	entry := audit.Entry{Action: "credit_card.add", CustomerID: in.CustomerID, SubjectType: "Customer", SubjectID: in.CustomerID}
	if err := s.Authorize(ctx, entry); err != nil {
		return nil, err
	}
	if _, err := textguard.Text("description", in.Description, DescriptionMaxLen, false); err != nil {
		return nil, err
	}
	// Refuse early, before the gateway consumes the token, when the customer
	// is not ours or could never pay by card.
	cust, err := s.client.Customer.Query().Where(customer.ID(in.CustomerID)).WithCompany().Only(ctx)
	if err != nil {
		return nil, db.NotFound(err, "customer")
	}
	if v := eligibility.Customer(cust.Edges.Company, cust); !v.Allowed {
		return nil, v.Err()
	}
	saved, err := s.Exchange(ctx, in.PaymentToken)
	if err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		cust, err := s.LockCustomer(ctx, tx, in.CustomerID)
		if err != nil {
			return err
		}
		card, err = s.Save(ctx, tx, cust, saved, in, audit.Staff(viewer.FromContext(ctx)))
		return err
	})
	if err != nil {
		s.Discard(ctx, saved)
		return nil, s.clientError(err, "customer")
	}
	return card, nil
}

// Exchange turns a single-use payment token into a card stored at the
// gateway. Until Save keeps it, the caller owns it: Discard it on failure.
func (s *Service) Exchange(ctx context.Context, paymentToken string) (gateway.Card, error) {
	if paymentToken == "" || len(paymentToken) > 4096 {
		return gateway.Card{}, apperr.BadInput("paymentToken", "enter the card in the secure card fields first")
	}
	saved, err := s.gateway.SaveCard(ctx, paymentToken)
	if err != nil {
		s.log.InfoContext(ctx, "gateway refused a card", "err", err)
		return gateway.Card{}, gateway.ClientError(err, "paymentToken")
	}
	return saved, nil
}

// Discard deletes an exchanged card that was not kept.
func (s *Service) Discard(ctx context.Context, saved gateway.Card) {
	s.deleteAtGateway(ctx, 0, saved.Token)
}

// Save keeps an exchanged card for cust inside tx, as actor: the card limit,
// duplicate check and one-primary rule, the audit event, and the ADDED event.
// The caller has locked cust (LockCustomer) in tx.
func (s *Service) Save(ctx context.Context, tx *db.Tx, cust *ent.Customer, saved gateway.Card, in AddInput, actor audit.Actor) (*ent.CreditCard, error) {
	desc, err := textguard.Text("description", in.Description, DescriptionMaxLen, false)
	if err != nil {
		return nil, err
	}
	if in.Source == "" {
		in.Source = creditcard.SourceSTAFF
	}
	existing, err := tx.CreditCard.Query().Where(creditcard.CustomerID(cust.ID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading cards: %w", err)
	}
	if len(existing) >= MaxCardsPerCustomer {
		return nil, apperr.BadInput("customerId", "a customer can keep at most %d cards; delete one first", MaxCardsPerCustomer)
	}
	hasPrimary := false
	for _, c := range existing {
		hasPrimary = hasPrimary || c.IsPrimary
		if !in.AllowDuplicate && sameCard(c, saved) {
			return nil, apperr.New(apperr.Conflict, "this card (%s ending %s, expiring %02d/%d) is already on file; add it again only if you mean to keep both",
				c.Brand, c.Last4, c.ExpMonth, c.ExpYear)
		}
	}
	primary := in.MakePrimary || !hasPrimary
	if primary && hasPrimary {
		if err := tx.CreditCard.Update().Where(creditcard.CustomerID(cust.ID), creditcard.IsPrimary(true)).
			SetIsPrimary(false).Exec(ctx); err != nil {
			return nil, fmt.Errorf("clearing primary: %w", err)
		}
	}
	sealed, err := s.sealer.Seal(saved.Token, GatewayTokenPurpose)
	if err != nil {
		return nil, err
	}
	create := tx.CreditCard.Create().
		SetCompanyID(cust.CompanyID).SetCustomerID(cust.ID).
		SetGatewayToken(sealed).SetBrand(BrandOf(saved.Brand)).SetLast4(saved.Last4).
		SetExpMonth(saved.ExpMonth).SetExpYear(saved.ExpYear).
		SetCardholderName(textguard.Redact(saved.CardholderName)).SetBillingZip(saved.PostalCode).
		SetDescription(desc).SetIsPrimary(primary).SetSource(in.Source)
	if actor.StaffID != 0 {
		create.SetCreatedByID(actor.StaffID)
	}
	card, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("saving card: %w", err)
	}
	if err := audit.RecordAs(ctx, tx, actor, audit.Entry{
		Action: "credit_card.add", CustomerID: cust.ID, SubjectType: "CreditCard", SubjectID: card.ID,
		Details: map[string]any{"card": Display(card), "primary": primary, "source": string(in.Source)},
	}); err != nil {
		return nil, err
	}
	return card, s.publish(ctx, tx, card, card.ID, events.Added)
}

// Rename changes a card's description.
func (s *Service) Rename(ctx context.Context, id int, description string) (*ent.CreditCard, error) {
	entry := audit.Entry{Action: "credit_card.rename", SubjectType: "CreditCard", SubjectID: id}
	if err := s.Authorize(ctx, entry); err != nil {
		return nil, err
	}
	desc, err := textguard.Text("description", description, DescriptionMaxLen, true)
	if err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		old, err := tx.CreditCard.Get(ctx, id)
		if err != nil {
			return err
		}
		if card, err = old.Update().SetDescription(desc).Save(ctx); err != nil {
			return fmt.Errorf("renaming card: %w", err)
		}
		entry.CustomerID = card.CustomerID
		entry.Details = map[string]any{"card": Display(card), "from": old.Description, "to": desc}
		if err := audit.Record(ctx, tx, entry); err != nil {
			return err
		}
		return s.publish(ctx, tx, card, card.ID, events.Updated)
	})
	if err != nil {
		return nil, s.clientError(err, "credit card")
	}
	return card, nil
}

// Delete removes a card and its stored token at the gateway. Deleting the
// primary card promotes the newest unexpired card, if any.
func (s *Service) Delete(ctx context.Context, id int) (newPrimary *ent.CreditCard, err error) {
	entry := audit.Entry{Action: "credit_card.delete", SubjectType: "CreditCard", SubjectID: id}
	if err := s.Authorize(ctx, entry); err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if card, err = s.lockCard(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.CreditCard.DeleteOne(card).Exec(ctx); err != nil {
			return fmt.Errorf("deleting card: %w", err)
		}
		details := map[string]any{"card": Display(card), "wasPrimary": card.IsPrimary}
		if card.IsPrimary {
			if newPrimary, err = s.promoteNewest(ctx, tx, card.CustomerID); err != nil {
				return err
			}
			if newPrimary != nil {
				details["newPrimary"] = Display(newPrimary)
			}
		}
		entry.CustomerID, entry.Details = card.CustomerID, details
		if err := audit.Record(ctx, tx, entry); err != nil {
			return err
		}
		if newPrimary != nil {
			if err := s.publish(ctx, tx, card, newPrimary.ID, events.PrimaryChanged); err != nil {
				return err
			}
		}
		return s.publish(ctx, tx, card, card.ID, events.Deleted)
	})
	if err != nil {
		return nil, s.clientError(err, "credit card")
	}
	if token, err := s.sealer.Open(card.GatewayToken, GatewayTokenPurpose); err != nil {
		s.log.ErrorContext(ctx, "cannot open a deleted card's gateway token; it stays at the gateway", "card_id", card.ID, "err", err)
	} else {
		s.deleteAtGateway(ctx, card.ID, token)
	}
	return newPrimary, nil
}

// SetPrimary makes the card its customer's primary card, atomically: at
// every instant the customer has at most one primary card.
func (s *Service) SetPrimary(ctx context.Context, id int) (*ent.CreditCard, error) {
	entry := audit.Entry{Action: "credit_card.set_primary", SubjectType: "CreditCard", SubjectID: id}
	if err := s.Authorize(ctx, entry); err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err := s.db.Tx(ctx, func(tx *db.Tx) (err error) {
		if card, err = s.lockCard(ctx, tx, id); err != nil {
			return err
		}
		if card.IsPrimary {
			return nil
		}
		if Expired(card, s.now()) {
			return apperr.BadInput("id", "an expired card cannot be the primary card")
		}
		if err := tx.CreditCard.Update().Where(creditcard.CustomerID(card.CustomerID), creditcard.IsPrimary(true)).
			SetIsPrimary(false).Exec(ctx); err != nil {
			return fmt.Errorf("clearing primary: %w", err)
		}
		if card, err = card.Update().SetIsPrimary(true).Save(ctx); err != nil {
			return fmt.Errorf("setting primary: %w", err)
		}
		entry.CustomerID, entry.Details = card.CustomerID, map[string]any{"card": Display(card)}
		if err := audit.Record(ctx, tx, entry); err != nil {
			return err
		}
		return s.publish(ctx, tx, card, card.ID, events.PrimaryChanged)
	})
	if err != nil {
		return nil, s.clientError(err, "credit card")
	}
	return card, nil
}

// publish tells subscribers about a change to one of c's customer's cards
// once tx commits.
func (s *Service) publish(ctx context.Context, tx *db.Tx, c *ent.CreditCard, id int, kind events.Kind) error {
	return s.events.Publish(ctx, tx, events.Event{Topic: events.Cards, CompanyID: c.CompanyID, CustomerID: c.CustomerID, ID: id, Kind: kind})
}

// Authorize answers UNAUTHENTICATED or FORBIDDEN (auditing the denial)
// unless the viewer may manage cards; the privacy rules enforce the same
// underneath. Card requests use it too.
func (s *Service) Authorize(ctx context.Context, e audit.Entry) error {
	v := viewer.FromContext(ctx)
	if v == nil {
		return apperr.New(apperr.Unauthenticated, "sign in to manage credit cards")
	}
	if !v.CanManageCards {
		audit.Denied(ctx, s.client, s.log, e)
		return apperr.New(apperr.Forbidden, "your role may not manage credit cards")
	}
	return nil
}

// LockCustomer loads the customer and serializes card changes for it: a row
// lock on PostgreSQL; on SQLite every write transaction is already exclusive.
func (s *Service) LockCustomer(ctx context.Context, tx *db.Tx, id int) (*ent.Customer, error) {
	q := tx.Customer.Query().Where(customer.ID(id))
	if s.db.Dialect == dialect.Postgres {
		q.ForUpdate()
	}
	return q.Only(ctx)
}

// lockCard loads a card after locking its customer, so the card read is current.
func (s *Service) lockCard(ctx context.Context, tx *db.Tx, id int) (*ent.CreditCard, error) {
	c, err := tx.CreditCard.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.LockCustomer(ctx, tx, c.CustomerID); err != nil {
		return nil, err
	}
	return tx.CreditCard.Get(ctx, id)
}

// promoteNewest makes the newest unexpired card primary, if there is one.
func (s *Service) promoteNewest(ctx context.Context, tx *db.Tx, customerID int) (*ent.CreditCard, error) {
	cs, err := tx.CreditCard.Query().Where(creditcard.CustomerID(customerID)).
		Order(ent.Desc(creditcard.FieldCreatedAt), ent.Desc(creditcard.FieldID)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading cards: %w", err)
	}
	for _, c := range cs {
		if !Expired(c, s.now()) {
			return c.Update().SetIsPrimary(true).Save(ctx)
		}
	}
	return nil, nil
}

// deleteAtGateway removes a stored card at the gateway, and when that fails
// queues a retry, so no card is left stored there for nothing.
func (s *Service) deleteAtGateway(ctx context.Context, cardID int, token string) {
	ctx = context.WithoutCancel(ctx)
	err := s.gateway.DeleteCard(ctx, token)
	if err == nil {
		return
	}
	s.log.WarnContext(ctx, "deleting a stored card at the gateway failed; retrying later", "card_id", cardID, "gateway", s.gateway.Name(), "err", err)
	sealed, serr := s.sealer.Seal(token, GatewayTokenPurpose)
	if serr == nil && s.cleanup != nil {
		serr = s.cleanup.RetryGatewayCardDeletion(ctx, sealed)
	}
	if serr != nil || s.cleanup == nil {
		s.log.ErrorContext(ctx, "a stored card stays at the gateway", "card_id", cardID, "gateway", s.gateway.Name(), "err", serr)
	}
}

// DeleteGatewayCard deletes a stored card at the gateway from its sealed
// token; the job queue calls it to retry.
func (s *Service) DeleteGatewayCard(ctx context.Context, sealedToken string) error {
	token, err := s.sealer.Open(sealedToken, GatewayTokenPurpose)
	if err != nil {
		return err
	}
	return s.gateway.DeleteCard(ctx, token)
}

// clientError maps a failure inside a card transaction to a client error.
func (s *Service) clientError(err error, what string) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	if ent.IsConstraintError(err) {
		return apperr.Wrap(err, apperr.Conflict, "the cards changed at the same time; reload and try again")
	}
	return db.NotFound(err, what)
}

func sameCard(c *ent.CreditCard, g gateway.Card) bool {
	return string(c.Brand) == g.Brand && c.Last4 == g.Last4 && c.ExpMonth == g.ExpMonth && c.ExpYear == g.ExpYear
}

// BrandOf maps a gateway's brand name to ours; anything unknown is UNKNOWN.
func BrandOf(b string) creditcard.Brand {
	if err := creditcard.BrandValidator(creditcard.Brand(b)); err != nil {
		return creditcard.BrandUNKNOWN
	}
	return creditcard.Brand(b)
}

// Display is how a card is named to people: "VISA •••• 1111".
func Display(c *ent.CreditCard) string { return DisplayOf(string(c.Brand), c.Last4) }

// DisplayOf names a card from its brand and last four digits.
func DisplayOf(brand, last4 string) string { return fmt.Sprintf("%s •••• %s", brand, last4) }
