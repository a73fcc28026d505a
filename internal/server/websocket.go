package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"cardfile/graph"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// MaxOperationsPerConnection is how many subscriptions (or other operations)
// one websocket may run at once; the next is answered with a RATE_LIMITED error.
const MaxOperationsPerConnection = 20

// The websocket protocol and its limits.
const (
	graphqlTransportWS = "graphql-transport-ws"
	wsInitTimeout      = 10 * time.Second
	// wsPingInterval paces the server's graphql-transport-ws pings; a client
	// that has not answered within two intervals is dropped.
	wsPingInterval = 25 * time.Second
	wsReadLimit    = 64 << 10
	// wsWriteTimeout bounds one write to a client that has stopped reading;
	// past it the connection is closed rather than left holding its goroutines.
	wsWriteTimeout = 10 * time.Second
)

// Close codes of graphql-transport-ws.
const (
	closeForbidden        = 4403
	closeSubscriberExists = 4409
	// maxCloseReasonBytes: a close frame carries at most 125 bytes, 2 of them the code.
	maxCloseReasonBytes = 123
)

// isWebsocketUpgrade reports whether r asks to open a websocket.
func isWebsocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && websocket.IsWebSocketUpgrade(r)
}

// websocketTransport serves graphql-transport-ws on GET /query. Only
// origins on the CORS list (or clients sending no Origin) may connect, and
// connection_init must carry the bearer token: cookies play no part.
func websocketTransport(cfg Config, r *graph.Resolver) graphql.Transport {
	origins := newOriginList(cfg.AllowedOrigins)
	limit := int64(wsReadLimit)
	return websocketGate{
		origins: origins,
		Websocket: transport.Websocket{
			Implementation: gorillaWebsocket{upgrader: &websocket.Upgrader{
				Subprotocols: []string{graphqlTransportWS},
				CheckOrigin:  func(r *http.Request) bool { return origins.allow(r.Header.Get("Origin")) },
				// The gate has answered every refusal it can foresee; for the
				// rest (a malformed handshake) gqlgen writes the one answer.
				Error: func(http.ResponseWriter, *http.Request, int, error) {},
			}},
			InitFunc:         authenticateWebsocket(r.Auth, r.Log),
			InitTimeout:      wsInitTimeout,
			PingPongInterval: wsPingInterval,
			PayloadReadLimit: &limit,
			ErrorFunc: func(ctx context.Context, err error) {
				r.Log.DebugContext(ctx, "websocket ended", "err", err)
			},
		},
	}
}

// websocketGate refuses unwanted upgrades with a coded error before gqlgen
// sees them: once gqlgen's Accept fails it writes a response of its own.
type websocketGate struct {
	transport.Websocket
	origins originList
}

// Do answers a foreign origin with 403 and a client that does not speak
// graphql-transport-ws with 400; everything else goes to gqlgen.
func (g websocketGate) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	switch {
	case !g.origins.allow(r.Header.Get("Origin")):
		writeJSON(w, http.StatusForbidden, map[string]any{"errors": []map[string]any{{
			"message":    "this origin may not open a websocket to the API",
			"extensions": map[string]string{"code": string(apperr.Forbidden)},
		}}})
	case !isWebsocketUpgrade(r):
		writeError(w, http.StatusBadRequest, "not a websocket handshake", "upgrade")
	case !slices.Contains(websocket.Subprotocols(r), graphqlTransportWS):
		writeError(w, http.StatusBadRequest, "use the graphql-transport-ws subprotocol", "subprotocol")
	default:
		g.Websocket.Do(w, r, exec)
	}
}

// originList is the CORS allow-list as the websocket origin check reads it:
// exact matches, ignoring ASCII case as rs/cors does; no wildcards.
type originList map[string]bool

func newOriginList(origins []string) originList {
	l := originList{}
	for _, o := range origins {
		l[strings.ToLower(o)] = true
	}
	return l
}

// allow reports whether a handshake with this Origin header may proceed.
// Browsers always send Origin on a websocket handshake, so an empty one is
// not a browser: there is no ambient credential for another site to ride on
// (we use no cookies), and the client must still present a bearer token.
func (l originList) allow(origin string) bool {
	return origin == "" || l[strings.ToLower(origin)]
}

// authenticateWebsocket is the InitFunc: connection_init must carry
// {"Authorization": "Bearer <token>"} for a live session, or the socket is
// closed with 4403 before any connection_ack.
func authenticateWebsocket(a *auth.Service, log *slog.Logger) transport.WebsocketInitFunc {
	refuse := func(ctx context.Context) context.Context {
		return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, closeForbidden), "Forbidden")
	}
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		token, ok := auth.BearerToken(p.Authorization())
		if !ok {
			return refuse(ctx), nil, apperr.New(apperr.Unauthenticated, "sign in first")
		}
		// Attach replaces any viewer the upgrade request's own headers brought.
		signedIn, err := a.Attach(ctx, token)
		switch {
		case err == nil:
			return context.WithValue(signedIn, overWebsocket{}, true), nil, nil
		case apperr.CodeOf(err) == apperr.Unauthenticated:
			log.DebugContext(ctx, "websocket session token rejected", "err", err)
			return refuse(ctx), nil, err
		default:
			log.ErrorContext(ctx, "authenticating websocket", "err", err)
			ctx = transport.WithWebsocketCloseCode(ctx, websocket.CloseInternalServerErr)
			return transport.AppendCloseReason(ctx, "internal error"), nil, errors.New("internal error")
		}
	}
}

// gorillaWebsocket adapts gorilla/websocket to gqlgen's websocket transport.
type gorillaWebsocket struct{ upgrader *websocket.Upgrader }

// Accept upgrades the request. gqlgen offers graphql-ws too; we only speak
// graphql-transport-ws, so the upgrader's own list is used.
func (g gorillaWebsocket) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := g.upgrader.Upgrade(hijacker{w}, r, o.ResponseHeader)
	if err != nil {
		return nil, err
	}
	return &wsConn{conn: c, active: map[string]struct{}{}}, nil
}

// hijacker lets gorilla, which asserts http.Hijacker directly, reach the
// connection through middleware writers that only offer Unwrap.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// wsConn is one websocket. Besides framing it enforces what gqlgen does not:
// an operation id may not be reused while its operation runs (close 4409, as
// graphql-transport-ws requires; gqlgen would silently replace the first and
// lose its cancel func), and at most MaxOperationsPerConnection run at once.
// An id is active from the client's subscribe until the server's complete
// or error for it.
type wsConn struct {
	conn    *websocket.Conn
	writeMu sync.Mutex // gorilla allows one writer; gqlgen and the cap both write

	mu     sync.Mutex
	active map[string]struct{}
}

var (
	_ transport.WebsocketConn          = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// frame is the part of a graphql-transport-ws message the guards read.
type frame struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

var errDuplicateID = errors.New("operation id reused while its operation runs")

// NextReader returns the next client message, after the duplicate-id and
// operation-cap checks; a refused subscribe is answered here and skipped.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		mt, r, err := c.conn.NextReader()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
				return mt, nil, transport.ErrWebsocketClosed
			}
			return mt, nil, err
		}
		data, err := io.ReadAll(r) // bounded by SetReadLimit
		if err != nil {
			return mt, nil, err
		}
		var f frame
		if json.Unmarshal(data, &f) != nil || f.Type != "subscribe" {
			return mt, bytes.NewReader(data), nil // gqlgen answers malformed messages
		}
		admitted, err := c.admit(f.ID)
		if err != nil {
			return mt, nil, err
		}
		if admitted {
			return mt, bytes.NewReader(data), nil
		}
	}
}

// admit registers a subscribe's id, closing the socket on a duplicate and
// answering an error past the cap.
func (c *wsConn) admit(id string) (bool, error) {
	c.mu.Lock()
	_, dup := c.active[id]
	full := len(c.active) >= MaxOperationsPerConnection
	if !dup && !full {
		c.active[id] = struct{}{}
	}
	c.mu.Unlock()
	switch {
	case dup:
		_ = c.WriteClose(closeSubscriberExists, "Subscriber for "+id+" already exists")
		_ = c.conn.Close()
		return false, errDuplicateID
	case full:
		msg, err := json.Marshal(map[string]any{"type": "error", "id": id, "payload": gqlerror.List{{
			Message:    fmt.Sprintf("too many subscriptions on this connection (at most %d)", MaxOperationsPerConnection),
			Extensions: map[string]any{"code": string(apperr.RateLimited)},
		}}})
		if err != nil {
			return false, err
		}
		return false, c.write(msg)
	}
	return true, nil
}

// WriteJSON sends a server message; a complete or error ends its operation.
func (c *wsConn) WriteJSON(v any) error {
	msg, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var f frame
	if json.Unmarshal(msg, &f) == nil && (f.Type == "complete" || f.Type == "error") {
		c.mu.Lock()
		delete(c.active, f.ID)
		c.mu.Unlock()
	}
	return c.write(msg)
}

func (c *wsConn) write(msg []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		// A client that stopped reading gets no more of our goroutines' time:
		// closing ends the read loop and with it every operation.
		_ = c.conn.Close()
		return err
	}
	return nil
}

// WriteClose sends a close frame; gorilla lets it run beside other writes.
func (c *wsConn) WriteClose(code int, reason string) error {
	if len(reason) > maxCloseReasonBytes {
		reason = strings.ToValidUTF8(reason[:maxCloseReasonBytes], "")
	}
	return c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
}

func (c *wsConn) Subprotocol() string { return c.conn.Subprotocol() }

func (c *wsConn) Close() error { return c.conn.Close() }

func (c *wsConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

func (c *wsConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// overWebsocket marks operations that arrived over a websocket, whose
// viewer was fixed at connection_init.
type overWebsocket struct{}

// SubscriptionsOnly refuses queries and mutations sent over a websocket: its
// session was checked once, at connection_init, so anything that reads or
// changes data goes over HTTP, where every request checks the session.
func SubscriptionsOnly(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if ctx.Value(overWebsocket{}) == nil || oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
		Message:    "send queries and mutations over HTTP; the websocket carries subscriptions only",
		Extensions: map[string]any{"code": string(apperr.BadUserInput), "field": "operation"},
	}}})
}
