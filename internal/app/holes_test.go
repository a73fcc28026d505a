package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"cardfile/ent/auditevent"
	"cardfile/ent/cardrequest"
	"cardfile/internal/app"
	"cardfile/internal/secret"
	"cardfile/internal/viewer"
)

const (
	resendQ     = `mutation($id: ID!) { resendCardRequest(id: $id) { id status } }`
	cancelQ     = `mutation($id: ID!) { cancelCardRequest(id: $id) { id status } }`
	msgReplaced = "this request was replaced by a newer link; resend or cancel the newest request instead"
)

// liveRequests counts the customer's requests whose link still works.
func (h *harness) liveRequests(customerID int) int {
	h.t.Helper()
	return h.app.DB.CardRequest.Query().Where(cardrequest.CustomerID(customerID),
		cardrequest.StatusIn(cardrequest.StatusPENDING, cardrequest.StatusOPENED)).CountX(h.sys)
}

// Only the newest request of a resend chain can be resent or cancelled:
// an older one answers CONFLICT and sends nothing, and the chain keeps its
// one working link.
func TestReplacedRequestCannotBeResentOrCancelled(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := tn.customers[0]

	original := h.requestCard(staff, fmt.Sprint(cust.ID), "ap@buyer.example")
	originalToken := linkToken(t, h.outbox(1)[0])
	var first struct{ ResendCardRequest requestOut }
	h.gql(staff, resendQ, map[string]any{"id": original.ID}).decode(t, &first)
	firstToken := linkToken(t, h.outbox(2)[0])

	for name, q := range map[string]string{"resend": resendQ, "cancel": cancelQ} {
		r := h.gql(staff, q, map[string]any{"id": original.ID})
		if r.code() != "CONFLICT" || r.Errors[0].Message != msgReplaced {
			t.Errorf("%s of the replaced original: %s", name, r.Raw)
		}
	}
	if n := h.app.DB.CardRequest.Query().CountX(h.sys); n != 2 {
		t.Fatalf("%d card requests after refused calls, want 2", n)
	}
	if r := h.gql("", formQ, map[string]any{"t": originalToken}); r.code() != "LINK_UNAVAILABLE" {
		t.Errorf("the original's link: %s", r.Raw)
	}
	if r := h.gql("", formQ, map[string]any{"t": firstToken}); r.code() != "" {
		t.Errorf("the first resend's link: %s", r.Raw)
	}
	if n := h.liveRequests(cust.ID); n != 1 {
		t.Errorf("%d live links in the chain, want 1", n)
	}

	// The newest request stays usable: cancel it, then resend it.
	h.gql(staff, cancelQ, map[string]any{"id": first.ResendCardRequest.ID}).decode(t, &struct{}{})
	var second struct{ ResendCardRequest requestOut }
	h.gql(staff, resendQ, map[string]any{"id": first.ResendCardRequest.ID}).decode(t, &second)
	if second.ResendCardRequest.Status != "PENDING" {
		t.Fatalf("resend of the cancelled newest request = %+v", second.ResendCardRequest)
	}
	for _, id := range []string{original.ID, first.ResendCardRequest.ID} {
		if r := h.gql(staff, resendQ, map[string]any{"id": id}); r.code() != "CONFLICT" {
			t.Errorf("resend of replaced request %s: %s", id, r.Raw)
		}
	}
	if n := h.liveRequests(cust.ID); n != 1 {
		t.Errorf("%d live links in the chain, want 1", n)
	}
}

// Concurrent resends of one request make one replacement; the others answer
// CONFLICT (never INTERNAL or a deadlock). The request is cancelled first:
// a cancelled request is resent without a revoke that would serialize them.
func TestConcurrentResendsMakeOneLiveLink(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 1)
	staff := tn.tokens[viewer.Admin]
	cust := tn.customers[0]
	req := h.requestCard(staff, fmt.Sprint(cust.ID), "ap@buyer.example")
	h.gql(staff, cancelQ, map[string]any{"id": req.ID}).decode(t, &struct{}{})

	codes := make([]string, 8)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = h.gql(staff, resendQ, map[string]any{"id": req.ID}).code() })
	}
	wg.Wait()
	oneWins(t, codes, "CONFLICT")
	if n := h.liveRequests(cust.ID); n != 1 {
		t.Errorf("%d live links, want 1", n)
	}
}

// oneWins fails unless exactly one of concurrent calls' codes is success
// ("") and every other one is loser.
func oneWins(t *testing.T, codes []string, loser string) {
	t.Helper()
	ok := 0
	for _, c := range codes {
		switch c {
		case "":
			ok++
		case loser:
		default:
			t.Fatalf("a call failed with %s: %v", c, codes)
		}
	}
	if ok != 1 {
		t.Fatalf("%d calls succeeded, want 1: %v", ok, codes)
	}
}

// errorsOf is the raw "errors" member of a response.
func errorsOf(t *testing.T, r gqlResponse) string {
	t.Helper()
	var body struct {
		Data   json.RawMessage
		Errors json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.Raw), &body); err != nil {
		t.Fatal(err)
	}
	if string(body.Data) != "null" || len(body.Errors) == 0 {
		t.Fatalf("want data null and errors: %s", r.Raw)
	}
	return string(body.Errors)
}

// A locked account answers a sign-in exactly as a wrong password and an
// unknown account do, so the answer does not tell that it exists; the
// attempt is still audited.
func TestLockedAccountAnswersLikeAWrongPassword(t *testing.T) {
	h := newHarness(t, func(o *app.Options) { o.Auth.LoginsPerMinute = 1000 })
	tn := h.newTenant("Blossom", 0)
	st := tn.staff[viewer.Admin]
	const loginQ = `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token } }`
	try := func(email, password string) string {
		return errorsOf(t, h.gql("", loginQ, map[string]any{"e": email, "p": password}))
	}

	wrong := try(st.Email, "not the password")
	for range 9 {
		try(st.Email, "not the password")
	}
	if locked := h.app.DB.Staff.GetX(h.sys, st.ID).LockedUntil; locked == nil {
		t.Fatal("10 wrong passwords did not lock the account")
	}
	answers := map[string]string{
		"unknown account":          try("nobody@blossom.test", "correct horse battery"),
		"locked, right password":   try(st.Email, "correct horse battery"),
		"locked, wrong password":   try(st.Email, "not the password"),
		"wrong password, unlocked": try(tn.staff[viewer.Viewer].Email, "not the password"),
	}
	for why, got := range answers {
		if got != wrong {
			t.Errorf("%s answered\n%s\nwrong password answered\n%s", why, got, wrong)
		}
	}
	events := h.app.DB.AuditEvent.Query().Where(auditevent.Action("staff.login"), auditevent.SubjectID(st.ID)).AllX(h.sys)
	if len(events) != 2 {
		t.Fatalf("%d audit events for sign-ins to the locked account, want 2", len(events))
	}
	for _, e := range events {
		if e.Outcome != auditevent.OutcomeDENIED || e.ActorKind != auditevent.ActorKindSYSTEM || e.CompanyID != tn.company.ID ||
			e.SubjectType != "Staff" || e.OriginIP == "" || e.Details["reason"] != "account locked" {
			t.Errorf("audit event = %+v", e)
		}
	}
}

// sessionHashes is the token hash of every session, sorted.
func (h *harness) sessionHashes() [][]byte {
	h.t.Helper()
	var out [][]byte
	for _, s := range h.app.DB.Session.Query().AllX(h.sys) {
		out = append(out, s.TokenHash)
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// A login's payload resolves as the staff member it signed in, so asking for
// their company works; and a session exists only if its token reached the
// client.
func TestLoginPayloadResolvesAsTheNewSession(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 0)
	email := tn.staff[viewer.Viewer].Email
	vars := map[string]any{"e": email, "p": "correct horse battery"}

	before := h.sessionHashes()
	var out struct {
		Login struct {
			Token string
			Staff struct {
				CanManageCards bool
				Company        struct{ ID, Name string }
			}
		}
	}
	h.gql("", `mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { token staff { canManageCards company { id name } } } }`, vars).decode(t, &out)
	if out.Login.Token == "" || out.Login.Staff.Company.ID != fmt.Sprint(tn.company.ID) || out.Login.Staff.Company.Name != "Blossom" ||
		out.Login.Staff.CanManageCards {
		t.Fatalf("login = %+v", out.Login)
	}
	want := append(slices.Clone(before), secret.Hash(out.Login.Token))
	slices.SortFunc(want, bytes.Compare)
	if got := h.sessionHashes(); !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("sessions hold %d tokens, want the %d before plus the one the client got", len(got), len(before))
	}
}

// A sibling field that fails would null the response, token and all, and
// leave a session nobody holds: login refuses to share its operation, and
// so creates nothing.
func TestLoginIsAloneInItsOperation(t *testing.T) {
	h := newHarness(t)
	tn := h.newTenant("Blossom", 0)
	vars := map[string]any{"e": tn.staff[viewer.Viewer].Email, "p": "correct horse battery"}
	before := h.sessionHashes()
	r := h.gql("", `mutation($e: String!, $p: String!) {
		a: login(input: {email: $e, password: $p}) { token }
		b: login(input: {email: $e, password: "wrong password"}) { token }
	}`, vars)
	if r.code() != "BAD_USER_INPUT" || r.field() != "login" {
		t.Fatalf("two logins in one operation: %s", r.Raw)
	}
	if got := h.sessionHashes(); !slices.EqualFunc(got, before, bytes.Equal) {
		t.Fatalf("a refused operation left %d sessions, want %d", len(got), len(before))
	}
	if r := h.gql("", `mutation($e: String!, $p: String!) { __typename login(input: {email: $e, password: $p}) { token } }`, vars); r.code() != "" {
		t.Fatalf("login beside __typename: %s", r.Raw)
	}
}
