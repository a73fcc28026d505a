package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/privacy"
	"cardfile/internal/app"
	"cardfile/internal/app/apptest"
	"cardfile/internal/auth"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/viewer"

	"github.com/riverqueue/river/rivertype"
)

// harness is a whole cardfile (the real handler, database and sandbox
// gateway) driven through HTTP the way a browser would, with a fake clock
// and every log line and response body kept for leak checks.
type harness struct {
	t         testing.TB
	app       *app.App
	clock     *clock
	logs      *apptest.Log
	responses *apptest.Log
	sys       context.Context
	// requests, when set, is the context every request is sent under.
	requests context.Context
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newHarness(t testing.TB, opts ...func(*app.Options)) *harness {
	t.Helper()
	h := &harness{
		t:         t,
		clock:     &clock{t: time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)},
		logs:      &apptest.Log{},
		responses: &apptest.Log{},
		sys:       privacy.DecisionContext(context.Background(), privacy.Allow),
	}
	o := apptest.Options(t, h.logs)
	o.Now = h.clock.Now
	for _, f := range opts {
		f(&o)
	}
	a, err := app.New(context.Background(), o)
	if err != nil {
		t.Fatalf("starting cardfile: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	h.app = a
	return h
}

// tenant is a company with one signed-in staff member per role and some customers.
type tenant struct {
	company   *ent.Company
	staff     map[viewer.Role]*ent.Staff
	tokens    map[viewer.Role]string
	customers []*ent.Customer
}

func (h *harness) newTenant(name string, customers int) *tenant {
	h.t.Helper()
	co := h.app.DB.Company.Create().SetName(name).SaveX(h.sys)
	tn := &tenant{company: co, staff: map[viewer.Role]*ent.Staff{}, tokens: map[viewer.Role]string{}}
	slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
	for _, r := range viewer.Roles {
		email := fmt.Sprintf("%s@%s.test", strings.ToLower(string(r)), slug)
		s, err := h.app.Auth.CreateStaff(h.sys, auth.NewStaff{CompanyID: co.ID, Email: email, Name: string(r), Role: r, Password: "correct horse battery"})
		if err != nil {
			h.t.Fatalf("creating %s: %v", r, err)
		}
		tn.staff[r] = s
		tn.tokens[r] = h.login(email, "correct horse battery")
	}
	for i := 1; i <= customers; i++ {
		tn.customers = append(tn.customers, h.app.DB.Customer.Create().SetCompanyID(co.ID).
			SetCode(fmt.Sprintf("C%04d", i)).SetName(fmt.Sprintf("%s Customer %03d", name, i)).
			SetEmail(fmt.Sprintf("ap%d@%s.example", i, slug)).SaveX(h.sys))
	}
	return tn
}

func (h *harness) login(email, password string) string {
	h.t.Helper()
	r := h.gql("", `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`,
		map[string]any{"e": email, "p": password})
	var out struct{ Login struct{ Token string } }
	r.decode(h.t, &out)
	return out.Login.Token
}

type gqlError struct {
	Message    string
	Path       []any
	Extensions map[string]any
}

type gqlResponse struct {
	Status int
	Data   json.RawMessage
	Errors []gqlError
	Raw    string
}

// code is the first error's extensions.code, or "" when there is none.
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func (r gqlResponse) field() string {
	if len(r.Errors) == 0 {
		return ""
	}
	f, _ := r.Errors[0].Extensions["field"].(string)
	return f
}

// decode fails the test on any error and decodes data into v.
func (r gqlResponse) decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 || r.Status != http.StatusOK {
		t.Fatalf("GraphQL call failed (HTTP %d): %s", r.Status, r.Raw)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

func (h *harness) gql(token, query string, vars map[string]any) gqlResponse {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return h.post(token, "application/json", body)
}

func (h *harness) post(token, contentType string, body []byte) gqlResponse {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	if h.requests != nil {
		req = req.WithContext(h.requests)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.app.Handler.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	h.responses.Write(append(raw, '\n'))
	r := gqlResponse{Status: rec.Code, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		h.t.Fatalf("response is not JSON (HTTP %d): %s", rec.Code, raw)
	}
	return r
}

// paymentToken tokenizes a card at the sandbox, as the hosted fields would.
func (h *harness) paymentToken(number string) string {
	h.t.Helper()
	cvc := "999"
	if strings.HasPrefix(number, "34") || strings.HasPrefix(number, "37") {
		cvc = "9999"
	}
	res, err := h.app.Sandbox.Tokenize(context.Background(), sandbox.CardInput{
		Number: number, ExpMonth: 12, ExpYear: h.clock.Now().Year() + 3, CVC: cvc, PostalCode: "12345", Name: "Pat Buyer",
	})
	if err != nil {
		h.t.Fatalf("tokenizing a test card: %v", err)
	}
	return res.Token
}

// snapshot describes every card, customer and successful audit event, so a
// test can show a refused call changed nothing. Denied attempts are audited
// on purpose and are left out.
func (h *harness) snapshot() string {
	h.t.Helper()
	var lines []string
	for _, c := range h.app.DB.CreditCard.Query().AllX(h.sys) {
		lines = append(lines, fmt.Sprintf("card %d cust=%d %s %s %02d/%d desc=%q primary=%v", c.ID, c.CustomerID, c.Brand, c.Last4, c.ExpMonth, c.ExpYear, c.Description, c.IsPrimary))
	}
	for _, c := range h.app.DB.Customer.Query().AllX(h.sys) {
		lines = append(lines, fmt.Sprintf("customer %d %s %s", c.ID, c.Code, c.Name))
	}
	n := h.app.DB.AuditEvent.Query().Where(auditevent.OutcomeNEQ(auditevent.OutcomeDENIED)).CountX(h.sys)
	lines = append(lines, fmt.Sprintf("audit events %d", n))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// quickRetry retries failed jobs after 50 ms, so retry tests take moments.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(50 * time.Millisecond)
}

func withPublicRate(perMinute int) func(*app.Options) {
	return func(o *app.Options) { o.PublicPerMinute = perMinute }
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
