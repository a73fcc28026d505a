package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"cardfile/internal/gateway"
)

// Token prefixes make sandbox secrets recognisable (e.g. by secret scanners).
const (
	paymentTokenPrefix = "sbpt_"
	cardTokenPrefix    = "sbct_"
)

// usedTokenRetention is how long spent or expired payment token rows are kept.
const usedTokenRetention = 24 * time.Hour

// Gateway is the sandbox gateway; it implements gateway.Gateway.
type Gateway struct {
	db             *sql.DB
	publicURL      string
	now            func() time.Time
	tokenTTL       time.Duration
	frameAncestors []string
	log            *slog.Logger
}

var _ gateway.Gateway = (*Gateway)(nil)

// Option configures a Gateway.
type Option func(*Gateway)

// WithClock sets the clock used for token and card expiry (for tests).
func WithClock(now func() time.Time) Option { return func(g *Gateway) { g.now = now } }

// WithTokenTTL sets how long a payment token stays valid (default 15 minutes).
func WithTokenTTL(ttl time.Duration) Option { return func(g *Gateway) { g.tokenTTL = ttl } }

// WithFrameAncestors sets the CSP frame-ancestors sources allowed to embed the fields page (default 'self').
func WithFrameAncestors(sources []string) Option {
	return func(g *Gateway) { g.frameAncestors = append([]string(nil), sources...) }
}

// WithLogger sets the logger for internal errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// New returns a sandbox gateway whose vault lives in db, creating its tables
// if needed. dialect is "sqlite" (or ent's "sqlite3") or "postgres";
// publicURL is the app's external base URL.
func New(db *sql.DB, dialect string, publicURL string, opts ...Option) (*Gateway, error) {
	g := &Gateway{
		db:             db,
		publicURL:      strings.TrimRight(publicURL, "/"),
		now:            time.Now,
		tokenTTL:       15 * time.Minute,
		frameAncestors: []string{"'self'"},
		log:            slog.Default(),
	}
	for _, o := range opts {
		o(g)
	}
	if g.tokenTTL <= 0 {
		return nil, errors.New("sandbox: token TTL must be positive")
	}
	if len(g.frameAncestors) == 0 {
		g.frameAncestors = []string{"'self'"}
	}
	for _, s := range g.frameAncestors {
		if s == "" || strings.ContainsAny(s, " \t\r\n;,") {
			return nil, fmt.Errorf("sandbox: invalid frame ancestor %q", s)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := migrate(ctx, db, dialect); err != nil {
		return nil, err
	}
	return g, nil
}

// schema is plain SQL that SQLite and PostgreSQL both accept. Times are Unix
// milliseconds so comparisons behave the same on both. Tokens are stored only
// as hex SHA-256 hashes.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS sandbox_payment_tokens (
		token_hash      TEXT PRIMARY KEY,
		brand           TEXT NOT NULL,
		last4           TEXT NOT NULL,
		exp_month       INTEGER NOT NULL,
		exp_year        INTEGER NOT NULL,
		cardholder_name TEXT NOT NULL,
		postal_code     TEXT NOT NULL,
		charge_behavior TEXT NOT NULL,
		created_at      BIGINT NOT NULL,
		expires_at      BIGINT NOT NULL,
		used_at         BIGINT
	)`,
	`CREATE INDEX IF NOT EXISTS sandbox_payment_tokens_expires_at ON sandbox_payment_tokens (expires_at)`,
	`CREATE TABLE IF NOT EXISTS sandbox_cards (
		token_hash      TEXT PRIMARY KEY,
		brand           TEXT NOT NULL,
		last4           TEXT NOT NULL,
		exp_month       INTEGER NOT NULL,
		exp_year        INTEGER NOT NULL,
		cardholder_name TEXT NOT NULL,
		postal_code     TEXT NOT NULL,
		charge_behavior TEXT NOT NULL,
		created_at      BIGINT NOT NULL
	)`,
	`CREATE TABLE IF NOT EXISTS sandbox_charges (
		transaction_id  TEXT PRIMARY KEY,
		idempotency_key TEXT UNIQUE,
		card_hash       TEXT NOT NULL,
		amount_cents    BIGINT NOT NULL,
		currency        TEXT NOT NULL,
		reference       TEXT NOT NULL,
		outcome         TEXT NOT NULL,
		created_at      BIGINT NOT NULL
	)`,
}

// migrate creates the sandbox tables. On PostgreSQL an advisory lock keeps
// replicas starting together from racing on CREATE TABLE IF NOT EXISTS.
func migrate(ctx context.Context, db *sql.DB, dialect string) error {
	var postgres bool
	switch dialect {
	case "sqlite", "sqlite3":
	case "postgres":
		postgres = true
	default:
		return fmt.Errorf("sandbox: unsupported dialect %q", dialect)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sandbox: migrate: %w", err)
	}
	defer tx.Rollback()
	if postgres {
		// The key is arbitrary but fixed: "sandbox" in ASCII.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(32476749080194936)`); err != nil {
			return fmt.Errorf("sandbox: migrate: lock: %w", err)
		}
	}
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sandbox: migrate: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sandbox: migrate: %w", err)
	}
	return nil
}

// Name returns "sandbox".
func (g *Gateway) Name() string { return "sandbox" }

// HostedFieldsURL returns the URL of the card fields page.
func (g *Gateway) HostedFieldsURL() string { return g.publicURL + "/sandbox/fields" }

// TokenResult is a freshly minted single-use payment token and the card it stands for.
type TokenResult struct {
	Token     string    `json:"token"`
	Brand     string    `json:"brand"`
	Last4     string    `json:"last4"`
	ExpMonth  int       `json:"expMonth"`
	ExpYear   int       `json:"expYear"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Tokenize validates a card and mints a payment token, as POST /tokens does.
// Errors are *ValidationError, *gateway.DeclineError or wrap gateway.ErrUnavailable.
func (g *Gateway) Tokenize(ctx context.Context, in CardInput) (TokenResult, error) {
	now := g.now()
	card, err := validate(in, now)
	if err != nil {
		return TokenResult{}, err
	}
	token := newToken(paymentTokenPrefix)
	expires := now.Add(g.tokenTTL)
	if _, err := g.db.ExecContext(ctx,
		`DELETE FROM sandbox_payment_tokens WHERE expires_at < $1`,
		now.Add(-usedTokenRetention).UnixMilli()); err != nil {
		return TokenResult{}, fmt.Errorf("sandbox: tokenize: prune: %w: %w", gateway.ErrUnavailable, err)
	}
	if _, err := g.db.ExecContext(ctx,
		`INSERT INTO sandbox_payment_tokens
		 (token_hash, brand, last4, exp_month, exp_year, cardholder_name, postal_code, charge_behavior, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		hashToken(token), card.Brand, card.Last4, card.ExpMonth, card.ExpYear, card.Name, card.PostalCode,
		card.ChargeBehavior, now.UnixMilli(), expires.UnixMilli()); err != nil {
		return TokenResult{}, fmt.Errorf("sandbox: tokenize: %w: %w", gateway.ErrUnavailable, err)
	}
	return TokenResult{
		Token:     token,
		Brand:     card.Brand,
		Last4:     card.Last4,
		ExpMonth:  card.ExpMonth,
		ExpYear:   card.ExpYear,
		ExpiresAt: time.UnixMilli(expires.UnixMilli()).UTC(),
	}, nil
}

// SaveCard consumes a payment token and stores its card in the vault.
func (g *Gateway) SaveCard(ctx context.Context, paymentToken string) (gateway.Card, error) {
	if !strings.HasPrefix(paymentToken, paymentTokenPrefix) {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w", gateway.ErrInvalidToken)
	}
	now := g.now().UnixMilli()
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w: %w", gateway.ErrUnavailable, err)
	}
	defer tx.Rollback()

	// One conditional UPDATE is the single-use guarantee: concurrent callers
	// serialize on the row and only the first still sees used_at IS NULL.
	var card gateway.Card
	var behavior string
	err = tx.QueryRowContext(ctx,
		`UPDATE sandbox_payment_tokens SET used_at = $1
		 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
		 RETURNING brand, last4, exp_month, exp_year, cardholder_name, postal_code, charge_behavior`,
		now, hashToken(paymentToken),
	).Scan(&card.Brand, &card.Last4, &card.ExpMonth, &card.ExpYear, &card.CardholderName, &card.PostalCode, &behavior)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w", gateway.ErrInvalidToken)
	}
	if err != nil {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w: %w", gateway.ErrUnavailable, err)
	}

	if behavior == saveDeclined {
		// The token is spent either way, as at a real gateway.
		if err := tx.Commit(); err != nil {
			return gateway.Card{}, fmt.Errorf("sandbox: save card: %w: %w", gateway.ErrUnavailable, err)
		}
		return gateway.Card{}, &gateway.DeclineError{Code: "do_not_honor", Message: "Do not honor"}
	}
	card.Token = newToken(cardTokenPrefix)
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO sandbox_cards
		 (token_hash, brand, last4, exp_month, exp_year, cardholder_name, postal_code, charge_behavior, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		hashToken(card.Token), card.Brand, card.Last4, card.ExpMonth, card.ExpYear, card.CardholderName,
		card.PostalCode, behavior, now); err != nil {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w: %w", gateway.ErrUnavailable, err)
	}
	if err := tx.Commit(); err != nil {
		return gateway.Card{}, fmt.Errorf("sandbox: save card: %w: %w", gateway.ErrUnavailable, err)
	}
	return card, nil
}

// DeleteCard removes a stored card; an unknown token is not an error.
func (g *Gateway) DeleteCard(ctx context.Context, cardToken string) error {
	if _, err := g.db.ExecContext(ctx, `DELETE FROM sandbox_cards WHERE token_hash = $1`, hashToken(cardToken)); err != nil {
		return fmt.Errorf("sandbox: delete card: %w: %w", gateway.ErrUnavailable, err)
	}
	return nil
}

// storedCard looks up a vaulted card and its charge behavior; it reports
// gateway.ErrInvalidToken for an unknown token.
func (g *Gateway) storedCard(ctx context.Context, cardToken string) (gateway.Card, string, error) {
	card := gateway.Card{Token: cardToken}
	var behavior string
	err := g.db.QueryRowContext(ctx,
		`SELECT brand, last4, exp_month, exp_year, cardholder_name, postal_code, charge_behavior
		 FROM sandbox_cards WHERE token_hash = $1`, hashToken(cardToken),
	).Scan(&card.Brand, &card.Last4, &card.ExpMonth, &card.ExpYear, &card.CardholderName, &card.PostalCode, &behavior)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Card{}, "", fmt.Errorf("sandbox: card: %w", gateway.ErrInvalidToken)
	}
	if err != nil {
		return gateway.Card{}, "", fmt.Errorf("sandbox: card: %w: %w", gateway.ErrUnavailable, err)
	}
	return card, behavior, nil
}

// newToken returns prefix plus 256 random bits, URL-safe base64.
func newToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (Go ≥ 1.24 crashes the program instead)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is the vault key for a token: hex SHA-256.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
