package dbtest_test

import (
	"context"
	"testing"

	"cardfile/internal/db/dbtest"
)

// Checksums sees any change to any row, including one that keeps the row
// count, and a table created after the first checksum; rules narrow it.
func TestChecksumsSeeEveryChange(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := d.SQL.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE things (a INTEGER, b INTEGER, note TEXT, PRIMARY KEY (a, b))`)
	exec(`INSERT INTO things VALUES (1, 1, 'one'), (1, 2, 'two'), (2, 1, NULL)`)
	sums := func(rules map[string]dbtest.Rule) map[string]string {
		return dbtest.Checksums(t, d.SQL, d.Dialect, rules)
	}
	base := sums(nil)
	if _, ok := base["companies"]; !ok {
		t.Fatalf("ent's tables are missing: %v", base)
	}
	changes := []struct{ name, do, undo string }{
		{"a changed value", `UPDATE things SET note = 'uno' WHERE a = 1 AND b = 1`, `UPDATE things SET note = 'one' WHERE a = 1 AND b = 1`},
		{"NULL for text", `UPDATE things SET note = NULL WHERE a = 1 AND b = 2`, `UPDATE things SET note = 'two' WHERE a = 1 AND b = 2`},
		{"a swapped key", `UPDATE things SET b = 3 WHERE a = 2`, `UPDATE things SET b = 1 WHERE a = 2`},
		{"a new row", `INSERT INTO things VALUES (9, 9, 'nine')`, `DELETE FROM things WHERE a = 9`},
		{"a new table", `CREATE TABLE later (id INTEGER PRIMARY KEY)`, `DROP TABLE later`},
	}
	for _, c := range changes {
		exec(c.do)
		if diff := dbtest.ChecksumDiff(base, sums(nil)); len(diff) != 1 {
			t.Errorf("%s: diff %q, want one table", c.name, diff)
		}
		exec(c.undo)
		if diff := dbtest.ChecksumDiff(base, sums(nil)); len(diff) != 0 {
			t.Errorf("%s undone: diff %q", c.name, diff)
		}
	}

	narrowed := map[string]dbtest.Rule{"things": {Where: "a <> 2"}}
	before := sums(narrowed)
	exec(`UPDATE things SET note = 'changed' WHERE a = 2`)
	if diff := dbtest.ChecksumDiff(before, sums(narrowed)); len(diff) != 0 {
		t.Errorf("Where did not leave the row out: %q", diff)
	}
	if diff := dbtest.ChecksumDiff(base, sums(nil)); len(diff) != 1 {
		t.Errorf("the change itself: diff %q, want one table", diff)
	}
	if _, ok := sums(map[string]dbtest.Rule{"things": {Skip: true}})["things"]; ok {
		t.Error("Skip kept the table")
	}
	cols := map[string]dbtest.Rule{"things": {Columns: []string{"a", "b"}}}
	before = sums(cols)
	exec(`UPDATE things SET note = 'again' WHERE a = 1`)
	if diff := dbtest.ChecksumDiff(before, sums(cols)); len(diff) != 0 {
		t.Errorf("Columns hashed a column it leaves out: %q", diff)
	}
}
