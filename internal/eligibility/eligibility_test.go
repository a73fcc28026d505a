package eligibility

import (
	"testing"

	"cardfile/ent"
)

func TestCustomerRefusesEachRuleOnItsOwn(t *testing.T) {
	usCo := func() *ent.Company {
		return &ent.Company{Country: "US", DefaultCurrency: "USD", CardIntegrationEnabled: true}
	}
	usd := &ent.Customer{DefaultCurrency: "USD"}
	cases := []struct {
		name string
		co   func(*ent.Company)
		cu   *ent.Customer
		want Refusal
	}{
		{"US company, USD customer", func(*ent.Company) {}, usd, ""},
		{"non-US company", func(c *ent.Company) { c.Country = "CA" }, usd, CompanyNotUS},
		{"CAD company", func(c *ent.Company) { c.DefaultCurrency = "CAD" }, usd, CompanyNotUSD},
		{"CAD customer", func(*ent.Company) {}, &ent.Customer{DefaultCurrency: "CAD"}, CustomerNotUSD},
		{"integration off", func(c *ent.Company) { c.CardIntegrationEnabled = false }, usd, IntegrationOff},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			co := usCo()
			c.co(co)
			v := Customer(co, c.cu)
			if v.Allowed != (c.want == "") || v.Refusal != c.want {
				t.Fatalf("Eligibility = %+v, want refusal %q", v, c.want)
			}
			if !v.Allowed && v.Reason == "" {
				t.Fatal("a refusal must say why")
			}
		})
	}
}
