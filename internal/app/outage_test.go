package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cardfile/internal/app"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/viewer"
)

// While PostgreSQL stops (a fast shutdown, then a SIGKILL) and comes back
// under load (clients signing in, querying and renaming a card over real
// HTTP), every answer is JSON with a code, never text/plain nor INTERNAL;
// an answer that is only SERVICE_UNAVAILABLE is HTTP 503 with Retry-After;
// /readyz answers 503 on the first probe after the database went away and
// 200 once it is back; and the same server, never restarted, serves every
// kind of call again. A frozen database (every process stopped, connections
// open) gets a 503 from /readyz within a second instead of a hung probe.
func TestDatabaseOutageAnswersLikeTheAPI(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("the outage test stops a PostgreSQL server; run it with CARDFILE_TEST_DB=postgres")
	}
	pg := dbtest.PrivatePostgres(t) // never the shared server
	pg.Use(t)
	h := newHarness(t, func(o *app.Options) { o.Auth.LoginsPerMinute = 1 << 20 }) // the clients sign in over and over
	t.Cleanup(func() {
		if t.Failed() { // what the server made of it
			for _, l := range strings.Split(h.logs.String(), "\n") {
				if strings.Contains(l, "level=ERROR") {
					t.Log(l)
				}
			}
		}
	})
	tn := h.newTenant("Outage", 3)
	admin := tn.tokens[viewer.Admin]
	card := h.addCard(admin, fmt.Sprint(tn.customers[0].ID), "4111111111111111", "Office", "")
	srv := httptest.NewServer(h.app.Handler)
	defer srv.Close()

	ops := []outageOp{
		{name: "query", token: admin, query: `{ customers(first: 5) { totalCount edges { node { id name } } } }`},
		{name: "mutation", token: admin, query: `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id description } }`,
			vars: map[string]any{"id": card.ID, "d": "Office card"}},
		{name: "login", query: `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`,
			vars: map[string]any{"e": "admin@outage.test", "p": "correct horse battery"}},
	}
	tally := newOutageTally()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 15 * time.Second}
			for n := i; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond): // pace the clients; 2 cores are shared
				}
				op := ops[n%len(ops)]
				phase := tally.phase.Load()
				tally.record(op.name, phase, op.call(client, srv.URL))
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	everyOp := func(what string, pred func(op string) bool) {
		t.Helper()
		tally.waitFor(t, what, func() bool {
			for _, op := range ops {
				if !pred(op.name) {
					return false
				}
			}
			return true
		})
	}
	everyOp("every call succeeds before the outage", func(op string) bool { return tally.ok[op][0] > 0 })

	// An operator's restart (fast shutdown: sessions end with 57P01), then
	// a crash (SIGKILL: connections drop mid-statement, crash recovery).
	for _, fault := range []struct {
		name string
		down func()
	}{{"fast shutdown", pg.Stop}, {"kill -9", pg.Kill}} {
		fault.down()
		tally.phase.Add(1)
		if status, took := readyz(t, srv.URL, 5*time.Second); status != http.StatusServiceUnavailable {
			t.Fatalf("%s: first /readyz after the database went away = %d, want 503", fault.name, status)
		} else {
			t.Logf("%s: /readyz answered 503 %v after the database went away", fault.name, took)
		}
		everyOp(fault.name+": every call answers SERVICE_UNAVAILABLE while the database is down", func(op string) bool {
			return tally.unavailable[op][tally.phase.Load()] >= 10
		})

		pg.Start()
		restarted := time.Now()
		for {
			status, _ := readyz(t, srv.URL, 5*time.Second)
			if status == http.StatusOK {
				break
			}
			if time.Since(restarted) > 10*time.Second {
				t.Fatalf("%s: /readyz still %d 10 s after the database came back", fault.name, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s: /readyz answered 200 %v after the database came back", fault.name, time.Since(restarted))
		back := tally.phase.Add(1)
		everyOp(fault.name+": every call succeeds again without a restart", func(op string) bool { return tally.ok[op][back] > 0 })
	}
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close

	t.Logf("answers by call and code: %s", tally)
	if len(tally.bad) > 0 {
		t.Fatalf("%d answers were not coded JSON errors (first %d):\n%s", tally.badCount, len(tally.bad), strings.Join(tally.bad, "\n"))
	}

	// A frozen database accepts connections and answers nothing: the probe's
	// own deadline must answer, within the second a load balancer allows.
	pg.Pause()
	status, took, err := probeReady(srv.URL, time.Second)
	pg.Resume()
	if err != nil || status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz on a frozen database = %d, %v; want 503 within a second", status, err)
	}
	t.Logf("/readyz answered 503 %v into a frozen database", took)
	if status, _ := readyz(t, srv.URL, 5*time.Second); status != http.StatusOK {
		t.Fatalf("/readyz after the database thawed = %d, want 200", status)
	}
}

// outageOp is one kind of call the load clients make.
type outageOp struct {
	name, token, query string
	vars               map[string]any
}

// outageAnswer is what one call got back: its codes ("" for success), or
// what was wrong with it.
type outageAnswer struct {
	codes   []string
	problem string
}

func (op outageOp) call(client *http.Client, base string) outageAnswer {
	body, _ := json.Marshal(map[string]any{"query": op.query, "variables": op.vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if op.token != "" {
		req.Header.Set("Authorization", "Bearer "+op.token)
	}
	res, err := client.Do(req)
	if err != nil {
		return outageAnswer{problem: err.Error()}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	describe := func(why string) outageAnswer {
		return outageAnswer{problem: fmt.Sprintf("%s: HTTP %d %s %s", why, res.StatusCode, res.Header.Get("Content-Type"), raw)}
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return describe("not JSON")
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return describe("not JSON")
	}
	if len(r.Errors) == 0 {
		if res.StatusCode != http.StatusOK {
			return describe("no errors but not 200")
		}
		return outageAnswer{codes: []string{""}}
	}
	var a outageAnswer
	onlyUnavailable := true
	for _, e := range r.Errors {
		code, _ := e.Extensions["code"].(string)
		switch {
		case code == "" || e.Message == "":
			return describe("an error without a code or message")
		case code == "INTERNAL":
			return describe("INTERNAL")
		}
		onlyUnavailable = onlyUnavailable && code == "SERVICE_UNAVAILABLE"
		a.codes = append(a.codes, code)
	}
	if onlyUnavailable && (res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "") {
		return describe("SERVICE_UNAVAILABLE without 503 and Retry-After")
	}
	return a
}

// outageTally counts answers by call, and keeps the first bad ones.
type outageTally struct {
	phase atomic.Int32

	mu      sync.Mutex
	changed chan struct{}
	// by call, then the phase the call started in: 0 before the first
	// fault, then odd while the database is down, even once it is back.
	ok          map[string]map[int32]int
	unavailable map[string]map[int32]int
	codes       map[string]int // "call code"
	bad         []string
	badCount    int
}

func newOutageTally() *outageTally {
	return &outageTally{changed: make(chan struct{}, 1), ok: map[string]map[int32]int{},
		unavailable: map[string]map[int32]int{}, codes: map[string]int{}}
}

func (t *outageTally) record(op string, phase int32, a outageAnswer) {
	t.mu.Lock()
	switch {
	case a.problem != "":
		t.badCount++
		if len(t.bad) < 10 {
			t.bad = append(t.bad, op+": "+a.problem)
		}
	case len(a.codes) == 1 && a.codes[0] == "":
		bump(t.ok, op, phase)
		t.codes[op+" ok"]++
	default:
		for _, c := range a.codes {
			t.codes[op+" "+c]++
			if c == "SERVICE_UNAVAILABLE" {
				bump(t.unavailable, op, phase)
			}
		}
	}
	t.mu.Unlock()
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

func bump(m map[string]map[int32]int, op string, phase int32) {
	if m[op] == nil {
		m[op] = map[int32]int{}
	}
	m[op][phase]++
}

// waitFor returns once cond holds (checked after every answer), failing the
// test after 10 s or on the first bad answer.
func (t *outageTally) waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		t.mu.Lock()
		done, bad := cond(), t.bad
		t.mu.Unlock()
		switch {
		case len(bad) > 0:
			tb.Fatalf("waiting until %s: an answer was not a coded JSON error:\n%s", what, strings.Join(bad, "\n"))
		case done:
			return
		}
		select {
		case <-t.changed:
		case <-deadline:
			tb.Fatalf("waiting until %s: not after 10 s; answers so far: %s", what, t)
		}
	}
}

func (t *outageTally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for k, n := range t.codes {
		parts = append(parts, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// readyz probes /readyz with a client deadline and says how long it took.
func readyz(t *testing.T, base string, deadline time.Duration) (int, time.Duration) {
	t.Helper()
	status, took, err := probeReady(base, deadline)
	if err != nil {
		t.Fatalf("/readyz: no answer within %v: %v", deadline, err)
	}
	return status, took
}

func probeReady(base string, deadline time.Duration) (int, time.Duration, error) {
	start := time.Now()
	res, err := (&http.Client{Timeout: deadline}).Get(base + "/readyz")
	if err != nil {
		return 0, time.Since(start), err
	}
	res.Body.Close()
	return res.StatusCode, time.Since(start), nil
}
