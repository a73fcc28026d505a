// Package textguard checks free text that staff or customers type into
// cardfile. Card numbers must never reach our API: a run of 13–19 digits
// that passes the Luhn check is refused wherever it appears.
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

// HasCardNumber reports whether s holds a Luhn-valid run of 13–19 digits,
// either as typed or joined across the spaces and dashes people put between
// digit groups.
func HasCardNumber(s string) bool {
	cardLike := func(d []byte) bool { return len(d) >= 13 && len(d) <= 19 && Luhn(d) }
	var run, group []byte
	for i := 0; i <= len(s); i++ {
		c := byte('x')
		if i < len(s) {
			c = s[i]
		}
		switch {
		case c >= '0' && c <= '9':
			run, group = append(run, c), append(group, c)
		case (c == ' ' || c == '-') && len(group) > 0:
			if cardLike(group) {
				return true
			}
			group = group[:0]
		default:
			if cardLike(group) || cardLike(run) {
				return true
			}
			run, group = run[:0], group[:0]
		}
	}
	return false
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
