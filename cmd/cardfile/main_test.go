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
	"testing"
	"time"

	"cardfile/internal/db/dbtest"
)

// What a new user does after `make run`: the binary starts on a fresh
// folder, seeds the demo company, prints the URL and sign-ins, and a
// GraphQL login plus a customers query work. On PostgreSQL runs it starts
// against a fresh schema instead of SQLite.
func TestServeWithDemoDataAnswersLoginAndCustomers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cardfile")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CARDFILE_DEMO=1", "CARDFILE_ADDR="+addr, "CARDFILE_TOKEN_KEY=")
	if dbtest.Postgres() {
		cmd.Env = append(cmd.Env, "CARDFILE_DATABASE_URL="+dbtest.URL(t), "CARDFILE_TOKEN_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
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
	var banner string
	select {
	case banner = <-printed:
	case <-time.After(90 * time.Second):
		t.Fatalf("server did not come up; stderr:\n%s", stderr.String())
	}
	for _, want := range []string{"admin@blossom.demo", "demo-admin-pass", "credit.manager@blossom.demo", "200 customers"} {
		if !strings.Contains(banner, want) {
			t.Fatalf("the banner does not show %q:\n%s", want, banner)
		}
	}

	base := "http://" + addr
	call := func(token, query string) map[string]any {
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, base+"/query", bytes.NewReader(body))
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
	login := call("", `mutation { login(input: {email: "admin@blossom.demo", password: "demo-admin-pass"}) { token } }`)
	token := login["login"].(map[string]any)["token"].(string)
	data := call(token, `{ customers(first: 5, where: {hasCreditCards: true}) { totalCount edges { node { code primaryCreditCard { display } } } } }`)
	conn := data["customers"].(map[string]any)
	if n := conn["totalCount"].(float64); n < 100 || n > 200 {
		t.Fatalf("customers with cards = %v, want most of the 200 demo customers", n)
	}
	if edges := conn["edges"].([]any); len(edges) != 5 {
		t.Fatalf("first: 5 returned %d customers", len(edges))
	}
	if res, err := http.Get(base + "/readyz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %v %v", res, err)
	}
	if strings.Contains(stderr.String(), "demo-admin-pass") || strings.Contains(stderr.String(), token) {
		t.Fatal("the log shows a password or a session token")
	}

	// Graceful shutdown on SIGINT.
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("server exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not shut down within 15 s of SIGINT")
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr())
}
