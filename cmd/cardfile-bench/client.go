package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// server is a server process started by the benchmark.
type server struct {
	Kind string // "cardfile" or "raw"
	Base string // http://127.0.0.1:port
	cmd  *exec.Cmd
}

// startServer runs this binary with -serve kind on a free port and waits until it answers.
func startServer(kind, url string) (*server, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort())
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", kind, "-serve-db", url, "-serve-addr", addr)
	cmd.Stderr = os.Stderr
	// A benchmark that dies takes its servers with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 64)
		n, err := out.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), "ready") {
			ready <- fmt.Errorf("%s server did not start: %v", kind, err)
			return
		}
		ready <- nil
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Kill()
			return nil, err
		}
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%s server not ready in 90 s", kind)
	}
	return &server{Kind: kind, Base: "http://" + addr, cmd: cmd}, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// path is where w is posted on s: cardfile's one endpoint, the raw handler's route per workload.
func (s *server) path(w workload) string {
	if s.Kind == "cardfile" {
		return "/query"
	}
	return "/raw/" + w.ID
}

func (s *server) stats(query string) (stats, error) {
	var st stats
	resp, err := http.Get(s.Base + "/bench/stats" + query)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// gqlResponse is a GraphQL answer, kept raw for size and shape checks.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// post sends body to s at path with token and fails on any GraphQL error.
func post(base, path, token string, body []byte) (gqlResponse, int, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return gqlResponse{}, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResponse{}, 0, err
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, len(raw), fmt.Errorf("HTTP %d, not JSON: %.200s", resp.StatusCode, raw)
	}
	if resp.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		return r, len(raw), fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, raw)
	}
	return r, len(raw), nil
}

// login signs the bench admin in through cardfile and returns the session token.
func login(base string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`,
		"variables": map[string]any{"e": benchEmail, "p": benchPassword},
	})
	r, _, err := post(base, "/query", "", body)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	var out struct {
		Login struct{ Token string } `json:"login"`
	}
	if err := json.Unmarshal(r.Data, &out); err != nil || out.Login.Token == "" {
		return "", fmt.Errorf("login: no token (%v)", err)
	}
	return out.Login.Token, nil
}

// shape is a JSON value's structure with the values left out: objects'
// sorted keys, and the shape of an array's first element with its length.
func shape(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "?"
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + ":" + walk(x[k])
			}
			return "{" + strings.Join(parts, ",") + "}"
		case []any:
			if len(x) == 0 {
				return "[]"
			}
			return fmt.Sprintf("[%d×%s]", len(x), walk(x[0]))
		default:
			return "·"
		}
	}
	return walk(v)
}

// wrkResult is the summary line of the Lua script's done().
type wrkResult struct {
	Requests   int64 `json:"requests"`
	DurationUS int64 `json:"duration_us"`
	P50US      int64 `json:"p50_us"`
	P99US      int64 `json:"p99_us"`
	Errors     int64 `json:"errors"`
	Non2xx     int64 `json:"non2xx"`
}

func (r wrkResult) rps() float64 { return float64(r.Requests) / (float64(r.DurationUS) / 1e6) }

// runWrk drives s with w for d over conns connections.
func runWrk(s *server, w workload, token string, ds dataset, conns int, d time.Duration, dir string) (wrkResult, error) {
	script := filepath.Join(dir, strings.ReplaceAll(w.ID+"-"+s.Kind, "/", "_")+".lua")
	if err := os.WriteFile(script, []byte(w.luaScript(s.path(w), token, ds)), 0o600); err != nil {
		return wrkResult{}, err
	}
	threads := min(conns, 2)
	cmd := exec.Command("wrk", "-t", fmt.Sprint(threads), "-c", fmt.Sprint(conns), "-d", fmt.Sprintf("%ds", int(d.Seconds())),
		"--timeout", "10s", "-s", script, s.Base)
	out, err := cmd.CombinedOutput()
	// wrk leaves requests in flight when it stops; let the server finish
	// them before anything else is measured.
	time.Sleep(500 * time.Millisecond)
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "BENCH "); ok {
			var r wrkResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				return r, err
			}
			if r.Errors > 0 || r.Non2xx > 0 {
				return r, fmt.Errorf("%s on %s: %d socket errors, %d non-2xx answers", w.ID, s.Kind, r.Errors, r.Non2xx)
			}
			return r, nil
		}
	}
	return wrkResult{}, fmt.Errorf("wrk printed no summary:\n%s", out)
}
