package app_test

import (
	"fmt"
	"testing"

	"cardfile/internal/viewer"
)

// BenchmarkCustomerPage measures the Setup › Customers page with cards: 100
// customers a page out of 1,000, each with two cards, through the whole
// HTTP handler. Run with: go test -run - -bench CustomerPage ./internal/app
func BenchmarkCustomerPage(b *testing.B) {
	h := newHarness(b)
	tn := h.newTenant("Blossom", 0)
	for i := range 1000 {
		c := h.app.DB.Customer.Create().SetCompanyID(tn.company.ID).SetCode(fmt.Sprintf("C%04d", i)).
			SetName(fmt.Sprintf("Customer %04d", i)).SaveX(h.sys)
		for j := range 2 {
			h.app.DB.CreditCard.Create().SetCompanyID(tn.company.ID).SetCustomerID(c.ID).SetGatewayToken("v1:x").
				SetBrand("VISA").SetLast4("4242").SetExpMonth(1 + j).SetExpYear(2030).SetSource("STAFF").SetIsPrimary(j == 0).SaveX(h.sys)
		}
	}
	const q = `{ customers(first: 100, orderBy: {field: NAME, direction: ASC}, where: {active: true}) { totalCount
		edges { node { id code name canPayByCard { allowed } primaryCreditCard { last4 } creditCards { id last4 expired } } } } }`
	token := tn.tokens[viewer.Admin]
	b.ResetTimer()
	for b.Loop() {
		if r := h.gql(token, q, nil); len(r.Errors) > 0 {
			b.Fatal(r.Raw)
		}
	}
}
