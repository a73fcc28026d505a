package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"cardfile/internal/payments"
	"cardfile/internal/requests"
)

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's configuration table from config's tags")

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := parseConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:8080" || cfg.PublicURL != "http://localhost:8080" || cfg.DatabaseURL != "data/cardfile.db" ||
		cfg.LinkTTL != 8*time.Hour || cfg.EventRetention != 24*time.Hour || cfg.ReconcileAfter != 3*time.Minute ||
		cfg.ReconcileInterval != time.Minute || cfg.LogLevel != slog.LevelInfo || cfg.TrustProxy || cfg.Dev || cfg.Demo ||
		cfg.TokenKey != nil || cfg.Gateway != "sandbox" {
		t.Errorf("defaults: %+v", cfg)
	}
	// The documented defaults are the ones the packages fall back to.
	if cfg.LinkTTL != requests.DefaultLinkTTL || cfg.ReconcileAfter != payments.DefaultReconcileAfter {
		t.Errorf("LinkTTL %v ReconcileAfter %v, packages' defaults %v %v", cfg.LinkTTL, cfg.ReconcileAfter, requests.DefaultLinkTTL, payments.DefaultReconcileAfter)
	}
	if len(cfg.AllowedOrigins) != 1 || cfg.AllowedOrigins[0] != cfg.PublicURL {
		t.Errorf("allowed origins default to the public URL: %q", cfg.AllowedOrigins)
	}
}

func TestParseConfigReadsTypedValues(t *testing.T) {
	cfg, err := parseConfig(map[string]string{
		"DATABASE_URL":             "postgres://db/x",
		"CARDFILE_ADDR":            "0.0.0.0:9000",
		"CARDFILE_ALLOWED_ORIGINS": "https://a.example/, https://b.example",
		"CARDFILE_LINK_TTL":        "90m",
		"CARDFILE_TRUST_PROXY":     "1",
		"CARDFILE_DEV":             "true",
		"CARDFILE_LOG_LEVEL":       "debug",
		"CARDFILE_TOKEN_KEY":       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DatabaseURL != "postgres://db/x" || cfg.PublicURL != "http://localhost:9000" || cfg.LinkTTL != 90*time.Minute ||
		!cfg.TrustProxy || !cfg.Dev || cfg.LogLevel != slog.LevelDebug || len(cfg.TokenKey) != 32 {
		t.Errorf("parsed: %+v", cfg)
	}
	if strings.Join(cfg.AllowedOrigins, " ") != "https://a.example https://b.example" {
		t.Errorf("origins %q", cfg.AllowedOrigins)
	}
	cfg, _ = parseConfig(map[string]string{"DATABASE_URL": "postgres://fallback", "CARDFILE_DATABASE_URL": "postgres://own"})
	if cfg.DatabaseURL != "postgres://own" {
		t.Errorf("CARDFILE_DATABASE_URL wins over DATABASE_URL: %q", cfg.DatabaseURL)
	}
}

func TestParseConfigRefusesBadValuesNamingTheVariable(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"CARDFILE_LINK_TTL", "banana"},
		{"CARDFILE_LINK_TTL", "-5m"},
		{"CARDFILE_EVENT_RETENTION", "0s"},
		{"CARDFILE_RECONCILE_INTERVAL", "10"},
		{"CARDFILE_TRUST_PROXY", "maybe"},
		{"CARDFILE_DEV", "yes please"},
		{"CARDFILE_LOG_LEVEL", "loud"},
		{"CARDFILE_TOKEN_KEY", "c2hvcnQ="},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			_, err := parseConfig(map[string]string{tc.key: tc.value})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("error does not name %s: %v", tc.key, err)
			}
			if tc.key == "CARDFILE_TOKEN_KEY" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("error echoes the key: %v", err)
			}
		})
	}
}

// The README's table is the config struct's tags, row for row.
func TestREADMEConfigTableMatchesConfig(t *testing.T) {
	const path = "../../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "| variable | default | meaning |")
	end := strings.Index(readme[max(start, 0):], "\n\n")
	if start < 0 || end < 0 {
		t.Fatal("README has no configuration table")
	}
	got, want := readme[start:start+end+1], configTable()
	if got == want {
		return
	}
	if *updateREADME {
		if err := os.WriteFile(path, []byte(readme[:start]+want+readme[start+end+1:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's configuration table disagrees with config's tags; run go test ./cmd/cardfile -run %s -update-readme\nwant:\n%s\ngot:\n%s", t.Name(), want, got)
}

func TestServeRefusesBadConfigurationNamingTheVariable(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Old code served on regardless: the context ends that run, and the test fails.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "CARDFILE_LINK_TTL=banana")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("serve with CARDFILE_LINK_TTL=banana: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "CARDFILE_LINK_TTL") {
		t.Errorf("the message does not name the variable:\n%s", out)
	}
}
