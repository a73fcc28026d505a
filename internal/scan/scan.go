// Package scan finds card numbers that reached the database before the
// guard caught them (PCI DSS 12.5.2 data discovery), and redacts them.
//
// It reads every string and JSON column of every table ent knows, with the
// same guard as the API (textguard.Find), except the columns in Skipped.
// The columns come from ent's generated schema, so a column added later is
// scanned without anyone remembering to list it. It reads and writes with
// plain SQL: it is an operator's command over all companies, below the
// privacy rules, and the audit trail it redacts is immutable to ent.
package scan

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cardfile/ent/auditevent"
	"cardfile/ent/company"
	"cardfile/ent/customer"
	"cardfile/ent/migrate"
	"cardfile/ent/privacy"
	"cardfile/internal/audit"
	"cardfile/internal/db"
	"cardfile/internal/textguard"

	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"entgo.io/ent/schema/field"
)

// Skipped are the text columns the scan does not read, and why.
var Skipped = map[string]string{
	"credit_cards.gateway_token":   "sealed (AES-GCM): ciphertext, no digits to find",
	"staffs.password_hash":         "a bcrypt hash",
	"outbox_messages.text_body":    "sealed",
	"outbox_messages.html_body":    "sealed",
	"outbox_messages.to":           "no company to audit under; a copy the system made of card_requests.email, which is scanned (dev-mode outbox only)",
	"outbox_messages.subject":      "no company to audit under; written by the system from the company name, which is scanned",
	"sessions.origin_ip":           "set from the connection's address, not typed; no company to audit under",
	"card_requests.token_hash":     "a SHA-256 hash",
	"sessions.token_hash":          "a SHA-256 hash",
	"payments.request_hash":        "a SHA-256 hash",
	"companies.card_manager_roles": "a list of role names the code writes",
	"events.topic":                 "a topic name the code writes",
	"events.kind":                  "an event kind the code writes",
}

// A Column is one scanned column.
type Column struct {
	Table, Name string
	JSON        bool
}

// Columns lists the scanned columns, table by table in ent's order.
func Columns() []Column {
	var out []Column
	for _, t := range migrate.Tables {
		for _, c := range t.Columns {
			if (c.Type == field.TypeString || c.Type == field.TypeJSON) && Skipped[t.Name+"."+c.Name] == "" {
				out = append(out, Column{Table: t.Name, Name: c.Name, JSON: c.Type == field.TypeJSON})
			}
		}
	}
	return out
}

// A Hit is one value that holds card numbers: where it is, never what.
type Hit struct {
	Table  string
	RowID  int
	Column string
	// Path is where in a JSON column's document the value is, like
	// "to" or "items[2].note"; empty for a text column.
	Path  string
	Cards int // how many card numbers the value holds
	// Brands names their brands, for triage.
	Brands []string

	companyID, customerID int
	before, after         string // the whole column's value, before and after redaction
}

// Where is the hit's table, row and column (with the JSON path).
func (h Hit) Where() string {
	col := h.Column
	if h.Path != "" {
		col += "." + h.Path
	}
	return fmt.Sprintf("%s row %d column %s", h.Table, h.RowID, col)
}

// String describes the hit without any of its digits.
func (h Hit) String() string {
	return fmt.Sprintf("%s: %s", h.Where(), strings.Join(h.Brands, ", "))
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Scan reports every value that holds a card number, table by table.
func Scan(ctx context.Context, d *db.DB) ([]Hit, error) {
	return find(ctx, d.SQL, d.Dialect)
}

// Redact replaces every card number found with textguard.Masked, in one
// transaction, with an audit event (by the system, naming table, row and
// column) for each value redacted. It returns what it redacted.
func Redact(ctx context.Context, d *db.DB) ([]Hit, error) {
	var hits []Hit
	err := d.Tx(ctx, func(tx *db.Tx) error {
		var err error
		if hits, err = find(ctx, tx.SQL, d.Dialect); err != nil {
			return err
		}
		written := map[[3]string]bool{}
		sys := privacy.DecisionContext(ctx, privacy.Allow)
		for _, h := range hits {
			key := [3]string{h.Table, strconv.Itoa(h.RowID), h.Column}
			if !written[key] {
				written[key] = true
				if err := update(ctx, tx.SQL, d.Dialect, h); err != nil {
					return err
				}
			}
			details := map[string]any{"table": h.Table, "column": h.Column, "cardNumbers": h.Cards}
			if h.Path != "" {
				details["path"] = h.Path
			}
			if err := audit.RecordAs(sys, tx, audit.Actor{Kind: auditevent.ActorKindSYSTEM, CompanyID: h.companyID}, audit.Entry{
				Action: "card_number.redact", CustomerID: h.customerID, SubjectType: h.Table, SubjectID: h.RowID, Details: details,
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

// update writes a hit's redacted value, only if the row still holds what
// was scanned: a value changed meanwhile fails the whole redaction (rolled
// back), and the next run scans afresh.
func update(ctx context.Context, tx *sql.Tx, dialect string, h Hit) error {
	q, args := entsql.Dialect(dialect).Update(h.Table).Set(h.Column, h.after).
		Where(entsql.And(entsql.EQ("id", h.RowID), entsql.EQ(h.Column, h.before))).Query()
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("redacting %s: %w", h.Where(), err)
	}
	if n, err := res.RowsAffected(); err == nil && n != 1 {
		return fmt.Errorf("%s changed while it was redacted; run the scan again", h.Where())
	}
	return nil
}

func find(ctx context.Context, q queryer, dialect string) ([]Hit, error) {
	var hits []Hit
	for _, t := range migrate.Tables {
		cols := slices.DeleteFunc(Columns(), func(c Column) bool { return c.Table != t.Name })
		if len(cols) == 0 {
			continue
		}
		found, err := findIn(ctx, q, dialect, t, cols)
		if err != nil {
			return nil, err
		}
		hits = append(hits, found...)
	}
	return hits, nil
}

// findIn reads one table's scanned columns, with the row's company (to
// audit under) and customer (so the customer's audit trail shows it).
func findIn(ctx context.Context, q queryer, dialect string, t *schema.Table, cols []Column) ([]Hit, error) {
	quote := func(ident string) string {
		return entsql.Dialect(dialect).String(func(b *entsql.Builder) { b.Ident(ident) })
	}
	companyCol, customerCol := "company_id", "customer_id"
	switch t.Name {
	case company.Table:
		companyCol = "id"
	case customer.Table:
		customerCol = "id"
	}
	sel := []string{quote("id"), quote(companyCol), "NULL"}
	if hasColumn(t, customerCol) {
		sel[2] = quote(customerCol)
	}
	for _, c := range cols {
		sel = append(sel, quote(c.Name))
	}
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s ORDER BY %s", strings.Join(sel, ", "), quote(t.Name), quote("id")))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.Name, err)
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		var id int
		var companyID, customerID sql.NullInt64
		vals := make([]sql.NullString, len(cols))
		dest := []any{&id, &companyID, &customerID}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("reading %s: %w", t.Name, err)
		}
		for i, c := range cols {
			if !vals[i].Valid {
				continue
			}
			found := inText(vals[i].String)
			if c.JSON {
				found = inJSON(vals[i].String)
			}
			for _, h := range found {
				h.Table, h.RowID, h.Column = t.Name, id, c.Name
				h.companyID, h.customerID = int(companyID.Int64), int(customerID.Int64)
				hits = append(hits, h)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", t.Name, err)
	}
	return hits, nil
}

func hasColumn(t *schema.Table, name string) bool {
	return slices.ContainsFunc(t.Columns, func(c *schema.Column) bool { return c.Name == name })
}

// inText is the hit, if any, in a text value.
func inText(s string) []Hit {
	ms := textguard.Find(s)
	if len(ms) == 0 {
		return nil
	}
	return []Hit{{Cards: len(ms), Brands: brands(ms), before: s, after: textguard.Redact(s)}}
}

// inJSON finds card numbers in every string and number of a JSON
// document, one hit per value; each hit carries the whole redacted
// document. A document that does not parse is scanned as text.
func inJSON(doc string) []Hit {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber() // keeps a card number stored as a JSON number digit for digit
	var v any
	if err := dec.Decode(&v); err != nil {
		return inText(doc)
	}
	var hits []Hit
	v = walk(v, "", &hits)
	if len(hits) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return inText(doc)
	}
	after := strings.TrimSuffix(buf.String(), "\n")
	for i := range hits {
		hits[i].before, hits[i].after = doc, after
	}
	return hits
}

// walk visits v's strings and numbers (map keys in order), records a hit
// for each that holds a card number, and returns v with them redacted.
func walk(v any, path string, hits *[]Hit) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			x[k] = walk(x[k], p, hits)
		}
	case []any:
		for i := range x {
			x[i] = walk(x[i], fmt.Sprintf("%s[%d]", path, i), hits)
		}
	case string, json.Number:
		s := fmt.Sprint(x)
		if found := inText(s); len(found) > 0 {
			found[0].Path = path
			*hits = append(*hits, found[0])
			return found[0].after
		}
	}
	return v
}

func brands(ms []textguard.Match) []string {
	var out []string
	for _, m := range ms {
		if !slices.Contains(out, m.Brand) {
			out = append(out, m.Brand)
		}
	}
	return out
}
