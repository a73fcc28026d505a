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
	"cardfile/internal/db/dbtest"
	"cardfile/internal/gateway/sandbox"
	"cardfile/internal/jobs"
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

// unchanged is what a refused call may leave behind, and no more (the
// rules for dbtest.Checksums):
//   - River's own bookkeeping (leader election, queues, clients, migrations,
//     notifications) changes by itself and is left out;
//   - river_job is checked by identity only (id, kind, queue, args): a
//     refused call must enqueue no job, but jobs enqueued earlier change
//     state as they run, and the periodic jobs (jobs.PeriodicKinds) insert
//     rows on their own;
//   - audit_events leaves out DENIED and FAILED rows: refusals are audited
//     on purpose, and h.refusals checks those rows separately;
//   - rate_limits (PostgreSQL's shared buckets) counts every call, refused
//     or not, by design, and is left out.
//
// Every other table, present and future, must hash the same.
var unchanged = map[string]dbtest.Rule{
	"river_leader":       {Skip: true},
	"river_queue":        {Skip: true},
	"river_client":       {Skip: true},
	"river_client_queue": {Skip: true},
	"river_migration":    {Skip: true},
	"river_notification": {Skip: true},
	"river_job":          {Columns: []string{"id", "kind", "queue", "args"}, Where: "kind NOT IN ('" + strings.Join(jobs.PeriodicKinds(), "', '") + "')"},
	"audit_events":       {Where: "outcome NOT IN ('DENIED', 'FAILED')"},
	"rate_limits":        {Skip: true},
}

// checksums is a checksum of every table's rows (see unchanged).
func (h *harness) checksums() map[string]string {
	h.t.Helper()
	return dbtest.Checksums(h.t, h.app.DB.SQL, h.app.DB.Dialect, unchanged)
}

// snapshot renders h.checksums, one table a line, so a test can show a
// refused call changed nothing with before != after.
func (h *harness) snapshot() string {
	h.t.Helper()
	sums := h.checksums()
	lines := make([]string, 0, len(sums))
	for table, sum := range sums {
		lines = append(lines, table+" "+sum)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// refusals lists the outcomes of the audit events written after the one
// with id last (0 for all), oldest first: what a refused call audited.
func (h *harness) refusals(last int) []string {
	h.t.Helper()
	var out []string
	for _, e := range h.app.DB.AuditEvent.Query().Where(auditevent.IDGT(last)).Order(ent.Asc(auditevent.FieldID)).AllX(h.sys) {
		out = append(out, string(e.Outcome)+" "+e.Action)
	}
	return out
}

// lastAuditID is the newest audit event's id, or 0.
func (h *harness) lastAuditID() int {
	h.t.Helper()
	ids := h.app.DB.AuditEvent.Query().Order(ent.Desc(auditevent.FieldID)).Limit(1).IDsX(h.sys)
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
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
