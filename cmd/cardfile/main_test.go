package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
// prints that it is up.
func startServe(t *testing.T, dir string, env ...string) *process {
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
	go func() {
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
	case <-time.After(90 * time.Second):
		t.Fatalf("server did not come up; stderr:\n%s", p.stderr.String())
	}
	return p
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
