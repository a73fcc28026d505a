package gateway

import (
	"errors"

	"cardfile/internal/apperr"
)

// ClientError turns a gateway failure into the error the client sees:
// CARD_DECLINED with the processor's message, BAD_USER_INPUT for a used or
// expired payment token, GATEWAY_UNAVAILABLE for everything else.
func ClientError(err error, tokenField string) error {
	var d *DeclineError
	switch {
	case errors.As(err, &d):
		return apperr.Wrap(err, apperr.CardDeclined, "%s", d.Message)
	case errors.Is(err, ErrInvalidToken):
		return apperr.BadInput(tokenField, "the card entry has expired or was already used; enter the card again")
	default:
		return apperr.Wrap(err, apperr.GatewayUnavailable, "the payment gateway is unavailable; try again shortly")
	}
}
