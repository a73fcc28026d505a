// Package graph translates GraphQL to cardfile's domain packages. Resolvers
// stay thin: rules live in internal/*.
package graph

import (
	"log/slog"
	"time"

	"cardfile/internal/auth"
	"cardfile/internal/cards"
	"cardfile/internal/db"
	"cardfile/internal/events"
	"cardfile/internal/gateway"
	"cardfile/internal/payments"
	"cardfile/internal/requests"
)

// Resolver holds the dependencies every resolver may use.
type Resolver struct {
	DB       *db.DB
	Auth     *auth.Service
	Cards    *cards.Service
	Requests *requests.Service
	Payments *payments.Service
	Gateway  gateway.Gateway
	Events   events.Broker
	Log      *slog.Logger
	// SessionRecheck is how often open subscriptions check that their
	// session still stands (a minute when zero).
	SessionRecheck time.Duration
}
