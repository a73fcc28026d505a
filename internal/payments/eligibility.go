// Package payments holds the rules for paying by card. Card payment is
// allowed only in the US, with USD as both the company's and the customer's
// default currency, and with the card integration on.
package payments

import (
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/payment"
	"cardfile/internal/cards"
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

// Eligibility applies the card-payment rules that do not depend on the screen.
func Eligibility(co *ent.Company, cu *ent.Customer) Verdict {
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

func refuse(r Refusal, reason string) Verdict { return Verdict{Refusal: r, Reason: reason} }

// ForScreen applies the rules for one payment screen: Eligibility, and on
// Order Entry the customer's card-payment restriction.
func ForScreen(co *ent.Company, cu *ent.Customer, screen payment.Screen) Verdict {
	if v := Eligibility(co, cu); !v.Allowed {
		return v
	}
	if screen == payment.ScreenORDER_ENTRY && cu.RestrictCardPayments {
		return refuse(CustomerRestricted, "Card payments are restricted for this customer in Order Entry.")
	}
	return Verdict{Allowed: true}
}

// CardUsable refuses an expired card.
func CardUsable(c *ent.CreditCard, now time.Time) Verdict {
	if cards.Expired(c, now) {
		return refuse(CardExpired, fmt.Sprintf("This card expired at the end of %02d/%d.", c.ExpMonth, c.ExpYear))
	}
	return Verdict{Allowed: true}
}
