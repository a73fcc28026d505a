package dbtest

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"maps"
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
	tables, err := catalog(db, dia)
	if err != nil {
		t.Fatalf("reading the catalog: %v", err)
	}
	sums := make(map[string]string, len(tables))
	for _, tb := range tables {
		rule := rules[tb.name]
		if rule.Skip {
			continue
		}
		sum, err := tableChecksum(db, tb, rule)
		if err != nil {
			t.Fatalf("checksumming %s: %v", tb.name, err)
		}
		sums[tb.name] = sum
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

// table is a table's name, its columns in declaration order and its
// primary key's columns in key order.
type table struct {
	name      string
	cols, key []string
}

// catalog lists the tables with their columns and keys: one catalog
// query on PostgreSQL, a pragma a table on SQLite.
func catalog(db *sql.DB, dia string) ([]table, error) {
	if dia != dialect.Postgres {
		names, err := strings1(db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
		if err != nil {
			return nil, err
		}
		tables := make([]table, len(names))
		for i, n := range names {
			tables[i].name = n
			if tables[i].cols, tables[i].key, err = sqliteColumns(db, n); err != nil {
				return nil, err
			}
		}
		return tables, nil
	}
	// pg_catalog, not information_schema: the latter is slow with the many
	// test schemas a shared server holds.
	rows, err := db.Query(`SELECT c.relname, a.attname, array_position(i.indkey, a.attnum)
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
		  AND c.relkind IN ('r', 'p')
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var tables []table
	keys := map[int64]string{} // by position in the key (int2vector counts from 0)
	flush := func() {
		if len(tables) > 0 {
			last := &tables[len(tables)-1]
			for _, pos := range slices.Sorted(maps.Keys(keys)) {
				last.key = append(last.key, keys[pos])
			}
		}
		clear(keys)
	}
	for rows.Next() {
		var name, col string
		var pos sql.NullInt64
		if err := rows.Scan(&name, &col, &pos); err != nil {
			return nil, err
		}
		if len(tables) == 0 || tables[len(tables)-1].name != name {
			flush()
			tables = append(tables, table{name: name})
		}
		tables[len(tables)-1].cols = append(tables[len(tables)-1].cols, col)
		if pos.Valid {
			keys[pos.Int64] = col
		}
	}
	flush()
	return tables, rows.Err()
}

func sqliteColumns(db *sql.DB, name string) (cols, key []string, err error) {
	rows, err := db.Query(`SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	pks := map[int]string{}
	for rows.Next() {
		var col string
		var pk int
		if err := rows.Scan(&col, &pk); err != nil {
			return nil, nil, err
		}
		cols = append(cols, col)
		if pk > 0 {
			pks[pk] = col
		}
	}
	for i := 1; i <= len(pks); i++ {
		key = append(key, pks[i])
	}
	return cols, key, rows.Err()
}

func tableChecksum(db *sql.DB, tb table, rule Rule) (string, error) {
	cols, key := tb.cols, tb.key
	if rule.Columns != nil {
		cols = rule.Columns
	}
	if len(key) == 0 {
		key = cols // no primary key: every column orders the rows
	}
	q := "SELECT " + quoteAll(cols) + " FROM " + quote(tb.name)
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
