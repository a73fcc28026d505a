// Package overview computes the credit manager's figures, aggregated in the
// database: the viewer's privacy rules scope every query to their company.
package overview

import (
	"context"
	"fmt"
	"time"

	"cardfile/ent"
	"cardfile/ent/cardrequest"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/internal/apperr"
	"cardfile/internal/viewer"
)

// Figures are the overview's numbers.
type Figures struct {
	ActiveCustomers         int
	ActiveCustomersWithCard int
	ExpiringByMonth         []MonthCount // the next 12 months, this one first, zero months included
	Requests                RequestOutcomes
}

// MonthCount is how many cards expire in one month ("2026-12").
type MonthCount struct {
	Month string
	Count int
}

// RequestOutcomes counts the card requests sent in the last 30 days, by
// where they stand now.
type RequestOutcomes struct {
	Sent, Pending, Opened, Completed, Expired, Cancelled int
}

// Compute runs the aggregations — five statements, whatever the data size —
// for administrators and credit managers.
func Compute(ctx context.Context, c *ent.Client, now time.Time) (*Figures, error) {
	switch v := viewer.FromContext(ctx); {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	case !v.CanReadAudit():
		return nil, apperr.New(apperr.Forbidden, "the overview is for administrators and credit managers")
	}
	f := &Figures{}
	var err error
	if f.ActiveCustomers, err = c.Customer.Query().Where(customer.Active(true)).Count(ctx); err != nil {
		return nil, err
	}
	if f.ActiveCustomersWithCard, err = c.Customer.Query().Where(customer.Active(true), customer.HasCreditCards()).Count(ctx); err != nil {
		return nil, err
	}

	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var months []struct {
		ExpYear  int `json:"exp_year"`
		ExpMonth int `json:"exp_month"`
		Count    int `json:"count"`
	}
	// A card of month M expires at the start of M+1.
	err = c.CreditCard.Query().
		Where(creditcard.ExpiresAtGT(first), creditcard.ExpiresAtLTE(first.AddDate(1, 0, 0))).
		GroupBy(creditcard.FieldExpYear, creditcard.FieldExpMonth).Aggregate(ent.Count()).Scan(ctx, &months)
	if err != nil {
		return nil, fmt.Errorf("cards expiring by month: %w", err)
	}
	counts := map[string]int{}
	for _, m := range months {
		counts[fmt.Sprintf("%04d-%02d", m.ExpYear, m.ExpMonth)] = m.Count
	}
	for i := range 12 {
		key := first.AddDate(0, i, 0).Format("2006-01")
		f.ExpiringByMonth = append(f.ExpiringByMonth, MonthCount{Month: key, Count: counts[key]})
	}

	var statuses []struct {
		Status cardrequest.Status `json:"status"`
		Count  int                `json:"count"`
	}
	err = c.CardRequest.Query().Where(cardrequest.CreatedAtGTE(now.AddDate(0, 0, -30))).
		GroupBy(cardrequest.FieldStatus).Aggregate(ent.Count()).Scan(ctx, &statuses)
	if err != nil {
		return nil, fmt.Errorf("card requests by outcome: %w", err)
	}
	r := &f.Requests
	for _, s := range statuses {
		r.Sent += s.Count
		switch s.Status {
		case cardrequest.StatusPENDING:
			r.Pending = s.Count
		case cardrequest.StatusOPENED:
			r.Opened = s.Count
		case cardrequest.StatusCOMPLETED:
			r.Completed = s.Count
		case cardrequest.StatusEXPIRED:
			r.Expired = s.Count
		case cardrequest.StatusCANCELLED:
			r.Cancelled = s.Count
		}
	}
	return f, nil
}
