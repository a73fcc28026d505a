package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"cardfile/internal/auth"
	"cardfile/internal/db"
	"cardfile/internal/events"
	"cardfile/internal/secret"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The raw handler is the ruler: net/http and pgx (PostgreSQL) or
// database/sql and modernc (SQLite), sending the statements cardfile sends
// for each workload (captured with -capture from cardfile's statement
// hook) with one joined session check in place of cardfile's three, and
// answering the same JSON shape. It checks what cardfile checks (session
// expiry, tenancy by company_id, the customer lock on writes) and nothing
// cardfile does not.

// rows is what both drivers' result sets offer.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// store is a connection pool or a transaction of either driver.
type store interface {
	query(ctx context.Context, q string, args ...any) (rows, func(), error)
	exec(ctx context.Context, q string, args ...any) error
	tx(ctx context.Context, fn func(store) error) error
}

type pgStore struct {
	pool *pgxpool.Pool
	t    pgx.Tx
}

func (s pgStore) query(ctx context.Context, q string, args ...any) (rows, func(), error) {
	var r pgx.Rows
	var err error
	if s.t != nil {
		r, err = s.t.Query(ctx, q, args...)
	} else {
		r, err = s.pool.Query(ctx, q, args...)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}

func (s pgStore) exec(ctx context.Context, q string, args ...any) error {
	var err error
	if s.t != nil {
		_, err = s.t.Exec(ctx, q, args...)
	} else {
		_, err = s.pool.Exec(ctx, q, args...)
	}
	return err
}

func (s pgStore) tx(ctx context.Context, fn func(store) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(t pgx.Tx) error { return fn(pgStore{pool: s.pool, t: t}) })
}

type sqlStore struct {
	db *sql.DB
	t  *sql.Tx
}

func (s sqlStore) query(ctx context.Context, q string, args ...any) (rows, func(), error) {
	var r *sql.Rows
	var err error
	if s.t != nil {
		r, err = s.t.QueryContext(ctx, q, args...)
	} else {
		r, err = s.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

func (s sqlStore) exec(ctx context.Context, q string, args ...any) error {
	var err error
	if s.t != nil {
		_, err = s.t.ExecContext(ctx, q, args...)
	} else {
		_, err = s.db.ExecContext(ctx, q, args...)
	}
	return err
}

func (s sqlStore) tx(ctx context.Context, fn func(store) error) error {
	t, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(sqlStore{db: s.db, t: t}); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Commit()
}

// rawChannel is the raw handler's NOTIFY channel: never cardfile's, whose
// listener must not do work for the raw side's writes.
const rawChannel = "cardfile_bench_raw"

type rawServer struct {
	store   store
	dialect string
	pool    *pgxpool.Pool // PostgreSQL only
	sqlDB   *sql.DB       // SQLite only
	hub     *hub          // P5's websocket broadcast
	cancel  context.CancelFunc
}

func newRaw(ctx context.Context, url string) (*rawServer, error) {
	r := &rawServer{hub: newHub()}
	ctx, r.cancel = context.WithCancel(ctx)
	if db.IsPostgres(url) {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			return nil, err
		}
		cfg.MaxConns = 20 // cardfile's pool size
		if r.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
			return nil, err
		}
		r.store, r.dialect = pgStore{pool: r.pool}, dialect.Postgres
		go r.listen(ctx, url)
		return r, nil
	}
	var err error
	if r.sqlDB, err = sql.Open("sqlite", db.SQLiteURL(url)); err != nil {
		return nil, err
	}
	r.sqlDB.SetMaxOpenConns(8) // as internal/db does
	r.sqlDB.SetMaxIdleConns(8)
	r.store, r.dialect = sqlStore{db: r.sqlDB}, dialect.SQLite
	return r, nil
}

func (r *rawServer) close() {
	r.cancel()
	if r.pool != nil {
		r.pool.Close()
	}
	if r.sqlDB != nil {
		r.sqlDB.Close()
	}
}

func (r *rawServer) q(query string) string { return rebind(r.dialect, query) }

func (r *rawServer) handler() http.Handler {
	mux := http.NewServeMux()
	route := func(id string, fn func(ctx context.Context, v *rawViewer, vars map[string]json.RawMessage) (any, error)) {
		mux.HandleFunc("POST /raw/"+id, func(w http.ResponseWriter, req *http.Request) { r.serve(w, req, fn) })
	}
	route("P1", r.node)
	for _, n := range []int{10, 50, 100} {
		route(fmt.Sprintf("P2-%d", n), func(ctx context.Context, v *rawViewer, _ map[string]json.RawMessage) (any, error) {
			return r.customers(ctx, v, n)
		})
	}
	route("P3", r.selectable)
	route("P4-rename", r.rename)
	route("P4-primary", r.setPrimary)
	mux.HandleFunc("/raw/ws", r.hub.serveWS)
	return mux
}

// rawViewer is who the joined session check found.
type rawViewer struct {
	SessionID, StaffID, CompanyID int
	Role                          string
	CanManageCards                bool
	Company                       rawCompany
}

type rawCompany struct {
	Country, Currency string
	Enabled           bool
}

var errUnauthenticated = errors.New("UNAUTHENTICATED")

// authenticate is the one joined session check: session → staff → company
// by token hash, with cardfile's idle and absolute expiry and its touch of
// last_seen_at at most once a minute.
func (r *rawServer) authenticate(ctx context.Context, header string) (*rawViewer, error) {
	token, ok := auth.BearerToken(header)
	if !ok {
		return nil, errUnauthenticated
	}
	rs, done, err := r.store.query(ctx, r.q(`SELECT s.id, s.last_seen_at, s.expires_at, st.id, st.role, st.active,
		c.id, c.country, c.default_currency, c.card_integration_enabled, c.card_manager_roles
		FROM sessions s JOIN staffs st ON st.id = s.staff_id JOIN companies c ON c.id = st.company_id
		WHERE s.token_hash = ?`), secret.Hash(token))
	if err != nil {
		return nil, err
	}
	defer done()
	if !rs.Next() {
		return nil, errors.Join(errUnauthenticated, rs.Err())
	}
	var v rawViewer
	var lastSeen, expires time.Time
	var active bool
	var roles []byte
	if err := rs.Scan(&v.SessionID, &lastSeen, &expires, &v.StaffID, &v.Role, &active,
		&v.CompanyID, &v.Company.Country, &v.Company.Currency, &v.Company.Enabled, &roles); err != nil {
		return nil, err
	}
	done()
	now := time.Now()
	if !active || now.After(expires) || now.After(lastSeen.Add(auth.DefaultConfig().IdleTimeout)) {
		return nil, errUnauthenticated
	}
	var managers []string
	if err := json.Unmarshal(roles, &managers); err != nil {
		return nil, err
	}
	v.CanManageCards = slices.Contains(managers, v.Role)
	if now.Sub(lastSeen) > time.Minute {
		if err := r.store.exec(ctx, r.q(`UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`),
			now, v.SessionID, now.Add(-time.Minute)); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// serve decodes a GraphQL-shaped request, authenticates it and writes {"data": …}.
func (r *rawServer) serve(w http.ResponseWriter, req *http.Request, fn func(context.Context, *rawViewer, map[string]json.RawMessage) (any, error)) {
	var body struct {
		Query     string                     `json:"query"`
		Variables map[string]json.RawMessage `json:"variables"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20)).Decode(&body); err != nil {
		writeErr(w, http.StatusBadRequest, "BAD_USER_INPUT")
		return
	}
	ctx := req.Context()
	v, err := r.authenticate(ctx, req.Header.Get("Authorization"))
	if err != nil {
		if errors.Is(err, errUnauthenticated) {
			writeErr(w, http.StatusOK, "UNAUTHENTICATED")
			return
		}
		writeErr(w, http.StatusInternalServerError, "INTERNAL")
		return
	}
	data, err := fn(ctx, v, body.Variables)
	if err != nil {
		writeErr(w, http.StatusOK, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func writeErr(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": code, "extensions": map[string]string{"code": code}}}})
}

func idVar(vars map[string]json.RawMessage, name string) (int, error) {
	var s string
	if err := json.Unmarshal(vars[name], &s); err != nil {
		return 0, fmt.Errorf("BAD_USER_INPUT")
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("BAD_USER_INPUT")
	}
	return id, nil
}

// rawCard is a credit_cards row as cardfile selects it (every column).
type rawCard struct {
	ID, CompanyID, CustomerID int
	CreatedAt, UpdatedAt      time.Time
	GatewayToken, Brand       string
	Last4                     string
	ExpMonth, ExpYear         int
	ExpiresAt                 sql.NullTime
	CardholderName, Zip       sql.NullString
	Description               string
	IsPrimary                 bool
	Source                    string
	CreatedByID               sql.NullInt64
}

const cardColumns = `"credit_cards"."id", "credit_cards"."company_id", "credit_cards"."created_at", "credit_cards"."updated_at", "credit_cards"."customer_id", "credit_cards"."gateway_token", "credit_cards"."brand", "credit_cards"."last4", "credit_cards"."exp_month", "credit_cards"."exp_year", "credit_cards"."expires_at", "credit_cards"."cardholder_name", "credit_cards"."billing_zip", "credit_cards"."description", "credit_cards"."is_primary", "credit_cards"."source", "credit_cards"."created_by_id"`

func scanCards(rs rows) ([]rawCard, error) {
	var out []rawCard
	for rs.Next() {
		var c rawCard
		if err := rs.Scan(&c.ID, &c.CompanyID, &c.CreatedAt, &c.UpdatedAt, &c.CustomerID, &c.GatewayToken, &c.Brand, &c.Last4,
			&c.ExpMonth, &c.ExpYear, &c.ExpiresAt, &c.CardholderName, &c.Zip, &c.Description, &c.IsPrimary, &c.Source, &c.CreatedByID); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rs.Err()
}

func (r *rawServer) cards(ctx context.Context, s store, query string, args ...any) ([]rawCard, error) {
	rs, done, err := s.query(ctx, r.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer done()
	return scanCards(rs)
}

// cardJSON is a card as the workloads' GraphQL selection has it.
func cardJSON(c rawCard, now time.Time) map[string]any {
	return map[string]any{"id": strconv.Itoa(c.ID), "brand": c.Brand, "last4": c.Last4, "expMonth": c.ExpMonth,
		"expYear": c.ExpYear, "isPrimary": c.IsPrimary, "description": c.Description,
		"expired": c.ExpiresAt.Valid && !now.Before(c.ExpiresAt.Time)}
}

// primaryFirst orders a customer's cards as cardfile's cards.SortPrimaryFirst does.
func primaryFirst(cs []rawCard) {
	slices.SortStableFunc(cs, func(a, b rawCard) int {
		if a.IsPrimary != b.IsPrimary {
			if a.IsPrimary {
				return -1
			}
			return 1
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return b.ID - a.ID
	})
}

func cardsJSON(cs []rawCard, now time.Time) []any {
	primaryFirst(cs)
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = cardJSON(c, now)
	}
	return out
}

type rawCustomer struct {
	ID         int
	Code, Name string
	Email      sql.NullString
}

func (c rawCustomer) json(cards []any) map[string]any {
	m := map[string]any{"id": strconv.Itoa(c.ID), "code": c.Code, "name": c.Name, "email": nil, "creditCards": cards}
	if c.Email.Valid {
		m["email"] = c.Email.String
	}
	return m
}

// P1: node(id:) on a customer with its cards.
func (r *rawServer) node(ctx context.Context, v *rawViewer, vars map[string]json.RawMessage) (any, error) {
	id, err := idVar(vars, "id")
	if err != nil {
		return nil, err
	}
	rs, done, err := r.store.query(ctx, r.q(`SELECT "customers"."id", "customers"."code", "customers"."name", "customers"."email" FROM "customers" WHERE "customers"."id" = ? AND "customers"."company_id" = ? LIMIT 2`), id, v.CompanyID)
	if err != nil {
		return nil, err
	}
	defer done()
	if !rs.Next() {
		return map[string]any{"node": nil}, rs.Err()
	}
	var c rawCustomer
	if err := rs.Scan(&c.ID, &c.Code, &c.Name, &c.Email); err != nil {
		return nil, err
	}
	done()
	cs, err := r.cards(ctx, r.store, `SELECT `+cardColumns+` FROM "credit_cards" WHERE "credit_cards"."customer_id" IN (?) AND "credit_cards"."company_id" = ?`, c.ID, v.CompanyID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"node": c.json(cardsJSON(cs, time.Now()))}, nil
}

// P2: customers(first: n) by name, with total count and each one's cards.
func (r *rawServer) customers(ctx context.Context, v *rawViewer, n int) (any, error) {
	var total int
	rs, done, err := r.store.query(ctx, r.q(`SELECT COUNT("customers"."id") FROM "customers" WHERE "customers"."company_id" = ?`), v.CompanyID)
	if err != nil {
		return nil, err
	}
	if rs.Next() {
		err = rs.Scan(&total)
	}
	done()
	if err != nil {
		return nil, err
	}
	rs, done, err = r.store.query(ctx, r.q(`SELECT "customers"."id", "customers"."code", "customers"."name", "customers"."email" FROM "customers" WHERE "customers"."company_id" = ? ORDER BY "customers"."name", "customers"."id" LIMIT ?`), v.CompanyID, n+1)
	if err != nil {
		return nil, err
	}
	var page []rawCustomer
	for rs.Next() {
		var c rawCustomer
		if err := rs.Scan(&c.ID, &c.Code, &c.Name, &c.Email); err != nil {
			done()
			return nil, err
		}
		page = append(page, c)
	}
	done()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	// As cardfile does: the cards of every customer fetched, the one past the page too.
	args := make([]any, 0, len(page)+1)
	marks := make([]string, len(page))
	for i, c := range page {
		args = append(args, c.ID)
		marks[i] = "?"
	}
	args = append(args, v.CompanyID)
	cs, err := r.cards(ctx, r.store, `SELECT `+cardColumns+` FROM "credit_cards" WHERE "credit_cards"."customer_id" IN (`+strings.Join(marks, ", ")+`) AND "credit_cards"."company_id" = ?`, args...)
	if err != nil {
		return nil, err
	}
	byCustomer := map[int][]rawCard{}
	for _, c := range cs {
		byCustomer[c.CustomerID] = append(byCustomer[c.CustomerID], c)
	}
	now := time.Now()
	page = page[:min(n, len(page))]
	edges := make([]any, len(page))
	for i, c := range page {
		edges[i] = map[string]any{"node": c.json(cardsJSON(byCustomer[c.ID], now))}
	}
	return map[string]any{"customers": map[string]any{"totalCount": total, "edges": edges}}, nil
}

const customerColumns = `"customers"."id", "customers"."company_id", "customers"."created_at", "customers"."updated_at", "customers"."code", "customers"."name", "customers"."email", "customers"."phone", "customers"."default_currency", "customers"."country", "customers"."active", "customers"."restrict_card_payments"`

// fullCustomer is a customers row as cardfile selects it whole.
type fullCustomer struct {
	ID, CompanyID        int
	CreatedAt, UpdatedAt time.Time
	Code, Name           string
	Email, Phone         sql.NullString
	Currency, Country    string
	Active, Restrict     bool
}

func (r *rawServer) fullCustomer(ctx context.Context, s store, query string, args ...any) (*fullCustomer, error) {
	rs, done, err := s.query(ctx, r.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer done()
	if !rs.Next() {
		return nil, errors.Join(errors.New("NOT_FOUND"), rs.Err())
	}
	var c fullCustomer
	err = rs.Scan(&c.ID, &c.CompanyID, &c.CreatedAt, &c.UpdatedAt, &c.Code, &c.Name, &c.Email, &c.Phone,
		&c.Currency, &c.Country, &c.Active, &c.Restrict)
	return &c, err
}

// P3: selectableCreditCards on the Receive Payments screen.
func (r *rawServer) selectable(ctx context.Context, v *rawViewer, vars map[string]json.RawMessage) (any, error) {
	id, err := idVar(vars, "id")
	if err != nil {
		return nil, err
	}
	cu, err := r.fullCustomer(ctx, r.store, `SELECT `+customerColumns+` FROM "customers" WHERE "customers"."id" = ? AND "customers"."company_id" = ? LIMIT 2`, id, v.CompanyID)
	if err != nil {
		return nil, err
	}
	var co rawCompany
	rs, done, err := r.store.query(ctx, r.q(`SELECT "companies"."id", "companies"."created_at", "companies"."updated_at", "companies"."name", "companies"."country", "companies"."default_currency", "companies"."card_integration_enabled", "companies"."card_manager_roles" FROM "companies" WHERE "companies"."id" IN (?) AND "companies"."id" = ?`), cu.CompanyID, v.CompanyID)
	if err != nil {
		return nil, err
	}
	if rs.Next() {
		var id int
		var created, updated time.Time
		var name string
		var roles []byte
		err = rs.Scan(&id, &created, &updated, &name, &co.Country, &co.Currency, &co.Enabled, &roles)
	}
	done()
	if err != nil {
		return nil, err
	}
	cs, err := r.cards(ctx, r.store, `SELECT `+cardColumns+` FROM "credit_cards" WHERE "credit_cards"."customer_id" IN (?) AND "credit_cards"."company_id" = ?`, cu.ID, v.CompanyID)
	if err != nil {
		return nil, err
	}
	allowed := co.Enabled && co.Country == "US" && co.Currency == "USD" && cu.Currency == "USD"
	var reason any
	if !allowed {
		reason = "card payments are not available for this customer"
	}
	now := time.Now()
	primaryFirst(cs)
	var defaultID any
	out := make([]any, len(cs))
	for i, c := range cs {
		expired := c.ExpiresAt.Valid && !now.Before(c.ExpiresAt.Time)
		var why any
		if expired {
			why = fmt.Sprintf("This card expired at the end of %02d/%d.", c.ExpMonth, c.ExpYear)
		}
		isDefault := c.IsPrimary && !expired && allowed
		if isDefault {
			defaultID = strconv.Itoa(c.ID)
		}
		out[i] = map[string]any{"card": cardJSON(c, now), "selectable": !expired && allowed, "reason": why, "isDefault": isDefault}
	}
	return map[string]any{"selectableCreditCards": map[string]any{
		"canPayByCard": map[string]any{"allowed": allowed, "reason": reason}, "defaultCardId": defaultID, "cards": out}}, nil
}

// lockCard runs cardfile's opening of a card write in tx s: the card's
// customer, that customer locked, then the card.
func (r *rawServer) lockCard(ctx context.Context, s store, v *rawViewer, cardID int) (*fullCustomer, rawCard, error) {
	if !v.CanManageCards {
		return nil, rawCard{}, errors.New("FORBIDDEN")
	}
	var customerID int
	rs, done, err := s.query(ctx, r.q(`SELECT "credit_cards"."customer_id" FROM "credit_cards" WHERE "credit_cards"."id" = ? AND "credit_cards"."company_id" = ?`), cardID, v.CompanyID)
	if err != nil {
		return nil, rawCard{}, err
	}
	if !rs.Next() {
		done()
		return nil, rawCard{}, errors.New("NOT_FOUND")
	}
	err = rs.Scan(&customerID)
	done()
	if err != nil {
		return nil, rawCard{}, err
	}
	lock := ` FOR UPDATE`
	if r.dialect == dialect.SQLite {
		lock = "" // the write transaction holds SQLite's one lock
	}
	cu, err := r.fullCustomer(ctx, s, `SELECT `+customerColumns+` FROM "customers" WHERE "customers"."id" = ? AND "customers"."company_id" = ? LIMIT 2`+lock, customerID, v.CompanyID)
	if err != nil {
		return nil, rawCard{}, err
	}
	cs, err := r.cards(ctx, s, `SELECT `+cardColumns+` FROM "credit_cards" WHERE "credit_cards"."id" = ? AND "credit_cards"."company_id" = ? LIMIT 2`, cardID, v.CompanyID)
	if err != nil || len(cs) == 0 {
		return nil, rawCard{}, errors.Join(errors.New("NOT_FOUND"), err)
	}
	return cu, cs[0], nil
}

// finishWrite runs cardfile's end of a card write in tx s: the card read
// back, the audit row and the event.
func (r *rawServer) finishWrite(ctx context.Context, s store, v *rawViewer, card rawCard, action string, details map[string]any, kind events.Kind) (rawCard, error) {
	cs, err := r.cards(ctx, s, `SELECT "id", "company_id", "created_at", "updated_at", "customer_id", "gateway_token", "brand", "last4", "exp_month", "exp_year", "expires_at", "cardholder_name", "billing_zip", "description", "is_primary", "source", "created_by_id" FROM "credit_cards" WHERE "id" = ?`, card.ID)
	if err != nil || len(cs) == 0 {
		return rawCard{}, errors.Join(errors.New("NOT_FOUND"), err)
	}
	d, _ := json.Marshal(details)
	if err := s.exec(ctx, r.q(`INSERT INTO "audit_events" ("created_at", "actor_kind", "action", "subject_type", "subject_id", "outcome", "origin_ip", "details", "company_id", "actor_staff_id", "customer_id") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING "id"`),
		time.Now().UTC(), "STAFF", action, "CreditCard", card.ID, "SUCCESS", "127.0.0.1", d, v.CompanyID, v.StaffID, card.CustomerID); err != nil {
		return rawCard{}, err
	}
	if r.dialect == dialect.Postgres {
		payload, _ := json.Marshal(events.Event{Topic: events.Cards, CompanyID: v.CompanyID, CustomerID: card.CustomerID, ID: card.ID, Kind: kind})
		if err := s.exec(ctx, `SELECT pg_notify($1, $2)`, rawChannel, string(payload)); err != nil {
			return rawCard{}, err
		}
	}
	return cs[0], nil
}

func display(c rawCard) string { return c.Brand + " •••• " + c.Last4 }

// P4: editCreditCard (rename), in one transaction as cardfile runs it.
func (r *rawServer) rename(ctx context.Context, v *rawViewer, vars map[string]json.RawMessage) (any, error) {
	id, err := idVar(vars, "id")
	if err != nil {
		return nil, err
	}
	var desc string
	if err := json.Unmarshal(vars["d"], &desc); err != nil || desc == "" || len([]rune(desc)) > 100 {
		return nil, errors.New("BAD_USER_INPUT")
	}
	var out rawCard
	err = r.store.tx(ctx, func(s store) error {
		_, card, err := r.lockCard(ctx, s, v, id)
		if err != nil {
			return err
		}
		if err := s.exec(ctx, r.q(`UPDATE "credit_cards" SET "updated_at" = ?, "description" = ? WHERE "id" = ? AND "credit_cards"."company_id" = ?`),
			time.Now().UTC(), desc, id, v.CompanyID); err != nil {
			return err
		}
		out, err = r.finishWrite(ctx, s, v, card, "credit_card.rename",
			map[string]any{"card": display(card), "from": card.Description, "to": desc}, events.Updated)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"editCreditCard": cardJSON(out, time.Now())}, nil
}

// P4: setPrimaryCreditCard, in one transaction as cardfile runs it.
func (r *rawServer) setPrimary(ctx context.Context, v *rawViewer, vars map[string]json.RawMessage) (any, error) {
	id, err := idVar(vars, "id")
	if err != nil {
		return nil, err
	}
	var out rawCard
	err = r.store.tx(ctx, func(s store) error {
		cu, card, err := r.lockCard(ctx, s, v, id)
		if err != nil {
			return err
		}
		out = card
		if card.IsPrimary { // as cardfile: nothing to write, no audit row, no event
			return nil
		}
		now := time.Now().UTC()
		if card.ExpiresAt.Valid && !now.Before(card.ExpiresAt.Time) {
			return errors.New("BAD_USER_INPUT")
		}
		if err := s.exec(ctx, r.q(`UPDATE "credit_cards" SET "updated_at" = ?, "is_primary" = ? WHERE ("credit_cards"."customer_id" = ? AND "credit_cards"."is_primary") AND "credit_cards"."company_id" = ?`),
			now, false, cu.ID, v.CompanyID); err != nil {
			return err
		}
		if err := s.exec(ctx, r.q(`UPDATE "credit_cards" SET "updated_at" = ?, "is_primary" = ? WHERE "id" = ? AND "credit_cards"."company_id" = ?`),
			now, true, id, v.CompanyID); err != nil {
			return err
		}
		out, err = r.finishWrite(ctx, s, v, card, "credit_card.set_primary", map[string]any{"card": display(card)}, events.PrimaryChanged)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"setPrimaryCreditCard": cardJSON(out, time.Now())}, nil
}
