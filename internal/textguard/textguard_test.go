package textguard

import (
	"strings"
	"testing"

	"cardfile/internal/apperr"
)

func TestTextRefusesCardNumbersAndBadText(t *testing.T) {
	cases := []struct {
		name, in string
		required bool
		ok       bool
		want     string
	}{
		{"plain description", "  Office Visa  ", true, true, "Office Visa"},
		{"short digit runs are fine", "PO 12345, dept 987654321", true, true, "PO 12345, dept 987654321"},
		{"a card number", "card 4111111111111111 for orders", true, false, ""},
		{"a spaced card number", "4111 1111 1111 1111", true, false, ""},
		{"a dashed amex", "3782-822463-10005", true, false, ""},
		{"a non-Luhn 16 digit run is fine", "order 4111111111111112", true, true, "order 4111111111111112"},
		{"a number between words", "use 5555-5555-5555-4444 today", true, false, ""},
		{"two short numbers", "PO 1234 5678 ok", true, true, "PO 1234 5678 ok"},
		{"empty when required", "   ", true, false, ""},
		{"empty when optional", "", false, true, ""},
		{"too long", strings.Repeat("a", 101), true, false, ""},
		{"exactly the limit", strings.Repeat("é", 100), true, true, strings.Repeat("é", 100)},
		{"control characters", "a\x00b", true, false, ""},
		{"invalid utf-8", "a\xffb", true, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Text("description", c.in, 100, c.required)
			if c.ok {
				if err != nil || got != c.want {
					t.Fatalf("Text(%q) = %q, %v; want %q, nil", c.in, got, err, c.want)
				}
				return
			}
			e, isApp := apperr.As(err)
			if !isApp || e.Code != apperr.BadUserInput || e.Field != "description" {
				t.Fatalf("Text(%q) error = %v; want BAD_USER_INPUT on description", c.in, err)
			}
			if strings.Contains(e.Message, "4111") {
				t.Fatalf("error message echoes the card number: %q", e.Message)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		" ap@buyer.example ": true, "ap@buyer.example": true, "": false, "ap at buyer": false, "ap@localhost": false,
		"AP <ap@buyer.example>": false, "a@b.example, c@d.example": false, "4111111111111111@buyer.example": false,
	} {
		got, err := Email("email", in)
		if ok != (err == nil) || (ok && got != strings.TrimSpace(in)) {
			t.Errorf("Email(%q) = %q, %v", in, got, err)
		}
		if e, isApp := apperr.As(err); err != nil && (!isApp || e.Field != "email") {
			t.Errorf("Email(%q) error %v does not name the field", in, err)
		}
	}
}
