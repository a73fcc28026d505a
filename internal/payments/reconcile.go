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
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/gateway"
)

// ChargeTimeout bounds one charge, from exchanging a new card's token to the
// gateway's answer. The caller leaving does not shorten it.
const ChargeTimeout = 2 * time.Minute

// DefaultReconcileAfter is how old a PENDING or UNKNOWN payment must be
// before the reconciler asks the gateway about it.
const DefaultReconcileAfter = ChargeTimeout + time.Minute

// notChargedAfter is how old a payment must be before "the gateway has no
// such charge" is believed: longer than a charge may take, so none of it can
// still be on its way, whatever CARDFILE_RECONCILE_AFTER says. What the
// gateway does have (approved, declined) is the truth at any age.
const notChargedAfter = ChargeTimeout + time.Minute

// searchWindow is how far back gateways keep charges searchable (Clearent:
// 90 days); past it "not found" proves nothing, and the payment is left for
// a person.
const searchWindow = 60 * 24 * time.Hour

// lookupTimeout bounds one question to the gateway.
const lookupTimeout = 30 * time.Second

// reconcileBatch caps one pass; the next pass takes the rest.
const reconcileBatch = 100

// Reconcile settles payments left PENDING (the process died mid-charge) or
// UNKNOWN (the gateway's answer was lost) from the gateway's own record of
// the charge, found by the idempotency key sent with it: APPROVED or
// DECLINED as the gateway has it, FAILED when the gateway never saw it.
// Each settlement is audited and published; a payment the gateway cannot
// answer for now stays as it is for the next pass (the failure is logged).
// It returns how many it settled.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	// created_at is written by the schema's clock (the wall clock), so the
	// cutoff is too.
	now := time.Now().UTC()
	stuck, err := s.db.Payment.Query().
		Where(payment.StatusIn(payment.StatusPENDING, payment.StatusUNKNOWN), payment.CreatedAtLT(now.Add(-s.reconcileAfter))).
		Order(ent.Asc(payment.FieldID)).Limit(reconcileBatch).All(sys)
	if err != nil {
		return 0, fmt.Errorf("finding payments to reconcile: %w", err)
	}
	settled := 0
	for _, p := range stuck {
		done, err := s.settle(sys, p, now.Sub(p.CreatedAt))
		if err != nil {
			s.log.WarnContext(ctx, "reconciling a payment failed; the next pass tries again", "payment_id", p.ID, "err", err)
		}
		if done {
			settled++
		}
	}
	return settled, nil
}

// settle asks the gateway about p (age old) and records its answer, unless
// someone settled p meanwhile.
func (s *Service) settle(ctx context.Context, p *ent.Payment, age time.Duration) (bool, error) {
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	res, lookupErr := s.gateway.LookupCharge(lctx, chargeRequest(p, "", p.CardExpMonth, p.CardExpYear))
	cancel()
	var status payment.Status
	var code, message string
	switch decline := (*gateway.DeclineError)(nil); {
	case lookupErr == nil:
		status = payment.StatusAPPROVED
	case errors.As(lookupErr, &decline):
		status, code, message = payment.StatusDECLINED, decline.Code, decline.Message
	case errors.Is(lookupErr, gateway.ErrNotCharged) && age > notChargedAfter && age < searchWindow:
		status, code, message = payment.StatusFAILED, string(apperr.GatewayUnavailable), msgNotCharged
	case errors.Is(lookupErr, gateway.ErrNotCharged):
		if age >= searchWindow {
			s.log.WarnContext(ctx, "an unsettled payment is older than the gateway's search window; a person must check it", "payment_id", p.ID)
		}
		return false, nil // too young to believe, or too old to prove
	default:
		return false, fmt.Errorf("asking the gateway about payment %d: %w", p.ID, lookupErr)
	}
	from := p.Status
	settled := false
	err := s.db.Tx(ctx, func(tx *db.Tx) error {
		if _, err := s.cards.LockCustomer(ctx, tx, p.CustomerID); err != nil { // customer first, as record does
			return err
		}
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
		return s.publish(ctx, tx, p.CompanyID, p.CustomerID, p.ID, status)
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

// msgNotCharged is what a payment the gateway never saw says, then and on replay.
const msgNotCharged = "The payment never reached the gateway; nothing was charged. Apply it again with a new idempotency key."
