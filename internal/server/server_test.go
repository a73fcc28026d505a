package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"cardfile/ent/privacy"
	"cardfile/internal/app"
	"cardfile/internal/app/apptest"
	"cardfile/internal/auth"
	"cardfile/internal/server"
	"cardfile/internal/viewer"
)

const (
	staffOrigin = "https://staff.example"
	evilOrigin  = "https://evil.example"
	password    = "correct horse battery"
)

// fixture is a whole cardfile (real handler, database and sandbox gateway)
// with every log line kept.
type fixture struct {
	app  *app.App
	logs *apptest.Log
}

func newFixture(t testing.TB, configure ...func(*server.Config)) *fixture {
	t.Helper()
	cfg := server.DefaultConfig()
	cfg.AllowedOrigins = []string{staffOrigin}
	for _, f := range configure {
		f(&cfg)
	}
	logs := &apptest.Log{}
	o := apptest.Options(t, logs)
	o.Server = cfg
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatalf("starting cardfile: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return &fixture{app: a, logs: logs}
}

func (f *fixture) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	f.app.Handler.ServeHTTP(rec, req)
	return rec
}

// staff creates a company with one admin and returns the admin's email.
func (f *fixture) staff(t *testing.T) string {
	t.Helper()
	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	co := f.app.DB.Company.Create().SetName("Acme").SaveX(sys)
	const email = "admin@acme.test"
	if _, err := f.app.Auth.CreateStaff(sys, auth.NewStaff{CompanyID: co.ID, Email: email, Name: "Ana Admin", Role: viewer.Admin, Password: password}); err != nil {
		t.Fatalf("creating staff: %v", err)
	}
	for i := 1; i <= 3; i++ {
		f.app.DB.Customer.Create().SetCompanyID(co.ID).SetCode(fmt.Sprintf("C%04d", i)).SetName(fmt.Sprintf("Customer %d", i)).SaveX(sys)
	}
	return email
}

const loginMutation = `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`

func (f *fixture) login(t *testing.T, email string) string {
	t.Helper()
	r := f.gql(t, "", loginMutation, map[string]any{"e": email, "p": password})
	var out struct{ Login struct{ Token string } }
	r.decode(t, &out)
	if out.Login.Token == "" {
		t.Fatalf("login returned no token: %s", r.Raw)
	}
	return out.Login.Token
}

type gqlError struct {
	Message    string
	Extensions map[string]any
}

type gqlResponse struct {
	Status int
	Data   json.RawMessage
	Errors []gqlError
	Raw    string
}

func (r gqlResponse) ext(key string) string {
	if len(r.Errors) == 0 {
		return ""
	}
	s, _ := r.Errors[0].Extensions[key].(string)
	return s
}

// hasData reports whether the response carries a non-null data member.
func (r gqlResponse) hasData() bool { return len(r.Data) > 0 && string(r.Data) != "null" }

func (r gqlResponse) decode(t *testing.T, v any) {
	t.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("GraphQL call failed (HTTP %d): %s", r.Status, r.Raw)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

func (f *fixture) gql(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return decodeResponse(t, f.serve(req))
}

func decodeResponse(t *testing.T, rec *httptest.ResponseRecorder) gqlResponse {
	t.Helper()
	raw, _ := io.ReadAll(rec.Body)
	r := gqlResponse{Status: rec.Code, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("response is not JSON (HTTP %d): %s", rec.Code, raw)
	}
	return r
}

func newRequest(method, target, body string, header map[string]string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

func TestCORSAllowsOnlyListedOrigins(t *testing.T) {
	f := newFixture(t)
	preflight := func(origin string) *http.Request {
		return newRequest(http.MethodOptions, "/query", "", map[string]string{
			"Origin":                         origin,
			"Access-Control-Request-Method":  http.MethodPost,
			"Access-Control-Request-Headers": "authorization,content-type",
		})
	}
	post := func(origin string) *http.Request {
		return newRequest(http.MethodPost, "/query", `{"query":"{ __typename }"}`, map[string]string{
			"Origin":       origin,
			"Content-Type": "application/json",
		})
	}
	for _, tc := range []struct {
		name             string
		req              *http.Request
		wantOrigin       string
		wantAuthzAllowed bool
	}{
		{"preflight from the staff app", preflight(staffOrigin), staffOrigin, true},
		{"preflight from another site", preflight(evilOrigin), "", false},
		{"POST from the staff app", post(staffOrigin), staffOrigin, false},
		{"POST from another site", post(evilOrigin), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.serve(tc.req)
			h := rec.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tc.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantOrigin)
			}
			allowed := strings.Split(strings.ToLower(h.Get("Access-Control-Allow-Headers")), ",")
			authz := false
			for _, a := range allowed {
				authz = authz || strings.TrimSpace(a) == "authorization"
			}
			if authz != tc.wantAuthzAllowed {
				t.Errorf("Access-Control-Allow-Headers = %q; Authorization allowed %v, want %v", h.Get("Access-Control-Allow-Headers"), authz, tc.wantAuthzAllowed)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("Access-Control-Allow-Credentials = %q; bearer tokens need no cookies", h.Get("Access-Control-Allow-Credentials"))
			}
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary = %q; a cache could serve one origin's answer to another", h.Values("Vary"))
			}
		})
	}
}

func TestIntrospectionOnlyInDev(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  bool
	}{
		{"production refuses", false},
		{"dev answers", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *server.Config) { c.Dev = tc.dev })
			r := f.gql(t, "", `{ __schema { types { name } } }`, nil)
			var out struct {
				Schema *struct{ Types []struct{ Name string } } `json:"__schema"`
			}
			if r.hasData() {
				if err := json.Unmarshal(r.Data, &out); err != nil {
					t.Fatalf("decoding %s: %v", r.Data, err)
				}
			}
			if !tc.dev {
				if len(r.Errors) == 0 || out.Schema != nil {
					t.Fatalf("introspection answered outside dev: %s", r.Raw)
				}
				if r.ext("code") != "BAD_USER_INPUT" || strings.Contains(f.logs.String(), "level=ERROR") {
					t.Fatalf("refused introspection is not a plain client error: %s", r.Raw)
				}
				return
			}
			if len(r.Errors) > 0 || out.Schema == nil {
				t.Fatalf("introspection refused in dev: %s", r.Raw)
			}
			names := map[string]bool{}
			for _, ty := range out.Schema.Types {
				names[ty.Name] = true
			}
			if !names["Query"] || !names["Customer"] {
				t.Errorf("schema types lack Query or Customer: %v", names)
			}
		})
	}
}

func TestHealthChecks(t *testing.T) {
	for _, tc := range []struct {
		name       string
		path       string
		databaseUp bool
		wantStatus int
		wantBody   string
	}{
		{"healthz", "/healthz", true, http.StatusOK, "ok"},
		{"healthz ignores the database", "/healthz", false, http.StatusOK, "ok"},
		{"readyz with the database up", "/readyz", true, http.StatusOK, "ready"},
		{"readyz with the database down", "/readyz", false, http.StatusServiceUnavailable, "database unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if !tc.databaseUp {
				// Stop the job queue first: it would spend the app's whole
				// shutdown grace retrying a database that is gone.
				if err := f.app.Jobs.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := f.app.DB.Close(); err != nil { // the pool and readiness's own connection
					t.Fatal(err)
				}
			}
			rec := f.serve(newRequest(http.MethodGet, tc.path, "", nil))
			var body struct{ Status string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if rec.Code != tc.wantStatus || body.Status != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, body.Status, tc.wantStatus, tc.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name      string
		req       *http.Request
		frameable bool // the sandbox's hosted fields live in an iframe
	}{
		{"app page", newRequest(http.MethodGet, "/", "", nil), false},
		{"GraphQL", newRequest(http.MethodPost, "/query", `{"query":"{ __typename }"}`, map[string]string{"Content-Type": "application/json"}), false},
		{"health check", newRequest(http.MethodGet, "/healthz", "", nil), false},
		{"unknown path", newRequest(http.MethodGet, "/nowhere", "", nil), false},
		{"hosted card fields", newRequest(http.MethodGet, "/sandbox/fields", "", nil), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.serve(tc.req)
			h := rec.Header()
			if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if got := h.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", got)
			}
			xfo, csp := h.Get("X-Frame-Options"), h.Get("Content-Security-Policy")
			if !tc.frameable && xfo != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", xfo)
			}
			if tc.frameable {
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d", rec.Code)
				}
				if xfo != "" {
					t.Errorf("X-Frame-Options = %q; the hosted fields could not be framed", xfo)
				}
				if !strings.Contains(csp, "frame-ancestors ") {
					t.Errorf("Content-Security-Policy = %q; framing must be limited by frame-ancestors", csp)
				}
			}
		})
	}
}

func TestQueryServesOnlyJSONPost(t *testing.T) {
	f := newFixture(t)
	const body = `{"query":"{ __typename }"}`
	for _, tc := range []struct {
		name     string
		req      *http.Request
		wantData bool
	}{
		{"JSON POST", newRequest(http.MethodPost, "/query", body, map[string]string{"Content-Type": "application/json"}), true},
		{"GET with a query string", newRequest(http.MethodGet, "/query?query=%7B__typename%7D", "", nil), false},
		// Forms and text/plain need no CORS preflight: another site could post them.
		{"text/plain POST", newRequest(http.MethodPost, "/query", body, map[string]string{"Content-Type": "text/plain"}), false},
		{"form POST", newRequest(http.MethodPost, "/query", "query=%7B__typename%7D", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := decodeResponse(t, f.serve(tc.req))
			if tc.wantData {
				if r.Status != http.StatusOK || string(r.Data) != `{"__typename":"Query"}` {
					t.Fatalf("HTTP %d: %s", r.Status, r.Raw)
				}
				return
			}
			if r.Status < 400 || r.Status >= 500 || r.hasData() || len(r.Errors) == 0 || r.ext("code") != "BAD_USER_INPUT" {
				t.Errorf("HTTP %d: %s; want a 4xx BAD_USER_INPUT error and no data", r.Status, r.Raw)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, func(c *server.Config) { c.MaxBodyBytes = 1 << 10 })
	big := `{"query":"{ __typename }","variables":{"pad":"` + strings.Repeat("x", 2<<10) + `"}}`
	for _, tc := range []struct {
		name       string
		chunked    bool // no Content-Length: the limit applies while reading
		wantStatus int  // 0: gqlgen reports a read error with 200
	}{
		{"declared length", false, http.StatusRequestEntityTooLarge},
		{"chunked", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(http.MethodPost, "/query", big, map[string]string{"Content-Type": "application/json"})
			if tc.chunked {
				req.ContentLength = -1
			}
			r := decodeResponse(t, f.serve(req))
			if r.hasData() || r.ext("code") != "BAD_USER_INPUT" || r.ext("field") != "body" {
				t.Errorf("HTTP %d: %s; want BAD_USER_INPUT on the body and no data", r.Status, r.Raw)
			}
			if tc.wantStatus != 0 && r.Status != tc.wantStatus {
				t.Errorf("HTTP %d, want %d", r.Status, tc.wantStatus)
			}
		})
	}
}

func TestRequestLogKeepsSecretsOut(t *testing.T) {
	f := newFixture(t)
	email := f.staff(t)
	loginBody, _ := json.Marshal(map[string]any{"query": loginMutation, "variables": map[string]any{"e": email, "p": password}})
	rec := f.serve(newRequest(http.MethodPost, "/query", string(loginBody), map[string]string{"Content-Type": "application/json"}))
	var login struct {
		Data struct{ Login struct{ Token string } }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &login); err != nil || login.Data.Login.Token == "" {
		t.Fatalf("login failed: %d %s", rec.Code, rec.Body)
	}
	token := login.Data.Login.Token
	const viewerQuery = `{ viewer { id email } }`
	r := f.gql(t, token, viewerQuery, nil)
	if !strings.Contains(string(r.Data), email) {
		t.Fatalf("the token did not sign in: %s", r.Raw)
	}
	const rejected = "cfs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	f.gql(t, rejected, viewerQuery, nil)
	f.serve(newRequest(http.MethodGet, "/healthz?token=query-string-secret", "", nil))

	logs := f.logs.String()
	for _, want := range []string{"path=/query status=200", "path=/healthz status=200"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	for name, secret := range map[string]string{
		"password":            password,
		"session token":       strings.TrimPrefix(token, "cfs_"),
		"rejected token":      strings.TrimPrefix(rejected, "cfs_"),
		"login request body":  string(loginBody),
		"login mutation text": "login(input:",
		"viewer query text":   "viewer {",
		"query string":        "query-string-secret",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s reached the log:\n%s", name, logs)
		}
	}
}

// viewers is a query of n aliased viewer fields; each costs 4 (the field
// and its three scalars) under gqlgen's default complexity.
func viewers(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " v%d: viewer { id name email }", i)
	}
	b.WriteString(" }")
	return b.String()
}

func TestComplexityLimit(t *testing.T) {
	f := newFixture(t)
	token := f.login(t, f.staff(t))
	limit := server.DefaultConfig().ComplexityLimit
	const page = `{ customers(first: 100) { totalCount pageInfo { hasNextPage endCursor }
		edges { cursor node { id code name email creditCards { id brand last4 } } } } }`
	for _, tc := range []struct {
		name       string
		query      string
		wantReason string // "" when the query must succeed
	}{
		{"600 aliased viewers", viewers(600), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"one over the limit", viewers(limit/4 + 1), "COMPLEXITY_LIMIT_EXCEEDED"},
		{"exactly the limit", viewers(limit / 4), ""},
		{"a page of customers", page, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.gql(t, token, tc.query, nil)
			if tc.wantReason == "" {
				if len(r.Errors) > 0 || !r.hasData() {
					t.Fatalf("HTTP %d: %.500s", r.Status, r.Raw)
				}
				return
			}
			if r.hasData() || r.ext("code") != "BAD_USER_INPUT" || r.ext("reason") != tc.wantReason {
				t.Errorf("HTTP %d: %.500s; want BAD_USER_INPUT, reason %s, no data", r.Status, r.Raw, tc.wantReason)
			}
		})
	}
	r := f.gql(t, token, page, nil)
	var out struct{ Customers struct{ TotalCount int } }
	r.decode(t, &out)
	if out.Customers.TotalCount != 3 {
		t.Errorf("totalCount = %d, want 3", out.Customers.TotalCount)
	}
}
