package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"cardfile/internal/gateway"
)

// Test amounts: the cents of a charge decide what the sandbox processor does,
// whatever the card (cards whose charge behavior is card_declined decline
// every charge).
//
//	…​.51  declined: insufficient_funds "Insufficient funds"
//	…​.52  declined: do_not_honor "Do not honor"
//	…​.77  taken, but the answer is lost: ErrOutcomeUnknown (a timeout after sending)
//	…​.78  the gateway is down: ErrUnavailable (nothing taken)
//	…​.79  taken, then no answer until the caller gives up (a hung
//	       processor; tests kill the process meanwhile): ErrOutcomeUnknown
//
// Every other amount is approved.
const (
	centsInsufficientFunds = 51
	centsDoNotHonor        = 52
	centsAnswerLost        = 77
	centsGatewayDown       = 78
	centsHangs             = 79
)

// Charge takes a payment from a stored card. A repeated idempotency key
// returns the first charge's result without charging again.
func (g *Gateway) Charge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	if req.AmountCents%100 == centsGatewayDown {
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: charge: %w", gateway.ErrUnavailable)
	}
	if req.AmountCents <= 0 || req.Currency != "USD" {
		return gateway.ChargeResult{}, &gateway.DeclineError{Code: "invalid_amount", Message: "Invalid amount"}
	}
	if req.IdempotencyKey != "" {
		if res, err, found := g.replay(ctx, req.IdempotencyKey); found {
			return res, err
		}
	}
	_, behavior, err := g.storedCard(ctx, req.CardToken)
	if err != nil {
		return gateway.ChargeResult{}, err
	}
	outcome := "approved"
	switch {
	case behavior == chargeDeclined:
		outcome = "card_declined"
	case req.AmountCents%100 == centsInsufficientFunds:
		outcome = "insufficient_funds"
	case req.AmountCents%100 == centsDoNotHonor:
		outcome = "do_not_honor"
	}
	txn := newToken("sbtx_")[:29]
	var key any
	if req.IdempotencyKey != "" {
		key = req.IdempotencyKey
	}
	if _, err := g.db.ExecContext(ctx,
		`INSERT INTO sandbox_charges (transaction_id, idempotency_key, card_hash, amount_cents, currency, reference, outcome, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		txn, key, hashToken(req.CardToken), req.AmountCents, req.Currency, req.Reference, outcome, g.now().UnixMilli()); err != nil {
		if req.IdempotencyKey != "" {
			if res, err, found := g.replay(ctx, req.IdempotencyKey); found { // a concurrent twin won
				return res, err
			}
		}
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: charge: %w: %w", gateway.ErrUnavailable, err)
	}
	switch req.AmountCents % 100 {
	case centsAnswerLost:
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: charge %s: %w", txn, gateway.ErrOutcomeUnknown)
	case centsHangs:
		<-ctx.Done()
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: charge %s: %w", txn, gateway.ErrOutcomeUnknown)
	}
	return result(txn, outcome)
}

// LookupCharge answers from the processor's own records: the result of the
// charge with req's idempotency key and amount, or ErrNotCharged when there
// is none.
func (g *Gateway) LookupCharge(ctx context.Context, req gateway.ChargeRequest) (gateway.ChargeResult, error) {
	var amount int64
	err := g.db.QueryRowContext(ctx, `SELECT amount_cents FROM sandbox_charges WHERE idempotency_key = $1`, req.IdempotencyKey).Scan(&amount)
	switch {
	case errors.Is(err, sql.ErrNoRows) || req.IdempotencyKey == "":
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: lookup: %w", gateway.ErrNotCharged)
	case err != nil:
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: lookup: %w: %w", gateway.ErrUnavailable, err)
	case amount != req.AmountCents:
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: lookup: %w: the charge under this key is for another amount", gateway.ErrUnavailable)
	}
	res, err, _ := g.replay(ctx, req.IdempotencyKey)
	return res, err
}

// replay returns the recorded result for an idempotency key.
func (g *Gateway) replay(ctx context.Context, key string) (gateway.ChargeResult, error, bool) {
	var txn, outcome string
	err := g.db.QueryRowContext(ctx, `SELECT transaction_id, outcome FROM sandbox_charges WHERE idempotency_key = $1`, key).Scan(&txn, &outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.ChargeResult{}, nil, false
	}
	if err != nil {
		return gateway.ChargeResult{}, fmt.Errorf("sandbox: charge: %w: %w", gateway.ErrUnavailable, err), true
	}
	res, err := result(txn, outcome)
	return res, err, true
}

var declineMessages = map[string]string{
	"card_declined":      "Card declined",
	"insufficient_funds": "Insufficient funds",
	"do_not_honor":       "Do not honor",
}

func result(txn, outcome string) (gateway.ChargeResult, error) {
	if outcome != "approved" {
		return gateway.ChargeResult{}, &gateway.DeclineError{Code: outcome, Message: declineMessages[outcome]}
	}
	return gateway.ChargeResult{TransactionID: txn, AuthCode: strings.ToUpper(txn[5:11])}, nil
}

// TakenCharges counts the charges the sandbox processor has taken (approved,
// including those whose answer was lost): how a test proves nothing was charged twice.
func (g *Gateway) TakenCharges(ctx context.Context) (int, error) {
	var n int
	err := g.db.QueryRowContext(ctx, `SELECT count(*) FROM sandbox_charges WHERE outcome = 'approved'`).Scan(&n)
	return n, err
}
