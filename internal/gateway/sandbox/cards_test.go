package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"cardfile/internal/gateway"
)

// withLuhn pads prefix with zeros to length-1 digits and appends the Luhn check digit.
func withLuhn(prefix string, length int) string {
	body := prefix + strings.Repeat("0", length-1-len(prefix))
	for d := '0'; d <= '9'; d++ {
		if luhnValid(body + string(d)) {
			return body + string(d)
		}
	}
	panic("unreachable")
}

// validInput is a card that tokenizes on the test clock's date (March 2026).
func validInput() CardInput {
	return CardInput{Number: "4242 4242 4242 4242", ExpMonth: 12, ExpYear: 2030, CVC: "123", PostalCode: "12345", Name: "Jane Doe"}
}

func TestValidate(t *testing.T) {
	now := newTestClock().Now() // 2026-03-10
	tests := []struct {
		name      string
		edit      func(*CardInput)
		wantCode  string // "" means valid
		wantField string
	}{
		{"valid", func(*CardInput) {}, "", ""},
		{"number with dashes", func(c *CardInput) { c.Number = "4242-4242-4242-4242" }, "", ""},
		{"number empty", func(c *CardInput) { c.Number = " " }, "invalid_number", "number"},
		{"number with letters", func(c *CardInput) { c.Number = "4242 4242 4242 424x" }, "invalid_number", "number"},
		{"number 12 digits", func(c *CardInput) { c.Number = withLuhn("4", 12) }, "invalid_number", "number"},
		{"number 13 digits", func(c *CardInput) { c.Number = withLuhn("4", 13) }, "", ""},
		{"number 19 digits", func(c *CardInput) { c.Number = withLuhn("4", 19) }, "", ""},
		{"number 20 digits", func(c *CardInput) { c.Number = withLuhn("4", 20) }, "invalid_number", "number"},
		{"number fails Luhn", func(c *CardInput) { c.Number = "4242 4242 4242 4241" }, "invalid_number", "number"},
		{"number of unknown brand", func(c *CardInput) { c.Number = withLuhn("9", 16) }, "unsupported_brand", "number"},
		{"expiry this month", func(c *CardInput) { c.ExpMonth, c.ExpYear = 3, 2026 }, "", ""},
		{"expiry last month", func(c *CardInput) { c.ExpMonth, c.ExpYear = 2, 2026 }, "invalid_expiry", "expiry"},
		{"expiry two-digit year", func(c *CardInput) { c.ExpMonth, c.ExpYear = 4, 26 }, "", ""},
		{"expiry two-digit year past", func(c *CardInput) { c.ExpMonth, c.ExpYear = 12, 25 }, "invalid_expiry", "expiry"},
		{"expiry month 0", func(c *CardInput) { c.ExpMonth = 0 }, "invalid_expiry", "expiry"},
		{"expiry month 13", func(c *CardInput) { c.ExpMonth = 13 }, "invalid_expiry", "expiry"},
		{"expiry 20 years out", func(c *CardInput) { c.ExpYear = 2046 }, "", ""},
		{"expiry 21 years out", func(c *CardInput) { c.ExpYear = 2047 }, "invalid_expiry", "expiry"},
		{"expiry three-digit year", func(c *CardInput) { c.ExpYear = 203 }, "invalid_expiry", "expiry"},
		{"cvc 4 digits on Visa", func(c *CardInput) { c.CVC = "1234" }, "invalid_cvc", "cvc"},
		{"cvc 2 digits", func(c *CardInput) { c.CVC = "12" }, "invalid_cvc", "cvc"},
		{"cvc not digits", func(c *CardInput) { c.CVC = "12a" }, "invalid_cvc", "cvc"},
		{"cvc 4 digits on Amex", func(c *CardInput) { c.Number, c.CVC = "378282246310005", "1234" }, "", ""},
		{"cvc 3 digits on Amex", func(c *CardInput) { c.Number, c.CVC = "378282246310005", "123" }, "invalid_cvc", "cvc"},
		{"zip+4", func(c *CardInput) { c.PostalCode = "12345-6789" }, "", ""},
		{"zip+4 without dash", func(c *CardInput) { c.PostalCode = "123456789" }, "", ""},
		{"zip 4 digits", func(c *CardInput) { c.PostalCode = "1234" }, "invalid_postal_code", "postalCode"},
		{"zip letters", func(c *CardInput) { c.PostalCode = "SW1A 1AA" }, "invalid_postal_code", "postalCode"},
		{"zip empty", func(c *CardInput) { c.PostalCode = "" }, "invalid_postal_code", "postalCode"},
		{"name empty", func(c *CardInput) { c.Name = "" }, "", ""},
		{"name 100 chars", func(c *CardInput) { c.Name = strings.Repeat("é", 100) }, "", ""},
		{"name 101 chars", func(c *CardInput) { c.Name = strings.Repeat("a", 101) }, "invalid_name", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			tt.edit(&in)
			_, err := validate(in, now)
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("validate: %v, want success", err)
				}
				return
			}
			verr, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("validate: %v, want *ValidationError %s", err, tt.wantCode)
			}
			if verr.Code != tt.wantCode || verr.Field != tt.wantField {
				t.Errorf("got %s on %s, want %s on %s", verr.Code, verr.Field, tt.wantCode, tt.wantField)
			}
			if digits := strings.ReplaceAll(in.Number, " ", ""); digits != "" && strings.Contains(verr.Error(), digits) {
				t.Errorf("error %q contains the card number", verr.Error())
			}
		})
	}
}

func TestValidateNormalizes(t *testing.T) {
	in := CardInput{Number: "3782-822463-10005", ExpMonth: 7, ExpYear: 29, CVC: "4321", PostalCode: " 123456789 ", Name: "  Ada   Lovelace "}
	got, err := validate(in, newTestClock().Now())
	if err != nil {
		t.Fatal(err)
	}
	want := validCard{Brand: "AMEX", Last4: "0005", ExpMonth: 7, ExpYear: 2029, Name: "Ada Lovelace", PostalCode: "12345-6789", ChargeBehavior: "approve"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestBrandFromIIN(t *testing.T) {
	tests := []struct {
		prefix string
		length int
		want   string
	}{
		{"4", 16, "VISA"},
		{"51", 16, "MASTERCARD"},
		{"55", 16, "MASTERCARD"},
		{"50", 16, ""},
		{"56", 16, ""},
		{"2221", 16, "MASTERCARD"},
		{"2720", 16, "MASTERCARD"},
		{"2220", 16, ""},
		{"2721", 16, ""},
		{"34", 15, "AMEX"},
		{"37", 15, "AMEX"},
		{"35", 15, ""},
		{"6011", 16, "DISCOVER"},
		{"6012", 16, ""},
		{"644", 16, "DISCOVER"},
		{"649", 16, "DISCOVER"},
		{"643", 16, ""},
		{"65", 16, "DISCOVER"},
		{"36", 14, "DINERS"},
		{"300", 14, "DINERS"},
		{"305", 14, "DINERS"},
		{"306", 14, ""},
		{"38", 14, "DINERS"},
		{"39", 14, "DINERS"},
		{"3528", 16, "JCB"},
		{"3589", 16, "JCB"},
		{"3527", 16, ""},
		{"3590", 16, ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			number := withLuhn(tt.prefix, tt.length)
			if got := brandOf(number); got != tt.want {
				t.Errorf("brandOf(%s) = %q, want %q", number, got, tt.want)
			}
		})
	}
}

func TestTestCardsBehaveAsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	now := newTestClock().Now()
	for _, tc := range TestCards {
		t.Run(tc.Number, func(t *testing.T) {
			if !bytes.Contains(doc, []byte(tc.Number)) {
				t.Errorf("%s is missing from the package doc", tc.Number)
			}
			in := validInput()
			in.Number = tc.Number
			if tc.Brand == "AMEX" {
				in.CVC = "1234"
			}
			card, err := validate(in, now)
			if tc.DeclineCode != "" {
				derr, ok := errors.AsType[*gateway.DeclineError](err)
				if !ok || derr.Code != tc.DeclineCode || derr.Message != tc.DeclineMessage {
					t.Fatalf("validate: %v, want decline %s", err, tc.DeclineCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if card.Brand != tc.Brand || card.ChargeBehavior != tc.ChargeBehavior {
				t.Errorf("got brand %s behavior %s, want %s %s", card.Brand, card.ChargeBehavior, tc.Brand, tc.ChargeBehavior)
			}
		})
	}
}

func TestCardInputRedacted(t *testing.T) {
	in := CardInput{Number: "4111111111111111", ExpMonth: 1, ExpYear: 2030, CVC: "987", PostalCode: "12345"}
	var logs bytes.Buffer
	dropTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("input", "card", in)
	out := fmt.Sprintf("%v %+v %#v %s", in, in, in, in) + logs.String()
	for _, secret := range []string{"4111111111111111", "987"} {
		if strings.Contains(out, secret) {
			t.Errorf("formatted input contains %q: %s", secret, out)
		}
	}
}
