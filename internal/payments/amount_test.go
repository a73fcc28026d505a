package payments

import (
	"testing"

	"cardfile/internal/apperr"
)

func TestParseAmount(t *testing.T) {
	good := map[string]int64{"125": 12500, "125.5": 12550, "125.50": 12550, "0.01": 1, " 7.05 ": 705, "999999.99": 99999999}
	for in, want := range good {
		if got, err := ParseAmount(in); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "0.00", "-5", "+5", "12.345", "1e3", "1,000.00", "abc", "", "12.", ".5", "1000000.00", "99999999999", "NaN", "0x10"} {
		_, err := ParseAmount(in)
		if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || e.Field != "amount" {
			t.Errorf("ParseAmount(%q) = %v; want BAD_USER_INPUT on amount", in, err)
		}
	}
	if FormatCents(12550) != "125.50" || FormatCents(5) != "0.05" {
		t.Error("FormatCents")
	}
}
