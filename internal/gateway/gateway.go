// Package gateway defines how cardfile talks to a card payment gateway. Card
// numbers and security codes never pass through cardfile: the browser enters
// them into the gateway's hosted fields and hands us a single-use payment
// token, which a Gateway exchanges for a stored card token.
package gateway

import (
	"context"
	"errors"
	"fmt"
)

// Card is what the gateway tells us about a stored card. Token is a secret:
// it never leaves the server (no logs, errors or GraphQL output).
type Card struct {
	Token          string
	Brand          string // VISA, MASTERCARD, AMEX, DISCOVER, DINERS, JCB, UNKNOWN
	Last4          string
	ExpMonth       int
	ExpYear        int
	CardholderName string
	PostalCode     string
}

// Gateway is a card payment gateway.
type Gateway interface {
	// Name identifies the gateway in logs and audit details ("sandbox", "clearent").
	Name() string
	// HostedFieldsURL is the page the browser loads in an iframe to collect card data.
	HostedFieldsURL() string
	// SaveCard exchanges a single-use payment token for a stored card.
	SaveCard(ctx context.Context, paymentToken string) (Card, error)
	// DeleteCard removes a stored card; deleting an unknown token is not an error.
	DeleteCard(ctx context.Context, cardToken string) error
	// Charge takes a payment from a stored card. It returns a *DeclineError
	// when the processor refuses, ErrUnavailable when the charge surely did
	// not happen (nothing was sent, or the gateway said so), and
	// ErrOutcomeUnknown when it may have happened (a timeout after sending):
	// such a charge must never be retried blindly.
	Charge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
	// LookupCharge asks what became of req, a charge sent before (found by
	// its IdempotencyKey, checked against its amount): its result as Charge
	// would have answered (a result, or a *DeclineError), ErrNotCharged when
	// the gateway surely has no such charge, or ErrUnavailable when it
	// cannot tell now.
	LookupCharge(ctx context.Context, req ChargeRequest) (ChargeResult, error)
}

// ChargeRequest is one card payment.
type ChargeRequest struct {
	CardToken   string
	ExpMonth    int // the stored card's expiry; some gateways want it with the token
	ExpYear     int
	AmountCents int64  // positive; USD cents
	Currency    string // ISO 4217; cardfile charges only USD
	// IdempotencyKey is sent to gateways that support one, so a resent
	// request cannot charge twice.
	IdempotencyKey string
	// Reference is the invoice or order number, for the processor's records.
	Reference string
}

// ChargeResult is an approved charge.
type ChargeResult struct {
	TransactionID string
	AuthCode      string
}

// ErrInvalidToken means the payment token is unknown, expired or already used.
var ErrInvalidToken = errors.New("payment token is invalid, expired or already used")

// ErrUnavailable means the gateway could not be reached or failed, and
// nothing happened there.
var ErrUnavailable = errors.New("payment gateway unavailable")

// ErrOutcomeUnknown means a charge was sent but no answer came back: it may
// or may not have been taken.
var ErrOutcomeUnknown = errors.New("payment gateway did not answer; the charge may or may not have been taken")

// ErrNotCharged means the gateway has no record of a charge: it never
// arrived, so nothing was taken.
var ErrNotCharged = errors.New("the payment gateway has no such charge")

// DeclineError is a refusal by the processor; Message is safe to show to staff.
type DeclineError struct {
	Code    string
	Message string
}

func (e *DeclineError) Error() string {
	return fmt.Sprintf("card declined (%s): %s", e.Code, e.Message)
}
