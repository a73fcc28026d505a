package scan

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"cardfile/ent/auditevent"
	"cardfile/ent/creditcard"
	"cardfile/ent/migrate"
	"cardfile/ent/payment"
	"cardfile/ent/privacy"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"

	entsql "entgo.io/ent/dialect/sql"
)

// disguised are card numbers written the ways that got past the old guard;
// each seeded column gets the next one. The digits each spells are in
// digitsOf.
var disguised = []string{
	"4111.1111.1111.1111",
	"ＰＯ ４２４２ ４２４２ ４２４２ ４２４２",
	"5555\u200b5555\u200b5555\u200b4444",
	"3782 - 822463 - 10005",
	"6011\u00a01111\u00a01111\u00a01117",
	"3530/1113/3330/0000",
	"٤١١١١١١١١١١١١١١١",
	"card 5105_1051_0510_5100 exp 12/28",
}

var digitsOf = []string{
	"4111111111111111", "4242424242424242", "5555555555554444", "378282246310005",
	"6011111111111117", "3530111333300000", "4111111111111111", "5105105105105100",
}

// rows are the rows of a table the test created: a dirty one (every scanned
// column gets a disguised number) and a clean one (left as created).
type rows struct{ dirty, clean map[string]int }

// seed creates two rows in every table that has scanned columns, through
// ent and so through its validators: ordinary values only.
func seed(t *testing.T, d *db.DB) rows {
	t.Helper()
	ctx := privacy.DecisionContext(context.Background(), privacy.Allow)
	r := rows{dirty: map[string]int{}, clean: map[string]int{}}
	for i, into := range []map[string]int{r.dirty, r.clean} {
		n := fmt.Sprint(i)
		co := must(d.Company.Create().SetName("Blossom Wholesale " + n).Save(ctx))(t)
		cu := must(d.Customer.Create().SetCompanyID(co.ID).SetCode("C-100" + n).SetName("Floral Co " + n).
			SetEmail("ap" + n + "@floral.example").SetPhone("+1 415-555-012" + n).Save(ctx))(t)
		st := must(d.Staff.Create().SetCompanyID(co.ID).SetEmail("staff" + n + "@blossom.example").SetName("Jane Doe").
			SetRole(viewer.Admin).SetPasswordHash("$2a$10$x").Save(ctx))(t)
		cc := must(d.CreditCard.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetGatewayToken("sealed").
			SetBrand(creditcard.BrandVISA).SetLast4("1111").SetExpMonth(12).SetExpYear(2030).SetSource(creditcard.SourceSTAFF).
			SetCardholderName("Jane Doe").SetBillingZip("94103").SetDescription("Office card, PO 12345").Save(ctx))(t)
		cr := must(d.CardRequest.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetEmail("smtpout-1796138826577-1@example.com").
			SetTokenHash([]byte("hash" + n)).SetExpiresAt(time.Now().Add(time.Hour)).Save(ctx))(t)
		pm := must(d.Payment.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetAmountCents(1234).SetCurrency("USD").
			SetScreen(payment.ScreenRECEIVE_PAYMENTS).SetReference("INV-2026-000123").SetIdempotencyKey("pay-1796138826577-" + n).
			SetRequestHash([]byte("h")).SetCardBrand("VISA").SetCardLast4("1111").SetGatewayTransactionID("txn_1796138826577").
			SetAuthCode("A1B2C3").SetDeclineCode("none").SetDeclineMessage("Approved").Save(ctx))(t)
		ae := must(d.AuditEvent.Create().SetCompanyID(co.ID).SetCustomerID(cu.ID).SetActorKind(auditevent.ActorKindSTAFF).
			SetAction("credit_card.rename").SetOutcome(auditevent.OutcomeSUCCESS).SetSubjectType("CreditCard").SetOriginIP("203.0.113.7").
			SetDetails(map[string]any{"from": "Office", "to": "Office, PO 12345", "amount": "1,234.56"}).Save(ctx))(t)
		for table, id := range map[string]int{"companies": co.ID, "customers": cu.ID, "staffs": st.ID, "credit_cards": cc.ID,
			"card_requests": cr.ID, "payments": pm.ID, "audit_events": ae.ID} {
			into[table] = id
		}
	}
	return r
}

func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// size is a column's declared length, 0 when unbounded.
func size(c Column) int {
	for _, t := range migrate.Tables {
		for _, col := range t.Columns {
			if t.Name == c.Table && col.Name == c.Name {
				return int(col.Size)
			}
		}
	}
	return 0
}

// plant writes disguised card numbers straight into every scanned column
// of the dirty rows that can hold one, past the guard, and returns where
// each one is (Hit.Where) with the digits it spells.
func plant(t *testing.T, d *db.DB, r rows) map[string]string {
	t.Helper()
	want := map[string]string{}
	i := 0
	for _, c := range Columns() {
		id, ok := r.dirty[c.Table]
		if !ok {
			t.Fatalf("the test makes no row in %s, a scanned table", c.Table)
		}
		v, where := disguised[i%len(disguised)], Hit{Table: c.Table, RowID: id, Column: c.Name}
		if n := size(c); n != 0 && n < len([]rune(v)) {
			continue // a country or currency code: too short for any card number
		}
		if c.JSON {
			v = fmt.Sprintf(`{"from": "Office", "to": %q, "lines": [{"qty": 2}, {"ref": 4242424242424242}]}`, v)
			where.Path = "lines[1].ref"
			want[where.Where()] = "4242424242424242"
			where.Path = "to"
		}
		want[where.Where()] = digitsOf[i%len(digitsOf)]
		i++
		q, args := entsql.Dialect(d.Dialect).Update(c.Table).Set(c.Name, v).Where(entsql.EQ("id", id)).Query()
		if _, err := d.SQL.Exec(q, args...); err != nil {
			t.Fatalf("planting in %s.%s: %v", c.Table, c.Name, err)
		}
	}
	return want
}

// snapshot reads every scanned column of the given rows.
func snapshot(t *testing.T, d *db.DB, ids map[string]int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range Columns() {
		var v sql.NullString
		q, args := entsql.Dialect(d.Dialect).Select(c.Name).From(entsql.Table(c.Table)).Where(entsql.EQ("id", ids[c.Table])).Query()
		if err := d.SQL.QueryRow(q, args...).Scan(&v); err != nil {
			t.Fatalf("reading %s.%s: %v", c.Table, c.Name, err)
		}
		out[c.Table+"."+c.Name] = v.String
	}
	return out
}

func TestScanFindsAndRedactsCardNumbersInEveryColumn(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	r := seed(t, d)
	if hits, err := Scan(ctx, d); err != nil || len(hits) != 0 {
		t.Fatalf("ordinary data: scan found %v, %v; want nothing", hits, err)
	}
	clean := snapshot(t, d, r.clean)
	want := plant(t, d, r)
	if len(want) < 20 {
		t.Fatalf("planted %d values, want one in every scanned column", len(want))
	}

	hits, err := Scan(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	var got, report []string
	for _, h := range hits {
		got, report = append(got, h.Where()), append(report, h.String())
	}
	if wantWhere := keys(want); !slices.Equal(sorted(got), wantWhere) {
		t.Fatalf("scan found\n  %s\nwant\n  %s", strings.Join(sorted(got), "\n  "), strings.Join(wantWhere, "\n  "))
	}
	noDigits(t, strings.Join(report, "\n"), hits, want)

	redacted, err := Redact(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(redacted) != len(hits) {
		t.Fatalf("redacted %d values, want %d", len(redacted), len(hits))
	}
	if again, err := Scan(ctx, d); err != nil || len(again) != 0 {
		t.Fatalf("after -redact, scan found %v, %v; want nothing", again, err)
	}
	dirty := snapshot(t, d, r.dirty)
	for where := range want {
		h := hitAt(hits, where)
		if !strings.Contains(dirty[h.Table+"."+h.Column], textguard.Masked) {
			t.Errorf("%s holds %+q, not the mask", where, dirty[h.Table+"."+h.Column])
		}
	}
	if after := snapshot(t, d, r.clean); !maps.Equal(after, clean) {
		t.Errorf("redaction changed ordinary rows:\n%v\nwas\n%v", after, clean)
	}

	sys := privacy.DecisionContext(ctx, privacy.Allow)
	events, err := d.AuditEvent.Query().Where(auditevent.Action("card_number.redact")).All(sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != len(hits) {
		t.Fatalf("%d redaction audit events, want one per value: %d", len(events), len(hits))
	}
	var seen []string
	for _, e := range events {
		if e.ActorKind != auditevent.ActorKindSYSTEM || e.SubjectID == nil {
			t.Errorf("audit event %d: actor %s, subject %v", e.ID, e.ActorKind, e.SubjectID)
			continue
		}
		h := Hit{Table: e.SubjectType, RowID: *e.SubjectID, Column: fmt.Sprint(e.Details["column"]), Path: fmt.Sprint(e.Details["path"])}
		if e.Details["path"] == nil {
			h.Path = ""
		}
		seen = append(seen, h.Where())
		noDigits(t, fmt.Sprint(e.Details), nil, want)
	}
	if !slices.Equal(sorted(seen), keys(want)) {
		t.Errorf("audit events name\n  %s\nwant\n  %s", strings.Join(sorted(seen), "\n  "), strings.Join(keys(want), "\n  "))
	}
}

// noDigits fails when text shows any digits of the planted card numbers:
// the whole number, its first six or its last four, or (after the hits'
// own row ids and column names are taken out) any digit at all.
func noDigits(t *testing.T, text string, hits []Hit, want map[string]string) {
	t.Helper()
	for _, h := range hits {
		text = strings.ReplaceAll(text, h.Where(), "")
	}
	for _, ds := range want {
		for _, part := range []string{ds, ds[:6], ds[len(ds)-4:]} {
			if strings.Contains(text, part) {
				t.Errorf("output shows %q of a card number:\n%s", part, text)
			}
		}
	}
	if hits != nil && strings.ContainsFunc(text, unicode.IsDigit) {
		t.Errorf("output shows digits beyond row ids and column names:\n%s", text)
	}
}

func hitAt(hits []Hit, where string) Hit {
	for _, h := range hits {
		if h.Where() == where {
			return h
		}
	}
	return Hit{}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// Every text column ent knows is either scanned or skipped with a reason.
func TestEveryTextColumnIsScannedOrSkippedWithAReason(t *testing.T) {
	scanned := map[string]bool{}
	for _, c := range Columns() {
		scanned[c.Table+"."+c.Name] = true
	}
	for _, want := range []string{"credit_cards.description", "credit_cards.cardholder_name", "payments.reference",
		"payments.idempotency_key", "audit_events.details", "card_requests.email", "customers.name", "customers.email",
		"customers.phone", "staffs.name", "staffs.email", "companies.name", "payments.decline_message"} {
		if !scanned[want] {
			t.Errorf("%s is not scanned", want)
		}
	}
	for col := range Skipped {
		if scanned[col] {
			t.Errorf("%s is both skipped and scanned", col)
		}
	}
}
