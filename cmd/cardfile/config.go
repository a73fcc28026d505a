package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"time"

	"cardfile/internal/gateway/clearent"
	"cardfile/internal/sealer"

	"github.com/caarlos0/env/v11"
)

// config is read from CARDFILE_* environment variables; flags may override.
// Secrets come only from the environment.
//
// Each variable is described once, here: env names it, envDefault is its
// default, shown is how the README shows a default that is not a literal,
// help is its meaning. The README's configuration table is checked against
// these tags (TestREADMEConfigTableMatchesConfig).
type config struct {
	DatabaseURL    string        `env:"CARDFILE_DATABASE_URL" envDefault:"data/cardfile.db" help:"a SQLite path, or a ~postgres://~ URL (~DATABASE_URL~ is read when this is unset)"`
	Addr           string        `env:"CARDFILE_ADDR" envDefault:"127.0.0.1:8080" help:"listen address"`
	PublicURL      string        `env:"CARDFILE_PUBLIC_URL" shown:"~http://localhost:<port>~" help:"the base URL people reach"`
	AllowedOrigins []string      `env:"CARDFILE_ALLOWED_ORIGINS" shown:"the public URL" help:"browser origins allowed to call the API (CORS), comma-separated"`
	TokenKey       tokenKeyValue `env:"CARDFILE_TOKEN_KEY" shown:"a key file beside the SQLite database" help:"32 random bytes, base64, sealing gateway tokens; required with PostgreSQL (~openssl rand -base64 32~)"`
	Gateway        string        `env:"CARDFILE_GATEWAY" envDefault:"sandbox" help:"the payment gateway: ~sandbox~ or ~clearent~"`
	ClearentURL    string        `env:"CARDFILE_CLEARENT_BASE_URL" shown:"the Clearent sandbox" help:"the Clearent API's base URL"`
	ClearentAPIKey string        `env:"CARDFILE_CLEARENT_API_KEY" help:"the Clearent API key (secret)"`
	ClearentPubKey string        `env:"CARDFILE_CLEARENT_PUBLIC_KEY" help:"the Clearent public key for its hosted fields"`
	SMTPURL        string        `env:"CARDFILE_SMTP_URL" shown:"unset: the outbox" help:"~smtp://user:pass@host:587~ (STARTTLS required) or ~smtps://…:465~; ~?tls=none~ only for a local relay"`
	TrustProxy     bool          `env:"CARDFILE_TRUST_PROXY" envDefault:"false" help:"~true~ (or ~1~) behind a load balancer: the client IP (audit, rate limits) is the last ~X-Forwarded-For~ entry"`
	LinkTTL        time.Duration `env:"CARDFILE_LINK_TTL" envDefault:"8h" help:"how long card-request links work"`
	// ReconcileAfter and ReconcileInterval tune the payment reconciler.
	ReconcileAfter    time.Duration `env:"CARDFILE_RECONCILE_AFTER" envDefault:"3m" help:"how old a ~PENDING~/~UNKNOWN~ payment must be before the reconciler asks the gateway (whatever it says, \"the gateway never saw it\" is believed only after 3 minutes, longer than a charge may take)"`
	ReconcileInterval time.Duration `env:"CARDFILE_RECONCILE_INTERVAL" envDefault:"1m" help:"how often the reconciler runs"`
	EventRetention    time.Duration `env:"CARDFILE_EVENT_RETENTION" envDefault:"24h" help:"how long live-update events are kept for clients that reconnect with a cursor; older cursors get ~RESYNC~"`
	MailFrom          string        `env:"CARDFILE_MAIL_FROM" envDefault:"cardfile <no-reply@localhost>" help:"the From address of emails"`
	Dev               bool          `env:"CARDFILE_DEV" envDefault:"false" help:"~true~ (or ~1~) turns on GraphQL introspection"`
	Demo              bool          `env:"CARDFILE_DEMO" envDefault:"false" help:"~true~ (or ~1~) seeds the demo company on start (idempotent)"`
	LogLevel          slog.Level    `env:"CARDFILE_LOG_LEVEL" envDefault:"info" help:"~debug~, ~info~, ~warn~, ~error~"`

	ShutdownGrace time.Duration // not configurable: see shutdownGrace
}

// tokenKeyValue is CARDFILE_TOKEN_KEY, checked when the configuration is read
// so a malformed key stops start naming the variable (and never echoing it).
type tokenKeyValue []byte

// UnmarshalText parses the key with sealer.ParseKey.
func (k *tokenKeyValue) UnmarshalText(b []byte) error {
	key, err := sealer.ParseKey(string(b))
	*k = key
	return err
}

// loadConfig reads the process environment (see parseConfig).
func loadConfig() (config, error) { return parseConfig(env.ToMap(os.Environ())) }

// parseConfig reads the configuration from environ. A value that does not
// parse, or a duration that is not positive, is an error naming its variable:
// a typo must stop start, not quietly run with the default.
func parseConfig(environ map[string]string) (config, error) {
	if environ["CARDFILE_DATABASE_URL"] == "" && environ["DATABASE_URL"] != "" {
		environ["CARDFILE_DATABASE_URL"] = environ["DATABASE_URL"] // the platform convention, as a fallback
	}
	cfg := config{ShutdownGrace: 10 * time.Second}
	err := env.ParseWithOptions(&cfg, env.Options{
		Environment: environ,
		FuncMap: map[reflect.Type]env.ParserFunc{
			reflect.TypeFor[time.Duration](): positiveDuration,
		},
	})
	if err != nil {
		return config{}, namedConfigError(err)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:" + portOf(cfg.Addr)
	}
	cfg.AllowedOrigins = cleanOrigins(cfg.AllowedOrigins)
	if len(cfg.AllowedOrigins) == 0 {
		cfg.AllowedOrigins = []string{cfg.PublicURL}
	}
	cfg.ClearentURL = strings.TrimRight(cfg.ClearentURL, "/")
	if cfg.ClearentURL == "" {
		cfg.ClearentURL = clearent.DefaultBaseURL
	}
	return cfg, nil
}

// clearentConfig is the Clearent gateway's part of cfg.
func (cfg config) clearentConfig() clearent.Config {
	return clearent.Config{BaseURL: cfg.ClearentURL, APIKey: cfg.ClearentAPIKey, PublicKey: cfg.ClearentPubKey}
}

// positiveDuration is a Go duration ("8h", "90s") greater than zero.
func positiveDuration(s string) (any, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, err
	}
	if d <= 0 {
		return nil, fmt.Errorf("%s: must be greater than zero", s)
	}
	return d, nil
}

// namedConfigError rewrites the library's errors, which name the Go field,
// to name the environment variable the operator set.
func namedConfigError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("configuration: %w", err)
	}
	var msgs []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			msgs = append(msgs, fmt.Sprintf("%s: %v", envKeyOf(pe.Name), pe.Err))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return fmt.Errorf("configuration: %s", strings.Join(msgs, "; "))
}

// envKeyOf is the variable that sets config's field name.
func envKeyOf(field string) string {
	if f, ok := reflect.TypeFor[config]().FieldByName(field); ok {
		return f.Tag.Get("env")
	}
	return field
}

// configTable is the README's configuration table, made from config's tags
// (~ stands for a backquote, which a struct tag cannot hold).
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n| --- | --- | --- |\n")
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("env")
		if key == "" {
			continue
		}
		def := f.Tag.Get("shown")
		if d, ok := f.Tag.Lookup("envDefault"); ok && def == "" {
			def = "~" + d + "~"
		}
		def = strings.ReplaceAll(def, "~false~", "off")
		if def == "" {
			def = "unset"
		}
		fmt.Fprintf(&b, "| ~%s~ | %s | %s |\n", key, def, f.Tag.Get("help"))
	}
	return strings.ReplaceAll(b.String(), "~", "`")
}

func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return "8080"
}

// cleanOrigins trims spaces and trailing slashes and drops empty entries.
func cleanOrigins(list []string) []string {
	var out []string
	for _, p := range list {
		if p = strings.TrimRight(strings.TrimSpace(p), "/"); p != "" {
			out = append(out, p)
		}
	}
	return out
}
