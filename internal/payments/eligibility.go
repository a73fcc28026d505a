// Package payments holds the rules for paying by card. Card payment is
// allowed only in the US, with USD as both the company's and the customer's
// default currency, and with the card integration on.
package payments

import "cardfile/ent"

// Refusal names why card payment is not allowed.
type Refusal string

// The reasons card payment can be refused for a customer.
const (
	CompanyNotUS       Refusal = "COMPANY_NOT_US"
	CompanyNotUSD      Refusal = "COMPANY_NOT_USD"
	CustomerNotUSD     Refusal = "CUSTOMER_NOT_USD"
	IntegrationOff     Refusal = "INTEGRATION_OFF"
	CustomerRestricted Refusal = "CUSTOMER_RESTRICTED"
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
