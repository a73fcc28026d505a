// Package cards holds the card-on-file rules: add, rename, delete and mark
// primary, with the one-primary invariant, duplicate detection, the audit
// trail and events after commit. Tenancy and roles are enforced again by the
// ent privacy rules underneath; the checks here exist to audit denials and
// to answer with clear codes.
//
// Two rules keep concurrent changes safe. Every transaction that changes a
// customer's cards locks the customer first (LockCustomer), so no two of
// them lock rows in opposite orders and deadlock. And a single-use payment
// token becomes a card only through SaveNew, which checks the input before
// the gateway spends the token and deletes the stored card at the gateway
// whenever it is not kept.
package cards

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"cardfile/ent"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/ent/payment"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/auth"
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
	// The column sizes in ent/schema match these; both count characters.
	DescriptionMaxLen    = 100
	CardholderNameMaxLen = 100
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
	if err := auth.Authorize(ctx, s.client, s.log, entry); err != nil {
		return nil, err
	}
	return s.SaveNew(ctx, NewCard{AddInput: in, Actor: audit.Staff(viewer.FromContext(ctx))})
}

// NewCard is a card entered in the gateway's hosted fields, on its way to
// being charged, saved, or both.
type NewCard struct {
	AddInput
	// Actor is who saves the card, for the audit trail.
	Actor audit.Actor
	// Use, when set, gets the card stored at the gateway before it is saved
	// (a payment charges it) and says whether to save it after all. Its
	// error is returned as it is.
	Use func(ctx context.Context, card gateway.Card) (save bool, err error)
	// Saved, when set, runs inside the transaction that saves the card, after
	// the card row exists: a failure rolls the save back.
	Saved func(ctx context.Context, tx *db.Tx, card *ent.CreditCard) error
	// UseOnly means the card is only used, never saved: no card-limit or
	// description checks apply.
	UseOnly bool
}

// SaveNew is the one way a payment token becomes a card, in the order that
// keeps both the token and the locks safe:
//
//  1. every check the input decides (description, the customer is ours and
//     may pay by card, room for another card), so a refused input leaves
//     the single-use token unspent;
//  2. the exchange at the gateway, outside any transaction (no lock is held
//     while the gateway works);
//  3. Use, if set;
//  4. one transaction that locks the customer before anything else (the
//     lock order of every card change), saves the card and runs Saved;
//  5. on any failure after the exchange, or when the card is not to be
//     saved, the card is deleted at the gateway.
//
// It returns the saved card, or nil when the card was only used. The caller
// has authorized the actor.
func (s *Service) SaveNew(ctx context.Context, in NewCard) (*ent.CreditCard, error) {
	if err := s.check(ctx, in); err != nil {
		return nil, err
	}
	saved, err := s.exchange(ctx, in.PaymentToken)
	if err != nil {
		return nil, err
	}
	save := !in.UseOnly
	if in.Use != nil {
		if save, err = in.Use(ctx, saved); err != nil || in.UseOnly {
			save = false
		}
	}
	if !save {
		s.discard(ctx, saved)
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		cust, err := s.LockCustomer(ctx, tx, in.CustomerID)
		if err != nil {
			return err
		}
		if card, err = s.save(ctx, tx, cust, saved, in.AddInput, in.Actor); err != nil {
			return err
		}
		if in.Saved != nil {
			return in.Saved(ctx, tx, card)
		}
		return nil
	})
	if err != nil {
		s.discard(ctx, saved)
		return nil, s.clientError(err, "customer")
	}
	return card, nil
}

// CheckPaymentToken refuses what cannot be a payment token, before anything
// is written or sent.
func CheckPaymentToken(token string) error {
	if token == "" || len(token) > 4096 {
		return apperr.BadInput("paymentToken", "enter the card in the secure card fields first")
	}
	return nil
}

// check refuses, before the gateway spends the payment token, whatever the
// input alone decides. save checks the card limit again under the lock.
func (s *Service) check(ctx context.Context, in NewCard) error {
	if err := CheckPaymentToken(in.PaymentToken); err != nil {
		return err
	}
	if !in.UseOnly {
		if _, err := textguard.Text("description", in.Description, DescriptionMaxLen, false); err != nil {
			return err
		}
	}
	cust, err := s.client.Customer.Query().Where(customer.ID(in.CustomerID)).WithCompany().Only(ctx)
	if err != nil {
		return db.NotFound(err, "customer")
	}
	if v := eligibility.Customer(cust.Edges.Company, cust); !v.Allowed {
		return v.Err()
	}
	if in.UseOnly {
		return nil
	}
	room, err := s.HasRoom(ctx, in.CustomerID)
	if err != nil {
		return err
	}
	if !room {
		return errCardLimit()
	}
	return nil
}

// HasRoom reports whether the customer may keep another card.
func (s *Service) HasRoom(ctx context.Context, customerID int) (bool, error) {
	n, err := s.client.CreditCard.Query().Where(creditcard.CustomerID(customerID)).Count(ctx)
	if err != nil {
		return false, fmt.Errorf("counting cards: %w", err)
	}
	return n < MaxCardsPerCustomer, nil
}

func errCardLimit() error {
	return apperr.BadInput("customerId", "a customer can keep at most %d cards; delete one first", MaxCardsPerCustomer)
}

// exchange turns a single-use payment token into a card stored at the
// gateway, fitted to what we store. Until save keeps it, SaveNew owns it.
func (s *Service) exchange(ctx context.Context, paymentToken string) (gateway.Card, error) {
	saved, err := s.gateway.SaveCard(ctx, paymentToken)
	if err != nil {
		s.log.InfoContext(ctx, "gateway refused a card", "err", err)
		return gateway.Card{}, gateway.ClientError(err, "paymentToken")
	}
	return fit(saved), nil
}

// fit makes what the gateway says about a card storable, so nothing it
// sends can fail the save after the token is spent: the cardholder name
// loses control characters and card numbers (redacted before the cut, so
// the mask cannot push it past its column) and is cut to its column; a
// postal code that does not fit its column is dropped.
func fit(c gateway.Card) gateway.Card {
	name := textguard.Redact(strings.Join(strings.FieldsFunc(c.CardholderName, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " "))
	if r := []rune(name); len(r) > CardholderNameMaxLen {
		name = strings.TrimSpace(string(r[:CardholderNameMaxLen]))
	}
	c.CardholderName = name
	if !zipPattern.MatchString(c.PostalCode) {
		c.PostalCode = ""
	}
	return c
}

// zipPattern is a billing postal code that fits its column: a US ZIP or
// ZIP+4, or another country's code of letters, digits, spaces and dashes.
var zipPattern = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z -]{0,8}[0-9A-Za-z]$`)

// discard deletes an exchanged card that was not kept.
func (s *Service) discard(ctx context.Context, saved gateway.Card) {
	s.deleteAtGateway(ctx, 0, saved.Token)
}

// save keeps an exchanged card for cust inside tx, as actor: the card
// limit, duplicate check and one-primary rule, the audit event, and the
// ADDED event. SaveNew has locked cust in tx.
func (s *Service) save(ctx context.Context, tx *db.Tx, cust *ent.Customer, saved gateway.Card, in AddInput, actor audit.Actor) (*ent.CreditCard, error) {
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
		return nil, errCardLimit()
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
		SetCardholderName(saved.CardholderName).SetBillingZip(saved.PostalCode).
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
	if err := auth.Authorize(ctx, s.client, s.log, entry); err != nil {
		return nil, err
	}
	desc, err := textguard.Text("description", description, DescriptionMaxLen, true)
	if err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		old, err := s.lockCard(ctx, tx, id)
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
	if err := auth.Authorize(ctx, s.client, s.log, entry); err != nil {
		return nil, err
	}
	var card *ent.CreditCard
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if card, err = s.lockCard(ctx, tx, id); err != nil {
			return err
		}
		// A payment being charged to the card holds its token at the
		// gateway: the card stays until the payment's outcome is recorded.
		// Payments claim under the same customer lock, so none slips by.
		charging, err := tx.Payment.Query().Where(payment.CustomerID(card.CustomerID), payment.CreditCardID(id),
			payment.StatusEQ(payment.StatusPENDING)).Exist(ctx)
		if err != nil {
			return fmt.Errorf("checking payments in progress: %w", err)
		}
		if charging {
			return apperr.New(apperr.Conflict, "a payment with this card is being processed; try again in a moment")
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
	if err := auth.Authorize(ctx, s.client, s.log, entry); err != nil {
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

// LockCustomer loads the customer and serializes card changes for it: a row
// lock on PostgreSQL; on SQLite every write transaction is already exclusive.
// Every transaction that changes a customer's cards or card requests takes
// this lock first, before any row it inserts or updates locks the customer
// through a foreign key: one lock order, so no two of them deadlock.
func (s *Service) LockCustomer(ctx context.Context, tx *db.Tx, id int) (*ent.Customer, error) {
	q := tx.Customer.Query().Where(customer.ID(id))
	if s.db.Dialect == dialect.Postgres {
		q.ForUpdate()
	}
	return q.Only(ctx)
}

// lockCard locks a card's customer, then reads the card. The customer id
// never changes, so reading it alone before the lock is safe; the card
// itself is read once, after the lock, so the read is current.
func (s *Service) lockCard(ctx context.Context, tx *db.Tx, id int) (*ent.CreditCard, error) {
	customerID, err := tx.CreditCard.Query().Where(creditcard.ID(id)).Select(creditcard.FieldCustomerID).Int(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.LockCustomer(ctx, tx, customerID); err != nil {
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
