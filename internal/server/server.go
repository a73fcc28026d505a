// Package server is cardfile's http.Handler: GraphQL at /query, the
// gateway's hosted card-fields pages, health checks, and the app at /.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"cardfile/graph"
	"cardfile/graph/generated"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/mail"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/rs/cors"
	"github.com/vektah/gqlparser/v2/ast"
)

// Config is what the handler needs to know beyond its dependencies.
type Config struct {
	// AllowedOrigins may call the API from a browser (CORS); the websocket
	// origin check uses the same list.
	AllowedOrigins []string
	// Dev turns on introspection.
	Dev             bool
	MaxBodyBytes    int64
	ComplexityLimit int
	MaxDepth        int
	// Document bounds the cost of parsing and validating one request.
	Document graph.DocumentLimits
	// RequestTimeout is the execution deadline of one GraphQL request over
	// HTTP; graceful shutdown waits no longer than this for requests in flight.
	RequestTimeout time.Duration
	// SessionRecheck is how often open subscriptions re-check their session.
	SessionRecheck time.Duration
	// Sockets holds the open websockets, so that shutting down can close
	// each with 1001 (going away); nil means one of the handler's own.
	Sockets *Sockets
	// WebsocketInitTimeout is how long a websocket may take to send
	// connection_init (0: 10 s).
	WebsocketInitTimeout time.Duration
}

// readyTimeout bounds the readiness probe's database round trip: a load
// balancer must see a database that stopped answering (not only one that
// refuses) within a second.
const readyTimeout = 500 * time.Millisecond

// DefaultConfig returns the limits cardfile runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:    1 << 20,
		ComplexityLimit: 1000,
		MaxDepth:        12,
		Document:        graph.DefaultDocumentLimits(),
		RequestTimeout:  30 * time.Second,
	}
}

// Deps are the parts the handler serves.
type Deps struct {
	Resolver *graph.Resolver
	// GatewayPages are the gateway's own pages (hosted card fields, the
	// sandbox's token endpoint), served under GatewayPrefix.
	GatewayPages  http.Handler
	GatewayPrefix string // e.g. "/sandbox"
	// App serves the staff app and the customer's card form.
	App http.Handler
	// Outbox, when set, is listed at /dev/outbox (development with the outbox mailer).
	Outbox *mail.Outbox
	Log    *slog.Logger
}

// New returns the whole HTTP surface.
func New(cfg Config, d Deps) http.Handler {
	mux := http.NewServeMux()
	api := cors.New(cors.Options{
		AllowedOrigins: cfg.AllowedOrigins,
		AllowedMethods: []string{http.MethodPost, http.MethodOptions},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		MaxAge:         600,
	}).Handler(jsonPostOnly(limitBody(cfg.MaxBodyBytes, withDeadline(cfg.RequestTimeout, auth.Middleware(d.Resolver.Auth, d.Log)(unavailableStatus(GraphQL(cfg, d.Resolver)))))))
	mux.Handle("/query", noStore(api))
	if d.GatewayPages != nil {
		mux.Handle(d.GatewayPrefix+"/", http.StripPrefix(d.GatewayPrefix, d.GatewayPages))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := d.Resolver.DB.Ping(ctx); err != nil {
			d.Log.ErrorContext(ctx, "readiness: database unreachable", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if d.Outbox != nil {
		mux.Handle("GET /dev/outbox", outboxHandler(d.Outbox))
	}
	if d.App != nil {
		mux.Handle("/", d.App)
	}
	return securityHeaders(d.GatewayPrefix, logRequests(d.Log, compress(mux)))
}

// GraphQL is the GraphQL handler: POST and graphql-transport-ws, a query cache, complexity and
// depth limits, page-argument checks and page-size caps, one error presenter, introspection in dev only.
func GraphQL(cfg Config, r *graph.Resolver) *handler.Server {
	r.SessionRecheck = cfg.SessionRecheck
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r, Directives: graph.Directives}))
	srv.AddTransport(transport.POST{})
	srv.AddTransport(websocketTransport(cfg, r))
	cache := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(cache)
	srv.SetParserTokenLimit(cfg.Document.Tokens)
	srv.Use(graph.Budget{Limits: cfg.Document, Cache: cache})
	if cfg.Dev {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(cfg.ComplexityLimit))
	srv.Use(graph.DepthLimit{Max: cfg.MaxDepth})
	srv.Use(&graph.PageArgs{})
	srv.AroundFields(graph.PageSizes)
	srv.AroundOperations(OneTransportEach)
	srv.SetErrorPresenter(graph.ErrorPresenter(r.Log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		r.Log.ErrorContext(ctx, "panic in resolver", "panic", p, "path", graphql.GetPath(ctx).String(), "stack", string(debug.Stack()))
		return errPanic
	})
	return srv
}

type panicError struct{}

func (panicError) Error() string { return "internal error" }

var errPanic = panicError{}

// jsonPostOnly answers anything but a JSON POST or a websocket upgrade with
// a coded error: those are the only transports, and refusing other content
// types keeps cross-site "simple requests" (forms, text/plain) from ever
// reaching a resolver.
func jsonPostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case isWebsocketUpgrade(r):
			next.ServeHTTP(w, r) // the websocket transport checks origin and token itself
		case r.Method != http.MethodPost:
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "send GraphQL requests as POST", "method")
		case mt != "application/json":
			writeError(w, http.StatusUnsupportedMediaType, "send GraphQL requests as application/json", "body")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeError writes a GraphQL-shaped BAD_USER_INPUT error.
func writeError(w http.ResponseWriter, status int, message, field string) {
	apperr.WriteHTTP(w, status, apperr.BadInput(field, "%s", message))
}

// limitBody refuses bodies over max with 413 and a GraphQL-shaped error.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeError(w, http.StatusRequestEntityTooLarge, "the request body is too large", "body")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// withDeadline gives each HTTP request at most timeout to run: resolvers and
// the database calls they make end with the context. Websockets are
// long-lived and bounded by their own pings and session checks instead.
func withDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if timeout <= 0 || isWebsocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// securityHeaders forbids framing everywhere but the gateway's pages, which
// set their own frame-ancestors.
func securityHeaders(gatewayPrefix string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if gatewayPrefix == "" || !strings.HasPrefix(r.URL.Path, gatewayPrefix+"/") {
			h.Set("X-Frame-Options", "DENY")
		}
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the underlying writer (websocket upgrades).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs method, path, status and duration: never bodies, query
// strings or headers, which can carry tokens.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.InfoContext(r.Context(), "http", "method", r.Method, "path", logPath(r.URL.Path), "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}

// logPath keeps secrets that live in paths (card-request links) out of logs.
func logPath(p string) string {
	if strings.HasPrefix(p, "/card-request/") {
		return "/card-request/…"
	}
	return p
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
