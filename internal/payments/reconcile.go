package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/payment"
	"cardfile/ent/privacy"
	"cardfile/internal/audit"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
)

// ChargeTimeout bounds one charge, from exchanging a new card's token to the
// gateway's answer. The caller leaving does not shorten it.
const ChargeTimeout = 2 * time.Minute

// DefaultReconcileAfter is how old a PENDING or UNKNOWN payment must be
// before the reconciler asks the gateway about it: longer than a charge may
// take, so no charge of it can still be on its way and "the gateway has no
// such charge" means it never will.
const DefaultReconcileAfter = ChargeTimeout + time.Minute

// reconcileBatch caps one pass; the next pass takes the rest.
const reconcileBatch = 100

// Reconcile settles payments left PENDING (the process died mid-charge) or
// UNKNOWN (the gateway's answer was lost) from the gateway's own record of
// the charge, found by the idempotency key sent with it: APPROVED or
// DECLINED as the gateway has it, FAILED when the gateway never saw it.
// Each settlement is audited and published; a payment the gateway cannot
// answer for now stays as it is for the next pass. It returns how many it
// settled.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	// created_at is written by the schema's clock (the wall clock), so the
	// cutoff is too.
	cutoff := time.Now().UTC().Add(-s.reconcileAfter)
	stuck, err := s.db.Payment.Query().
		Where(payment.StatusIn(payment.StatusPENDING, payment.StatusUNKNOWN), payment.CreatedAtLT(cutoff)).
		Order(ent.Asc(payment.FieldID)).Limit(reconcileBatch).All(sys)
	if err != nil {
		return 0, fmt.Errorf("finding payments to reconcile: %w", err)
	}
	settled := 0
	var errs []error
	for _, p := range stuck {
		done, err := s.settle(sys, p)
		if err != nil {
			s.log.WarnContext(ctx, "reconciling a payment failed; the next pass tries again", "payment_id", p.ID, "err", err)
			errs = append(errs, err)
		}
		if done {
			settled++
		}
	}
	return settled, errors.Join(errs...)
}

// settle asks the gateway about p and records its answer, unless someone
// settled p meanwhile.
func (s *Service) settle(ctx context.Context, p *ent.Payment) (bool, error) {
	res, lookupErr := s.gateway.LookupCharge(ctx, chargeKey(p.CompanyID, p.IdempotencyKey))
	var status payment.Status
	var code, message string
	switch decline := (*gateway.DeclineError)(nil); {
	case lookupErr == nil:
		status = payment.StatusAPPROVED
	case errors.As(lookupErr, &decline):
		status, code, message = payment.StatusDECLINED, decline.Code, decline.Message
	case errors.Is(lookupErr, gateway.ErrNotCharged):
		status, code, message = payment.StatusFAILED, "NOT_CHARGED", "The payment did not reach the gateway; nothing was charged."
	default:
		return false, fmt.Errorf("asking the gateway about payment %d: %w", p.ID, lookupErr)
	}
	from := p.Status
	settled := false
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		n, err := tx.Payment.Update().
			Where(payment.ID(p.ID), payment.StatusIn(payment.StatusPENDING, payment.StatusUNKNOWN)).
			SetStatus(status).SetGatewayTransactionID(res.TransactionID).SetAuthCode(res.AuthCode).
			SetDeclineCode(code).SetDeclineMessage(message).SetResolvedAt(s.now().UTC()).Save(ctx)
		if err != nil || n == 0 {
			return err // n == 0: settled by its own charge or another replica first
		}
		settled = true
		outcome := auditevent.OutcomeSUCCESS
		if status != payment.StatusAPPROVED {
			outcome = auditevent.OutcomeFAILED
		}
		if err := audit.RecordAs(ctx, tx, audit.Actor{Kind: auditevent.ActorKindSYSTEM, CompanyID: p.CompanyID}, audit.Entry{
			Action: "payment.reconcile", CustomerID: p.CustomerID, SubjectType: "Payment", SubjectID: p.ID, Outcome: outcome,
			Details: map[string]any{"amount": FormatCents(p.AmountCents), "from": string(from), "status": string(status),
				"card": cards.DisplayOf(p.CardBrand, p.CardLast4), "code": code, "gateway": s.gateway.Name()},
		}); err != nil {
			return err
		}
		return s.events.Publish(ctx, tx, events.Event{Topic: events.Payments, CompanyID: p.CompanyID, CustomerID: p.CustomerID, ID: p.ID, Kind: events.Kind(status)})
	})
	if err != nil {
		return false, fmt.Errorf("recording payment %d's settlement: %w", p.ID, err)
	}
	if settled {
		s.log.InfoContext(ctx, "payment reconciled with the gateway", "payment_id", p.ID, "from", from, "status", status)
	}
	return settled, nil
}

// chargeKey is the idempotency key a payment's charge is sent with: ours,
// scoped to the company, so two companies' keys never meet at the gateway.
func chargeKey(companyID int, key string) string {
	return fmt.Sprintf("cardfile:%d:%s", companyID, key)
}
