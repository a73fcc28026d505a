package db_test

import (
	"context"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/company"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
)

// A second primary card for one customer is refused by the database itself,
// whatever code path tries it.
func TestSecondPrimaryCardIsRefusedByTheDatabase(t *testing.T) {
	d := dbtest.Open(t)
	ctx := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := d.Company.Create().SetName("Acme").SaveX(ctx)
	cu := d.Customer.Create().SetCompanyID(co.ID).SetCode("C1").SetName("Cust").SaveX(ctx)
	card := func(primary bool) *ent.CreditCardCreate {
		return d.CreditCard.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetGatewayToken("tok").
			SetBrand("VISA").SetLast4("1111").SetExpMonth(12).SetExpYear(2030).SetSource("STAFF").SetIsPrimary(primary)
	}
	card(true).SaveX(ctx)
	card(false).SaveX(ctx)
	if _, err := card(true).Save(ctx); err == nil || !ent.IsConstraintError(err) {
		t.Fatalf("second primary insert: got %v, want a constraint error", err)
	}
	if n := d.CreditCard.Query().CountX(ctx); n != 2 {
		t.Fatalf("cards = %d, want 2", n)
	}
}

// Migrating twice is a no-op: the server runs migrations on every start.
func TestMigrateIsRepeatable(t *testing.T) {
	d := dbtest.Open(t)
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("second migration: %v", err)
	}
}

// Entities a transaction returned keep working after it commits: GraphQL
// resolves their edges later, outside the transaction.
func TestEntitiesOutliveTheirTransaction(t *testing.T) {
	d := dbtest.Open(t)
	ctx := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := d.Company.Create().SetName("Acme").SaveX(ctx)
	var cu *ent.Customer
	committed := false
	err := d.Tx(ctx, func(tx *db.Tx) (err error) {
		tx.OnCommit(func() { committed = true })
		cu, err = tx.Customer.Create().SetCompanyID(co.ID).SetCode("C1").SetName("Cust").Save(ctx)
		return err
	})
	if err != nil || !committed {
		t.Fatalf("Tx = %v, committed %v", err, committed)
	}
	if got, err := cu.QueryCompany().Only(ctx); err != nil || got.ID != co.ID {
		t.Fatalf("edge after commit = %v, %v", got, err)
	}
	// A rolled-back transaction runs no commit hooks.
	ran := false
	_ = d.Tx(ctx, func(tx *db.Tx) error {
		tx.OnCommit(func() { ran = true })
		return context.Canceled
	})
	if ran {
		t.Fatal("a commit hook ran after a rollback")
	}
}

// Times compare as instants whatever zone they were written in (SQLite
// compares them as text, so every time is written in UTC).
func TestTimesCompareAsInstantsAcrossZones(t *testing.T) {
	d := dbtest.Open(t)
	ctx := privacy.DecisionContext(context.Background(), privacy.Allow)
	tokyo := time.Date(2026, 11, 26, 20, 0, 0, 0, time.FixedZone("JST", 9*3600)) // 11:00 UTC
	d.Company.Create().SetName("Acme").SetCreatedAt(tokyo).SaveX(ctx)
	chicago := time.FixedZone("CST", -6*3600)
	if n := d.Company.Query().Where(company.CreatedAtLT(tokyo.Add(time.Second).In(chicago))).CountX(ctx); n != 1 {
		t.Fatal("a time one second later, in another zone, does not compare as later")
	}
	if n := d.Company.Query().Where(company.CreatedAtGT(tokyo.Add(-time.Second).UTC())).CountX(ctx); n != 1 {
		t.Fatal("a time one second earlier, in UTC, does not compare as earlier")
	}
}
