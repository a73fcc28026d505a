package cards

import (
	"sort"
	"time"

	"cardfile/ent"
	"cardfile/ent/creditcard"
	"cardfile/internal/apperr"
	"cardfile/internal/expiry"
)

// ExpiringWindow is how far ahead a card counts as expiring soon.
const ExpiringWindow = 60 * 24 * time.Hour

// Expired reports whether the card has expired at now.
func Expired(c *ent.CreditCard, now time.Time) bool {
	return !now.Before(expiry.End(c.ExpMonth, c.ExpYear))
}

// ExpiresSoon reports whether an unexpired card expires within ExpiringWindow.
func ExpiresSoon(c *ent.CreditCard, now time.Time) bool {
	return !Expired(c, now) && now.Add(ExpiringWindow).After(expiry.End(c.ExpMonth, c.ExpYear))
}

// SortPrimaryFirst orders cards as every screen shows them: the primary
// card, then the newest first.
func SortPrimaryFirst(cs []*ent.CreditCard) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.IsPrimary != b.IsPrimary {
			return a.IsPrimary
		}
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.After(b.CreatedAt)
		}
		return a.ID > b.ID
	})
}

// MaxExpiringWindowDays bounds the expiring-cards window.
const MaxExpiringWindowDays = 366

// Expiring returns the query for cards expired or expiring within days,
// soonest first; the privacy rules scope it to the viewer's company.
func (s *Service) Expiring(days int) (*ent.CreditCardQuery, error) {
	if days < 0 || days > MaxExpiringWindowDays {
		return nil, apperr.BadInput("withinDays", "withinDays must be between 0 and %d", MaxExpiringWindowDays)
	}
	return s.client.CreditCard.Query().Where(creditcard.ExpiresAtLTE(s.now().AddDate(0, 0, days))), nil
}
