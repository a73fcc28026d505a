package server_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"cardfile/internal/server"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// hostileBytes sizes the bodies of BenchmarkHostileBodies; 0 means just
// under server.DefaultConfig().MaxBodyBytes, the worst a client may send.
var hostileBytes = flag.Int("hostile-bytes", 0, "body size of the hostile-body benchmark (0: the body limit)")

// hostileShape is one way to make a request expensive: a query built of
// prefix, many units, end and suffix; or, when query is set, variables
// (JSON text) built that way.
type hostileShape struct {
	name   string
	query  string
	prefix string
	unit   func(i int) string
	suffix string
	// end, when set, closes what n units opened (before suffix).
	end func(n int) string
	op   string // operationName
}

func repeat(s string) func(int) string { return func(int) string { return s } }

// hostileShapes are the costly documents of issue 8: repeated and aliased
// fields, repeated directives and arguments, fragments spread many times or
// nested, many operations and variables, deep nesting in selections, values
// and variables, huge variable lists and objects, long strings.
var hostileShapes = []hostileShape{
	{name: "repeated fields", prefix: "{ ", unit: repeat("__typename "), suffix: "}"},
	{name: "aliases", prefix: "{ ", unit: func(i int) string { return fmt.Sprintf("a%d: __typename ", i) }, suffix: "}"},
	{name: "repeated fields with selections", prefix: "{ ", unit: repeat(`node(id: "1") { id } `), suffix: "}"},
	{name: "repeated nested fields", prefix: "{ ", unit: repeat(`viewer { id company { id name } } `), suffix: "}"},
	{name: "repeated directives", prefix: "{ __typename", unit: repeat(" @skip(if: false)"), suffix: " }"},
	{name: "directives on many fields", prefix: "{ ", unit: repeat("__typename @include(if: true) "), suffix: "}"},
	{name: "repeated arguments", prefix: "{ __typename @skip(", unit: repeat("if: false "), suffix: ") }"},
	{name: "unknown arguments", prefix: `{ node(`, unit: func(i int) string { return fmt.Sprintf("a%d: 1 ", i) }, suffix: `id: "1") { id } }`},
	{name: "fragment spread many times", prefix: "{ ", unit: repeat("...F "), suffix: "} fragment F on Query { __typename viewer { id } }"},
	{name: "many fragment definitions", prefix: "{ ...F0 } ", unit: func(i int) string { return fmt.Sprintf("fragment F%d on Query { ...F%d } ", i, i+1) }, end: lastFragment},
	{name: "fragments spreading fragments twice", prefix: "{ ...F0 } ", unit: func(i int) string {
		return fmt.Sprintf("fragment F%d on Query { __typename ...F%d ...F%d } ", i, i+1, i+1)
	}, end: lastFragment},
	{name: "operations spreading one big fragment", prefix: "fragment F on Query { " + strings.Repeat("__typename ", 2000) + "} ",
		unit: func(i int) string { return fmt.Sprintf("query q%d { ...F } ", i) }, suffix: "query q { __typename }", op: "q"},
	{name: "many operations", unit: func(i int) string { return fmt.Sprintf("query q%d { __typename } ", i) }, suffix: "query q { __typename }", op: "q"},
	{name: "many variable definitions", prefix: "query(", unit: func(i int) string { return fmt.Sprintf("$v%d: Int ", i) }, suffix: ") { __typename }"},
	{name: "many variables used", prefix: "query(", unit: func(i int) string { return fmt.Sprintf("$v%d: Boolean = false ", i) }, suffix: ") { __typename }"},
	{name: "deep inline fragments", prefix: "{ ", unit: repeat("... on Query { "), end: closing("__typename ", "}"), suffix: " }"},
	{name: "deep lists in an argument", prefix: "{ __typename @skip(if: ", unit: repeat("["), end: closing("", "]"), suffix: ") }"},
	{name: "deep objects in an argument", prefix: "{ customers(where: ", unit: repeat("{not: "), end: closing("{}", "}"), suffix: ") { totalCount } }"},
	{name: "long list in an argument", prefix: `{ nodes(ids: [`, unit: repeat(`"1" `), suffix: `]) { id } }`},
	{name: "long string in an argument", prefix: `{ node(id: "`, unit: repeat("x"), suffix: `") { id } }`},
	{name: "long block string in an argument", prefix: `{ node(id: """`, unit: repeat("x"), suffix: `""") { id } }`},
	{name: "huge variable list", query: "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
		prefix: `{"ids": ["1"`, unit: repeat(`,"1"`), suffix: `]}`},
	{name: "huge variable object", query: "query($w: CustomerWhereInput) { customers(where: $w) { totalCount } }",
		prefix: `{"w": {"or": [{"nameContains": "x"}`, unit: repeat(`,{"nameContains": "x"}`), suffix: `]}}`},
	{name: "deep variable", query: "query($w: CustomerWhereInput) { customers(where: $w) { totalCount } }",
		prefix: `{"w": `, unit: repeat(`{"not": `), end: closing("{}", "}"), suffix: `}`},
	{name: "long variable string", query: loginMutation,
		prefix: `{"p": "` + password + `", "e": "`, unit: repeat("x"), suffix: `@example.com"}`},
}

// lastFragment defines the fragment the last of n chained units spreads.
func lastFragment(n int) string { return fmt.Sprintf("fragment F%d on Query { __typename }", n) }

// closing writes inner, then closes n levels with closer.
func closing(inner, closer string) func(int) string {
	return func(n int) string { return inner + strings.Repeat(closer, n) }
}

// body builds the shape's request body as close to size bytes as its units
// allow, with a query of at most tokens parser tokens unless tokens is 0.
func (s hostileShape) body(size, tokens int) []byte {
	build := func(n int) (body []byte, query string) {
		var t strings.Builder
		t.WriteString(s.prefix)
		for i := range n {
			t.WriteString(s.unit(i))
		}
		if s.end != nil {
			t.WriteString(s.end(n))
		}
		t.WriteString(s.suffix)
		query, vars := t.String(), "{}"
		if s.query != "" {
			query, vars = s.query, t.String()
		}
		q, err := json.Marshal(query)
		if err != nil {
			panic(err)
		}
		op, _ := json.Marshal(s.op)
		return []byte(`{"operationName":` + string(op) + `,"query":` + string(q) + `,"variables":` + vars + `}`), query
	}
	fits := func(n int) bool {
		body, query := build(n)
		if len(body) > size {
			return false
		}
		if tokens == 0 {
			return true
		}
		_, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, tokens)
		return err == nil || !strings.Contains(err.Error(), "token limit")
	}
	// Grow n geometrically, then bisect for the largest body that fits.
	lo, hi := 1, 2
	for fits(hi) {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	body, _ := build(lo)
	return body
}

func hostileSize() int {
	if *hostileBytes > 0 {
		return *hostileBytes
	}
	return int(server.DefaultConfig().MaxBodyBytes)
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func postBody(body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// hostileBodies are each shape's worst bodies: the largest the body limit
// allows, and the largest whose query stays within the parser's token limit
// (where it differs), which validation would otherwise walk in full.
func hostileBodies() []struct {
	name string
	body []byte
} {
	var out []struct {
		name string
		body []byte
	}
	size, tokens := hostileSize(), server.DefaultConfig().Document.Tokens
	for _, s := range hostileShapes {
		full, within := s.body(size, 0), s.body(size, tokens)
		out = append(out, struct {
			name string
			body []byte
		}{s.name + "/body limit", full})
		if len(within) != len(full) {
			out = append(out, struct {
				name string
				body []byte
			}{s.name + "/token limit", within})
		}
	}
	return out
}

// BenchmarkHostileBodies reports, per shape, the time from a worst body to
// the server's answer (ms/op, and the process's CPU in cpu-ms/op).
//
//	go test -run '^$' -bench HostileBodies -benchtime 5x ./internal/server/
func BenchmarkHostileBodies(b *testing.B) {
	f := newFixture(b)
	for _, h := range hostileBodies() {
		body := h.body
		b.Run(h.name, func(b *testing.B) {
			var rec *httptest.ResponseRecorder
			runtime.GC() // building the body's garbage is not the server's cost
			start, cpu := time.Now(), cpuTime()
			for b.Loop() {
				rec = f.serve(postBody(body))
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
			// CPU of the whole process, background jobs included: on a busy
			// machine wall time also counts other processes' turns.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(len(body)), "bytes")
			var r struct {
				Errors []gqlError
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &r)
			if len(r.Errors) > 0 {
				b.Logf("%d bytes: HTTP %d %s %v %.120s", len(body), rec.Code, r.Errors[0].Extensions["code"], r.Errors[0].Extensions["reason"], r.Errors[0].Message)
			} else {
				b.Logf("%d bytes: HTTP %d %.200s", len(body), rec.Code, rec.Body)
			}
		})
	}
}
