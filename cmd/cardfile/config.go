package main

import (
	"cmp"

	"cardfile/internal/gateway/clearent"
	"os"
	"strings"
	"time"
)

// config is read from CARDFILE_* environment variables; flags may override.
// Secrets come only from the environment.
type config struct {
	Addr           string
	DatabaseURL    string
	PublicURL      string
	AllowedOrigins []string
	Dev            bool
	Gateway        string
	Demo           bool
	LogLevel       string
	SMTPURL        string
	LinkTTL        time.Duration
	EventRetention time.Duration
	TrustProxy     bool
	Clearent       clearent.Config
	MailFrom       string
	ShutdownGrace  time.Duration
	// ReconcileAfter and ReconcileInterval tune the payment reconciler.
	ReconcileAfter    time.Duration
	ReconcileInterval time.Duration
}

func loadConfig() config {
	addr := env("CARDFILE_ADDR", "127.0.0.1:8080")
	public := strings.TrimRight(env("CARDFILE_PUBLIC_URL", "http://localhost:"+portOf(addr)), "/")
	origins := []string{public}
	if o := os.Getenv("CARDFILE_ALLOWED_ORIGINS"); o != "" {
		origins = splitList(o)
	}
	return config{
		Addr:           addr,
		DatabaseURL:    cmp.Or(os.Getenv("CARDFILE_DATABASE_URL"), os.Getenv("DATABASE_URL"), "data/cardfile.db"),
		PublicURL:      public,
		AllowedOrigins: origins,
		Dev:            os.Getenv("CARDFILE_DEV") == "1",
		Gateway:        env("CARDFILE_GATEWAY", "sandbox"),
		Demo:           os.Getenv("CARDFILE_DEMO") == "1",
		LogLevel:       env("CARDFILE_LOG_LEVEL", "info"),
		SMTPURL:        os.Getenv("CARDFILE_SMTP_URL"),
		LinkTTL:        duration("CARDFILE_LINK_TTL"),
		EventRetention: duration("CARDFILE_EVENT_RETENTION"),
		TrustProxy:     os.Getenv("CARDFILE_TRUST_PROXY") == "1",
		Clearent: clearent.Config{
			BaseURL:   env("CARDFILE_CLEARENT_BASE_URL", clearent.DefaultBaseURL),
			APIKey:    os.Getenv("CARDFILE_CLEARENT_API_KEY"),
			PublicKey: os.Getenv("CARDFILE_CLEARENT_PUBLIC_KEY"),
		},
		MailFrom:          env("CARDFILE_MAIL_FROM", "cardfile <no-reply@localhost>"),
		ShutdownGrace:     10 * time.Second,
		ReconcileAfter:    duration("CARDFILE_RECONCILE_AFTER"),
		ReconcileInterval: duration("CARDFILE_RECONCILE_INTERVAL"),
	}
}

func env(key, def string) string { return cmp.Or(os.Getenv(key), def) }

func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return "8080"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.TrimRight(p, "/"))
		}
	}
	return out
}

// duration reads a Go duration ("8h", "90s") from the environment; unset or
// unreadable means zero, the default.
func duration(key string) time.Duration {
	d, err := time.ParseDuration(os.Getenv(key))
	if err != nil || d < 0 {
		return 0
	}
	return d
}
