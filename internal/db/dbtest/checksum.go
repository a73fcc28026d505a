package dbtest

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
)

// Rule narrows what Checksums hashes in one table, for tables that change on
// their own or rows that a refused call writes on purpose.
type Rule struct {
	// Skip leaves the table out: it is bookkeeping that changes by itself.
	Skip bool
	// Columns, when set, are the only columns hashed (the table's identity
	// columns, say, where others change as background work runs).
	Columns []string
	// Where, when set, is an SQL condition: only matching rows are hashed.
	Where string
}

// Checksums returns a checksum of every table's rows, keyed by table name:
// the row count and a hash of every column of every row in primary-key
// order. Tables come from the database catalog (the current schema on
// PostgreSQL), so a new table is covered without touching any test. rules
// narrows named tables; tables it does not name are hashed whole.
func Checksums(t testing.TB, db *sql.DB, dia string, rules map[string]Rule) map[string]string {
	t.Helper()
	tables, err := tableNames(db, dia)
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	sums := make(map[string]string, len(tables))
	for _, table := range tables {
		rule := rules[table]
		if rule.Skip {
			continue
		}
		sum, err := tableChecksum(db, dia, table, rule)
		if err != nil {
			t.Fatalf("checksumming %s: %v", table, err)
		}
		sums[table] = sum
	}
	return sums
}

// ChecksumDiff lists the tables whose checksums differ between before and
// after (appeared, vanished or changed), sorted; empty when none do.
func ChecksumDiff(before, after map[string]string) []string {
	var diff []string
	for table, b := range before {
		if a, ok := after[table]; !ok {
			diff = append(diff, table+": gone")
		} else if a != b {
			diff = append(diff, fmt.Sprintf("%s: %s -> %s", table, b, a))
		}
	}
	for table, a := range after {
		if _, ok := before[table]; !ok {
			diff = append(diff, table+": new, "+a)
		}
	}
	slices.Sort(diff)
	return diff
}

func tableNames(db *sql.DB, dia string) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if dia == dialect.Postgres {
		q = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	return strings1(db, q)
}

// columns returns the table's columns in declaration order and its primary
// key columns in key order.
func columns(db *sql.DB, dia, table string) (cols, key []string, err error) {
	if dia == dialect.Postgres {
		if cols, err = strings1(db, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table); err != nil {
			return nil, nil, err
		}
		key, err = strings1(db, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary
			ORDER BY array_position(i.indkey, a.attnum)`, quote(table))
		return cols, key, err
	}
	rows, err := db.Query(`SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	pks := map[int]string{}
	for rows.Next() {
		var name string
		var pk int
		if err := rows.Scan(&name, &pk); err != nil {
			return nil, nil, err
		}
		cols = append(cols, name)
		if pk > 0 {
			pks[pk] = name
		}
	}
	for i := 1; i <= len(pks); i++ {
		key = append(key, pks[i])
	}
	return cols, key, rows.Err()
}

func tableChecksum(db *sql.DB, dia, table string, rule Rule) (string, error) {
	cols, key, err := columns(db, dia, table)
	if err != nil {
		return "", err
	}
	if rule.Columns != nil {
		cols = rule.Columns
	}
	if len(key) == 0 {
		key = cols // no primary key: every column orders the rows
	}
	q := "SELECT " + quoteAll(cols) + " FROM " + quote(table)
	if rule.Where != "" {
		q += " WHERE " + rule.Where
	}
	q += " ORDER BY " + quoteAll(key)
	rows, err := db.Query(q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = hex.EncodeToString(b)
			}
			fmt.Fprintf(h, "%T:%v\x1f", v, v)
		}
		h.Write([]byte{'\x1e'})
		n++
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d rows %x", n, h.Sum(nil)[:8]), nil
}

func strings1(db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}
