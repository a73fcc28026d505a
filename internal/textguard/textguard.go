// Package textguard checks free text that staff or customers type into
// cardfile. Card numbers must never reach our API: one written in any way
// (spaced, dotted, full-width, with zero-width characters between the
// digits) is refused wherever it appears, and Find and Redact let the scan
// find and remove those that got in before.
//
// How a card number is recognised, and why each choice was made:
//
//  1. Normalise. Every character is NFKC-normalised on its own (so that
//     positions map back to the original text, which Redact needs; NFKC
//     composition never yields a digit, so normalising character by
//     character classifies digits exactly as normalising the whole string
//     would). NFKC turns full-width, circled, superscript and mathematical
//     digits into ASCII; every other Unicode decimal digit (unicode.Nd:
//     Arabic-Indic, Devanagari, …) is mapped to its value.
//  2. Join. A run is a sequence of digits with only separators between
//     them: white space and every Unicode space (Z, Cc), all punctuation (P:
//     dashes and hyphens of every kind, dots, slashes, commas, underscores,
//     apostrophes, brackets, @), minus signs, '|', and private-use
//     characters. Format characters (Cf: zero-width spaces and joiners, the
//     BOM, soft hyphens) and combining marks (M) are dropped without even
//     ending a digit group. Letters and the remaining symbols (+ $ € % = …)
//     are real content: digits are never joined across them.
//  3. Candidates. In each run: the whole run; the whole run without leading
//     zeros; every single group of digits typed without a separator; and
//     a card-shaped window (groups of 4-4-4-4, 4-6-5 or 4-6-4, the way
//     cards are printed) at the start of the run with at most 10 more digits
//     after it (an expiry and a security code), or at its end with at most
//     4 digits before it (a quantity, a month). Windows in the middle of a
//     run, or with more digits around them, are not checked: grouped
//     tracking numbers (USPS, FedEx) and all-digit IBANs (ES, PL, PT) are
//     runs of 20-26 digits in groups of four, and checking every window in
//     them would refuse about 3% of such references per window. For the same
//     reason digits glued to a card number with no separator at all
//     (a "1" typed straight before a 16-digit number) are not looked into: such a run is
//     indistinguishable from a long identifier.
//  4. Decide. A candidate is a card number when its length is one the brand
//     issues, it starts in that brand's IIN range (the table below), and it
//     passes the Luhn check.
package textguard

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"cardfile/internal/apperr"
)

// Text validates a free-text field: valid UTF-8, no control characters, at
// most maxLen characters after trimming, no card number. It returns the
// trimmed text or a BAD_USER_INPUT error naming field.
func Text(field, s string, maxLen int, required bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.BadInput(field, "%s is not valid text", field)
	}
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case required && n == 0:
		return "", apperr.BadInput(field, "%s must not be empty", field)
	case n > maxLen:
		return "", apperr.BadInput(field, "%s must be at most %d characters", field, maxLen)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", apperr.BadInput(field, "%s must not contain control characters", field)
	}
	if HasCardNumber(s) {
		return "", apperr.BadInput(field, "%s looks like it contains a card number; card numbers go only into the secure card fields", field)
	}
	return s, nil
}

// Luhn reports whether the ASCII digits pass the Luhn checksum.
func Luhn(digits []byte) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return len(digits) > 0 && sum%10 == 0
}

// Email validates one bare email address (no display name, a dotted
// domain, at most 254 bytes, no card number) and returns it trimmed, or a
// BAD_USER_INPUT error naming field.
func Email(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apperr.BadInput(field, "enter an email address")
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndex(s, "@")
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 || at < 0 ||
		!strings.Contains(s[at+1:], ".") || HasCardNumber(s) {
		return "", apperr.BadInput(field, "enter one email address, like ap@example.com")
	}
	return s, nil
}
