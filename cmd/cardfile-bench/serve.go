package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"cardfile/internal/app"
	"cardfile/internal/sealer"
)

// The servers run in processes of their own (this binary, re-run with
// -serve), so that their RSS, goroutines and CPU profile are theirs alone,
// not the load generator's or the websocket clients'.

// stats is what a server process reports at /bench/stats.
type stats struct {
	Goroutines int      `json:"goroutines"`
	RSSBytes   int64    `json:"rssBytes"`
	Requests   int64    `json:"requests"`
	Statements int64    `json:"statements"` // ent statements sent under request contexts (cardfile only)
	Captured   []string `json:"captured,omitempty"`
}

// requestTag marks a request's context, so the statement hook counts a
// request's statements and never the job queue's.
type requestTag struct{}

// counter is the cardfile server's statement hook.
type counter struct {
	requests   atomic.Int64
	statements atomic.Int64
	mu         sync.Mutex
	capture    bool
	captured   []string
}

func (c *counter) hook(ctx context.Context, line string) {
	if ctx.Value(requestTag{}) == nil || !isStatement(line) {
		return
	}
	c.statements.Add(1)
	c.mu.Lock()
	if c.capture {
		c.captured = append(c.captured, line)
	}
	c.mu.Unlock()
}

// isStatement tells the lines of ent's debug driver that send a statement
// from "started", "committed" and "rollbacked".
func isStatement(line string) bool {
	head, _, ok := strings.Cut(line, ": query=")
	return ok && (strings.HasSuffix(head, "Exec") || strings.HasSuffix(head, "Query") ||
		strings.HasSuffix(head, "ExecContext") || strings.HasSuffix(head, "QueryContext"))
}

// serveStats mounts /bench/stats (and pprof) beside h.
func serveStats(h http.Handler, c *counter) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, r *http.Request) {
		s := stats{Goroutines: runtime.NumGoroutine(), RSSBytes: rss()}
		if c != nil {
			s.Requests, s.Statements = c.requests.Load(), c.statements.Load()
			c.mu.Lock()
			s.Captured = c.captured
			c.captured = nil
			c.capture = r.URL.Query().Get("capture") == "1"
			c.mu.Unlock()
		}
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
			s.RSSBytes = rss()
		}
		_ = json.NewEncoder(w).Encode(s)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/heap", pprof.Index)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if c != nil {
			c.requests.Add(1)
			r = r.WithContext(context.WithValue(r.Context(), requestTag{}, true))
		}
		h.ServeHTTP(w, r)
	})
	return mux
}

// rss is this process's resident set size, from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// serve runs one server process until SIGTERM: kind is "cardfile" or "raw".
func serve(kind, url, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	raiseFileLimit()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// Quiet by default: wrk stops with requests in flight, and cardfile
	// logs each cancelled one as an error.
	level := slog.LevelError + 4
	if os.Getenv("CARDFILE_BENCH_LOG") != "" {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var h http.Handler
	switch kind {
	case "cardfile":
		key := make([]byte, sealer.KeySize)
		_, _ = rand.Read(key)
		c := &counter{}
		a, err := app.New(ctx, app.Options{DatabaseURL: url, PublicURL: "http://" + addr, TokenKey: key, Log: log,
			StatementHook: c.hook})
		if err != nil {
			return err
		}
		defer a.Close()
		h = serveStats(a.Handler, c)
	case "raw":
		r, err := newRaw(ctx, url)
		if err != nil {
			return err
		}
		defer r.close()
		h = serveStats(r.handler(), nil)
	default:
		return fmt.Errorf("unknown server %q", kind)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Println("ready")
	if err := srv.Serve(l); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// raiseFileLimit lifts the open-files soft limit to the hard limit: 10,000
// websockets need more than the usual 1,024.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
