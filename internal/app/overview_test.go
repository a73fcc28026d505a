package app_test

import (
	"fmt"
	"testing"
	"time"

	"cardfile/ent/cardrequest"
	"cardfile/internal/viewer"
)

// The overview's figures come from the database, scoped to the company, and
// only credit managers and admins see them.
func TestOverviewFigures(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 4)
	other := h.newTenant("Other", 1)
	h.app.DB.Customer.UpdateOne(tn.customers[3]).SetActive(false).ExecX(h.sys)
	card := func(cust, month, year int) {
		h.app.DB.CreditCard.Create().SetCompanyID(h.app.DB.Customer.GetX(h.sys, cust).CompanyID).SetCustomerID(cust).
			SetGatewayToken("v1:x").SetBrand("VISA").SetLast4("4242").SetExpMonth(month).SetExpYear(year).SetSource("STAFF").SaveX(h.sys)
	}
	// The clock reads 26 Nov 2026.
	card(tn.customers[0].ID, 11, 2026) // this month
	card(tn.customers[0].ID, 12, 2026)
	card(tn.customers[1].ID, 12, 2026)
	card(tn.customers[1].ID, 10, 2027) // the 12th month
	card(tn.customers[1].ID, 11, 2027) // beyond the window
	card(tn.customers[1].ID, 10, 2026) // already expired
	card(tn.customers[3].ID, 12, 2026) // an inactive customer's
	card(other.customers[0].ID, 12, 2026)
	req := func(status cardrequest.Status, age time.Duration) {
		h.app.DB.CardRequest.Create().SetCompanyID(tn.company.ID).SetCustomerID(tn.customers[2].ID).SetEmail("a@b.example").
			SetTokenHash([]byte(fmt.Sprint(status, age))).SetExpiresAt(h.clock.Now()).SetStatus(status).
			SetCreatedAt(h.clock.Now().Add(-age)).SaveX(h.sys)
	}
	req(cardrequest.StatusCOMPLETED, time.Hour)
	req(cardrequest.StatusCOMPLETED, 48*time.Hour)
	req(cardrequest.StatusEXPIRED, 10*24*time.Hour)
	req(cardrequest.StatusCANCELLED, 29*24*time.Hour)
	req(cardrequest.StatusOPENED, time.Minute)
	req(cardrequest.StatusCOMPLETED, 31*24*time.Hour) // too old

	const q = `{ cardOverview { activeCustomers activeCustomersWithCard expiringByMonth { month count }
		requestsLast30Days { sent pending opened completed expired cancelled } } }`
	var out struct {
		CardOverview struct {
			ActiveCustomers, ActiveCustomersWithCard int
			ExpiringByMonth                          []struct {
				Month string
				Count int
			}
			RequestsLast30Days struct{ Sent, Pending, Opened, Completed, Expired, Cancelled int }
		}
	}
	h.gql(tn.tokens[viewer.CreditManager], q, nil).decode(t, &out)
	o := out.CardOverview
	if o.ActiveCustomers != 3 || o.ActiveCustomersWithCard != 2 {
		t.Fatalf("customers %d with cards %d, want 3 and 2", o.ActiveCustomers, o.ActiveCustomersWithCard)
	}
	if len(o.ExpiringByMonth) != 12 || o.ExpiringByMonth[0].Month != "2026-11" || o.ExpiringByMonth[11].Month != "2027-10" {
		t.Fatalf("months = %+v", o.ExpiringByMonth)
	}
	want := map[string]int{"2026-11": 1, "2026-12": 3, "2027-10": 1}
	for _, m := range o.ExpiringByMonth {
		if m.Count != want[m.Month] {
			t.Fatalf("%s: %d cards, want %d (all: %+v)", m.Month, m.Count, want[m.Month], o.ExpiringByMonth)
		}
	}
	r := o.RequestsLast30Days
	if r.Sent != 5 || r.Completed != 2 || r.Expired != 1 || r.Cancelled != 1 || r.Opened != 1 || r.Pending != 0 {
		t.Fatalf("requests = %+v", r)
	}
	if r := h.gql(tn.tokens[viewer.SalesManager], q, nil); r.code() != "FORBIDDEN" {
		t.Fatalf("a sales manager got %s", r.Raw)
	}

	var exp struct {
		ExpiringCreditCards struct {
			TotalCount int
			Edges      []struct {
				Node struct {
					ExpMonth, ExpYear int
					Customer          struct{ Name string }
				}
			}
		}
	}
	h.gql(tn.tokens[viewer.Admin], `{ expiringCreditCards(first: 10) { totalCount edges { node { expMonth expYear customer { name } } } } }`, nil).decode(t, &exp)
	e := exp.ExpiringCreditCards
	// Expired or ending within 60 days of 26 Nov 2026: 10/2026, 11/2026, and the three 12/2026 cards.
	if e.TotalCount != 5 || e.Edges[0].Node.ExpMonth != 10 || e.Edges[4].Node.ExpMonth != 12 || e.Edges[0].Node.Customer.Name == "" {
		t.Fatalf("expiring = %+v", e)
	}
}
