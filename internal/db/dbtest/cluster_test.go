package dbtest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"cardfile/internal/db/dbtest"
)

// A private cluster survives what fault tests do to it: committed rows are
// still there after a fast shutdown, after a SIGKILL of every process (crash
// recovery), and after a freeze, during which a query waits rather than fails.
func TestPrivatePostgresStopsKillsAndRestarts(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("fault tests run with CARDFILE_TEST_DB=postgres")
	}
	c := dbtest.PrivatePostgres(t)
	conn, err := sql.Open("pgx", c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v\n%s", q, err, c.Log())
		}
	}
	count := func() int {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM kept").Scan(&n); err != nil {
			t.Fatalf("counting rows: %v", err)
		}
		return n
	}
	exec("CREATE TABLE kept (id int)")
	exec("INSERT INTO kept VALUES (1)")

	c.Stop()
	if err := conn.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded on a stopped cluster")
	}
	c.Start()
	exec("INSERT INTO kept VALUES (2)")

	c.Kill()
	if err := conn.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded on a killed cluster")
	}
	c.Start()
	if n := count(); n != 2 {
		t.Fatalf("rows after kill and restart = %d, want 2", n)
	}

	c.Pause()
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = conn.PingContext(short)
	cancel()
	if err == nil {
		t.Fatal("ping succeeded on a paused cluster")
	}
	c.Resume()
	if n := count(); n != 2 {
		t.Fatalf("rows after resume = %d, want 2", n)
	}
}
