package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"

	"github.com/gorilla/websocket"
)

// buildBinary builds cardfile once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cardfile-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "cardfile")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// process is a running `cardfile serve`.
type process struct {
	addr, banner string
	cmd          *exec.Cmd
	stderr       *bytes.Buffer
}

// startServe starts `cardfile serve` in dir with env added, and waits until it
// prints that it is up. The free port is closed again before cardfile binds it
// (after migrating and seeding), so another process may take it meanwhile:
// then it tries a new port.
func startServe(t *testing.T, dir string, env ...string) *process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p, err := startServeOnce(t, dir, env...)
		if err == nil {
			return p
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; trying another port", attempt, err)
	}
}

func startServeOnce(t *testing.T, dir string, env ...string) (*process, error) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{addr: freeAddr(t), stderr: &bytes.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p.cmd = exec.CommandContext(ctx, bin, "serve")
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "CARDFILE_ADDR="+p.addr, "CARDFILE_PUBLIC_URL=http://"+p.addr)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = p.stderr
	stdout, _ := p.cmd.StdoutPipe()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	printed := make(chan string, 1)
	ended := make(chan struct{}) // stdout closed: the process is exiting
	go func() {
		defer close(ended)
		var all strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "cardfile is up at") {
				printed <- all.String()
			}
		}
	}()
	select {
	case p.banner = <-printed:
		return p, nil
	case <-ended:
		err := p.cmd.Wait() // also finishes copying stderr
		return nil, fmt.Errorf("server exited before it was up (%v); stderr:\n%s", err, p.stderr.String())
	case <-time.After(90 * time.Second):
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait() // stderr is complete once it returns
		t.Fatalf("server did not come up within 90 s; stderr:\n%s", p.stderr.String())
		return nil, nil
	}
}

func (p *process) call(t *testing.T, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	out := p.post(t, token, query, vars)
	if out["errors"] != nil {
		t.Fatalf("%s: %v", query, out["errors"])
	}
	return out["data"].(map[string]any)
}

// post sends one GraphQL request and returns the whole answer, errors and all.
func (p *process) post(t *testing.T, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *process) login(t *testing.T) string {
	t.Helper()
	data := p.call(t, "", `mutation { login(input: {email: "admin@blossom.demo", password: "demo-admin-pass"}) { token } }`, nil)
	return data["login"].(map[string]any)["token"].(string)
}

// stop interrupts the server and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exited with %v; stderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not shut down within 15 s of SIGINT")
	}
}

// databaseEnv points a process at this test's database: a fresh SQLite
// folder, or on PostgreSQL runs a fresh schema (with a token key, which
// PostgreSQL requires).
func databaseEnv(t *testing.T) []string {
	if dbtest.Postgres() {
		return []string{"CARDFILE_DATABASE_URL=" + dbtest.URL(t), "CARDFILE_TOKEN_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	}
	return []string{"CARDFILE_TOKEN_KEY="}
}

// What a new user does after `make run`: the binary starts on a fresh
// folder, seeds the demo company, prints the URL and sign-ins, and a
// GraphQL login plus a customers query work; SIGINT shuts it down cleanly.
func TestServeWithDemoDataAnswersLoginAndCustomers(t *testing.T) {
	p := startServe(t, t.TempDir(), append(databaseEnv(t), "CARDFILE_DEMO=1")...)
	for _, want := range []string{"admin@blossom.demo", "demo-admin-pass", "credit.manager@blossom.demo", "200 customers"} {
		if !strings.Contains(p.banner, want) {
			t.Fatalf("the banner does not show %q:\n%s", want, p.banner)
		}
	}
	token := p.login(t)
	data := p.call(t, token, `{ customers(first: 5, where: {hasCreditCards: true}) { totalCount edges { node { code primaryCreditCard { display } } } } }`, nil)
	conn := data["customers"].(map[string]any)
	if n := conn["totalCount"].(float64); n < 100 || n > 200 {
		t.Fatalf("customers with cards = %v, want most of the 200 demo customers", n)
	}
	if edges := conn["edges"].([]any); len(edges) != 5 {
		t.Fatalf("first: 5 returned %d customers", len(edges))
	}
	if res, err := http.Get("http://" + p.addr + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", res, err)
	}
	if strings.Contains(p.stderr.String(), "demo-admin-pass") || strings.Contains(p.stderr.String(), token) {
		t.Fatal("the log shows a password or a session token")
	}
	p.stop(t)
}

// On PostgreSQL, two cardfile processes share one database: a subscriber
// on one receives the event for a change made through the other.
func TestEventsCrossProcesses(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("replicas share PostgreSQL; the SQLite default is one process")
	}
	env := databaseEnv(t)
	a := startServe(t, t.TempDir(), append(env, "CARDFILE_DEMO=1")...)
	b := startServe(t, t.TempDir(), env...)
	token := a.login(t)
	customerID, cardID := demoCard(t, a, token)

	events := subscribe(t, b, token, `subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind cardId card { description } } }`,
		map[string]any{"c": customerID})
	// The subscription is live once the server has processed it; retry the
	// change until an event arrives rather than guess how long that takes.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		rename(t, a, token, cardID, fmt.Sprintf("Renamed on replica A #%d", i))
		select {
		case ev := <-events:
			got := ev["creditCardsChanged"].(map[string]any)
			if got["kind"] != "UPDATED" || got["cardId"] != cardID || !strings.HasPrefix(got["card"].(map[string]any)["description"].(string), "Renamed on replica A") {
				t.Fatalf("replica B delivered %v", got)
			}
			return
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica B never delivered the change made on replica A; B's log:\n%s", b.stderr.String())
		}
	}
}

// The public link limit (30 a minute per IP) holds across replicas: 35 calls
// to each of two answer 30 in all, the rest RATE_LIMITED.
func TestPublicLinkLimitHoldsAcrossReplicas(t *testing.T) {
	if !dbtest.Postgres() {
		t.Skip("replicas share PostgreSQL; the SQLite default is one process")
	}
	env := databaseEnv(t)
	a := startServe(t, t.TempDir(), env...)
	b := startServe(t, t.TempDir(), env...)
	start := time.Now()
	answered, limited := 0, 0
	for i := range 35 {
		for _, p := range []*process{a, b} {
			out := p.post(t, "", `query($t: String!) { cardRequestForm(token: $t) { companyName } }`,
				map[string]any{"t": fmt.Sprintf("no-such-link-%d", i)})
			errs, _ := out["errors"].([]any)
			if len(errs) != 1 {
				t.Fatalf("want one error, got %v", out)
			}
			switch code := errs[0].(map[string]any)["extensions"].(map[string]any)["code"]; code {
			case "LINK_UNAVAILABLE":
				answered++
			case "RATE_LIMITED":
				limited++
			default:
				t.Fatalf("unexpected code %v: %v", code, out)
			}
		}
	}
	// The bucket refills at half a call a second.
	refill := int(time.Since(start).Seconds() / 2)
	if answered < 30 || answered > 30+refill || answered+limited != 70 {
		t.Fatalf("two replicas answered %d of 70 calls (%d limited); want 30 (+%d refilled)", answered, limited, refill)
	}
}

// subscribe opens a graphql-transport-ws subscription on p and returns its
// payloads' data.
func subscribe(t *testing.T, p *process, token, query string, vars map[string]any) <-chan map[string]any {
	t.Helper()
	msgs, _ := openSubscription(t, p, token, query, vars)
	out := make(chan map[string]any, 16)
	go func() {
		for m := range msgs {
			if m.Type == "next" && m.Payload.Data != nil {
				out <- m.Payload.Data
			}
		}
	}()
	return out
}

// wsMessage is a graphql-transport-ws message from the server.
type wsMessage struct {
	Type    string
	Payload struct {
		Data   map[string]any
		Errors []any
	}
	Raw string `json:"-"`
}

// openSubscription opens a graphql-transport-ws subscription on p and
// returns every message after connection_ack (the channel closes with the
// connection) and a function that drops the connection.
func openSubscription(t *testing.T, p *process, token, query string, vars map[string]any) (<-chan wsMessage, func()) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial("ws://"+p.addr+"/query", http.Header{"Origin": {"http://" + p.addr}})
	if err != nil {
		t.Fatalf("dialing the websocket: %v (%v)", err, res)
	}
	t.Cleanup(func() { conn.Close() })
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}))
	var ack map[string]any
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	must(conn.ReadJSON(&ack))
	if ack["type"] != "connection_ack" {
		t.Fatalf("no connection_ack: %v", ack)
	}
	_ = conn.SetReadDeadline(time.Time{})
	must(conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}}))
	out := make(chan wsMessage, 1024)
	go func() {
		defer close(out)
		for {
			_, raw, err := conn.ReadMessage()
			if err != nil {
				return
			}
			// An error message's payload is a list; only next carries data.
			var head struct {
				Type    string
				Payload json.RawMessage
			}
			if json.Unmarshal(raw, &head) != nil {
				return
			}
			msg := wsMessage{Type: head.Type, Raw: string(raw)}
			if head.Type == "next" && json.Unmarshal(head.Payload, &msg.Payload) != nil {
				return
			}
			out <- msg
		}
	}()
	return out, func() { conn.Close() }
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}

// Charges interrupted by a kill -9 reach their gateway truth after restart:
// the processor took three charges and hung, another's answer was lost; the
// restarted server's reconciler settles each from the processor's records,
// replays return the settled payment, and nothing is charged twice.
func TestKilledChargesSettleAfterRestart(t *testing.T) {
	dir := t.TempDir()
	env := append(databaseEnv(t), "CARDFILE_DEMO=1")
	a := startServe(t, dir, env...)
	token := a.login(t)
	data := a.call(t, token, `{ customers(first: 1, where: {hasCreditCards: true, defaultCurrency: "USD"}) { edges { node { id primaryCreditCard { id } } } } }`, nil)
	node := data["customers"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	customerID := node["id"].(string)
	cardID := node["primaryCreditCard"].(map[string]any)["id"].(string)
	const apply = `mutation($in: ApplyCreditCardPaymentInput!) { applyCreditCardPayment(input: $in) { id status } }`
	in := func(key, amount string) map[string]any {
		return map[string]any{"in": map[string]any{"customerId": customerID, "creditCardId": cardID, "amount": amount,
			"screen": "RECEIVE_PAYMENTS", "idempotencyKey": key}}
	}
	batch := map[string]string{"kill-hang-1": "101.79", "kill-hang-2": "202.79", "kill-hang-3": "303.79", "kill-lost": "44.77", "kill-plain": "55.00"}
	for key, amount := range batch {
		if strings.HasPrefix(key, "kill-hang") {
			body, _ := json.Marshal(map[string]any{"query": apply, "variables": in(key, amount)})
			req, _ := http.NewRequest(http.MethodPost, "http://"+a.addr+"/query", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			go func() { // answered never: the server dies mid-charge
				if res, err := http.DefaultClient.Do(req); err == nil {
					res.Body.Close()
				}
			}()
			continue
		}
		a.post(t, token, apply, in(key, amount))
	}
	charges := openDatabase(t, dir, env)
	taken := func(pattern string) int {
		var n int
		if err := charges.QueryRow(`SELECT count(*) FROM sandbox_charges WHERE idempotency_key LIKE $1`, pattern).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); taken("%kill-hang-%") < 3; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the processor took %d of the 3 hanging charges", taken("%kill-hang-%"))
		}
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Wait()

	b := startServe(t, dir, append(env, "CARDFILE_RECONCILE_AFTER=1s", "CARDFILE_RECONCILE_INTERVAL=1s")...)
	token = b.login(t)
	const history = `query($id: ID!) { node(id: $id) { ... on Customer { payments(first: 50) { edges { node { status resolvedAt amount } } } } } }`
	var settled map[string]map[string]any
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		settled = map[string]map[string]any{}
		edges := b.call(t, token, history, map[string]any{"id": customerID})["node"].(map[string]any)["payments"].(map[string]any)["edges"].([]any)
		open := 0
		for _, e := range edges {
			p := e.(map[string]any)["node"].(map[string]any)
			settled[p["amount"].(string)] = p
			if s := p["status"]; s == "PENDING" || s == "UNKNOWN" {
				open++
			}
		}
		if open == 0 && len(settled) >= len(batch) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s %d payments are unsettled: %v\nstderr:\n%s", open, settled, b.stderr.String())
		}
	}
	for key, amount := range batch {
		p := settled[amount]
		if p == nil || p["status"] != "APPROVED" {
			t.Fatalf("payment %s (%s): %v, want APPROVED", key, amount, p)
		}
		if reconciled := p["resolvedAt"] != nil; reconciled != (key != "kill-plain") {
			t.Errorf("payment %s resolvedAt %v", key, p["resolvedAt"])
		}
	}
	replay := b.post(t, token, apply, in("kill-hang-2", batch["kill-hang-2"]))
	if replay["errors"] != nil || replay["data"].(map[string]any)["applyCreditCardPayment"].(map[string]any)["status"] != "APPROVED" {
		t.Fatalf("replaying a reconciled key: %v", replay)
	}
	if n := taken("%kill-%"); n != len(batch) {
		t.Fatalf("the processor holds %d charges for %d payments", n, len(batch))
	}
}

// openDatabase opens the database a process started in dir with env uses.
func openDatabase(t *testing.T, dir string, env []string) *sql.DB {
	t.Helper()
	driver, url := "sqlite", db.SQLiteURL(filepath.Join(dir, "data", "cardfile.db"))
	for _, e := range env {
		if u, ok := strings.CutPrefix(e, "CARDFILE_DATABASE_URL="); ok {
			driver, url = "pgx", u
		}
	}
	d, err := sql.Open(driver, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// SIGTERM's graceful shutdown tells open websockets the server is going
// away (1001), so clients reconnect at once, and still exits cleanly.
func TestShutdownSaysGoingAwayToWebsockets(t *testing.T) {
	p := startServe(t, t.TempDir(), databaseEnv(t)...)
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial("ws://"+p.addr+"/query", http.Header{"Origin": {"http://" + p.addr}})
	if err != nil {
		t.Fatalf("dialing the websocket: %v (%v)", err, res)
	}
	defer conn.Close()
	closed := make(chan int, 1)
	go func() {
		_, _, err := conn.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			closed <- ce.Code
		}
		close(closed)
	}()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-closed:
		if code != websocket.CloseGoingAway {
			t.Fatalf("the websocket closed with %d, want 1001 (going away)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the websocket was not closed within 10 s of SIGTERM")
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server exited with %v; stderr:\n%s", err, p.stderr.String())
	}
}
