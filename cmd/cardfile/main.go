// Command cardfile is the one binary: serve, migrate, seed, user, scan.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"cardfile/internal/app"
	"cardfile/internal/auth"
	"cardfile/internal/db"
	"cardfile/internal/jobs"
	"cardfile/internal/sealer"
	"cardfile/internal/server"
)

const usage = `cardfile keeps customers' credit cards on file.

Usage:
  cardfile serve [-addr host:port] [-demo] [-dev]   run the server (migrates first)
  cardfile migrate                                  bring the database schema up to date
  cardfile seed                                     create the demo company (idempotent)
  cardfile user add -company-id N -email E -name N -role R
                                                    create a staff member; the password is read
                                                    from CARDFILE_PASSWORD or standard input
  cardfile scan [-redact]                           find card numbers stored in free-text columns
                                                    (reported by table, row and column, never the
                                                    digits); -redact masks them, audited

Configuration: CARDFILE_* environment variables, listed with their defaults in the
README's Configuration section. A value that does not parse stops start, naming the variable.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if a := os.Args[1]; a == "help" || a == "-h" || a == "--help" {
		fmt.Print(usage) // even when the configuration would not load
		return
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cardfile: %v\n", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = serve(ctx, cfg, log, args)
	case "migrate":
		err = migrate(ctx, cfg, log)
	case "seed":
		err = seed(ctx, cfg, log)
	case "user":
		err = user(ctx, cfg, log, args)
	case "scan":
		err = scanCards(ctx, cfg, log, args)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		log.Error("cardfile failed", "err", err)
		os.Exit(1)
	}
}

func open(ctx context.Context, cfg config, log *slog.Logger) (*app.App, error) {
	key, err := tokenKey(cfg)
	if err != nil {
		return nil, err
	}
	return app.New(ctx, app.Options{
		DatabaseURL:    cfg.DatabaseURL,
		PublicURL:      cfg.PublicURL,
		Gateway:        cfg.Gateway,
		Server:         serverConfig(cfg),
		Log:            log,
		TokenKey:       key,
		SMTPURL:        cfg.SMTPURL,
		LinkTTL:        cfg.LinkTTL,
		EventRetention: cfg.EventRetention,
		Auth:           auth.Config{TrustProxy: cfg.TrustProxy},
		Clearent:       cfg.clearentConfig(),
		MailFrom:       cfg.MailFrom,
		// Unsettled payments: how old before the gateway is asked, how often.
		ReconcileAfter: cfg.ReconcileAfter,
		Jobs:           jobs.Options{ReconcileInterval: cfg.ReconcileInterval},
	})
}

func serverConfig(cfg config) server.Config {
	sc := server.DefaultConfig()
	sc.AllowedOrigins, sc.Dev = cfg.AllowedOrigins, cfg.Dev
	return sc
}

// shutdownGrace is how long shutdown waits for requests in flight: a little
// past their deadline, so a request that honours it finishes and one that
// does not is closed instead of holding the process.
func shutdownGrace(cfg config) time.Duration {
	return max(cfg.ShutdownGrace, serverConfig(cfg).RequestTimeout+5*time.Second)
}

func serve(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "seed the demo company and print its sign-ins")
	fs.BoolVar(&cfg.Dev, "dev", cfg.Dev, "development mode: GraphQL introspection on")
	_ = fs.Parse(args)
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Demo {
		if err := seedDemo(ctx, a); err != nil {
			return err
		}
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	// Shutdown waits for requests but leaves websockets be: tell each client
	// to go elsewhere (1001), so it reconnects at once.
	srv.RegisterOnShutdown(a.Sockets.GoingAway)
	// Listen before saying we are up, so the URL printed already answers.
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Info("cardfile serving", "addr", cfg.Addr, "url", cfg.PublicURL, "database", a.DB.Dialect, "gateway", a.Gateway.Name())
	fmt.Printf("\ncardfile is up at %s  (GraphQL: %s/query)\n", cfg.PublicURL, cfg.PublicURL)
	if a.Outbox != nil && cfg.Dev {
		fmt.Printf("Emails are not sent anywhere: read them at %s/outbox\n", cfg.PublicURL)
	}
	fmt.Println()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := shutdownGrace(cfg)
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	switch err := srv.Shutdown(sctx); {
	case errors.Is(err, context.DeadlineExceeded):
		log.Warn("requests still running past the grace period; closing their connections")
		return srv.Close()
	case err != nil && !errors.Is(err, http.ErrServerClosed):
		return fmt.Errorf("shutting down: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := open(ctx, cfg, log) // opening migrates
	if err != nil {
		return err
	}
	defer a.Close()
	fmt.Println("database schema is up to date")
	return nil
}

func seed(ctx context.Context, cfg config, log *slog.Logger) error {
	a, err := open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return seedDemo(ctx, a)
}

// tokenKey is the key that seals gateway tokens: CARDFILE_TOKEN_KEY, or for
// the embedded SQLite default a key file made once beside the database.
func tokenKey(cfg config) ([]byte, error) {
	if cfg.TokenKey != nil {
		return cfg.TokenKey, nil
	}
	if db.IsPostgres(cfg.DatabaseURL) {
		return nil, errors.New("set CARDFILE_TOKEN_KEY (32 random bytes, base64) to seal gateway tokens; e.g. openssl rand -base64 32")
	}
	return sealer.LoadOrCreateKeyFile(filepath.Join(filepath.Dir(strings.TrimPrefix(cfg.DatabaseURL, "file:")), "token.key"))
}
