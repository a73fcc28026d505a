package payments

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"cardfile/internal/apperr"
)

// MaxAmountCents bounds one card payment: $999,999.99.
const MaxAmountCents = 99_999_999

var amountPattern = regexp.MustCompile(`^([0-9]{1,9})(?:\.([0-9]{1,2}))?$`)

// ParseAmount reads a decimal USD amount ("125", "125.5", "125.50") as exact
// cents. Anything else — more than two decimals, signs, exponents, commas,
// zero, more than MaxAmountCents — is BAD_USER_INPUT on field "amount".
func ParseAmount(s string) (int64, error) {
	m := amountPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, apperr.BadInput("amount", "enter the amount in dollars with at most two decimals, like 125.50")
	}
	dollars, _ := strconv.ParseInt(m[1], 10, 64)
	cents := int64(0)
	if m[2] != "" {
		c, _ := strconv.ParseInt(m[2], 10, 64)
		if len(m[2]) == 1 {
			c *= 10
		}
		cents = c
	}
	total := dollars*100 + cents
	switch {
	case total <= 0:
		return 0, apperr.BadInput("amount", "the amount must be more than zero")
	case total > MaxAmountCents:
		return 0, apperr.BadInput("amount", "the amount must be at most %s", FormatCents(MaxAmountCents))
	}
	return total, nil
}

// FormatCents writes cents as a decimal string: 12550 → "125.50".
func FormatCents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
