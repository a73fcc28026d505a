package server

import (
	"bufio"
	"bytes"
	"cmp"
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

// Close codes of graphql-transport-ws (PROTOCOL.md of enisdenjo/graphql-ws).
const (
	closeBadRequest       = 4400 // a message the protocol does not allow
	closeUnauthorized     = 4401 // subscribe before connection_init
	closeForbidden        = 4403
	closeInitTimeout      = 4408
	closeSubscriberExists = 4409
	closeTooManyInits     = 4429
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
			Implementation: gorillaWebsocket{sockets: cmp.Or(cfg.Sockets, &Sockets{}), initTimeout: cmp.Or(cfg.WebsocketInitTimeout, wsInitTimeout), upgrader: &websocket.Upgrader{
				Subprotocols: []string{graphqlTransportWS},
				CheckOrigin:  func(r *http.Request) bool { return origins.allow(r.Header.Get("Origin")) },
				// The gate has answered every refusal it can foresee; for the
				// rest (a malformed handshake) gqlgen writes the one answer.
				Error: func(http.ResponseWriter, *http.Request, int, error) {},
			}},
			InitFunc: authenticateWebsocket(r.Auth, r.Log),
			// No InitTimeout: gqlgen would close with 1002; wsConn closes with 4408.
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
type gorillaWebsocket struct {
	upgrader    *websocket.Upgrader
	initTimeout time.Duration
	sockets     *Sockets
}

// Sockets are a server's open websockets. GoingAway closes each with 1001
// (going away), so its client reconnects at once, to another replica or to
// this one restarted, instead of backing off after a dropped connection; a
// socket opened after it is closed the same way.
type Sockets struct {
	mu     sync.Mutex
	open   map[*wsConn]struct{}
	closed bool
}

// GoingAway closes every open websocket with 1001; http.Server's
// RegisterOnShutdown calls it, since Shutdown leaves hijacked connections be.
func (s *Sockets) GoingAway() {
	s.mu.Lock()
	s.closed = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for c := range open {
		c.goAway()
	}
}

// Len is how many websockets are open.
func (s *Sockets) Len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.open) }

func (s *Sockets) add(c *wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.open == nil {
		s.open = map[*wsConn]struct{}{}
	}
	s.open[c] = struct{}{}
	return true
}

func (s *Sockets) remove(c *wsConn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// goAway tells the client this server is going away, then drops the
// connection: the read loop ends, and with it every subscription.
func (c *wsConn) goAway() {
	_ = c.WriteClose(websocket.CloseGoingAway, "server shutting down")
	_ = c.conn.Close()
}

// Accept upgrades the request. gqlgen offers graphql-ws too; we only speak
// graphql-transport-ws, so the upgrader's own list is used.
func (g gorillaWebsocket) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := g.upgrader.Upgrade(hijacker{w}, r, o.ResponseHeader)
	if err != nil {
		return nil, err
	}
	// connection_init must arrive before this deadline; NextReader lifts it.
	if err := c.SetReadDeadline(time.Now().Add(g.initTimeout)); err != nil {
		c.Close()
		return nil, err
	}
	ws := &wsConn{conn: c, active: map[string]struct{}{}, sockets: g.sockets}
	if !g.sockets.add(ws) {
		ws.goAway()
	}
	return ws, nil
}

// hijacker lets gorilla, which asserts http.Hijacker directly, reach the
// connection through middleware writers that only offer Unwrap.
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// wsConn is one websocket. Besides framing it enforces what gqlgen does not,
// with graphql-transport-ws's close codes where gqlgen would close with 1002
// or replace an operation: every client message must be well formed (4400);
// connection_init comes first (subscribe before it: 4401), in time (4408),
// and once (4429); an operation id may not be reused while its operation
// runs (4409; gqlgen would lose the first one's cancel func); and at most
// MaxOperationsPerConnection run at once. An id is active from the client's
// subscribe until the server's complete or error for it.
type wsConn struct {
	conn    *websocket.Conn
	writeMu sync.Mutex // gorilla allows one writer; gqlgen and the cap both write
	// initialized is set once connection_init has arrived; only the one
	// reading goroutine touches it.
	initialized bool

	mu     sync.Mutex
	active map[string]struct{}

	sockets *Sockets
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

// errRefused ends the read loop after wsConn closed the socket with a code.
var errRefused = errors.New("websocket closed for a protocol violation")

// NextReader returns the next client message that passes the protocol
// checks; a refused subscribe is answered here and skipped, and so are pings
// before connection_init, which gqlgen would take for a failed init.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		mt, r, err := c.conn.NextReader()
		if err != nil {
			var ne net.Error
			switch {
			case !c.initialized && errors.As(err, &ne) && ne.Timeout():
				return mt, nil, c.refuse(closeInitTimeout, "Connection initialisation timeout")
			case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
				return mt, nil, transport.ErrWebsocketClosed
			}
			return mt, nil, err
		}
		data, err := io.ReadAll(r) // bounded by SetReadLimit
		if err != nil {
			return mt, nil, err
		}
		f, problem := parseClientMessage(data)
		switch {
		case problem != "":
			return mt, nil, c.refuse(closeBadRequest, problem)
		case f.Type == "connection_init" && c.initialized:
			return mt, nil, c.refuse(closeTooManyInits, "Too many initialisation requests")
		case f.Type == "connection_init":
			c.initialized = true
			if err := c.conn.SetReadDeadline(time.Time{}); err != nil {
				return mt, nil, err
			}
		case !c.initialized && f.Type == "subscribe":
			return mt, nil, c.refuse(closeUnauthorized, "Unauthorized")
		case !c.initialized && f.Type == "ping":
			if err := c.write([]byte(`{"type":"pong"}`)); err != nil {
				return mt, nil, err
			}
			continue
		case !c.initialized:
			continue // a pong or complete before init concerns nothing yet
		case f.Type == "subscribe":
			admitted, err := c.admit(f.ID)
			if err != nil {
				return mt, nil, err
			}
			if !admitted {
				continue
			}
		}
		return mt, bytes.NewReader(data), nil
	}
}

// parseClientMessage checks a client message as graphql-transport-ws
// defines it and returns the problem, if any, as a close reason.
func parseClientMessage(data []byte) (frame, string) {
	var raw struct {
		Type, ID, Payload json.RawMessage
	}
	var f frame
	if json.Unmarshal(data, &raw) != nil {
		return f, "Invalid message received: not a JSON object"
	}
	if json.Unmarshal(raw.Type, &f.Type) != nil {
		return f, "Invalid message received: 'type' must be a string"
	}
	switch f.Type {
	case "connection_init", "ping", "pong":
		if p := bytes.TrimSpace(raw.Payload); len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
			return f, fmt.Sprintf("%q message expects the 'payload' property to be an object", f.Type)
		}
	case "subscribe", "complete":
		if json.Unmarshal(raw.ID, &f.ID) != nil || f.ID == "" {
			return f, fmt.Sprintf("%q message expects the 'id' property to be a non-empty string", f.Type)
		}
		var p struct{ Query json.RawMessage }
		var query string
		if f.Type == "subscribe" && (json.Unmarshal(raw.Payload, &p) != nil || json.Unmarshal(p.Query, &query) != nil) {
			return f, `"subscribe" message expects the 'payload' property to be an object with a string 'query'`
		}
	default:
		return f, "Invalid message received: unknown type"
	}
	return f, ""
}

// refuse closes the socket with code and reason and returns the error that
// ends gqlgen's read loop.
func (c *wsConn) refuse(code int, reason string) error {
	_ = c.WriteClose(code, reason)
	_ = c.conn.Close()
	return fmt.Errorf("%w: %d %s", errRefused, code, reason)
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
		return false, c.refuse(closeSubscriberExists, "Subscriber for "+id+" already exists")
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

func (c *wsConn) Close() error {
	c.sockets.remove(c)
	return c.conn.Close()
}

func (c *wsConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

func (c *wsConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// overWebsocket marks operations that arrived over a websocket, whose
// viewer was fixed at connection_init.
type overWebsocket struct{}

// OneTransportEach keeps each operation on its transport. Queries and
// mutations sent over a websocket are refused: its session was checked once,
// at connection_init, so anything that reads or changes data goes over HTTP,
// where every request checks the session. Subscriptions sent over HTTP are
// refused too: POST would hold the request open with no deadline, outside
// the per-socket cap and the session re-checks.
func OneTransportEach(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil {
		return next(ctx)
	}
	overWS, subscription := ctx.Value(overWebsocket{}) != nil, oc.Operation.Operation == ast.Subscription
	var msg string
	switch {
	case overWS && !subscription:
		msg = "send queries and mutations over HTTP; the websocket carries subscriptions only"
	case !overWS && subscription:
		msg = "open subscriptions over the websocket (graphql-transport-ws at /query), not over HTTP"
	default:
		return next(ctx)
	}
	return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
		Message:    msg,
		Extensions: map[string]any{"code": string(apperr.BadUserInput), "field": "operation"},
	}}})
}
