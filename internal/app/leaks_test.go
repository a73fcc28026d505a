package app_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"cardfile/ent/creditcard"
	"cardfile/internal/cards"
	"cardfile/internal/viewer"
)

// testCVC is the security code every tokenization in this file uses
// (h.paymentToken uses it too).
const testCVC = "999"

// tokenizeOverHTTP posts a card to the sandbox's POST /sandbox/tokens as
// the hosted fields page does in the browser, and returns the payment token.
func (h *harness) tokenizeOverHTTP(number, cvc string) string {
	h.t.Helper()
	body, _ := json.Marshal(map[string]any{
		"number": number, "expMonth": 12, "expYear": h.clock.Now().Year() + 3,
		"cvc": cvc, "postalCode": "12345", "name": "Pat Buyer",
	})
	req := httptest.NewRequest(http.MethodPost, "/sandbox/tokens", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	var out struct{ Token string }
	if rec.Code != http.StatusCreated || json.Unmarshal(raw, &out) != nil || out.Token == "" {
		h.t.Fatalf("tokenizing over HTTP: HTTP %d %s", rec.Code, raw)
	}
	return out.Token
}

// tableCell is one value of one row of one table, as text.
type tableCell struct {
	table, column, text string
	binary              bool // text is the raw bytes of a non-text value
}

// allCells reads every cell of every table except the sandbox gateway's own
// (sandbox_*), which stand in for the processor's vault and are not ours.
func (h *harness) allCells() []tableCell {
	h.t.Helper()
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if h.app.DB.Dialect == "postgres" {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := h.app.DB.SQL.QueryContext(h.sys, list)
	if err != nil {
		h.t.Fatalf("listing tables: %v", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			h.t.Fatalf("listing tables: %v", err)
		}
		if !strings.HasPrefix(name, "sandbox_") {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if len(tables) < 6 {
		h.t.Fatalf("found only the tables %v; the scan would miss data", tables)
	}
	var cells []tableCell
	for _, table := range tables {
		rows, err := h.app.DB.SQL.QueryContext(h.sys, `SELECT * FROM "`+table+`"`)
		if err != nil {
			h.t.Fatalf("reading %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				h.t.Fatalf("reading %s: %v", table, err)
			}
			for i, v := range vals {
				c := tableCell{table: table, column: cols[i]}
				switch x := v.(type) {
				case nil:
					continue
				case []byte:
					c.text, c.binary = string(x), !utf8.Valid(x)
				case string:
					c.text = x
				case time.Time:
					c.text = x.UTC().Format(time.RFC3339Nano)
				default:
					c.text = fmt.Sprint(x)
				}
				cells = append(cells, c)
			}
		}
		if err := rows.Err(); err != nil {
			h.t.Fatalf("reading %s: %v", table, err)
		}
		rows.Close()
	}
	return cells
}

// standaloneSeparators set a value off as a word of its own: whitespace,
// quotes and the punctuation of JSON, Go's %v, slog's key=value and URL
// queries. '.', '-', '_', '+', '/' and '$' are deliberately not separators:
// they occur inside timestamps ("15:04:05.999Z"), base64 (sealed tokens,
// random ids) and bcrypt hashes, where a digit run "999" means nothing.
const standaloneSeparators = " \t\r\n\"'`,:;=&?()[]{}<>|"

// hasStandalone reports whether word is the whole of s or one of its words
// as split by standaloneSeparators. So `"cvc":"999"`, `cvc=999`, `{999 12}`
// and a cell holding 999 match; `00.999Z`, `Xb999_q` and `$2a$999x` do not.
func hasStandalone(s, word string) bool {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(standaloneSeparators, r) }) {
		if f == word {
			return true
		}
	}
	return false
}

// logNoise are the slog fields whose values are clock readings, not data:
// the time of each line and the duration of each request in milliseconds
// (a request taking 999 ms is not a leaked security code).
var logNoise = regexp.MustCompile(`(?m)(^time=\S+|\bms=\d+)`)

// A realistic session (tokenize in the browser, add, rename, set primary,
// delete, a denied attempt, a reused payment token, a card number typed into
// a description, sign-in and sign-out) leaves no card number, security code,
// payment token, raw gateway token, session token or password in any of our
// tables, in the log or in any GraphQL response.
func TestNoCardDataOrSecretsLeak(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Leakproof", 2)
	const password = "correct horse battery" // newTenant's staff password
	admin := tn.tokens[viewer.Admin]
	custID := fmt.Sprint(tn.customers[0].ID)

	var paymentTokens []string
	pay := func(tok string) string { paymentTokens = append(paymentTokens, tok); return tok }
	add := func(token, paymentToken, description string) gqlResponse {
		return h.gql(token, `mutation($c: ID!, $t: String!, $d: String) {
			addCreditCard(input: {customerId: $c, paymentToken: $t, description: $d, allowDuplicate: true}) { `+cardFields+` } }`,
			map[string]any{"c": custID, "t": paymentToken, "d": description})
	}
	mustAdd := func(paymentToken, description string) card {
		t.Helper()
		var out struct{ AddCreditCard card }
		add(admin, paymentToken, description).decode(t, &out)
		return out.AddCreditCard
	}

	// Sign in the way the browser does, in a session of its own.
	browserSession := h.login("credit_manager@leakproof.test", password)
	if r := h.gql("", `mutation { login(input: {email: "admin@leakproof.test", password: "not the password"}) { token } }`, nil); r.code() != "UNAUTHENTICATED" {
		t.Fatalf("a wrong password got %s", r.Raw)
	}

	// Cards: one tokenized over HTTP by the hosted fields, two by the harness.
	browserToken := pay(h.tokenizeOverHTTP("4111 1111 1111 1111", testCVC))
	first := mustAdd(browserToken, "Office Visa")
	second := mustAdd(pay(h.paymentToken("4111111111111111")), "Spare Visa")
	third := mustAdd(pay(h.paymentToken("5555555555554444")), "")
	if !first.IsPrimary || second.IsPrimary || third.IsPrimary || first.Last4 != "1111" {
		t.Fatalf("cards after adding: %+v %+v %+v", first, second, third)
	}

	// Rename, set primary, and read everything back as the screens do.
	h.gql(browserSession, `mutation($id: ID!) { editCreditCard(id: $id, input: {description: "AP Visa"}) { id description } }`,
		map[string]any{"id": second.ID}).decode(t, &struct{}{})
	h.gql(browserSession, `mutation($id: ID!) { setPrimaryCreditCard(id: $id) { id isPrimary } }`,
		map[string]any{"id": second.ID}).decode(t, &struct{}{})
	h.gql(browserSession, `query { viewer { name canManageCards company { name } } cardGateway { name hostedFieldsUrl }
		customers(first: 10) { totalCount edges { node { id name primaryCreditCard { id display } creditCards { `+cardFields+` cardholderName billingZip createdAt } } } } }`,
		nil).decode(t, &struct{}{})
	h.gql(browserSession, `query($id: ID!) { node(id: $id) { id ... on CreditCard { `+cardFields+` } } }`,
		map[string]any{"id": third.ID}).decode(t, &struct{}{})

	// Refused: a role that may not manage cards (audited), a spent payment
	// token, and card numbers typed into descriptions.
	if r := add(tn.tokens[viewer.Salesperson], pay(h.paymentToken("4111111111111111")), "mine"); r.code() != "FORBIDDEN" {
		t.Fatalf("a salesperson's add got %s", r.Raw)
	}
	if r := h.gql(tn.tokens[viewer.Salesperson], `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`,
		map[string]any{"id": first.ID}); r.code() != "FORBIDDEN" {
		t.Fatalf("a salesperson's delete got %s", r.Raw)
	}
	if r := add(admin, browserToken, "again"); r.code() != "BAD_USER_INPUT" || r.field() != "paymentToken" {
		t.Fatalf("a reused payment token got %s", r.Raw)
	}
	if r := add(admin, pay(h.paymentToken("4111111111111111")), "card 4111 1111 1111 1111 exp 12/29 cvc 999"); r.code() != "BAD_USER_INPUT" || r.field() != "description" {
		t.Fatalf("a card number in a new card's description got %s", r.Raw)
	}
	if r := h.gql(admin, `mutation($id: ID!, $d: String!) { editCreditCard(id: $id, input: {description: $d}) { id } }`,
		map[string]any{"id": first.ID, "d": "4111111111111111"}); r.code() != "BAD_USER_INPUT" || r.field() != "description" {
		t.Fatalf("a card number in a rename got %s", r.Raw)
	}

	// The stored tokens are sealed; open them while the cards still exist.
	var gatewayTokens []string
	for _, c := range h.app.DB.CreditCard.Query().Where(creditcard.CompanyID(tn.company.ID)).AllX(h.sys) {
		raw, err := h.app.Sealer.Open(c.GatewayToken, cards.GatewayTokenPurpose)
		if err != nil || !strings.HasPrefix(raw, "sbct_") {
			t.Fatalf("card %d: cannot open its gateway token (%q, %v)", c.ID, raw, err)
		}
		if !strings.HasPrefix(c.GatewayToken, "v1:") || strings.Contains(c.GatewayToken, raw) {
			t.Fatalf("card %d: gateway_token column %q is not sealed", c.ID, c.GatewayToken)
		}
		gatewayTokens = append(gatewayTokens, raw)
	}
	if len(gatewayTokens) != 3 {
		t.Fatalf("found %d stored cards, want 3", len(gatewayTokens))
	}

	// Delete the primary (the newest unexpired card is promoted) and another.
	h.gql(browserSession, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId newPrimary { id } } }`,
		map[string]any{"id": second.ID}).decode(t, &struct{}{})
	h.gql(admin, `mutation($id: ID!) { deleteCreditCard(id: $id) { deletedId } }`,
		map[string]any{"id": first.ID}).decode(t, &struct{}{})

	// Sign out; the token no longer works.
	var out struct{ Logout bool }
	h.gql(browserSession, `mutation { logout }`, nil).decode(t, &out)
	if r := h.gql(browserSession, `query { customers(first: 1) { totalCount } }`, nil); !out.Logout || r.code() != "UNAUTHENTICATED" {
		t.Fatalf("after logout (%v) the token got %s", out.Logout, r.Raw)
	}

	// What must never be stored, logged or answered.
	sessions := []string{browserSession}
	for _, tok := range tn.tokens {
		sessions = append(sessions, tok)
	}
	secrets := map[string][]string{
		"card number":    {"4111111111111111", "4111 1111 1111 1111", "5555555555554444", "5555 5555 5555 4444"},
		"payment token":  paymentTokens,
		"gateway token":  gatewayTokens,
		"session token":  sessions,
		"staff password": {password},
	}
	for kind, list := range secrets {
		for _, s := range list {
			if len(s) < 12 {
				t.Fatalf("%s %q is too short to search for", kind, s)
			}
		}
	}

	// (a) and (b): every cell of every table of ours.
	cells := h.allCells()
	tablesSeen := map[string]bool{}
	for _, c := range cells {
		tablesSeen[c.table] = true
		for kind, list := range secrets {
			for _, s := range list {
				if strings.Contains(c.text, s) {
					t.Errorf("%s.%s holds a %s: %q", c.table, c.column, kind, c.text)
				}
			}
		}
		text := c.text
		if c.binary {
			text = hex.EncodeToString([]byte(c.text))
		}
		if hasStandalone(text, testCVC) {
			t.Errorf("%s.%s holds the security code %s: %q", c.table, c.column, testCVC, text)
		}
	}
	for _, table := range []string{"credit_cards", "audit_events", "sessions", "staffs", "customers", "companies"} {
		if !tablesSeen[table] {
			t.Errorf("the scan saw no rows of %s (saw %v)", table, tablesSeen)
		}
	}
	t.Logf("scanned %d cells in %d tables for %d secrets", len(cells), len(tablesSeen), len(paymentTokens)+len(gatewayTokens)+len(sessions)+5)
	// The remaining card's column is sealed, not the raw token.
	left := h.app.DB.CreditCard.Query().Where(creditcard.CompanyID(tn.company.ID)).AllX(h.sys)
	if len(left) != 1 || !left[0].IsPrimary || !strings.HasPrefix(left[0].GatewayToken, "v1:") {
		t.Fatalf("cards left: %+v", left)
	}

	// (c) the log, and (d) the GraphQL responses. A session token is in
	// exactly one response: its own login's.
	logs, responses := h.logs.String(), h.responses.String()
	if !strings.Contains(logs, "gateway refused a card") || !strings.Contains(logs, "path=/query") {
		t.Fatalf("the log does not show the session's requests:\n%s", logs)
	}
	for kind, list := range secrets {
		for _, s := range list {
			if strings.Contains(logs, s) {
				t.Errorf("the log holds a %s %q", kind, s)
			}
			want := 0
			if kind == "session token" {
				want = 1
			}
			if n := strings.Count(responses, s); n != want {
				t.Errorf("GraphQL responses hold the %s %q %d times, want %d", kind, s, n, want)
			}
		}
	}
	for _, line := range strings.Split(logs, "\n") {
		if hasStandalone(logNoise.ReplaceAllString(line, ""), testCVC) {
			t.Errorf("a log line holds the security code %s: %s", testCVC, line)
		}
	}
	for _, line := range strings.Split(responses, "\n") {
		if hasStandalone(line, testCVC) {
			t.Errorf("a GraphQL response holds the security code %s: %s", testCVC, line)
		}
	}
}

// The security-code rule finds the code as a value of its own and ignores
// the same digits inside timestamps and encodings.
func TestStandaloneSecurityCodeRule(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"999", true},
		{`{"cvc":"999"}`, true},
		{"level=INFO cvc=999 ok", true},
		{"sandbox.CardInput{Number:4111, CVC:999}", true},
		{"card 4111 exp 12/29 cvc 999", true},
		{"?cvc=999&zip=12345", true},
		{"2026-11-26T15:00:00.999Z", false},
		{"2026-11-26 15:00:00.999+00:00", false},
		{"v1:Qk999_x-999-Zz", false},
		{"$2a$04$999abc./999", false},
		{"9999", false},
		{"1999", false},
		{"555-999-1234", false}, // the price of ignoring timestamps: a dashed group is not a value
	} {
		if got := hasStandalone(c.text, testCVC); got != c.want {
			t.Errorf("hasStandalone(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}
