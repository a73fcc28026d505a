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
	op  string // operationName
	// most caps the units, to stay just inside a limit that would otherwise refuse the body early.
	most int
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
	{name: "200 fragments spreading fragments twice", prefix: "{ ...F0 } ", unit: func(i int) string {
		return fmt.Sprintf("fragment F%d on Query { __typename ...F%d ...F%d } ", i, i+1, i+1)
	}, end: lastFragment, most: 199},
	{name: "20 operations spreading one big fragment", prefix: "fragment F on Query { " + strings.Repeat("__typename ", 400) + "} ",
		unit: func(i int) string { return fmt.Sprintf("query q%d { ...F } ", i) }, suffix: "query q { __typename }", op: "q", most: 19},
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
	{name: "variable nested 9,000 deep", query: "query($w: CustomerWhereInput) { customers(where: $w) { totalCount } }",
		prefix: `{"w": `, unit: repeat(`{"not": `), end: closing("{}", "}"), suffix: `}`, most: 9000},
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
	// The units, written once: the body for n units takes units[:ends[n]].
	var all strings.Builder
	ends := []int{0}
	for i := 0; len(s.prefix)+all.Len() <= size && (s.most == 0 || i <= s.most); i++ {
		all.WriteString(s.unit(i))
		ends = append(ends, all.Len())
	}
	units := all.String()
	build := func(n int) (body []byte, query string) {
		text := s.prefix + units[:ends[n]] + s.suffix
		if s.end != nil {
			text = s.prefix + units[:ends[n]] + s.end(n) + s.suffix
		}
		query, vars := text, "{}"
		if s.query != "" {
			query, vars = s.query, text
		}
		q, err := json.Marshal(query)
		if err != nil {
			panic(err)
		}
		op, _ := json.Marshal(s.op)
		return []byte(`{"operationName":` + string(op) + `,"query":` + string(q) + `,"variables":` + vars + `}`), query
	}
	fits := func(n int) bool {
		if s.most > 0 && n > s.most {
			return false
		}
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
	// Bisect for the largest body that fits; the last n never does.
	lo, hi := 0, len(ends)-1
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

// serveWithin answers req, failing the test if the server takes longer than
// limit: old code spent minutes on some of these bodies, and a test that
// hangs that long proves nothing sooner.
func serveWithin(t *testing.T, f *fixture, req *http.Request, limit time.Duration) gqlResponse {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- f.serve(req) }()
	select {
	case rec := <-done:
		return decodeResponse(t, rec)
	case <-time.After(limit):
		t.Fatalf("no answer within %s", limit)
		return gqlResponse{}
	}
}

// nothingAnswered reports whether r has no data, or only null fields (a
// resolver that refused its argument).
func nothingAnswered(r gqlResponse) bool {
	var fields map[string]any
	if !r.hasData() {
		return true
	}
	if json.Unmarshal(r.Data, &fields) != nil {
		return false
	}
	for _, v := range fields {
		if v != nil {
			return false
		}
	}
	return true
}

// Every hostile body gets a coded refusal and no data: the parser's token
// limit, the document limits, the variables limits or (for a long email) the
// resolver's own check. BenchmarkHostileBodies measures how fast.
func TestHostileBodiesAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, h := range hostileBodies() {
		t.Run(h.name, func(t *testing.T) {
			r := serveWithin(t, f, postBody(h.body), 20*time.Second)
			code := r.ext("code")
			if !nothingAnswered(r) || len(r.Errors) == 0 || (code != "BAD_USER_INPUT" && code != "UNAUTHENTICATED") {
				t.Fatalf("HTTP %d: %.300s", r.Status, r.Raw)
			}
			if code == "BAD_USER_INPUT" && r.ext("field") == "" {
				t.Errorf("no field: %.300s", r.Raw)
			}
		})
	}
}

// Each document limit refuses the first document over it with
// REQUEST_TOO_LARGE on the query or the variables, well before the token
// limit, where validation alone would have cost seconds.
func TestDocumentLimits(t *testing.T) {
	f := newFixture(t)
	spreads := func(n int) string {
		return "{ " + strings.Repeat("...F ", n) + "} fragment F on Query { __typename }"
	}
	fragmentChain := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ...F0 } ")
		for i := range n {
			fmt.Fprintf(&b, "fragment F%d on Query { __typename ...F%d ...F%d } ", i, i+1, i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on Query { __typename }", n)
		return b.String()
	}
	operations := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "query q%d { __typename } ", i)
		}
		return b.String()
	}
	nested := func(n int) map[string]any {
		w := map[string]any{}
		for range n {
			w = map[string]any{"not": w}
		}
		return map[string]any{"w": w}
	}
	ids := func(n int) map[string]any {
		list := make([]string, n)
		for i := range list {
			list[i] = "1"
		}
		return map[string]any{"ids": list}
	}
	const where = "query($w: CustomerWhereInput) { customers(where: $w) { totalCount } }"
	for _, tc := range []struct {
		name  string
		query string
		vars  map[string]any
		op    string
		field string
	}{
		{"1,000 repeated fields", "{ " + strings.Repeat("__typename ", 1000) + "}", nil, "", "query"},
		{"500 spreads side by side", spreads(500), nil, "", "query"},
		{"fragments spreading fragments twice, 20 deep", fragmentChain(20), nil, "", "query"},
		{"21 operations", operations(21), nil, "q0", "query"},
		{"a literal nested 40 deep", "{ customers(where: " + strings.Repeat("{not: ", 40) + "{}" + strings.Repeat("}", 40) + ") { totalCount } }", nil, "", "query"},
		{"a variable nested 40 deep", where, nested(40), "", "variables"},
		{"a variable nested 1,000 deep", where, nested(1000), "", "variables"},
		{"a list of 10,001 ids", "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids(10001), "", "variables"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := map[string]any{"query": tc.query, "variables": tc.vars}
			if tc.op != "" {
				req["operationName"] = tc.op
			}
			body, _ := json.Marshal(req)
			r := serveWithin(t, f, postBody(body), 20*time.Second)
			if r.Status != http.StatusUnprocessableEntity || r.hasData() || r.ext("code") != "BAD_USER_INPUT" || r.ext("reason") != "REQUEST_TOO_LARGE" || r.ext("field") != tc.field {
				t.Fatalf("HTTP %d: %.300s; want 422, BAD_USER_INPUT, reason REQUEST_TOO_LARGE, field %s", r.Status, r.Raw, tc.field)
			}
		})
	}
}

// What the app sends stays well inside the limits.
func TestDocumentLimitsAcceptOrdinaryQueries(t *testing.T) {
	f := newFixture(t)
	token := f.login(t, f.staff(t))
	for name, q := range map[string]string{
		"250 aliased viewers":       viewers(250),
		"a fragment spread 3 times": "{ viewer { ...S } v2: viewer { ...S } v3: viewer { id ...S } } fragment S on Staff { id name email }",
		"a filter nested 10 deep":   "{ customers(where: " + strings.Repeat("{not: ", 10) + `{nameContains: "x"}` + strings.Repeat("}", 10) + ") { totalCount } }",
		"the same field twice":      "{ viewer { id } viewer { name } }",
		"one of three operations":   "query a { viewer { id } } query b { __typename } query c { __typename }",
	} {
		t.Run(name, func(t *testing.T) {
			req := map[string]any{"query": q}
			if strings.HasPrefix(q, "query a") {
				req["operationName"] = "a"
			}
			body, _ := json.Marshal(req)
			rq := postBody(body)
			rq.Header.Set("Authorization", "Bearer "+token)
			r := decodeResponse(t, f.serve(rq))
			if len(r.Errors) > 0 || !r.hasData() {
				t.Fatalf("HTTP %d: %.300s", r.Status, r.Raw)
			}
		})
	}
}
