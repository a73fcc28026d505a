package demo

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"cardfile/ent/creditcard"
	"cardfile/internal/cards"
	"cardfile/internal/expiry"
	"cardfile/internal/gateway/sandbox"
)

// The shape of the demo book of customers.
const (
	customerCount  = 200
	cadIndex       = 41 // C0042, the one Canadian-dollar customer
	inactiveCount  = 10 // ~5%
	restrictCount  = 6  // ~3%
	withCardsCount = 140
	expiredPct     = 8
	expiringPct    = 10
	// historyYears is how far back the expired cards were saved: then they were valid.
	historyYears = 3
	billingZip   = "12345"
)

// planSeed fixes the random stream so every demo database looks the same.
var planSeed = [2]uint64{0x626c6f73736f6d, 0x77686f6c6573616c} // "blossom", "wholesal"

// customerPlan is one customer to create and the cards to put on file for it.
type customerPlan struct {
	Code, Name, Email, Phone string
	Currency, Country        string
	Active, Restricted       bool
	CreatedAt                time.Time
	Cards                    []*cardPlan // oldest first
}

// cardPlan is one card to vault in the sandbox and keep on file. Number is a
// published sandbox test number: it goes to the sandbox's Tokenize, like the
// hosted fields would send it, and is never stored by cardfile.
type cardPlan struct {
	Number, CVC       string
	ExpMonth, ExpYear int
	Holder            string
	Description       string
	Source            creditcard.Source
	SavedAt           time.Time
	// Expired cards are saved through a gateway whose clock is SavedAt, years ago.
	Expired bool
	Primary bool
}

var (
	namePrefixes = []string{
		"Sunrise", "Green Valley", "Blue Ridge", "Golden Gate", "Harbor", "Riverbend", "Meadowbrook",
		"Willow Creek", "Cedar Hill", "Oak Grove", "Silver Lake", "Pine Ridge", "Coastal", "Prairie",
		"Summit", "Orchard Hill", "Magnolia", "Bayside", "Lakeside", "Hillcrest", "Sunflower", "Evergreen",
		"Fairview", "Red Barn", "Twin Oaks", "Stonebridge", "Rosewood", "Highland", "Valley View",
		"Wildflower", "Bluebell", "Juniper", "Heritage", "Main Street", "Northside", "Desert Bloom",
		"Peach State", "Lone Star", "Cascade", "Tidewater",
	}
	nameCores = []string{
		"Floral", "Flowers", "Blooms", "Garden Center", "Produce", "Market", "Florist", "Greenhouse",
		"Nursery", "Farms", "Petals", "Fresh Market", "Events", "Botanicals", "Grocers", "Flower Shop",
	}
	nameSuffixes = []string{"Co.", "Inc.", "LLC", "", "", "Company", "& Co."}
	emailLocals  = []string{"ap", "ap", "accounts", "billing", "office", "orders", "purchasing"}
	areaCodes    = []string{"212", "303", "404", "415", "503", "512", "602", "617", "702", "713", "808", "919"}
	firstNames   = []string{
		"Maria", "James", "Linda", "Robert", "Patricia", "David", "Jennifer", "Michael", "Elizabeth",
		"William", "Susan", "Carlos", "Karen", "Daniel", "Nancy", "Thomas", "Lisa", "Anthony", "Betty",
		"Mark", "Sandra", "Kevin", "Ashley", "Brian", "Priya", "Wei", "Fatima", "Luis", "Grace", "Omar",
	}
	lastNames = []string{
		"Garcia", "Smith", "Johnson", "Nguyen", "Patel", "Brown", "Martinez", "Lee", "Walker", "Hall",
		"Young", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter",
		"Rivera", "Campbell", "Chen", "Kim", "Okafor", "Hughes", "Price", "Bennett", "Ramos",
	}
	descriptions = []string{
		"Office card", "AP %s", "Owner's %s", "Purchasing card", "Backup card", "Company %s",
		"Manager's %s", "Deliveries card", "",
	}
	brandLabels  = map[string]string{"VISA": "Visa", "MASTERCARD": "Mastercard", "AMEX": "Amex", "DISCOVER": "Discover", "DINERS": "Diners Club", "JCB": "JCB"}
	brandWeights = map[string]int{"VISA": 25, "MASTERCARD": 15, "AMEX": 14, "DISCOVER": 6, "DINERS": 2, "JCB": 2}
)

// The one customer outside the US, so currency handling has something to show.
var cadCustomer = struct{ Name, Slug, Phone string }{"Maple Leaf Blooms Ltd.", "mapleleafblooms", "(604) 555-0142"}

// approvedCards are the sandbox test cards that save and later charge normally.
func approvedCards() []sandbox.TestCard {
	var out []sandbox.TestCard
	for _, tc := range sandbox.TestCards {
		if tc.DeclineCode == "" && tc.ChargeBehavior == "approve" {
			out = append(out, tc)
		}
	}
	return out
}

// buildPlan returns the demo customers and their cards. It is a pure function
// of now: the same random stream every time, dates relative to now.
func buildPlan(now time.Time) []*customerPlan {
	now = now.UTC()
	r := rand.New(rand.NewPCG(planSeed[0], planSeed[1]))
	historyStart := now.AddDate(-historyYears, 0, 0)

	// Unique business names: a shuffled slice of prefix × core pairs.
	type pair struct{ prefix, core string }
	var pairs []pair
	for _, p := range namePrefixes {
		for _, c := range nameCores {
			pairs = append(pairs, pair{p, c})
		}
	}
	r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })

	customers := make([]*customerPlan, customerCount)
	next := 0
	for i := range customers {
		c := &customerPlan{
			Code:      fmt.Sprintf("C%04d", i+1),
			Currency:  "USD",
			Country:   "US",
			Active:    true,
			CreatedAt: historyStart.AddDate(0, 0, -r.IntN(365)).Add(-time.Duration(r.IntN(24*60)) * time.Minute),
		}
		local := pick(r, emailLocals)
		if i == cadIndex {
			c.Name, c.Phone, c.Currency, c.Country = cadCustomer.Name, cadCustomer.Phone, "CAD", "CA"
			c.Email = local + "@" + cadCustomer.Slug + ".example"
		} else {
			p := pairs[next]
			next++
			c.Name = strings.TrimSpace(p.prefix + " " + p.core + " " + pick(r, nameSuffixes))
			c.Email = local + "@" + slug(p.prefix+p.core) + ".example"
			c.Phone = fmt.Sprintf("(%s) 555-01%02d", pick(r, areaCodes), r.IntN(100))
		}
		customers[i] = c
	}

	// Inactive and restricted customers: disjoint, and never the CAD one.
	others := r.Perm(customerCount)
	others = slices.DeleteFunc(others, func(i int) bool { return i == cadIndex })
	for _, i := range others[:inactiveCount] {
		customers[i].Active = false
	}
	for _, i := range others[inactiveCount : inactiveCount+restrictCount] {
		customers[i].Restricted = true
	}

	// Who has cards: the CAD customer and withCardsCount-1 others.
	holders := []int{cadIndex}
	for _, i := range r.Perm(customerCount) {
		if i != cadIndex && len(holders) < withCardsCount {
			holders = append(holders, i)
		}
	}
	approved := approvedCards()
	var all []*cardPlan
	for _, i := range holders {
		n := 1
		switch x := r.IntN(100); {
		case x >= 85:
			n = 3
		case x >= 55:
			n = 2
		}
		for _, tc := range pickCards(r, approved, n) {
			cp := &cardPlan{
				Number: tc.Number,
				CVC:    "123",
				Holder: pick(r, firstNames) + " " + pick(r, lastNames),
				Source: creditcard.SourceSTAFF,
			}
			if tc.Brand == "AMEX" {
				cp.CVC = "1234"
			}
			if r.IntN(100) < 35 {
				cp.Source = creditcard.SourceCUSTOMER_FORM
			}
			if d := pick(r, descriptions); strings.Contains(d, "%s") {
				cp.Description = fmt.Sprintf(d, brandLabels[tc.Brand])
			} else {
				cp.Description = d
			}
			customers[i].Cards = append(customers[i].Cards, cp)
			all = append(all, cp)
		}
	}

	// Expiry states: fixed shares of all cards, spread at random.
	order := r.Perm(len(all))
	nExpired := (len(all)*expiredPct + 50) / 100
	nExpiring := (len(all)*expiringPct + 50) / 100
	thisMonth := now.Year()*12 + int(now.Month()) - 1
	for k, idx := range order {
		cp := all[idx]
		switch {
		case k < nExpired:
			// Expired 1–30 months ago; saved in the first months of the history window.
			cp.Expired = true
			cp.ExpYear, cp.ExpMonth = monthYear(thisMonth - 1 - r.IntN(30))
			cp.SavedAt = historyStart.AddDate(0, 0, r.IntN(120)).Add(time.Duration(r.IntN(8*60)) * time.Minute)
		case k < nExpired+nExpiring:
			// Good through this month or next, whichever still ends within the window.
			cp.ExpYear, cp.ExpMonth = monthYear(thisMonth)
			if y, m := monthYear(thisMonth + 1); r.IntN(2) == 0 && expiry.End(m, y).Before(now.Add(cards.ExpiringWindow)) {
				cp.ExpYear, cp.ExpMonth = y, m
			}
			cp.SavedAt = now.AddDate(0, 0, -400-r.IntN(600)).Add(time.Duration(r.IntN(8*60)) * time.Minute)
		default:
			// Well clear of the expiring window: 3 to 48 months ahead.
			cp.ExpYear, cp.ExpMonth = monthYear(thisMonth + 3 + r.IntN(46))
			cp.SavedAt = now.AddDate(0, 0, -1-r.IntN(540)).Add(time.Duration(r.IntN(8*60)) * time.Minute)
		}
	}

	// Oldest first, so row IDs follow history; the primary is the newest
	// unexpired card, or the newest card when all have expired.
	for _, c := range customers {
		slices.SortStableFunc(c.Cards, func(a, b *cardPlan) int { return a.SavedAt.Compare(b.SavedAt) })
		var primary *cardPlan
		for _, cp := range c.Cards {
			if !cp.Expired || primary == nil || primary.Expired {
				primary = cp
			}
		}
		if primary != nil {
			primary.Primary = true
		}
	}
	return customers
}

// pickCards draws n distinct cards, weighted by how common their brand is.
func pickCards(r *rand.Rand, from []sandbox.TestCard, n int) []sandbox.TestCard {
	left := slices.Clone(from)
	var out []sandbox.TestCard
	for range min(n, len(left)) {
		total := 0
		for _, tc := range left {
			total += max(brandWeights[tc.Brand], 1)
		}
		x := r.IntN(total)
		for i, tc := range left {
			if x -= max(brandWeights[tc.Brand], 1); x < 0 {
				out = append(out, tc)
				left = slices.Delete(left, i, i+1)
				break
			}
		}
	}
	return out
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

// monthYear turns a month count (year*12 + month-1) into a year and a 1–12 month.
func monthYear(months int) (year, month int) { return months / 12, months%12 + 1 }

// slug keeps the lower-case letters and digits of s, for an email domain.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}
