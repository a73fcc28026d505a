// Package eligibility holds the one set of rules for whether a customer can
// pay by card: only in the US, with USD as both the company's and the
// customer's default currency, with the card integration on, and (in Order
// Entry) without the customer's restriction. Payments, card entry, card
// requests and the screens all ask here.
package eligibility

import (
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/payment"
	"cardfile/internal/apperr"
	"cardfile/internal/expiry"
)

// Refusal names why card payment is not allowed.
type Refusal string

// The reasons card payment can be refused for a customer.
const (
	CompanyNotUS       Refusal = "COMPANY_NOT_US"
	CompanyNotUSD      Refusal = "COMPANY_NOT_USD"
	CustomerNotUSD     Refusal = "CUSTOMER_NOT_USD"
	IntegrationOff     Refusal = "INTEGRATION_OFF"
	CustomerRestricted Refusal = "CUSTOMER_RESTRICTED"
	CardExpired        Refusal = "CARD_EXPIRED"
)

// Verdict says whether card payment is allowed, and if not, why.
type Verdict struct {
	Allowed bool
	Refusal Refusal
	Reason  string // for staff to read
}

// Customer applies the card-payment rules that do not depend on the screen.
func Customer(co *ent.Company, cu *ent.Customer) Verdict {
	switch {
	case !co.CardIntegrationEnabled:
		return refuse(IntegrationOff, "The card integration is turned off for your company.")
	case co.Country != "US":
		return refuse(CompanyNotUS, "Card payments are only available to companies in the United States.")
	case co.DefaultCurrency != "USD":
		return refuse(CompanyNotUSD, "Card payments need USD as your company's default currency.")
	case cu.DefaultCurrency != "USD":
		return refuse(CustomerNotUSD, "Card payments need USD as the customer's default currency; this customer uses "+cu.DefaultCurrency+".")
	}
	return Verdict{Allowed: true}
}

// Err is the refusal as a PAYMENT_NOT_ALLOWED error, nil when allowed.
func (v Verdict) Err() error {
	if v.Allowed {
		return nil
	}
	return &apperr.Error{Code: apperr.PaymentNotAllowed, Message: v.Reason, Reason: string(v.Refusal)}
}

func refuse(r Refusal, reason string) Verdict { return Verdict{Refusal: r, Reason: reason} }

// ForScreen applies the rules for one payment screen: Eligibility, and on
// Order Entry the customer's card-payment restriction.
func ForScreen(co *ent.Company, cu *ent.Customer, screen payment.Screen) Verdict {
	if v := Customer(co, cu); !v.Allowed {
		return v
	}
	if screen == payment.ScreenORDER_ENTRY && cu.RestrictCardPayments {
		return refuse(CustomerRestricted, "Card payments are restricted for this customer in Order Entry.")
	}
	return Verdict{Allowed: true}
}

// Card refuses an expired card.
func Card(c *ent.CreditCard, now time.Time) Verdict {
	if !now.Before(expiry.End(c.ExpMonth, c.ExpYear)) {
		return refuse(CardExpired, fmt.Sprintf("This card expired at the end of %02d/%d.", c.ExpMonth, c.ExpYear))
	}
	return Verdict{Allowed: true}
}
