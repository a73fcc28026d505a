package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cardfile/internal/events"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"
)

// P5: one event to n subscribers of one customer, over graphql-transport-ws.

const subscription = `subscription($id: ID!) { creditCardsChanged(customerId: $id) { kind cardId card { ` + cardFields + ` } } }`

// hub is the raw side of P5: a plain gorilla broadcast. Each socket has one
// goroutine (its reader); an event's card is loaded once, its message
// encoded once, and the same bytes written to every subscriber in turn.
type hub struct {
	mu   sync.Mutex
	subs map[int]map[*hubConn]bool // customer id → sockets
	load func(ctx context.Context, cardID int) (rawCard, error)
	auth func(ctx context.Context, header string) (*rawViewer, error)
}

type hubConn struct {
	ws *websocket.Conn
	id string // the subscription's id
	mu sync.Mutex
}

func newHub() *hub { return &hub{subs: map[int]map[*hubConn]bool{}} }

var upgrader = websocket.Upgrader{Subprotocols: []string{"graphql-transport-ws"}, ReadBufferSize: 1024, WriteBufferSize: 1024}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (h *hub) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer ws.Close()
	c := &hubConn{ws: ws}
	customer := 0
	defer func() {
		if customer != 0 {
			h.mu.Lock()
			delete(h.subs[customer], c)
			h.mu.Unlock()
		}
	}()
	ctx := r.Context()
	var v *rawViewer
	for {
		var m wsMessage
		if err := ws.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "connection_init":
			var p struct{ Authorization string }
			_ = json.Unmarshal(m.Payload, &p)
			if v, err = h.auth(ctx, p.Authorization); err != nil {
				_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4403, "Forbidden"))
				return
			}
			c.mu.Lock()
			err = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_ack"}`))
			c.mu.Unlock()
			if err != nil {
				return
			}
		case "subscribe":
			var p struct {
				Variables struct{ ID string } `json:"variables"`
			}
			if v == nil || json.Unmarshal(m.Payload, &p) != nil || customer != 0 {
				return
			}
			if customer, err = strconv.Atoi(p.Variables.ID); err != nil {
				return
			}
			c.id = m.ID
			h.mu.Lock()
			if h.subs[customer] == nil {
				h.subs[customer] = map[*hubConn]bool{}
			}
			h.subs[customer][c] = true
			h.mu.Unlock()
		case "ping":
			c.mu.Lock()
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
			c.mu.Unlock()
		}
	}
}

// broadcast delivers e to its customer's subscribers: one load, one encoding.
func (h *hub) broadcast(ctx context.Context, e events.Event) {
	h.mu.Lock()
	conns := make([]*hubConn, 0, len(h.subs[e.CustomerID]))
	for c := range h.subs[e.CustomerID] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	if len(conns) == 0 {
		return
	}
	card, err := h.load(ctx, e.ID)
	if err != nil {
		log.Printf("raw fan-out: loading card %d: %v", e.ID, err)
		return
	}
	payload, _ := json.Marshal(map[string]any{"data": map[string]any{"creditCardsChanged": map[string]any{
		"kind": e.Kind, "cardId": strconv.Itoa(e.ID), "card": cardJSON(card, time.Now())}}})
	// Every client subscribes with the same id here, so one frame serves all;
	// a socket with another id gets a frame of its own.
	frames := map[string]*websocket.PreparedMessage{}
	for _, c := range conns {
		pm := frames[c.id]
		if pm == nil {
			b, _ := json.Marshal(wsMessage{Type: "next", ID: c.id, Payload: payload})
			if pm, err = websocket.NewPreparedMessage(websocket.TextMessage, b); err != nil {
				return
			}
			frames[c.id] = pm
		}
		c.mu.Lock()
		_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_ = c.ws.WritePreparedMessage(pm)
		c.mu.Unlock()
	}
}

// listen delivers the raw handler's NOTIFYs to the hub, on one connection of its own.
func (r *rawServer) listen(ctx context.Context, url string) {
	r.hub.auth = r.authenticate
	r.hub.load = func(ctx context.Context, id int) (rawCard, error) {
		cs, err := r.cards(ctx, r.store, `SELECT `+cardColumns+` FROM "credit_cards" WHERE "credit_cards"."id" = ?`, id)
		if err == nil && len(cs) == 0 {
			err = errors.New("card not found")
		}
		if err != nil {
			return rawCard{}, err
		}
		return cs[0], nil
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		log.Printf("raw fan-out: %v", err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+rawChannel); err != nil {
		log.Printf("raw fan-out: %v", err)
		return
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		var e events.Event
		if json.Unmarshal([]byte(n.Payload), &e) == nil {
			r.hub.broadcast(ctx, e)
		}
	}
}

// subscriber is one client socket of P5.
type subscriber struct {
	ws       *websocket.Conn
	received chan time.Time
}

// dial opens a graphql-transport-ws socket at url, signs in and subscribes to customer's card events.
func dial(url, token string, customer int) (*subscriber, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second,
		ReadBufferSize: 1024, WriteBufferSize: 1024}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	init, _ := json.Marshal(map[string]any{"type": "connection_init", "payload": map[string]string{"Authorization": "Bearer " + token}})
	if err := ws.WriteMessage(websocket.TextMessage, init); err != nil {
		ws.Close()
		return nil, err
	}
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var ack wsMessage
	if err := ws.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		ws.Close()
		return nil, fmt.Errorf("no connection_ack (%q, %v)", ack.Type, err)
	}
	_ = ws.SetReadDeadline(time.Time{})
	sub, _ := json.Marshal(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{
		"query": subscription, "variables": map[string]string{"id": strconv.Itoa(customer)}}})
	if err := ws.WriteMessage(websocket.TextMessage, sub); err != nil {
		ws.Close()
		return nil, err
	}
	s := &subscriber{ws: ws, received: make(chan time.Time, 64)}
	go s.read()
	return s, nil
}

func (s *subscriber) read() {
	defer close(s.received)
	for {
		_, b, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		var m struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &m)
		switch m.Type {
		case "next":
			select {
			case s.received <- at:
			default:
			}
		case "ping":
			_ = s.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
		default:
			log.Printf("P5: unexpected message %.200s", b)
		}
	}
}

// fanoutSide is one server's P5 result.
type fanoutSide struct {
	p50, p99, max        time.Duration
	rssPerConn           float64
	goroutinesPerConn    float64
	deliveries, expected int
}

// measureFanout opens n subscribers of one customer on s, sends events
// events by renaming one of the customer's cards, and measures delivery.
func measureFanout(s *server, token string, ds dataset, n, eventsN int) (fanoutSide, error) {
	var res fanoutSide
	customer := ds.FirstCustomer + ds.Customers - 1 // one no other workload writes
	card := ds.FirstCard + (ds.Customers-1)*cardsPer
	wsURL := "ws" + strings.TrimPrefix(s.Base, "http") + "/query"
	if s.Kind == "raw" {
		wsURL = "ws" + strings.TrimPrefix(s.Base, "http") + "/raw/ws"
	}
	before, err := s.stats("?gc=1")
	if err != nil {
		return res, err
	}
	subs := make([]*subscriber, n)
	var dialErr atomic.Value
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			sub, err := dial(wsURL, token, customer)
			if err != nil {
				dialErr.Store(err)
				return
			}
			subs[i] = sub
		}()
	}
	wg.Wait()
	defer func() {
		for _, sub := range subs {
			if sub != nil {
				sub.ws.Close()
			}
		}
	}()
	if err, _ := dialErr.Load().(error); err != nil {
		return res, fmt.Errorf("P5 on %s: dialling: %w", s.Kind, err)
	}
	w := workloads[slices.IndexFunc(workloads, func(w workload) bool { return w.ID == "P4-rename" })]
	rename := func(label string) (time.Time, error) {
		at := time.Now()
		_, _, err := post(s.Base, s.path(w), token, w.body(map[string]any{"id": strconv.Itoa(card), "d": label}))
		return at, err
	}
	// Warm up: the subscribe messages carry no answer, so rename until every
	// socket has seen an event; then no subscription is still being set up.
	deadline := time.Now().Add(60 * time.Second)
	pending := slices.Clone(subs)
	for try := 0; len(pending) > 0; try++ {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("P5 on %s: %d of %d subscribers never got an event", s.Kind, len(pending), n)
		}
		if _, err := rename(fmt.Sprintf("warm-up %d", try)); err != nil {
			return res, err
		}
		wait := time.Now().Add(2 * time.Second)
		var still []*subscriber
		for _, sub := range pending {
			select {
			case _, ok := <-sub.received:
				if !ok {
					return res, fmt.Errorf("P5 on %s: a subscriber's socket closed", s.Kind)
				}
			case <-time.After(time.Until(wait)):
				still = append(still, sub)
			}
		}
		pending = still
	}
	time.Sleep(500 * time.Millisecond) // late duplicates of the warm-up drain
	for _, sub := range subs {
		for len(sub.received) > 0 {
			<-sub.received
		}
	}
	after, err := s.stats("?gc=1")
	if err != nil {
		return res, err
	}
	res.rssPerConn = float64(after.RSSBytes-before.RSSBytes) / float64(n)
	res.goroutinesPerConn = float64(after.Goroutines-before.Goroutines) / float64(n)
	var lat []time.Duration
	for e := range eventsN {
		sent, err := rename(fmt.Sprintf("fan-out %d", e))
		if err != nil {
			return res, err
		}
		res.expected += n
		timeout := time.Now().Add(30 * time.Second)
		for _, sub := range subs {
			select {
			case at, ok := <-sub.received:
				if ok {
					lat = append(lat, at.Sub(sent))
					res.deliveries++
				}
			case <-time.After(time.Until(timeout)):
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.p50, res.p99, res.max = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], lat[len(lat)-1]
	}
	return res, nil
}

func fanout(ctx context.Context, cardfile, raw *server, token string, ds dataset, n int) (table, error) {
	const eventsN = 5
	t := table{Title: fmt.Sprintf("P5: one event to %d subscribers of one customer (graphql-transport-ws, gorilla clients), %d events each", n, eventsN)}
	t.Lines = append(t.Lines, "", "| server | delivery p50 | delivery p99 | max | delivered | RSS/conn | goroutines/conn |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range []*server{cardfile, raw} {
		log.Printf("P5 on %s: %d subscribers", s.Kind, n)
		r, err := measureFanout(s, token, ds, n, eventsN)
		if err != nil {
			return t, err
		}
		name := "cardfile"
		if s.Kind == "raw" {
			name = "raw gorilla broadcast"
		}
		t.Lines = append(t.Lines, fmt.Sprintf("| %s | %.1f ms | %.1f ms | %.1f ms | %d/%d | %.1f KB | %.2f |", name,
			ms(r.p50), ms(r.p99), ms(r.max), r.deliveries, r.expected, r.rssPerConn/1024, r.goroutinesPerConn))
	}
	return t, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// profileP2 takes a CPU profile of cardfile while wrk drives P2 at 50 a
// page, writes it to cfg.cpuProfile and prints pprof's top 15.
func profileP2(cardfile *server, token string, ds dataset, cfg config, dir string) error {
	w := pageWorkload(50)
	secs := max(int(cfg.duration.Seconds()), 5)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", cardfile.Base, secs))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			done <- err
			return
		}
		_, err = f.ReadFrom(resp.Body)
		f.Close()
		done <- err
	}()
	long := cfg
	long.duration = time.Duration(secs+1) * time.Second
	if _, err := runWrk(cardfile, w, token, ds, cfg.conns, long.duration, dir); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	self, _ := os.Executable()
	for _, view := range [][]string{{"-top"}, {"-top", "-cum"}} {
		args := append([]string{"tool", "pprof", "-nodecount=15"}, view...)
		out, err := exec.Command("go", append(args, self, cfg.cpuProfile)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("go tool pprof: %v\n%s", err, out)
		}
		fmt.Printf("\nCPU profile of cardfile serving P2-50 (%s; go tool pprof %s -nodecount=15):\n%s\n",
			cfg.cpuProfile, strings.Join(view, " "), out)
	}
	return nil
}
