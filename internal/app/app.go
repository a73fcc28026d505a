// Package app assembles cardfile from its parts: the one place that decides
// which database, gateway and broker run. The binary and the end-to-end
// tests both build the server through it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"cardfile/ent"
	"cardfile/graph"
	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/sealer"
	"cardfile/internal/server"
)

// Options choose the parts.
type Options struct {
	DatabaseURL string
	PublicURL   string
	Gateway     string // "sandbox" (default)
	Server      server.Config
	Auth        auth.Config
	Log         *slog.Logger
	Now         func() time.Time // nil: time.Now
	// TokenKey seals gateway tokens at rest (sealer.KeySize bytes).
	TokenKey []byte
	// EntOptions are passed to the ent client (tests count statements with them).
	EntOptions []ent.Option
}

// App is a running cardfile, minus the listener.
type App struct {
	DB      *db.DB
	Auth    *auth.Service
	Cards   *cards.Service
	Gateway gateway.Gateway
	Sandbox *sandbox.Gateway // nil unless the sandbox gateway runs
	Events  events.Broker
	Sealer  *sealer.Sealer
	Handler http.Handler
	Log     *slog.Logger
	Now     func() time.Time
}

// New opens the database, migrates it and wires every part.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Auth == (auth.Config{}) {
		o.Auth = auth.DefaultConfig()
	}
	if o.Server.MaxBodyBytes == 0 {
		o.Server = server.DefaultConfig()
	}
	seal, err := sealer.New(o.TokenKey)
	if err != nil {
		return nil, err
	}
	d, err := db.Open(o.DatabaseURL, o.EntOptions...)
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	a := &App{DB: d, Log: o.Log, Now: o.Now, Events: events.NewLocal()}
	var sandboxHandler http.Handler
	switch o.Gateway {
	case "", "sandbox":
		sb, err := sandbox.New(d.SQL, d.Dialect, o.PublicURL, sandbox.WithClock(o.Now), sandbox.WithLogger(o.Log),
			sandbox.WithFrameAncestors(append([]string{"'self'"}, o.Server.AllowedOrigins...)))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("starting the sandbox gateway: %w", err)
		}
		a.Gateway, a.Sandbox, sandboxHandler = sb, sb, sb.Handler()
	default:
		d.Close()
		return nil, fmt.Errorf("unknown gateway %q (want sandbox)", o.Gateway)
	}
	a.Auth = auth.New(d, o.Auth, o.Now)
	a.Cards = cards.New(d, a.Gateway, seal, a.Events, o.Log, o.Now)
	a.Sealer = seal
	resolver := &graph.Resolver{DB: d, Auth: a.Auth, Cards: a.Cards, Gateway: a.Gateway, Log: o.Log}
	a.Handler = server.New(o.Server, server.Deps{
		Resolver: resolver,
		Sandbox:  sandboxHandler,
		App:      server.Placeholder(o.PublicURL),
		Log:      o.Log,
	})
	return a, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }
