// Package expiry holds the one rule for when a card stops working: at the
// start of the month after its expiry month, in UTC.
package expiry

import "time"

// End is the first instant a card expiring in month/year is no longer valid.
func End(month, year int) time.Time {
	return time.Date(year, time.Month(month)+1, 1, 0, 0, 0, 0, time.UTC)
}
