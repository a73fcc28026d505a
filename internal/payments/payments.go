package payments

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"time"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/ent/payment"
	"cardfile/ent/predicate"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/eligibility"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/sealer"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"
)

// Service applies card payments.
type Service struct {
	db      *db.DB
	cards   *cards.Service
	gateway gateway.Gateway
	sealer  *sealer.Sealer
	events  events.Broker
	log     *slog.Logger
	now     func() time.Time
	// replayWait bounds how long a replay waits for its twin still charging.
	replayWait time.Duration
	// reconcileAfter is how old an unsettled payment must be to be reconciled.
	reconcileAfter time.Duration
}

// New returns a Service. now may be nil (time.Now); reconcileAfter 0 means
// DefaultReconcileAfter.
func New(d *db.DB, c *cards.Service, gw gateway.Gateway, s *sealer.Sealer, pub events.Broker, log *slog.Logger, now func() time.Time, reconcileAfter time.Duration) *Service {
	if now == nil {
		now = time.Now
	}
	if reconcileAfter == 0 {
		reconcileAfter = DefaultReconcileAfter
	}
	return &Service{db: d, cards: c, gateway: gw, sealer: s, events: pub, log: log, now: now,
		replayWait: 30 * time.Second, reconcileAfter: reconcileAfter}
}

// ApplyInput is one card payment to apply: a saved card (CreditCardID) or a
// new card (PaymentToken), never both.
type ApplyInput struct {
	CustomerID     int
	Amount         string
	Screen         payment.Screen
	Reference      string
	CreditCardID   int
	PaymentToken   string
	SaveCard       bool
	Description    string
	MakePrimary    bool
	IdempotencyKey string
}

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{8,100}$`)

// Apply charges the card. A replay of an idempotency key with the same input
// returns the first result — the payment, or the same error — and never
// charges again; the same key with other input is a CONFLICT.
func (s *Service) Apply(ctx context.Context, in ApplyInput) (*ent.Payment, error) {
	entry := audit.Entry{Action: "payment.apply", CustomerID: in.CustomerID, SubjectType: "Customer", SubjectID: in.CustomerID}
	if err := auth.Authorize(ctx, s.db.Client, s.log, entry); err != nil {
		return nil, err
	}
	cents, hash, err := s.validate(&in)
	if err != nil {
		return nil, err
	}
	if p, err := s.db.Payment.Query().Where(payment.IdempotencyKey(in.IdempotencyKey)).Only(ctx); err == nil {
		return s.replay(ctx, p, hash)
	} else if !ent.IsNotFound(err) {
		return nil, err
	}
	cust, card, err := s.check(ctx, in)
	if e, refused := apperr.As(err); refused && e.Code == apperr.PaymentNotAllowed {
		entry.Details = map[string]any{"amount": FormatCents(cents), "screen": string(in.Screen), "reason": e.Reason}
		audit.Refused(ctx, s.db.Client, s.log, entry)
	}
	if err != nil {
		return nil, err
	}
	p, err := s.claim(ctx, in, cust, card, cents, hash)
	if err != nil {
		var twin *ent.Payment
		if ent.IsConstraintError(err) {
			if twin, err = s.db.Payment.Query().Where(payment.IdempotencyKey(in.IdempotencyKey)).Only(ctx); err == nil {
				return s.replay(ctx, twin, hash)
			}
		}
		return nil, err
	}
	return s.charge(ctx, p, in, cust, card)
}

// validate checks the input's shape and returns the amount in cents and the
// request's fingerprint for replays.
func (s *Service) validate(in *ApplyInput) (int64, []byte, error) {
	cents, err := ParseAmount(in.Amount)
	if err != nil {
		return 0, nil, err
	}
	if !keyPattern.MatchString(in.IdempotencyKey) || textguard.HasCardNumber(in.IdempotencyKey) {
		return 0, nil, apperr.BadInput("idempotencyKey", "the idempotency key must be 8 to 100 letters, digits, '-', '_', '.' or ':'")
	}
	if err := payment.ScreenValidator(in.Screen); err != nil {
		return 0, nil, apperr.BadInput("screen", "unknown screen %q", in.Screen)
	}
	if in.Reference, err = textguard.Text("reference", in.Reference, 64, false); err != nil {
		return 0, nil, err
	}
	if in.Description, err = textguard.Text("description", in.Description, cards.DescriptionMaxLen, false); err != nil {
		return 0, nil, err
	}
	switch {
	case (in.CreditCardID == 0) == (in.PaymentToken == ""):
		return 0, nil, apperr.BadInput("creditCardId", "choose a saved card or enter a new one")
	case in.CreditCardID != 0 && (in.SaveCard || in.MakePrimary):
		return 0, nil, apperr.BadInput("saveCard", "a saved card is already saved")
	case in.PaymentToken != "":
		if err := cards.CheckPaymentToken(in.PaymentToken); err != nil {
			return 0, nil, err
		}
	}
	tokenHash := sha256.Sum256([]byte(in.PaymentToken))
	fp, _ := json.Marshal([]any{in.CustomerID, cents, in.Screen, in.Reference, in.CreditCardID, tokenHash[:],
		in.SaveCard, in.Description, in.MakePrimary})
	sum := sha256.Sum256(fp)
	return cents, sum[:], nil
}

// check applies the eligibility rules; a refused payment leaves no row.
func (s *Service) check(ctx context.Context, in ApplyInput) (*ent.Customer, *ent.CreditCard, error) {
	cust, err := s.db.Customer.Query().Where(customer.ID(in.CustomerID)).WithCompany().Only(ctx)
	if err != nil {
		return nil, nil, db.NotFound(err, "customer")
	}
	if v := eligibility.ForScreen(cust.Edges.Company, cust, in.Screen); !v.Allowed {
		return nil, nil, v.Err()
	}
	if in.CreditCardID == 0 {
		if in.SaveCard {
			room, err := s.cards.HasRoom(ctx, cust.ID)
			if err != nil {
				return nil, nil, err
			}
			if !room {
				return nil, nil, apperr.BadInput("saveCard", "this customer already keeps %d cards; pay without saving, or delete one first", cards.MaxCardsPerCustomer)
			}
		}
		return cust, nil, nil
	}
	card, err := s.db.CreditCard.Query().Where(creditcard.ID(in.CreditCardID), creditcard.CustomerID(cust.ID)).Only(ctx)
	if err != nil {
		return nil, nil, db.NotFound(err, "credit card")
	}
	if v := eligibility.Card(card, s.now()); !v.Allowed {
		return nil, nil, v.Err()
	}
	return cust, card, nil
}

// claim writes the PENDING payment that owns the idempotency key. It locks
// the customer first, as every card change does, so that a saved card
// cannot be deleted between here and the charge: Delete, under the same
// lock, refuses while the card has a PENDING payment.
func (s *Service) claim(ctx context.Context, in ApplyInput, cust *ent.Customer, card *ent.CreditCard, cents int64, hash []byte) (p *ent.Payment, err error) {
	err = s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := s.cards.LockCustomer(ctx, tx, cust.ID); err != nil {
			return err
		}
		c := tx.Payment.Create().
			SetCompanyID(cust.CompanyID).SetCustomerID(cust.ID).SetAmountCents(cents).SetCurrency("USD").
			SetScreen(in.Screen).SetReference(in.Reference).SetIdempotencyKey(in.IdempotencyKey).SetRequestHash(hash)
		if v := viewer.FromContext(ctx); v != nil {
			c.SetCreatedByID(v.StaffID)
		}
		if card != nil {
			still, err := tx.CreditCard.Query().Where(creditcard.ID(card.ID), creditcard.CustomerID(cust.ID)).Exist(ctx)
			if err != nil {
				return err
			}
			if !still {
				return apperr.New(apperr.NotFound, "credit card not found")
			}
			c.SetCreditCardID(card.ID).SetCardBrand(string(card.Brand)).SetCardLast4(card.Last4).
				SetCardExpMonth(card.ExpMonth).SetCardExpYear(card.ExpYear)
		}
		p, err = c.Save(ctx)
		return err
	})
	return p, err
}

// charge takes the money and records what happened. From here on the
// caller leaving does not stop the work: a charge must always be recorded.
func (s *Service) charge(ctx context.Context, p *ent.Payment, in ApplyInput, cust *ent.Customer, card *ent.CreditCard) (*ent.Payment, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ChargeTimeout)
	defer cancel()
	if card != nil {
		token, err := s.sealer.Open(card.GatewayToken, cards.GatewayTokenPurpose)
		var res gateway.ChargeResult
		if err != nil {
			err = apperr.Wrap(err, apperr.Internal, "internal error") // our fault, not the gateway's
		} else {
			res, err = s.gateway.Charge(ctx, chargeRequest(p, token, card.ExpMonth, card.ExpYear))
		}
		if p, err = s.record(ctx, p, res, err); err != nil {
			return nil, err
		}
		return answer(p)
	}
	// A new card: cards.SaveNew exchanges the token, lets us charge the
	// card, then saves it (when asked and approved) or deletes it at the
	// gateway. The payment stands either way: if saving fails (say the
	// customer reached the card limit meanwhile) the payment says so.
	var (
		charged   bool  // the charge was tried and its outcome recorded
		recordErr error // recording the outcome failed
		linked    *ent.Payment
	)
	_, err := s.cards.SaveNew(ctx, cards.NewCard{
		AddInput: cards.AddInput{CustomerID: cust.ID, PaymentToken: in.PaymentToken, Description: in.Description,
			MakePrimary: in.MakePrimary, AllowDuplicate: true, Source: creditcard.SourcePAYMENT},
		Actor:   audit.Staff(viewer.FromContext(ctx)),
		UseOnly: !in.SaveCard,
		Use: func(ctx context.Context, newCard gateway.Card) (bool, error) {
			// The card's snapshot goes on the payment before the charge, so
			// a payment the process dies in still says which card it was.
			if err := s.db.Payment.UpdateOneID(p.ID).SetCardBrand(newCard.Brand).SetCardLast4(newCard.Last4).
				SetCardExpMonth(newCard.ExpMonth).SetCardExpYear(newCard.ExpYear).Exec(ctx); err != nil {
				return false, err
			}
			res, err := s.gateway.Charge(ctx, chargeRequest(p, newCard.Token, newCard.ExpMonth, newCard.ExpYear))
			if p, recordErr = s.record(ctx, p, res, err); recordErr != nil {
				return false, recordErr
			}
			charged = true
			return p.Status == payment.StatusAPPROVED, nil
		},
		Saved: func(ctx context.Context, tx *db.Tx, card *ent.CreditCard) (err error) {
			linked, err = tx.Payment.UpdateOneID(p.ID).SetCreditCardID(card.ID).SetSavedCard(true).Save(ctx)
			return err
		},
	})
	switch {
	case recordErr != nil:
		return nil, recordErr
	case !charged && err != nil:
		// Refused or failed before the charge: nothing was taken.
		if p, err = s.record(ctx, p, gateway.ChargeResult{}, err); err != nil {
			return nil, err
		}
	case err != nil:
		s.log.WarnContext(ctx, "an approved payment's card could not be saved", "payment_id", p.ID, "err", err)
	case linked != nil:
		p = linked
	}
	return answer(p)
}

// chargeRequest is the gateway request for payment p from a stored card.
func chargeRequest(p *ent.Payment, cardToken string, expMonth, expYear int) gateway.ChargeRequest {
	return gateway.ChargeRequest{
		CardToken: cardToken, ExpMonth: expMonth, ExpYear: expYear, AmountCents: p.AmountCents, Currency: p.Currency,
		IdempotencyKey: chargeKey(p.CompanyID, p.IdempotencyKey), Reference: p.Reference,
	}
}

// record writes the charge's outcome and its audit event in one transaction.
func (s *Service) record(ctx context.Context, p *ent.Payment, res gateway.ChargeResult, chargeErr error) (*ent.Payment, error) {
	id := p.ID
	status, code, message := outcomeOf(chargeErr)
	if chargeErr != nil && status != payment.StatusDECLINED {
		s.log.WarnContext(ctx, "card payment not approved", "payment_id", id, "status", status, "err", chargeErr)
	}
	var recorded *ent.Payment
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		// Customer first, like every card and payment change: the audit
		// row's key-share on the customer would otherwise wait behind a
		// twin claim that holds the customer and waits on this payment row.
		if _, err := s.cards.LockCustomer(ctx, tx, p.CustomerID); err != nil {
			return err
		}
		outcome := func(where ...predicate.Payment) (*ent.Payment, error) {
			return tx.Payment.UpdateOneID(id).Where(where...).SetStatus(status).
				SetGatewayTransactionID(res.TransactionID).SetAuthCode(res.AuthCode).
				SetDeclineCode(code).SetDeclineMessage(message).Save(ctx)
		}
		// Only a PENDING payment takes its charge's answer. One the
		// reconciler settled keeps the gateway's record, except a "never
		// charged" verdict (FAILED, resolved): this answer disproves it.
		updated, err := outcome(payment.StatusEQ(payment.StatusPENDING))
		if ent.IsNotFound(err) {
			if updated, err = outcome(payment.StatusEQ(payment.StatusFAILED), payment.ResolvedAtNotNil()); err == nil {
				s.log.ErrorContext(ctx, "a charge answered after the reconciler found no such charge; its answer replaces that verdict",
					"payment_id", id, "status", status)
			}
		}
		if ent.IsNotFound(err) {
			recorded, err = tx.Payment.Get(ctx, id) // settled meanwhile from the gateway's record
			return err
		} else if err != nil {
			return err
		}
		recorded = updated
		result := auditevent.OutcomeSUCCESS
		if status != payment.StatusAPPROVED {
			result = auditevent.OutcomeFAILED
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			Action: "payment.apply", CustomerID: updated.CustomerID, SubjectType: "Payment", SubjectID: id, Outcome: result,
			Details: map[string]any{"amount": FormatCents(updated.AmountCents), "screen": string(updated.Screen), "status": string(status),
				"card": cards.DisplayOf(updated.CardBrand, updated.CardLast4), "code": code},
		}); err != nil {
			return err
		}
		return s.publish(ctx, tx, updated.CompanyID, updated.CustomerID, id, status)
	})
	if err != nil {
		// The charge happened (or not) but could not be recorded: the row
		// stays PENDING until the reconciler settles it from the gateway's
		// record; the log says which.
		s.log.ErrorContext(ctx, "recording a card payment's outcome", "payment_id", id, "status", status, "err", err)
		return nil, apperr.Wrap(err, apperr.Internal, "internal error")
	}
	return recorded, nil
}

// publish tells subscribers that a customer's payment was settled.
func (s *Service) publish(ctx context.Context, tx *db.Tx, companyID, customerID, id int, status payment.Status) error {
	return s.events.Publish(ctx, tx, events.Event{Topic: events.Payments, CompanyID: companyID, CustomerID: customerID, ID: id, Kind: events.Kind(status)})
}

// outcomeOf classifies a charge error: DECLINED, UNKNOWN (may have been
// taken), or FAILED (surely not taken), with our error code.
func outcomeOf(err error) (payment.Status, string, string) {
	var decline *gateway.DeclineError
	switch {
	case err == nil:
		return payment.StatusAPPROVED, "", ""
	case errors.As(err, &decline):
		return payment.StatusDECLINED, decline.Code, decline.Message
	case errors.Is(err, gateway.ErrOutcomeUnknown):
		return payment.StatusUNKNOWN, "OUTCOME_UNKNOWN", "The gateway did not answer; the charge may have gone through. Check with the processor before charging again."
	}
	// An error already coded (a refused payment token, a customer who may not
	// pay by card, a database outage) keeps its code; only a gateway's own
	// errors are translated.
	ce := err
	if _, ok := apperr.As(err); !ok {
		ce = gateway.ClientError(err, "paymentToken")
	}
	if e, ok := apperr.As(ce); ok {
		return payment.StatusFAILED, string(e.Code), e.Message
	}
	return payment.StatusFAILED, string(apperr.GatewayUnavailable), "the payment gateway is unavailable; try again shortly"
}

// answer turns a finished payment into the mutation's result: the payment
// when approved, otherwise the error that says why.
func answer(p *ent.Payment) (*ent.Payment, error) {
	switch p.Status {
	case payment.StatusAPPROVED:
		return p, nil
	case payment.StatusDECLINED:
		return nil, &apperr.Error{Code: apperr.CardDeclined, Message: p.DeclineMessage, Reason: p.DeclineCode}
	case payment.StatusUNKNOWN:
		return nil, &apperr.Error{Code: apperr.GatewayUnavailable, Message: p.DeclineMessage, Reason: "OUTCOME_UNKNOWN"}
	case payment.StatusFAILED:
		e := &apperr.Error{Code: apperr.Code(p.DeclineCode), Message: p.DeclineMessage}
		if e.Code == apperr.BadUserInput {
			e.Field = "paymentToken"
		}
		return nil, e
	}
	return nil, apperr.New(apperr.Conflict, "this payment is still being processed; try again in a moment")
}

// replay answers a repeated idempotency key with the first result, waiting
// for a twin that is still charging.
func (s *Service) replay(ctx context.Context, p *ent.Payment, hash []byte) (*ent.Payment, error) {
	if !bytes.Equal(p.RequestHash, hash) {
		return nil, apperr.New(apperr.Conflict, "this idempotency key was already used for a different payment")
	}
	deadline := time.Now().Add(s.replayWait)
	for wait := 25 * time.Millisecond; p.Status == payment.StatusPENDING && time.Now().Before(deadline); wait = min(2*wait, time.Second) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		var err error
		if p, err = s.db.Payment.Get(ctx, p.ID); err != nil {
			return nil, err
		}
	}
	return answer(p)
}

// Selectable lists a customer's cards for a payment screen, primary first:
// which can be charged, why not, and the default choice.
type Selectable struct {
	Verdict     eligibility.Verdict
	Cards       []SelectableCard
	DefaultCard *ent.CreditCard
}

// SelectableCard is one card on a payment screen.
type SelectableCard struct {
	Card       *ent.CreditCard
	Selectable bool
	Reason     string
	IsDefault  bool
}

// Selectable reads the customer and cards in one query.
func (s *Service) Selectable(ctx context.Context, customerID int, screen payment.Screen) (*Selectable, error) {
	cust, err := s.db.Customer.Query().Where(customer.ID(customerID)).WithCompany().WithCreditCards().Only(ctx)
	if err != nil {
		return nil, db.NotFound(err, "customer")
	}
	out := &Selectable{Verdict: eligibility.ForScreen(cust.Edges.Company, cust, screen)}
	list := cust.Edges.CreditCards
	cards.SortPrimaryFirst(list)
	for _, c := range list {
		sc := SelectableCard{Card: c, Selectable: out.Verdict.Allowed}
		if v := eligibility.Card(c, s.now()); !v.Allowed {
			sc.Selectable, sc.Reason = false, v.Reason
		} else if !out.Verdict.Allowed {
			sc.Reason = out.Verdict.Reason
		}
		out.Cards = append(out.Cards, sc)
	}
	// The default is the primary card when it can be used, else the first that can.
	for i := range out.Cards {
		if out.Cards[i].Selectable {
			out.Cards[i].IsDefault, out.DefaultCard = true, out.Cards[i].Card
			break
		}
	}
	return out, nil
}
