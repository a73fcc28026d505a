package sandbox

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"cardfile/internal/gateway"
)

// Charge behaviors recorded with each stored card.
const (
	chargeApprove  = "approve"
	chargeDeclined = "card_declined"
	// saveDeclined cards tokenize, but the issuer declines the verification
	// the gateway runs when storing them, as Clearent's create-token sale can.
	saveDeclined = "declined_on_save"
)

// TestCard is one documented sandbox card number and what it does.
type TestCard struct {
	Number         string // grouped as printed on the card
	Brand          string
	Outcome        string // human description
	DeclineCode    string // non-empty: tokenization is declined with this code
	DeclineMessage string
	ChargeBehavior string // what later charges do: "approve" or a decline code
}

// TestCards lists the sandbox test numbers; keep it in step with the package doc.
var TestCards = []TestCard{
	{Number: "4242 4242 4242 4242", Brand: "VISA", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "4111 1111 1111 1111", Brand: "VISA", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "5555 5555 5555 4444", Brand: "MASTERCARD", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "2223 0031 2200 3222", Brand: "MASTERCARD", Outcome: "approved (2-series)", ChargeBehavior: chargeApprove},
	{Number: "3782 822463 10005", Brand: "AMEX", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "6011 1111 1111 1117", Brand: "DISCOVER", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "3056 9300 0902 0004", Brand: "DINERS", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "3566 0020 2036 0505", Brand: "JCB", Outcome: "approved", ChargeBehavior: chargeApprove},
	{Number: "4000 0000 0000 0341", Brand: "VISA", Outcome: "saves, but later charges decline", ChargeBehavior: chargeDeclined},
	{Number: "4000 0000 0000 0101", Brand: "VISA", Outcome: "declined when saved (do_not_honor)", ChargeBehavior: saveDeclined},
	{Number: "4000 0000 0000 0002", Brand: "VISA", Outcome: "declined at entry", DeclineCode: "do_not_honor", DeclineMessage: "Do not honor"},
	{Number: "4000 0000 0000 9995", Brand: "VISA", Outcome: "declined at entry", DeclineCode: "insufficient_funds", DeclineMessage: "Insufficient funds"},
	{Number: "4000 0000 0000 0069", Brand: "VISA", Outcome: "declined at entry", DeclineCode: "expired_card", DeclineMessage: "Expired card"},
	{Number: "4000 0000 0000 0127", Brand: "VISA", Outcome: "declined at entry", DeclineCode: "incorrect_cvc", DeclineMessage: "Incorrect security code"},
}

// testCardsByDigits indexes TestCards by their digits.
var testCardsByDigits = func() map[string]TestCard {
	m := make(map[string]TestCard, len(TestCards))
	for _, c := range TestCards {
		m[strings.ReplaceAll(c.Number, " ", "")] = c
	}
	return m
}()

// CardInput is what the hosted fields send to POST /tokens.
type CardInput struct {
	Number     string `json:"number"`
	ExpMonth   int    `json:"expMonth"`
	ExpYear    int    `json:"expYear"` // 2-digit years mean 20YY
	CVC        string `json:"cvc"`
	PostalCode string `json:"postalCode"`
	Name       string `json:"name"`
}

// String redacts the card number and security code.
func (c CardInput) String() string {
	return fmt.Sprintf("sandbox.CardInput{Number:[redacted], ExpMonth:%d, ExpYear:%d, CVC:[redacted]}", c.ExpMonth, c.ExpYear)
}

// GoString redacts the card number and security code.
func (c CardInput) GoString() string { return c.String() }

// LogValue redacts the card number and security code.
func (c CardInput) LogValue() slog.Value { return slog.StringValue(c.String()) }

// ValidationError is a card detail the processor rejects; Field names the input.
type ValidationError struct {
	Code    string // invalid_number, unsupported_brand, invalid_expiry, invalid_cvc, invalid_postal_code, invalid_name
	Message string
	Field   string // number, expiry, cvc, postalCode, name
}

func invalid(code, field, message string) *ValidationError {
	return &ValidationError{Code: code, Message: message, Field: field}
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("sandbox: %s (%s): %s", e.Code, e.Field, e.Message)
}

// validCard is a CardInput that passed validation, without the secrets.
type validCard struct {
	Brand          string
	Last4          string
	ExpMonth       int
	ExpYear        int
	Name           string
	PostalCode     string
	ChargeBehavior string
}

var zipPattern = regexp.MustCompile(`^(\d{5})(?:-?(\d{4}))?$`)

// validate checks a card like a processor would and returns what may be stored, or a
// *ValidationError or *gateway.DeclineError.
func validate(in CardInput, now time.Time) (validCard, error) {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(in.Number)
	if digits == "" {
		return validCard{}, invalid("invalid_number", "number", "Enter a card number.")
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return validCard{}, invalid("invalid_number", "number", "The card number may contain only digits.")
		}
	}
	if len(digits) < 13 || len(digits) > 19 {
		return validCard{}, invalid("invalid_number", "number", "The card number must be 13 to 19 digits.")
	}
	if !luhnValid(digits) {
		return validCard{}, invalid("invalid_number", "number", "The card number is not valid.")
	}
	brand := brandOf(digits)
	if brand == "" {
		return validCard{}, invalid("unsupported_brand", "number", "This card brand is not accepted.")
	}

	year, err := checkExpiry(in.ExpMonth, in.ExpYear, now)
	if err != nil {
		return validCard{}, err
	}

	cvcLen := 3
	if brand == "AMEX" {
		cvcLen = 4
	}
	if len(in.CVC) != cvcLen || strings.Trim(in.CVC, "0123456789") != "" {
		return validCard{}, invalid("invalid_cvc", "cvc", fmt.Sprintf("The security code must be %d digits.", cvcLen))
	}

	m := zipPattern.FindStringSubmatch(strings.TrimSpace(in.PostalCode))
	if m == nil {
		return validCard{}, invalid("invalid_postal_code", "postalCode", "Enter a 5-digit ZIP code or ZIP+4.")
	}
	zip := m[1]
	if m[2] != "" {
		zip += "-" + m[2]
	}

	name := strings.Join(strings.Fields(in.Name), " ")
	if utf8.RuneCountInString(name) > 100 {
		return validCard{}, invalid("invalid_name", "name", "The cardholder name must be at most 100 characters.")
	}

	behavior := chargeApprove
	if tc, ok := testCardsByDigits[digits]; ok {
		if tc.DeclineCode != "" {
			return validCard{}, &gateway.DeclineError{Code: tc.DeclineCode, Message: tc.DeclineMessage}
		}
		behavior = tc.ChargeBehavior
	}
	return validCard{
		Brand:          brand,
		Last4:          digits[len(digits)-4:],
		ExpMonth:       in.ExpMonth,
		ExpYear:        year,
		Name:           name,
		PostalCode:     zip,
		ChargeBehavior: behavior,
	}, nil
}

// checkExpiry returns the 4-digit expiry year; a card is good through the
// last day of its expiry month (UTC).
func checkExpiry(month, year int, now time.Time) (int, error) {
	if month < 1 || month > 12 {
		return 0, invalid("invalid_expiry", "expiry", "The expiry month must be 01 to 12.")
	}
	if year >= 0 && year < 100 {
		year += 2000
	}
	now = now.UTC()
	if year < 2000 || year > now.Year()+20 {
		return 0, invalid("invalid_expiry", "expiry", "The expiry year is not valid.")
	}
	if !now.Before(time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)) {
		return 0, invalid("invalid_expiry", "expiry", "The card has expired.")
	}
	return year, nil
}

// luhnValid reports whether an all-digit string passes the Luhn check.
func luhnValid(digits string) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// brandOf names the card network from the number's IIN, or "" if unknown.
func brandOf(digits string) string {
	prefix := func(n int) int {
		v, _ := strconv.Atoi(digits[:n])
		return v
	}
	p2, p3, p4 := prefix(2), prefix(3), prefix(4)
	switch {
	case digits[0] == '4':
		return "VISA"
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return "MASTERCARD"
	case p2 == 34, p2 == 37:
		return "AMEX"
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65:
		return "DISCOVER"
	case p4 >= 3528 && p4 <= 3589:
		return "JCB"
	case p2 == 36, p3 >= 300 && p3 <= 305, p2 == 38, p2 == 39:
		return "DINERS"
	}
	return ""
}
