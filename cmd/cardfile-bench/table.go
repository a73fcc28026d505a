package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// row is one workload's measurements over the rounds.
type row struct {
	ID, Name       string
	Cardfile, Raw  []wrkResult
	Statements     float64 // cardfile, pg_stat_statements; -1: not available
	HookStatements float64 // cardfile, ent's statement hook
	RawStatements  float64 // raw handler, pg_stat_statements
	Top            []statement
}

// table is a titled set of rows, or free-form lines (P5).
type table struct {
	Title string
	Rows  []row
	Lines []string
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medians(rs []wrkResult) (rps, p99ms float64) {
	var a, b []float64
	for _, r := range rs {
		a = append(a, r.rps())
		b = append(b, float64(r.P99US)/1000)
	}
	return median(a), median(b)
}

func stmts(x float64) string {
	if x < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", x)
}

func (t table) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n\n", t.Title)
	if len(t.Rows) > 0 {
		fmt.Fprintln(w, "| workload | cardfile req/s | raw req/s | ratio | cardfile p99 | raw p99 | statements/request cardfile (pg_stat_statements / hook) | raw |")
		fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
		for _, r := range t.Rows {
			crps, cp99 := medians(r.Cardfile)
			rrps, rp99 := medians(r.Raw)
			ratio := 0.0
			if rrps > 0 {
				ratio = crps / rrps
			}
			fmt.Fprintf(w, "| %s %s | %.0f | %.0f | %.2f× | %.1f ms | %.1f ms | %s / %.2f | %s |\n",
				r.ID, r.Name, crps, rrps, ratio, cp99, rp99, stmts(r.Statements), r.HookStatements, stmts(r.RawStatements))
		}
		fmt.Fprintln(w, "\nPer round (req/s cardfile / raw):")
		for _, r := range t.Rows {
			var parts []string
			for i := range r.Cardfile {
				parts = append(parts, fmt.Sprintf("%.0f/%.0f", r.Cardfile[i].rps(), r.Raw[i].rps()))
			}
			fmt.Fprintf(w, "  %-12s %s\n", r.ID, strings.Join(parts, "  "))
		}
		if slices.ContainsFunc(t.Rows, func(r row) bool { return len(r.Top) > 0 }) {
			fmt.Fprintln(w, "\ncardfile's statements per request, by statement (pg_stat_statements: calls per request, mean ms in the server):")
		}
		for _, r := range t.Rows {
			if len(r.Top) == 0 {
				continue
			}
			fmt.Fprintf(w, "  %s\n", r.ID)
			n := 0
			for _, s := range r.Top {
				calls := float64(s.Calls)
				if r.Statements > 0 {
					calls = float64(s.Calls) / (float64(totalCalls(r.Top)) / r.Statements)
				}
				fmt.Fprintf(w, "    %5.2f  %6.2f ms  %.110s\n", calls, s.MeanMS, oneLine(s.Query))
				if n++; n == 8 {
					break
				}
			}
		}
	}
	for _, l := range t.Lines {
		fmt.Fprintln(w, l)
	}
}

func totalCalls(sts []statement) int64 {
	var n int64
	for _, s := range sts {
		n += s.Calls
	}
	return n
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
