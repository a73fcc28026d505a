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
	if out["errors"] != nil {
		t.Fatalf("%s: %v", query, out["errors"])
	}
	return out["data"].(map[string]any)
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
	data := a.call(t, token, `{ customers(first: 1, where: {hasCreditCards: true, defaultCurrency: "USD"}) { edges { node { id creditCards { id } } } } }`, nil)
	node := data["customers"].(map[string]any)["edges"].([]any)[0].(map[string]any)["node"].(map[string]any)
	customerID := node["id"].(string)
	cardID := node["creditCards"].([]any)[0].(map[string]any)["id"].(string)

	events := subscribe(t, b, token, `subscription($c: ID!) { creditCardsChanged(customerId: $c) { kind cardId card { description } } }`,
		map[string]any{"c": customerID})
	// The subscription is live once the server has processed it; retry the
	// change until an event arrives rather than guess how long that takes.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		desc := fmt.Sprintf("Renamed on replica A #%d", i)
		a.call(t, token, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
			map[string]any{"id": cardID, "d": desc})
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

// subscribe opens a graphql-transport-ws subscription on p and returns its
// payloads' data.
func subscribe(t *testing.T, p *process, token, query string, vars map[string]any) <-chan map[string]any {
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
	out := make(chan map[string]any, 16)
	go func() {
		for {
			var msg struct {
				Type    string
				Payload struct {
					Data   map[string]any
					Errors []any
				}
			}
			if err := conn.ReadJSON(&msg); err != nil {
				return
			}
			if msg.Type == "next" && msg.Payload.Data != nil {
				out <- msg.Payload.Data
			}
		}
	}()
	return out
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
