package main

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"cardfile/ent"
	"cardfile/ent/company"
	"cardfile/ent/customer"
	"cardfile/ent/privacy"
	"cardfile/ent/staff"
	"cardfile/internal/auth"
	"cardfile/internal/db"
	"cardfile/internal/expiry"
	"cardfile/internal/viewer"

	"entgo.io/ent/dialect"
)

const (
	benchCompany  = "Bench Wholesale (cardfile-bench)"
	benchEmail    = "bench.admin@bench.example"
	benchPassword = "bench-admin-password"
	cardsPer      = 3 // cards a customer: 150,000 for 50,000
)

// dataset is what the workloads address: contiguous customer and card ids
// (bulk inserts in order), three cards a customer.
type dataset struct {
	CompanyID     int
	FirstCustomer int
	Customers     int
	FirstCard     int
	Cards         int
}

// load opens url through cardfile's own db package, migrates it and
// bulk-inserts the data set unless it is already there (the bench company
// with the asked-for number of customers is the marker).
func load(ctx context.Context, url string, customers int) (dataset, error) {
	d, err := db.Open(url)
	if err != nil {
		return dataset{}, err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return dataset{}, err
	}
	sys := privacy.DecisionContext(ctx, privacy.Allow)
	co, err := d.Company.Query().Where(company.Name(benchCompany)).Only(sys)
	if ent.IsNotFound(err) {
		co, err = d.Company.Create().SetName(benchCompany).SetCardManagerRoles(viewer.DefaultCardManagers).Save(sys)
		if err == nil {
			_, err = auth.New(d, auth.DefaultConfig(), time.Now).CreateStaff(sys, auth.NewStaff{
				CompanyID: co.ID, Email: benchEmail, Name: "Bench Admin", Role: viewer.Admin, Password: benchPassword})
		}
	}
	if err != nil {
		return dataset{}, fmt.Errorf("bench company: %w", err)
	}
	if n, err := d.Staff.Query().Where(staff.Email(benchEmail)).Count(sys); err != nil || n != 1 {
		return dataset{}, fmt.Errorf("bench staff missing (%d, %v): drop the bench company's rows and run again", n, err)
	}
	have, err := d.Customer.Query().Where(customer.CompanyID(co.ID)).Count(sys)
	if err != nil {
		return dataset{}, err
	}
	switch {
	case have == customers:
		log.Printf("data set present: %d customers", have)
	case have == 0:
		start := time.Now()
		if d.Dialect == dialect.Postgres {
			err = loadPostgres(ctx, d, co.ID, customers)
		} else {
			err = loadSQLite(ctx, d, co.ID, customers)
		}
		if err != nil {
			return dataset{}, fmt.Errorf("loading the data set: %w", err)
		}
		log.Printf("data set loaded: %d customers, %d cards in %v", customers, customers*cardsPer, time.Since(start).Round(time.Millisecond))
	default:
		return dataset{}, fmt.Errorf("the bench company has %d customers, not %d: use another database or -customers %d", have, customers, have)
	}
	ds := dataset{CompanyID: co.ID}
	row := d.SQL.QueryRowContext(ctx, rebind(d.Dialect, `SELECT MIN(id), COUNT(*), MAX(id) FROM customers WHERE company_id = ?`), co.ID)
	var maxID int
	if err := row.Scan(&ds.FirstCustomer, &ds.Customers, &maxID); err != nil {
		return dataset{}, err
	}
	if maxID-ds.FirstCustomer+1 != ds.Customers {
		return dataset{}, fmt.Errorf("customer ids are not contiguous (%d..%d for %d)", ds.FirstCustomer, maxID, ds.Customers)
	}
	row = d.SQL.QueryRowContext(ctx, rebind(d.Dialect, `SELECT MIN(id), COUNT(*), MAX(id) FROM credit_cards WHERE company_id = ?`), co.ID)
	if err := row.Scan(&ds.FirstCard, &ds.Cards, &maxID); err != nil {
		return dataset{}, err
	}
	if maxID-ds.FirstCard+1 != ds.Cards || ds.Cards != ds.Customers*cardsPer {
		return dataset{}, fmt.Errorf("card ids are not contiguous (%d..%d for %d)", ds.FirstCard, maxID, ds.Cards)
	}
	if _, err := d.SQL.ExecContext(ctx, "ANALYZE"); err != nil {
		return dataset{}, err
	}
	return ds, nil
}

// loadPostgres inserts with generate_series: a few seconds for 200,000 rows.
// Gateway tokens look sealed ("v1:" and base64) but open to nothing; card
// digits are synthetic. Card j of a customer: j=0 is primary, j=1 of every
// fifth customer is expired.
func loadPostgres(ctx context.Context, d *db.DB, companyID, customers int) error {
	return d.Tx(ctx, func(tx *db.Tx) error {
		if _, err := tx.SQL.ExecContext(ctx, `INSERT INTO customers
			(created_at, updated_at, code, name, email, default_currency, country, active, restrict_card_payments, company_id)
			SELECT now(), now(), 'B' || lpad(i::text, 6, '0'), 'Customer ' || lpad(i::text, 6, '0'),
			       'billing' || i || '@customer.example', 'USD', 'US', true, false, $1
			FROM generate_series(1, $2::int) AS i ORDER BY i`, companyID, customers); err != nil {
			return err
		}
		_, err := tx.SQL.ExecContext(ctx, `INSERT INTO credit_cards
			(created_at, updated_at, gateway_token, brand, last4, exp_month, exp_year, expires_at,
			 description, is_primary, source, company_id, customer_id)
			SELECT now(), now(), 'v1:' || encode(sha256(('bench-card-' || c.id || '-' || j)::bytea), 'base64'),
			       (ARRAY['VISA','MASTERCARD','AMEX','DISCOVER'])[1 + (c.id + j) % 4],
			       lpad(((c.id * 3 + j) % 10000)::text, 4, '0'), e.m, e.y,
			       make_timestamptz(e.y::int, e.m::int, 1, 0, 0, 0::float8, 'UTC') + interval '1 month',
			       'Card ' || (j + 1), j = 0, 'STAFF', $1, c.id
			FROM customers c CROSS JOIN generate_series(0, 2) AS j,
			     LATERAL (SELECT (1 + (c.id + j) % 12)::int AS m,
			                     CASE WHEN j = 1 AND c.id % 5 = 0 THEN 2020 ELSE 2030 + j END AS y) e
			WHERE c.company_id = $1 ORDER BY c.id, j`, companyID)
		return err
	})
}

// loadSQLite inserts in batches inside one transaction, with the same rows
// as loadPostgres; times go in as time.Time so they are stored as ent stores them.
func loadSQLite(ctx context.Context, d *db.DB, companyID, customers int) error {
	now := time.Now().UTC()
	brands := []string{"VISA", "MASTERCARD", "AMEX", "DISCOVER"}
	return d.Tx(ctx, func(tx *db.Tx) error {
		const batch = 500
		for from := 1; from <= customers; from += batch {
			to := min(from+batch-1, customers)
			var sb strings.Builder
			var args []any
			sb.WriteString(`INSERT INTO customers (created_at, updated_at, code, name, email, default_currency, country, active, restrict_card_payments, company_id) VALUES `)
			for i := from; i <= to; i++ {
				if i > from {
					sb.WriteByte(',')
				}
				sb.WriteString("(?,?,?,?,?,'USD','US',1,0,?)")
				args = append(args, now, now, fmt.Sprintf("B%06d", i), fmt.Sprintf("Customer %06d", i),
					fmt.Sprintf("billing%d@customer.example", i), companyID)
			}
			if _, err := tx.SQL.ExecContext(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		var first int
		if err := tx.SQL.QueryRowContext(ctx, `SELECT MIN(id) FROM customers WHERE company_id = ?`, companyID).Scan(&first); err != nil {
			return err
		}
		for from := first; from < first+customers; from += batch {
			to := min(from+batch, first+customers)
			var sb strings.Builder
			var args []any
			sb.WriteString(`INSERT INTO credit_cards (created_at, updated_at, gateway_token, brand, last4, exp_month, exp_year, expires_at, description, is_primary, source, company_id, customer_id) VALUES `)
			for id := from; id < to; id++ {
				for j := range cardsPer {
					if id > from || j > 0 {
						sb.WriteByte(',')
					}
					m, y := 1+(id+j)%12, 2030+j
					if j == 1 && id%5 == 0 {
						y = 2020
					}
					sb.WriteString("(?,?,?,?,?,?,?,?,?,?,'STAFF',?,?)")
					args = append(args, now, now, fmt.Sprintf("v1:benchcard%xx%d", id*7919, j), brands[(id+j)%4],
						fmt.Sprintf("%04d", (id*3+j)%10000), m, y, expiry.End(m, y), fmt.Sprintf("Card %d", j+1), j == 0,
						companyID, id)
				}
			}
			if _, err := tx.SQL.ExecContext(ctx, sb.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, … for dialect Postgres.
func rebind(dia, query string) string {
	if dia != dialect.Postgres {
		return query
	}
	var sb strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&sb, "$%d", n)
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
