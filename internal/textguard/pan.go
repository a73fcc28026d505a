package textguard

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A brand is one row of the IIN table: card numbers of one of the lengths
// whose first digits fall in one of the ranges.
type brand struct {
	name     string
	ranges   [][2]string // inclusive, as equally long digit prefixes
	min, max int         // the lengths the brand issues
}

// brands is the IIN table, from the ISO/IEC 7812 registrations as listed
// by Wikipedia's "Payment card number" article (checked 2026-12). Lengths
// are the ones each brand issues (for Visa 16 to 19: 17 and 18 cost little
// and leave no gap). Two deliberate choices keep ordinary
// numbers out: Visa's retired 13-digit numbers are left out (German and
// Austrian phone numbers with their country code are 13 digits starting
// with 4), and the broad Maestro/RuPay/Verve/local-debit ranges (50, 56–69,
// 82) count only from 16 digits, which no phone number reaches (E.164 caps
// them at 15), while Maestro's own prefixes count from 13. UATP (1,
// 15 digits) is left out: airline cards, never taken here, and most
// 15-digit order ids start with 1.
var brands = []brand{
	{"Visa", [][2]string{{"4", "4"}}, 16, 19},
	{"Mastercard", [][2]string{{"51", "55"}, {"2221", "2720"}}, 16, 16},
	{"American Express", [][2]string{{"34", "34"}, {"37", "37"}}, 15, 15},
	{"Discover", [][2]string{{"6011", "6011"}, {"644", "649"}, {"65", "65"}, {"622126", "622925"}}, 16, 19},
	{"JCB", [][2]string{{"3528", "3589"}}, 16, 19},
	{"Diners Club", [][2]string{{"300", "305"}, {"3095", "3095"}, {"36", "36"}, {"38", "39"}}, 14, 19},
	{"UnionPay", [][2]string{{"62", "62"}, {"81", "81"}}, 16, 19},
	{"Maestro", [][2]string{{"5018", "5018"}, {"5020", "5020"}, {"5038", "5038"}, {"5893", "5893"}, {"6304", "6304"}, {"6759", "6759"}, {"6761", "6763"}}, 13, 19},
	{"Mir", [][2]string{{"2200", "2204"}}, 16, 19},
	{"Debit (Maestro, RuPay, Verve and others)", [][2]string{{"50", "50"}, {"56", "69"}, {"82", "82"}}, 16, 19},
}

// cardLayouts are the digit groups card numbers are printed in.
var cardLayouts = [][]int{{4, 4, 4, 4}, {4, 6, 5}, {4, 6, 4}}

const (
	maxDigitsAfterWindow  = 10 // MM/YYYY and a 4-digit security code
	maxDigitsBeforeWindow = 4  // a quantity, a month and year
)

// Brand names the card brand whose IIN range and length the ASCII digits
// fit, or "" when they fit none. Luhn is not checked here.
func Brand(digits []byte) string {
	for _, b := range brands {
		if len(digits) < b.min || len(digits) > b.max {
			continue
		}
		for _, r := range b.ranges {
			p := string(digits[:len(r[0])])
			if p >= r[0] && p <= r[1] {
				return b.name
			}
		}
	}
	return ""
}

// IsCardNumber reports whether the ASCII digits are a card number: a
// brand's length and IIN range, and a valid Luhn check digit.
func IsCardNumber(digits []byte) bool { return Brand(digits) != "" && Luhn(digits) }

// A Match is a card number found in a text: the byte range of the
// original text from its first digit to its last.
type Match struct {
	Start, End int
	Brand      string
}

// HasCardNumber reports whether s holds a card number, however it is
// written (see the package's rules above).
func HasCardNumber(s string) bool { return len(Find(s)) > 0 }

// Find returns the card numbers in s, in order and without overlaps.
func Find(s string) []Match {
	var out []Match
	for _, r := range runs(s) {
		for _, m := range r.cards() {
			if n := len(out); n > 0 && m.Start < out[n-1].End {
				out[n-1].End = max(out[n-1].End, m.End)
				continue
			}
			out = append(out, m)
		}
	}
	return out
}

// Masked is what Redact puts in place of a card number: no digits, and
// letters, so that the digits on either side can never join into a number.
// At 14 characters it is no longer than any card number but a 13-digit
// Maestro typed without separators.
const Masked = "[card removed]"

// Redact replaces every card number in s with Masked.
func Redact(s string) string {
	// Removing a number cannot create another (Masked holds letters), but
	// checking again costs little and makes that a fact, not an argument.
	for range 4 {
		ms := Find(s)
		if len(ms) == 0 {
			break
		}
		var b strings.Builder
		last := 0
		for _, m := range ms {
			b.WriteString(s[last:m.Start])
			b.WriteString(Masked)
			last = m.End
		}
		b.WriteString(s[last:])
		s = b.String()
	}
	return s
}

// digit is one digit of a run, with the byte range of the character of
// the original text it came from.
type digit struct {
	d          byte
	start, end int
}

// run is a sequence of digits joined across separators; groups holds the
// index in digits where each group (digits with no visible separator
// between them) starts.
type run struct {
	digits []digit
	groups []int
}

// kind is what a normalised character means to a run.
type kind int

const (
	other     kind = iota // real content: ends the run
	isDigit               // a digit
	separator             // joins digits, ends a group
	invisible             // dropped: joins digits within a group
)

func classify(r rune) (kind, byte) {
	switch {
	case r >= '0' && r <= '9':
		return isDigit, byte(r)
	case r < utf8.RuneSelf:
		switch {
		case r <= ' ' || r == 0x7f || r == '|' || unicode.IsPunct(r):
			return separator, 0
		}
		return other, 0
	case unicode.Is(unicode.Nd, r):
		return isDigit, '0' + ndValue(r)
	case unicode.In(r, unicode.Cf, unicode.M):
		return invisible, 0
	case unicode.In(r, unicode.Z, unicode.Cc, unicode.P, unicode.Co), isMinus(r):
		return separator, 0
	}
	return other, 0
}

// isMinus reports the minus signs that are symbols rather than dashes.
func isMinus(r rune) bool {
	switch r {
	case '\u2212', '\u2796', '\u02d7', '\u2043', '\uff5c', '\u2223':
		return true
	}
	return false
}

// ndValue is the value of a decimal digit: Unicode keeps every Nd digit in
// a block of ten contiguous code points from zero to nine, so the distance
// from the start of its contiguous range, modulo ten, is the value.
func ndValue(r rune) byte {
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return byte((r - start) % 10)
}

// runs splits s into its digit runs.
func runs(s string) []run {
	var out []run
	var cur run
	newGroup := true
	flush := func() {
		if len(cur.digits) > 0 {
			out = append(out, cur)
		}
		cur, newGroup = run{}, true
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		end := i + size
		normal := []rune{r}
		if r >= utf8.RuneSelf && !norm.NFKC.IsNormalString(s[i:end]) {
			normal = []rune(norm.NFKC.String(s[i:end]))
		}
		for _, n := range normal {
			k, d := classify(n)
			switch k {
			case isDigit:
				if newGroup {
					cur.groups = append(cur.groups, len(cur.digits))
					newGroup = false
				}
				cur.digits = append(cur.digits, digit{d, i, end})
			case separator:
				newGroup = true
			case other:
				flush()
			}
		}
		i = end
	}
	flush()
	return out
}

// cards returns the card numbers among the run's candidates.
func (r run) cards() []Match {
	var out []Match
	try := func(from, to int) bool {
		if to-from < 13 || to-from > 19 {
			return false
		}
		ds := make([]byte, to-from)
		for i := range ds {
			ds[i] = r.digits[from+i].d
		}
		if !IsCardNumber(ds) {
			return false
		}
		out = append(out, Match{Start: r.digits[from].start, End: r.digits[to-1].end, Brand: Brand(ds)})
		return true
	}
	n := len(r.digits)
	if try(0, n) {
		return out
	}
	lead := 0
	for lead < n && r.digits[lead].d == '0' {
		lead++
	}
	if lead > 0 && try(lead, n) {
		return out
	}
	// Group boundaries, with n as the end of the last group.
	bounds := append(append([]int(nil), r.groups...), n)
	for g := 0; g+1 < len(bounds); g++ {
		if len(bounds) > 2 {
			try(bounds[g], bounds[g+1])
		}
	}
	if len(out) > 0 {
		return out
	}
	sizes := make([]int, len(bounds)-1)
	for g := range sizes {
		sizes[g] = bounds[g+1] - bounds[g]
	}
	for _, l := range cardLayouts {
		k := len(l)
		if k >= len(sizes) {
			continue
		}
		if slices.Equal(sizes[:k], l) && n-bounds[k] <= maxDigitsAfterWindow && try(0, bounds[k]) {
			return out
		}
		if s := len(sizes) - k; slices.Equal(sizes[s:], l) && bounds[s] <= maxDigitsBeforeWindow && try(bounds[s], n) {
			return out
		}
	}
	return out
}
