// Command cardfile-bench measures cardfile against a minimal hand-written
// handler that runs the same SQL statements on the same rows (issue 10):
// req/s, p99 and their ratio per workload, statements per request from
// PostgreSQL's own counters, and websocket fan-out. `make bench` runs it;
// it needs wrk (apt-get install -y wrk).
//
// PostgreSQL: CARDFILE_BENCH_DATABASE_URL, else a private cluster started
// here (Debian's PostgreSQL 15 binaries) with pg_stat_statements loaded.
// SQLite: the file named by -sqlite, loaded once and kept.
// CARDFILE_BENCH_LOG=1 shows the servers' warnings; CARDFILE_BENCH_DUMP=dir
// writes both answers of a workload whose values differ there.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"time"
)

type config struct {
	duration    time.Duration
	rounds      int
	conns       int
	customers   int
	fanout      int
	only        string
	sqlite      string
	cpuProfile  string
	capture     bool
	skipSQLite  bool
	skipFanout  bool
	skipPG      bool
	stmtSamples int
}

func main() {
	var cfg config
	serveKind := flag.String("serve", "", "internal: run a server process (cardfile or raw)")
	serveDB := flag.String("serve-db", "", "internal: the server's database URL")
	serveAddr := flag.String("serve-addr", "", "internal: the server's listen address")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of one wrk run (one side of one round)")
	flag.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds (cardfile, raw, cardfile, raw, …); the table shows medians")
	flag.IntVar(&cfg.conns, "connections", 16, "wrk connections")
	flag.IntVar(&cfg.customers, "customers", 50000, "customers in the data set (three cards each)")
	flag.IntVar(&cfg.fanout, "fanout", 1000, "P5: websocket subscribers of one customer (10000 for the issue's target)")
	flag.StringVar(&cfg.only, "only", "", "comma-separated workload ids to run (P1,P2-10,P2-50,P2-100,P3,P4-rename,P4-primary,P5,P7); empty: all")
	flag.StringVar(&cfg.sqlite, "sqlite", "data/bench/cardfile-bench.db", "P7: the SQLite file (loaded once, then reused)")
	flag.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of cardfile serving P2-50 (PostgreSQL) to this file and print its top 15")
	flag.BoolVar(&cfg.capture, "capture", false, "print the SQL statements cardfile sends for one request of each workload, then exit")
	flag.BoolVar(&cfg.skipSQLite, "no-sqlite", false, "skip P7 (SQLite)")
	flag.BoolVar(&cfg.skipFanout, "no-fanout", false, "skip P5 (fan-out)")
	flag.BoolVar(&cfg.skipPG, "no-postgres", false, "skip the PostgreSQL rows (P1–P4)")
	flag.IntVar(&cfg.stmtSamples, "statement-samples", 50, "requests of each workload whose statements are counted")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *serveKind != "" {
		if err := serve(*serveKind, *serveDB, *serveAddr); err != nil {
			log.Fatalf("%s server: %v", *serveKind, err)
		}
		return
	}
	if _, err := exec.LookPath("wrk"); err != nil && !cfg.capture {
		log.Fatal("cardfile-bench needs wrk, the HTTP load generator: apt-get install -y wrk")
	}
	raiseFileLimit()
	r := &runner{}
	code := 0
	func() {
		defer func() {
			if p := recover(); p != nil {
				if f, ok := p.(fatal); ok {
					log.Printf("cardfile-bench: %s", f)
					code = 1
					return
				}
				r.close()
				panic(p)
			}
		}()
		if err := run(context.Background(), cfg, r); err != nil {
			log.Printf("cardfile-bench: %v", err)
			code = 1
		}
	}()
	r.close()
	os.Exit(code)
}

func (c config) wants(id string) bool {
	if c.only == "" {
		return true
	}
	for _, s := range strings.Split(c.only, ",") {
		s = strings.TrimSpace(s)
		if s == id || (s == "P2" && strings.HasPrefix(id, "P2-")) || (s == "P4" && strings.HasPrefix(id, "P4-")) {
			return true
		}
	}
	return false
}

func run(ctx context.Context, cfg config, r *runner) error {
	dir, err := os.MkdirTemp("", "cardfile-bench-")
	if err != nil {
		return err
	}
	r.Cleanup(func() { os.RemoveAll(dir) })
	var tables []table
	if !cfg.skipPG && (cfg.wants("P1") || cfg.wants("P2") || cfg.wants("P3") || cfg.wants("P4") || cfg.wants("P5") || cfg.capture) {
		url := os.Getenv("CARDFILE_BENCH_DATABASE_URL")
		if url == "" {
			log.Printf("starting a private PostgreSQL (set CARDFILE_BENCH_DATABASE_URL to use yours)")
			url = privatePostgres(ctx, r)
		}
		t, err := runDatabase(ctx, cfg, r, "PostgreSQL", url, dir)
		if err != nil {
			return err
		}
		tables = append(tables, t...)
	}
	if !cfg.skipSQLite && !cfg.capture && cfg.wants("P7") {
		t, err := runDatabase(ctx, cfg, r, "SQLite", cfg.sqlite, dir)
		if err != nil {
			return err
		}
		tables = append(tables, t...)
	}
	for _, t := range tables {
		t.print(os.Stdout)
	}
	return nil
}

// runDatabase loads the data set into url and measures the workloads there.
func runDatabase(ctx context.Context, cfg config, r *runner, name, url, dir string) ([]table, error) {
	log.Printf("%s: loading the data set", name)
	ds, err := load(ctx, url, cfg.customers)
	if err != nil {
		return nil, err
	}
	cardfile, err := startServer("cardfile", url)
	if err != nil {
		return nil, err
	}
	r.Cleanup(cardfile.stop)
	raw, err := startServer("raw", url)
	if err != nil {
		return nil, err
	}
	r.Cleanup(raw.stop)
	token, err := login(cardfile.Base)
	if err != nil {
		return nil, err
	}
	sqlite := name == "SQLite"
	var ws []workload
	for _, w := range workloads {
		if sqlite && (w.Write || !cfg.wants("P7")) || !sqlite && !cfg.wants(w.ID) {
			continue
		}
		ws = append(ws, w)
	}
	if cfg.capture {
		return nil, capture(cardfile, token, ds, ws)
	}
	for _, w := range ws {
		if err := preflight(cardfile, raw, token, ds, w); err != nil {
			return nil, err
		}
	}
	var pgStats *statStatements
	if !sqlite {
		if pgStats, err = openStatStatements(ctx, url); err != nil {
			log.Printf("statements per request come from cardfile's statement hook only: %v", err)
			pgStats = nil
		} else {
			defer pgStats.close()
		}
	}
	title := "PostgreSQL"
	if sqlite {
		title = "P7: SQLite (" + url + ")"
	}
	t := table{Title: fmt.Sprintf("%s, %d customers, %d cards, wrk %d connections, %v × %d interleaved rounds (medians)",
		title, ds.Customers, ds.Cards, cfg.conns, cfg.duration, cfg.rounds)}
	for _, w := range ws {
		row := row{ID: w.ID, Name: w.Name}
		if sqlite {
			row.ID = "P7 " + w.ID
		}
		row.Statements, row.HookStatements, row.RawStatements, row.Top, err = countStatements(ctx, cardfile, raw, pgStats, token, ds, w, cfg.stmtSamples)
		if err != nil {
			return nil, err
		}
		for round := range cfg.rounds {
			for _, s := range []*server{cardfile, raw} {
				res, err := runWrk(s, w, token, ds, cfg.conns, cfg.duration, dir)
				if err != nil {
					return nil, err
				}
				log.Printf("%s round %d %-8s %8.0f req/s  p99 %6.1f ms", row.ID, round+1, s.Kind, res.rps(), float64(res.P99US)/1000)
				if s == cardfile {
					row.Cardfile = append(row.Cardfile, res)
				} else {
					row.Raw = append(row.Raw, res)
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	var tables []table
	if len(t.Rows) > 0 {
		tables = append(tables, t)
	}
	if !sqlite && cfg.cpuProfile != "" {
		if err := profileP2(cardfile, token, ds, cfg, dir); err != nil {
			return nil, err
		}
	}
	if !sqlite && cfg.wants("P5") && !cfg.skipFanout {
		f, err := fanout(ctx, cardfile, raw, token, ds, cfg.fanout)
		if err != nil {
			return nil, err
		}
		tables = append(tables, f)
	}
	return tables, nil
}

// preflight checks that cardfile and the raw handler both answer w without
// errors and with the same JSON shape.
func preflight(cardfile, raw *server, token string, ds dataset, w workload) error {
	vars := w.goVars(ds, 7, 1)
	a, na, err := post(cardfile.Base, cardfile.path(w), token, w.body(vars))
	if err != nil {
		return fmt.Errorf("%s on cardfile: %w", w.ID, err)
	}
	b, nb, err := post(raw.Base, raw.path(w), token, w.body(vars))
	if err != nil {
		return fmt.Errorf("%s on the raw handler: %w", w.ID, err)
	}
	if sa, sb := shape(a.Data), shape(b.Data); sa != sb {
		return fmt.Errorf("%s: the raw handler's answer has another shape:\ncardfile %s\nraw      %s", w.ID, sa, sb)
	}
	same := "the same values"
	if !sameJSON(a.Data, b.Data) {
		same = "different values (wording or times)"
		if d := os.Getenv("CARDFILE_BENCH_DUMP"); d != "" {
			_ = os.WriteFile(d+"/"+w.ID+"-cardfile.json", a.Data, 0o600)
			_ = os.WriteFile(d+"/"+w.ID+"-raw.json", b.Data, 0o600)
		}
	}
	log.Printf("%s: same shape from both, %s (%d bytes cardfile, %d raw)", w.ID, same, na, nb)
	return nil
}

// capture prints the statements cardfile sends for one request of each workload.
func capture(cardfile *server, token string, ds dataset, ws []workload) error {
	for _, w := range ws {
		if _, err := cardfile.stats("?capture=1"); err != nil {
			return err
		}
		if _, _, err := post(cardfile.Base, "/query", token, w.body(w.goVars(ds, 7, 1))); err != nil {
			return fmt.Errorf("%s: %w", w.ID, err)
		}
		st, err := cardfile.stats("")
		if err != nil {
			return err
		}
		fmt.Printf("== %s (%d statements)\n", w.ID, len(st.Captured))
		for _, s := range st.Captured {
			fmt.Println("  ", s)
		}
	}
	return nil
}

// countStatements runs n sequential requests of w on each server and returns
// statements per request: cardfile's from pg_stat_statements (-1 without
// it) and from its statement hook, the raw handler's from pg_stat_statements,
// and cardfile's most frequent statements.
func countStatements(ctx context.Context, cardfile, raw *server, pg *statStatements, token string, ds dataset, w workload, n int) (float64, float64, float64, []statement, error) {
	perRequest := func(s *server) (float64, []statement, error) {
		if pg != nil {
			if err := pg.reset(ctx); err != nil {
				return 0, nil, err
			}
		}
		for i := range n {
			if _, _, err := post(s.Base, s.path(w), token, w.body(w.goVars(ds, rand.IntN(min(ds.Customers, 5000)), i))); err != nil {
				return 0, nil, fmt.Errorf("%s on %s: %w", w.ID, s.Kind, err)
			}
		}
		if pg == nil {
			return -1, nil, nil
		}
		sts, err := pg.counted(ctx)
		if err != nil {
			return 0, nil, err
		}
		var calls int64
		for _, st := range sts {
			calls += st.Calls
		}
		return float64(calls) / float64(n), sts, nil
	}
	before, err := cardfile.stats("")
	if err != nil {
		return 0, 0, 0, nil, err
	}
	cf, top, err := perRequest(cardfile)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	after, err := cardfile.stats("")
	if err != nil {
		return 0, 0, 0, nil, err
	}
	hook := float64(after.Statements-before.Statements) / float64(after.Requests-before.Requests)
	rw, _, err := perRequest(raw)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return cf, hook, rw, top, nil
}

// freePort is a TCP port nobody listened on a moment ago.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fatal(err.Error()))
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sameJSON reports whether two JSON documents hold the same values.
func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
