// Package demo seeds the demo company that `make run` shows: staff of every
// role, 200 wholesale customers (one in Canadian dollars) and cards on file
// that are real entries in the sandbox gateway's vault. Seeding is
// idempotent: once the company exists, Seed only reports it again.
package demo

import (
	"cardfile/internal/cards"
	"cardfile/internal/sealer"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cardfile/ent"
	"cardfile/ent/company"
	"cardfile/ent/creditcard"
	"cardfile/ent/customer"
	"cardfile/ent/privacy"
	"cardfile/ent/staff"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/db"
	"cardfile/internal/gateway"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/viewer"

	"entgo.io/ent/dialect"
)

// DemoCompanyName names the demo company; its presence means the demo is seeded.
const DemoCompanyName = "Blossom Wholesale Supply"

// emailDomain is the demo staff's sign-in domain.
const emailDomain = "blossom.demo"

// Login is a demo staff sign-in.
type Login struct {
	Role     viewer.Role
	Email    string
	Password string
}

// Result describes the demo company after Seed.
type Result struct {
	CompanyName string
	Logins      []Login
	Customers   int
	Cards       int
	// Created is true when this call created the company, false when it already existed.
	Created bool
}

// staffNames are the demo staff, one per role.
var staffNames = map[viewer.Role]string{
	viewer.Admin:              "Ada Admin",
	viewer.SalesManager:       "Sam Sales",
	viewer.SalesAllocation:    "Alice Allocation",
	viewer.CreditManager:      "Carla Credit",
	viewer.Salesperson:        "Sally Seller",
	viewer.AccountsReceivable: "Rita Receivable",
	viewer.Viewer:             "Vic Viewer",
}

// Logins returns the fixed demo sign-ins, one per role in viewer.Roles order:
// ADMIN is admin@blossom.demo / demo-admin-pass, SALES_MANAGER is
// sales.manager@blossom.demo / demo-sales-manager-pass, and so on.
func Logins() []Login {
	out := make([]Login, 0, len(viewer.Roles))
	for _, r := range viewer.Roles {
		name := strings.ToLower(string(r))
		out = append(out, Login{
			Role:     r,
			Email:    strings.ReplaceAll(name, "_", ".") + "@" + emailDomain,
			Password: "demo-" + strings.ReplaceAll(name, "_", "-") + "-pass",
		})
	}
	return out
}

// seedLockKey serializes concurrent seeders on PostgreSQL; arbitrary but fixed ("demoseed").
const seedLockKey = 0x64656d6f73656564

// Seed creates the demo company unless it exists, and returns what is there.
// now anchors every date (customer history, card expiries); gw vaults the
// cards that are valid at now.
// Gateway tokens are stored sealed with seal, as the cards package stores them.
func Seed(ctx context.Context, d *db.DB, authSvc *auth.Service, gw *sandbox.Gateway, seal *sealer.Sealer, now time.Time) (*Result, error) {
	// Seeding is system work: there is no staff viewer yet.
	ctx = privacy.DecisionContext(ctx, privacy.Allow)
	co, err := d.Company.Query().Where(company.Name(DemoCompanyName)).First(ctx)
	if err == nil {
		return finish(ctx, d, authSvc, co.ID, false)
	}
	if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("looking for the demo company: %w", err)
	}

	plan := buildPlan(now)
	// The vault lives in the same database but the sandbox writes through its
	// own connection, so it cannot join the transaction below; and on SQLite
	// it must not run while that transaction holds the write lock. So the
	// cards are vaulted first. If the transaction then fails they are deleted
	// again; a crash in between leaves only unreferenced vault rows, which
	// hold no card data and are harmless.
	vaulted, err := vaultCards(ctx, d, gw, plan)
	if err != nil {
		discard(ctx, gw, vaulted)
		return nil, err
	}

	var companyID int
	err = d.Tx(ctx, func(tx *db.Tx) error {
		var err error
		companyID, err = createCompany(ctx, tx, d.Dialect, plan, vaulted, seal, now)
		return err
	})
	if errors.Is(err, errAlreadySeeded) {
		// Another seeder won the race: ours are not needed.
		discard(ctx, gw, vaulted)
		co, err := d.Company.Query().Where(company.Name(DemoCompanyName)).First(ctx)
		if err != nil {
			return nil, fmt.Errorf("looking for the demo company: %w", err)
		}
		return finish(ctx, d, authSvc, co.ID, false)
	}
	if err != nil {
		discard(ctx, gw, vaulted)
		return nil, fmt.Errorf("seeding the demo company: %w", err)
	}
	return finish(ctx, d, authSvc, companyID, true)
}

var errAlreadySeeded = errors.New("demo company already exists")

// createCompany writes the company, its customers and their cards in tx.
func createCompany(ctx context.Context, tx *db.Tx, dia string, plan []*customerPlan, vaulted map[*cardPlan]gateway.Card, seal *sealer.Sealer, now time.Time) (int, error) {
	if dia == dialect.Postgres {
		if _, err := tx.SQL.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(seedLockKey)); err != nil {
			return 0, fmt.Errorf("locking the demo seed: %w", err)
		}
	}
	// Checked again under the lock (PostgreSQL) or the write lock (SQLite's immediate transactions).
	exists, err := tx.Company.Query().Where(company.Name(DemoCompanyName)).Exist(ctx)
	if err != nil {
		return 0, fmt.Errorf("looking for the demo company: %w", err)
	}
	if exists {
		return 0, errAlreadySeeded
	}

	founded := now.UTC().AddDate(-historyYears-2, 0, 0)
	co, err := tx.Company.Create().
		SetName(DemoCompanyName).SetCountry("US").SetDefaultCurrency("USD").
		SetCardIntegrationEnabled(true).SetCardManagerRoles(slices.Clone(viewer.DefaultCardManagers)).
		SetCreatedAt(founded).SetUpdatedAt(founded).
		Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("creating company: %w", err)
	}

	custs := make([]*ent.CustomerCreate, len(plan))
	for i, c := range plan {
		custs[i] = tx.Customer.Create().
			SetCompanyID(co.ID).SetCode(c.Code).SetName(c.Name).SetEmail(c.Email).SetPhone(c.Phone).
			SetDefaultCurrency(c.Currency).SetCountry(c.Country).
			SetActive(c.Active).SetRestrictCardPayments(c.Restricted).
			SetCreatedAt(c.CreatedAt).SetUpdatedAt(c.CreatedAt)
	}
	saved, err := tx.Customer.CreateBulk(custs...).Save(ctx)
	if err != nil {
		return 0, fmt.Errorf("creating customers: %w", err)
	}

	var cardRows []*ent.CreditCardCreate
	for i, c := range plan {
		for _, cp := range c.Cards {
			v := vaulted[cp]
			sealed, err := seal.Seal(v.Token, cards.GatewayTokenPurpose)
			if err != nil {
				return 0, err
			}
			cardRows = append(cardRows, tx.CreditCard.Create().
				SetCompanyID(co.ID).SetCustomerID(saved[i].ID).
				SetGatewayToken(sealed).SetBrand(cards.BrandOf(v.Brand)).SetLast4(v.Last4).
				SetExpMonth(v.ExpMonth).SetExpYear(v.ExpYear).
				SetCardholderName(v.CardholderName).SetBillingZip(v.PostalCode).
				SetDescription(cp.Description).SetIsPrimary(cp.Primary).SetSource(cp.Source).
				SetCreatedAt(cp.SavedAt).SetUpdatedAt(cp.SavedAt))
		}
	}
	if err := tx.CreditCard.CreateBulk(cardRows...).Exec(ctx); err != nil {
		return 0, fmt.Errorf("creating cards: %w", err)
	}
	return co.ID, nil
}

// vaultCards stores every planned card in the sandbox vault, as the hosted
// fields and a save would. Cards that have expired by now are saved through a
// second sandbox gateway on the same vault whose clock reads the day they
// were saved, years ago, when they were still valid. On error it returns what
// it vaulted so far, for the caller to discard.
func vaultCards(ctx context.Context, d *db.DB, gw *sandbox.Gateway, plan []*customerPlan) (map[*cardPlan]gateway.Card, error) {
	var at time.Time
	past, err := sandbox.New(d.SQL, d.Dialect, "", sandbox.WithClock(func() time.Time { return at }))
	if err != nil {
		return nil, fmt.Errorf("opening the sandbox history gateway: %w", err)
	}
	out := make(map[*cardPlan]gateway.Card)
	for _, c := range plan {
		for _, cp := range c.Cards {
			g := gw
			if cp.Expired {
				g, at = past, cp.SavedAt
			}
			card, err := vaultCard(ctx, g, cp)
			if err != nil {
				return out, fmt.Errorf("vaulting a demo card for %s: %w", c.Code, err)
			}
			out[cp] = card
		}
	}
	return out, nil
}

// vaultCard tokenizes one card and saves it. A payment token minted by the
// history gateway looks long expired to any other sandbox gateway on the
// vault, whose next Tokenize prunes it; if that happens between our two calls
// the save fails as an invalid token, and a fresh token is the cure.
func vaultCard(ctx context.Context, g *sandbox.Gateway, cp *cardPlan) (gateway.Card, error) {
	for attempt := 1; ; attempt++ {
		tok, err := g.Tokenize(ctx, sandbox.CardInput{
			Number: cp.Number, ExpMonth: cp.ExpMonth, ExpYear: cp.ExpYear,
			CVC: cp.CVC, PostalCode: billingZip, Name: cp.Holder,
		})
		if err != nil {
			return gateway.Card{}, err
		}
		card, err := g.SaveCard(ctx, tok.Token)
		if errors.Is(err, gateway.ErrInvalidToken) && cp.Expired && attempt < 5 {
			continue
		}
		return card, err
	}
}

// discard deletes vaulted cards that no row will reference; best effort.
func discard(ctx context.Context, gw *sandbox.Gateway, vaulted map[*cardPlan]gateway.Card) {
	for _, c := range vaulted {
		_ = gw.DeleteCard(ctx, c.Token)
	}
}

// finish makes sure every demo login exists and counts the company's rows.
// Staff are created through auth (its password rules and hashing) on its own
// client, outside the seeding transaction; creating only the missing ones
// also completes a seed interrupted between the two.
func finish(ctx context.Context, d *db.DB, authSvc *auth.Service, companyID int, created bool) (*Result, error) {
	have, err := d.Staff.Query().Where(staff.CompanyID(companyID)).Select(staff.FieldEmail).Strings(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing demo staff: %w", err)
	}
	logins := Logins()
	for _, l := range logins {
		if slices.Contains(have, l.Email) {
			continue
		}
		_, err := authSvc.CreateStaff(ctx, auth.NewStaff{
			CompanyID: companyID, Email: l.Email, Name: staffNames[l.Role], Role: l.Role, Password: l.Password,
		})
		if apperr.CodeOf(err) == apperr.Conflict {
			// A concurrent seeder may have just created it; anyone else's is an error.
			ours, qerr := d.Staff.Query().Where(staff.Email(l.Email), staff.CompanyID(companyID)).Exist(ctx)
			if qerr == nil && ours {
				continue
			}
		}
		if err != nil {
			return nil, fmt.Errorf("creating demo staff %s: %w", l.Email, err)
		}
	}
	res := &Result{CompanyName: DemoCompanyName, Logins: logins, Created: created}
	if res.Customers, err = d.Customer.Query().Where(customer.CompanyID(companyID)).Count(ctx); err != nil {
		return nil, fmt.Errorf("counting demo customers: %w", err)
	}
	if res.Cards, err = d.CreditCard.Query().Where(creditcard.CompanyID(companyID)).Count(ctx); err != nil {
		return nil, fmt.Errorf("counting demo cards: %w", err)
	}
	return res, nil
}
