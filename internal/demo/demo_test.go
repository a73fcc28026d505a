package demo

import (
	"cardfile/internal/sealer"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/company"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/ent/privacy"
	"cardfile/ent/staff"
	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/viewer"

	"golang.org/x/crypto/bcrypt"
)

type env struct {
	d    *db.DB
	auth *auth.Service
	gw   *sandbox.Gateway
	seal *sealer.Sealer
	now  time.Time
}

func newEnv(t *testing.T) env {
	t.Helper()
	d := dbtest.Open(t)
	cfg := auth.DefaultConfig()
	cfg.BcryptCost = bcrypt.MinCost
	gw, err := sandbox.New(d.SQL, d.Dialect, "http://localhost:8080")
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	seal, err := sealer.New(make([]byte, sealer.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return env{d: d, auth: auth.New(d, cfg, nil), gw: gw, seal: seal, now: time.Now().UTC()}
}

func (e env) seed(t *testing.T) *Result {
	t.Helper()
	start := time.Now()
	res, err := Seed(context.Background(), e.d, e.auth, e.gw, e.seal, e.now)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	t.Logf("Seed on %s took %v (created=%v)", e.d.Dialect, time.Since(start).Round(time.Millisecond), res.Created)
	return res
}

func sys() context.Context { return privacy.DecisionContext(context.Background(), privacy.Allow) }

// vaultCount is the number of cards in the sandbox vault.
func vaultCount(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.SQL.QueryRow(`SELECT COUNT(*) FROM sandbox_cards`).Scan(&n); err != nil {
		t.Fatalf("counting vault: %v", err)
	}
	return n
}

func TestSeed(t *testing.T) {
	e := newEnv(t)
	first := e.seed(t)
	if !first.Created || first.CompanyName != DemoCompanyName || first.Customers != customerCount || first.Cards == 0 {
		t.Fatalf("first seed = %+v; want created, %d customers and some cards", first, customerCount)
	}
	if !reflect.DeepEqual(first.Logins, Logins()) || len(first.Logins) != len(viewer.Roles) {
		t.Fatalf("logins = %+v; want one per role", first.Logins)
	}
	vaulted := vaultCount(t, e.d)

	t.Run("second seed creates nothing", func(t *testing.T) {
		again := e.seed(t)
		want := *first
		want.Created = false
		if !reflect.DeepEqual(*again, want) {
			t.Fatalf("second seed = %+v; want %+v", *again, want)
		}
		if n := e.d.Company.Query().Where(company.Name(DemoCompanyName)).CountX(sys()); n != 1 {
			t.Errorf("%d demo companies; want 1", n)
		}
		if n := e.d.Staff.Query().CountX(sys()); n != len(viewer.Roles) {
			t.Errorf("%d staff; want %d", n, len(viewer.Roles))
		}
		if n := vaultCount(t, e.d); n != vaulted {
			t.Errorf("vault holds %d cards after reseeding; want %d", n, vaulted)
		}
	})

	co := e.d.Company.Query().Where(company.Name(DemoCompanyName)).OnlyX(sys())

	t.Run("company", func(t *testing.T) {
		if co.Country != "US" || co.DefaultCurrency != "USD" || !co.CardIntegrationEnabled ||
			!reflect.DeepEqual(co.CardManagerRoles, viewer.DefaultCardManagers) {
			t.Errorf("company = %+v; want US, USD, integration on, default card managers", co)
		}
	})

	custs := e.d.Customer.Query().Where(customer.CompanyID(co.ID)).Order(ent.Asc(customer.FieldCode)).AllX(sys())

	t.Run("customers", func(t *testing.T) {
		if len(custs) != customerCount {
			t.Fatalf("%d customers; want %d", len(custs), customerCount)
		}
		var cad []*ent.Customer
		names, emails := map[string]bool{}, map[string]bool{}
		inactive, restricted := 0, 0
		for i, c := range custs {
			if want := fmt.Sprintf("C%04d", i+1); c.Code != want {
				t.Errorf("customer %d code = %q; want %q", i, c.Code, want)
			}
			if names[c.Name] || emails[c.Email] {
				t.Errorf("duplicate name or email: %q %q", c.Name, c.Email)
			}
			names[c.Name], emails[c.Email] = true, true
			if !strings.HasSuffix(c.Email, ".example") || c.Phone == "" {
				t.Errorf("customer %s contact = %q, %q", c.Code, c.Email, c.Phone)
			}
			if c.DefaultCurrency != "USD" {
				cad = append(cad, c)
			}
			if !c.Active {
				inactive++
			}
			if c.RestrictCardPayments {
				restricted++
			}
		}
		if len(cad) != 1 || cad[0].DefaultCurrency != "CAD" || cad[0].Country != "CA" || cad[0].Code != "C0042" {
			t.Errorf("non-USD customers = %v; want only C0042 in CAD, country CA", cad)
		}
		if inactive != inactiveCount || restricted != restrictCount {
			t.Errorf("%d inactive, %d restricted; want %d and %d", inactive, restricted, inactiveCount, restrictCount)
		}
	})

	all := e.d.CreditCard.Query().Where(creditcard.CompanyID(co.ID)).AllX(sys())

	t.Run("cards", func(t *testing.T) {
		if len(all) != first.Cards {
			t.Fatalf("%d cards; Seed reported %d", len(all), first.Cards)
		}
		byCustomer := map[int][]*ent.CreditCard{}
		expired, expiring := 0, 0
		for _, c := range all {
			byCustomer[c.CustomerID] = append(byCustomer[c.CustomerID], c)
			if cards.Expired(c, e.now) {
				expired++
			}
			if cards.ExpiresSoon(c, e.now) {
				expiring++
			}
			if c.BillingZip != billingZip || c.CardholderName == "" || !c.CreatedAt.Before(e.now) {
				t.Errorf("card %d: zip %q, holder %q, created %v", c.ID, c.BillingZip, c.CardholderName, c.CreatedAt)
			}
		}
		t.Logf("%d cards for %d customers: %d expired, %d expiring within 60 days", len(all), len(byCustomer), expired, expiring)
		if len(byCustomer) != withCardsCount {
			t.Errorf("%d customers have cards; want %d", len(byCustomer), withCardsCount)
		}
		if pct := expired * 100 / len(all); expired == 0 || pct < 5 || pct > 12 {
			t.Errorf("%d of %d cards expired; want about %d%%", expired, len(all), expiredPct)
		}
		if pct := expiring * 100 / len(all); expiring == 0 || pct < 7 || pct > 14 {
			t.Errorf("%d of %d cards expire within 60 days; want about %d%%", expiring, len(all), expiringPct)
		}
		for id, cs := range byCustomer {
			if len(cs) > 3 {
				t.Errorf("customer %d has %d cards; want 1–3", id, len(cs))
			}
			var primaries []*ent.CreditCard
			var want *ent.CreditCard // newest unexpired, else newest
			for _, c := range cs {
				if c.IsPrimary {
					primaries = append(primaries, c)
				}
				if want == nil || (cards.Expired(want, e.now) && !cards.Expired(c, e.now)) ||
					(cards.Expired(want, e.now) == cards.Expired(c, e.now) && c.CreatedAt.After(want.CreatedAt)) {
					want = c
				}
			}
			if len(primaries) != 1 || primaries[0].ID != want.ID {
				t.Errorf("customer %d: %d primaries; want exactly card %d (newest unexpired)", id, len(primaries), want.ID)
			}
		}
		if cad := custs[cadIndex]; len(byCustomer[cad.ID]) == 0 {
			t.Errorf("the CAD customer %s has no card", cad.Code)
		}
	})

	t.Run("cards are in the sandbox vault", func(t *testing.T) {
		approved := map[string]bool{}
		for _, tc := range approvedCards() {
			digits := strings.ReplaceAll(tc.Number, " ", "")
			approved[tc.Brand+digits[len(digits)-4:]] = true
		}
		seen := map[string]bool{}
		for _, c := range all {
			token, err := e.seal.Open(c.GatewayToken, cards.GatewayTokenPurpose)
			if err != nil {
				t.Fatalf("card %d: gateway token is not sealed: %v", c.ID, err)
			}
			c.GatewayToken = token
			if !strings.HasPrefix(c.GatewayToken, "sbct_") || seen[c.GatewayToken] {
				t.Fatalf("card %d token is not a distinct sandbox card token", c.ID)
			}
			seen[c.GatewayToken] = true
			if !approved[string(c.Brand)+c.Last4] {
				t.Errorf("card %d is %s %s, not an approved sandbox test card", c.ID, c.Brand, c.Last4)
			}
			// The vault keys cards by the hex SHA-256 of their token (sandbox.go);
			// the stored card must be the one on the row.
			sum := sha256.Sum256([]byte(c.GatewayToken))
			var brand, last4 string
			var month, year int
			err = e.d.SQL.QueryRow(`SELECT brand, last4, exp_month, exp_year FROM sandbox_cards WHERE token_hash = $1`,
				hex.EncodeToString(sum[:])).Scan(&brand, &last4, &month, &year)
			if err != nil {
				t.Fatalf("card %d: vault lookup: %v", c.ID, err)
			}
			if brand != string(c.Brand) || last4 != c.Last4 || month != c.ExpMonth || year != c.ExpYear {
				t.Errorf("card %d: vault has %s %s %d/%d; row has %s %s %d/%d",
					c.ID, brand, last4, month, year, c.Brand, c.Last4, c.ExpMonth, c.ExpYear)
			}
		}
		if vaulted != len(all) {
			t.Errorf("vault holds %d cards; want exactly the %d on file", vaulted, len(all))
		}
	})

	t.Run("reseed restores a missing login", func(t *testing.T) {
		e.d.Staff.Delete().Where(staff.Email("viewer@blossom.demo")).ExecX(sys())
		if again := e.seed(t); again.Created {
			t.Fatalf("reseed created the company again")
		}
		if n := e.d.Staff.Query().Where(staff.CompanyID(co.ID)).CountX(sys()); n != len(viewer.Roles) {
			t.Errorf("%d staff after reseed; want %d", n, len(viewer.Roles))
		}
	})

	t.Run("every login signs in", func(t *testing.T) {
		for _, l := range first.Logins {
			got, err := e.auth.Login(context.Background(), l.Email, l.Password, "127.0.0.1")
			if err != nil {
				t.Errorf("login %s: %v", l.Email, err)
				continue
			}
			if got.Staff.Role != l.Role || got.Staff.CompanyID != co.ID {
				t.Errorf("login %s is %s in company %d; want %s in %d", l.Email, got.Staff.Role, got.Staff.CompanyID, l.Role, co.ID)
			}
		}
	})
}

func TestConcurrentSeedsMakeOneCompany(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds twice")
	}
	e := newEnv(t)
	var wg sync.WaitGroup
	results := make([]*Result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = Seed(context.Background(), e.d, e.auth, e.gw, e.seal, e.now) })
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if results[i].Created {
			created++
		}
		if results[i].Customers != customerCount {
			t.Errorf("seed %d reports %d customers", i, results[i].Customers)
		}
	}
	if created != 1 {
		t.Errorf("%d seeds created the company; want 1", created)
	}
	if n := e.d.Company.Query().CountX(sys()); n != 1 {
		t.Errorf("%d companies; want 1", n)
	}
	if n, want := vaultCount(t, e.d), results[0].Cards; n != want {
		t.Errorf("vault holds %d cards; want the %d on file (the loser's discarded)", n, want)
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	now := time.Date(2026, 2, 10, 15, 0, 0, 0, time.UTC)
	a, b := buildPlan(now), buildPlan(now)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans for the same instant differ")
	}
	if a[cadIndex].Name != cadCustomer.Name || len(a[cadIndex].Cards) == 0 {
		t.Errorf("C0042 = %+v; want %s with a card", a[cadIndex], cadCustomer.Name)
	}
}
