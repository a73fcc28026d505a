package auth_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cardfile/ent"
	"cardfile/ent/privacy"
	"cardfile/ent/session"
	"cardfile/ent/staff"
	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/db"
	"cardfile/internal/db/dbtest"
	"cardfile/internal/viewer"

	"golang.org/x/crypto/bcrypt"
)

const goodPassword = "correct horse battery"

// clock is the injected time source; tests move it by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	db      *db.DB
	svc     *auth.Service
	clock   *clock
	company *ent.Company
	sys     context.Context
}

func testConfig() auth.Config {
	cfg := auth.DefaultConfig()
	cfg.BcryptCost = bcrypt.MinCost
	return cfg
}

func setup(t *testing.T, cfg auth.Config) *fixture {
	t.Helper()
	d := dbtest.Open(t)
	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	c := &clock{t: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)}
	return &fixture{
		db:      d,
		svc:     auth.New(d, cfg, c.Now),
		clock:   c,
		company: d.Company.Create().SetName("Acme").SaveX(sys),
		sys:     sys,
	}
}

func (f *fixture) staff(t *testing.T, email string, role viewer.Role) *ent.Staff {
	t.Helper()
	st, err := f.svc.CreateStaff(context.Background(), auth.NewStaff{
		CompanyID: f.company.ID, Email: email, Name: "Test " + string(role), Role: role, Password: goodPassword,
	})
	if err != nil {
		t.Fatalf("CreateStaff(%s): %v", email, err)
	}
	return st
}

func (f *fixture) login(t *testing.T, email string) auth.LoginResult {
	t.Helper()
	res, err := f.svc.Login(context.Background(), email, goodPassword, "198.51.100.7")
	if err != nil {
		t.Fatalf("Login(%s): %v", email, err)
	}
	return res
}

func (f *fixture) reload(t *testing.T, id int) *ent.Staff {
	t.Helper()
	return f.db.Staff.GetX(f.sys, id)
}

func (f *fixture) sessionCount(t *testing.T) int {
	t.Helper()
	return f.db.Session.Query().CountX(f.sys)
}

// wantErr fails unless err is an apperr with code and message.
func wantErr(t *testing.T, err error, code apperr.Code, msg string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("error = %v, want %s %q", err, code, msg)
	}
	if e.Code != code || e.Message != msg {
		t.Fatalf("error = %s %q, want %s %q", e.Code, e.Message, code, msg)
	}
}

const (
	msgInvalid = "invalid email or password"
	msgExpired = "your session has expired; sign in again"
)

func TestLoginStoresOnlyTheTokensHash(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	now := f.clock.Now()

	res, err := f.svc.Login(context.Background(), "  Ana@ACME.test ", goodPassword, "198.51.100.7")
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !strings.HasPrefix(res.Token, "cfs_") || len(res.Token) != len("cfs_")+43 {
		t.Fatalf("token %q: want cfs_ + 43 base64url characters", res.Token)
	}
	if !res.ExpiresAt.Equal(now.Add(15 * time.Minute)) {
		t.Errorf("ExpiresAt = %v, want idle expiry %v", res.ExpiresAt, now.Add(15*time.Minute))
	}
	if res.Staff == nil || res.Staff.ID != st.ID {
		t.Fatalf("Staff = %v, want staff %d", res.Staff, st.ID)
	}

	sess := f.db.Session.Query().OnlyX(f.sys)
	sum := sha256.Sum256([]byte(res.Token))
	if !bytes.Equal(sess.TokenHash, sum[:]) {
		t.Errorf("stored token_hash %x, want sha256(token) %x", sess.TokenHash, sum)
	}
	if sess.StaffID != st.ID || sess.OriginIP != "198.51.100.7" {
		t.Errorf("session staff %d origin %q, want %d 198.51.100.7", sess.StaffID, sess.OriginIP, st.ID)
	}
	if !sess.ExpiresAt.Equal(now.Add(12*time.Hour)) || !sess.LastSeenAt.Equal(now) {
		t.Errorf("session expires %v last seen %v, want %v and %v", sess.ExpiresAt, sess.LastSeenAt, now.Add(12*time.Hour), now)
	}
	if got := f.reload(t, st.ID).LastLoginAt; got == nil || !got.Equal(now) {
		t.Errorf("last_login_at = %v, want %v", got, now)
	}

	// No column of any session row holds the token or its random part.
	secret := strings.TrimPrefix(res.Token, "cfs_")
	rows, err := f.db.SQL.Query("SELECT * FROM sessions")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bytes.Contains(v, []byte(secret)) {
				t.Errorf("column %s holds the raw token", cols[i])
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("scanned %d session rows, want 1", n)
	}
}

func TestLoginFailuresAllLookTheSame(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	gone := f.staff(t, "gone@acme.test", viewer.Admin)
	f.db.Staff.UpdateOneID(gone.ID).SetActive(false).ExecX(f.sys)

	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", "ana@acme.test", "not the password"},
		{"unknown email", "nobody@acme.test", goodPassword},
		{"inactive staff, right password", "gone@acme.test", goodPassword},
		{"password beyond bcrypt's 72 bytes", "ana@acme.test", goodPassword + strings.Repeat("x", 72)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.svc.Login(context.Background(), tc.email, tc.password, "")
			wantErr(t, err, apperr.Unauthenticated, msgInvalid)
			if res.Token != "" {
				t.Errorf("got a token with an error")
			}
		})
	}
	if n := f.sessionCount(t); n != 0 {
		t.Errorf("%d sessions after failed sign-ins, want 0", n)
	}
}

func TestLoginRequiresEmailAndPassword(t *testing.T) {
	f := setup(t, testConfig())
	for _, tc := range []struct{ name, email, password, field string }{
		{"empty email", "   ", goodPassword, "email"},
		{"empty password", "ana@acme.test", "", "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Login(context.Background(), tc.email, tc.password, "")
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadUserInput || e.Field != tc.field {
				t.Fatalf("error = %v, want BAD_USER_INPUT on %s", err, tc.field)
			}
		})
	}
}

func TestTenWrongPasswordsLockTheAccount(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	ctx := context.Background()

	for i := 1; i <= 10; i++ {
		_, err := f.svc.Login(ctx, "ana@acme.test", "wrong password", "")
		wantErr(t, err, apperr.Unauthenticated, msgInvalid)
		if i < 10 {
			if got := f.reload(t, st.ID).FailedLogins; got != i {
				t.Fatalf("after %d failures failed_logins = %d", i, got)
			}
		}
	}
	got := f.reload(t, st.ID)
	if got.LockedUntil == nil || !got.LockedUntil.Equal(f.clock.Now().Add(30*time.Minute)) || got.FailedLogins != 0 {
		t.Fatalf("after 10 failures locked_until = %v failed_logins = %d, want now+30m and 0", got.LockedUntil, got.FailedLogins)
	}

	// The right password is refused while locked, without counting as a
	// failure, with the wrong password's answer: a locked account must not
	// tell that it exists.
	_, err := f.svc.Login(ctx, "ana@acme.test", goodPassword, "")
	wantErr(t, err, apperr.Unauthenticated, msgInvalid)
	f.clock.Advance(29*time.Minute + 59*time.Second)
	_, err = f.svc.Login(ctx, "ana@acme.test", goodPassword, "")
	wantErr(t, err, apperr.Unauthenticated, msgInvalid)
	if n := f.db.AuditEvent.Query().CountX(f.sys); n != 2 {
		t.Errorf("%d audit events for two sign-ins to the locked account, want 2", n)
	}

	f.clock.Advance(time.Second)
	f.login(t, "ana@acme.test")
	got = f.reload(t, st.ID)
	if got.LockedUntil != nil || got.FailedLogins != 0 {
		t.Errorf("after sign-in locked_until = %v failed_logins = %d, want nil and 0", got.LockedUntil, got.FailedLogins)
	}
}

func TestSuccessfulLoginResetsTheFailureCount(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	ctx := context.Background()
	for range 2 {
		for range 9 {
			_, err := f.svc.Login(ctx, "ana@acme.test", "wrong password", "")
			wantErr(t, err, apperr.Unauthenticated, msgInvalid)
		}
		f.login(t, "ana@acme.test")
	}
	if got := f.reload(t, st.ID); got.LockedUntil != nil || got.FailedLogins != 0 {
		t.Errorf("locked_until = %v failed_logins = %d, want nil and 0", got.LockedUntil, got.FailedLogins)
	}
}

func TestConcurrentWrongPasswordsAreAllCounted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		max        int
		wantCount  int // -1: attempts that read the row after the lock are refused uncounted
		wantLocked bool
	}{
		{"every attempt counts", 100, 20, false},
		{"the limit locks", 10, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxFailedLogins = tc.max
			f := setup(t, cfg)
			st := f.staff(t, "ana@acme.test", viewer.Admin)

			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() {
					_, err := f.svc.Login(context.Background(), "ana@acme.test", "wrong password", "")
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if apperr.CodeOf(err) != apperr.Unauthenticated {
					t.Fatalf("concurrent attempt: %v", err)
				}
			}
			got := f.reload(t, st.ID)
			if (tc.wantCount >= 0 && got.FailedLogins != tc.wantCount) || (got.LockedUntil != nil) != tc.wantLocked {
				t.Fatalf("failed_logins = %d locked_until = %v, want %d locked=%v",
					got.FailedLogins, got.LockedUntil, tc.wantCount, tc.wantLocked)
			}
			if tc.wantLocked {
				_, err := f.svc.Login(context.Background(), "ana@acme.test", goodPassword, "")
				wantErr(t, err, apperr.Unauthenticated, msgInvalid)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		valid bool
	}{
		{"used 14m59s after last use", 14*time.Minute + 59*time.Second, true},
		{"used 15m01s after last use", 15*time.Minute + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, testConfig())
			f.staff(t, "ana@acme.test", viewer.Admin)
			res := f.login(t, "ana@acme.test")
			// Used once after five minutes: the idle clock restarts from there.
			f.clock.Advance(5 * time.Minute)
			if _, _, err := f.svc.Authenticate(context.Background(), res.Token); err != nil {
				t.Fatalf("Authenticate at 5m: %v", err)
			}

			f.clock.Advance(tc.after)
			v, _, err := f.svc.Authenticate(context.Background(), res.Token)
			if tc.valid {
				if err != nil || v == nil {
					t.Fatalf("Authenticate: %v, want valid", err)
				}
				return
			}
			wantErr(t, err, apperr.Unauthenticated, msgExpired)
			if n := f.sessionCount(t); n != 0 {
				t.Errorf("dead session kept: %d rows", n)
			}
		})
	}
}

func TestRecentUseDoesNotWrite(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	start := f.clock.Now()

	f.clock.Advance(59 * time.Second)
	if _, _, err := f.svc.Authenticate(context.Background(), res.Token); err != nil {
		t.Fatal(err)
	}
	if got := f.db.Session.Query().OnlyX(f.sys).LastSeenAt; !got.Equal(start) {
		t.Errorf("last_seen_at = %v after use within a minute, want unchanged %v", got, start)
	}
	f.clock.Advance(2 * time.Second)
	if _, _, err := f.svc.Authenticate(context.Background(), res.Token); err != nil {
		t.Fatal(err)
	}
	if got := f.db.Session.Query().OnlyX(f.sys).LastSeenAt; !got.Equal(f.clock.Now()) {
		t.Errorf("last_seen_at = %v after use past a minute, want %v", got, f.clock.Now())
	}
}

func TestAbsoluteLifetime(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	for i := 1; i < 72; i++ { // every 10 minutes up to 11h50m
		f.clock.Advance(10 * time.Minute)
		if _, _, err := f.svc.Authenticate(context.Background(), res.Token); err != nil {
			t.Fatalf("Authenticate at %v: %v", time.Duration(i)*10*time.Minute, err)
		}
	}
	f.clock.Advance(10*time.Minute + time.Second) // 12h00m01s
	_, _, err := f.svc.Authenticate(context.Background(), res.Token)
	wantErr(t, err, apperr.Unauthenticated, msgExpired)
}

func TestLogoutEndsTheSession(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	other := f.login(t, "ana@acme.test")
	ctx := context.Background()

	if _, _, err := f.svc.Authenticate(ctx, res.Token); err != nil {
		t.Fatalf("Authenticate before logout: %v", err)
	}
	if err := f.svc.Logout(ctx, res.Token); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, _, err := f.svc.Authenticate(ctx, res.Token)
	wantErr(t, err, apperr.Unauthenticated, msgExpired)
	if _, _, err := f.svc.Authenticate(ctx, other.Token); err != nil {
		t.Errorf("the other session died too: %v", err)
	}
	for _, tok := range []string{res.Token, "cfs_unknown", "garbage", ""} {
		if err := f.svc.Logout(ctx, tok); err != nil {
			t.Errorf("Logout(%q) = %v, want nil", tok, err)
		}
	}
}

func TestEndSessionEndsOnlyThatSession(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	other := f.login(t, "ana@acme.test")
	ctx := context.Background()
	v, _, err := f.svc.Authenticate(ctx, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EndSession(ctx, v.SessionID); err != nil {
		t.Fatalf("EndSession: %v", err)
	}
	_, _, err = f.svc.Authenticate(ctx, res.Token)
	wantErr(t, err, apperr.Unauthenticated, msgExpired)
	if _, _, err := f.svc.Authenticate(ctx, other.Token); err != nil {
		t.Errorf("the other session died too: %v", err)
	}
	if err := f.svc.EndSession(ctx, v.SessionID); err != nil {
		t.Errorf("EndSession of an ended session = %v, want nil", err)
	}
}

func TestAuthenticateRejectsInactiveStaff(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	f.db.Staff.UpdateOneID(st.ID).SetActive(false).ExecX(f.sys)
	_, _, err := f.svc.Authenticate(context.Background(), res.Token)
	wantErr(t, err, apperr.Unauthenticated, msgExpired)
	if n := f.sessionCount(t); n != 0 {
		t.Errorf("inactive staff's session kept: %d rows", n)
	}
}

func TestAuthenticateReturnsTheViewer(t *testing.T) {
	f := setup(t, testConfig())
	st := f.staff(t, "sam@acme.test", viewer.Salesperson)
	res := f.login(t, "sam@acme.test")
	v, company, err := f.svc.Authenticate(context.Background(), res.Token)
	if err != nil {
		t.Fatal(err)
	}
	sess := f.db.Session.Query().OnlyX(f.sys)
	want := viewer.Staff{StaffID: st.ID, CompanyID: f.company.ID, Role: viewer.Salesperson, CanManageCards: false, SessionID: sess.ID}
	if *v != want {
		t.Errorf("viewer = %+v, want %+v", *v, want)
	}
	if company == nil || company.ID != f.company.ID {
		t.Errorf("company = %v, want %d", company, f.company.ID)
	}

	// The company's own card-manager setting decides, read with the session.
	f.db.Company.UpdateOneID(f.company.ID).
		SetCardManagerRoles([]viewer.Role{viewer.Admin, viewer.Salesperson}).ExecX(f.sys)
	v, _, err = f.svc.Authenticate(context.Background(), res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if !v.CanManageCards {
		t.Errorf("SALESPERSON in a company allowing SALESPERSON: CanManageCards = false")
	}
}

// A login's result carries the same viewer and company as a later request
// with its token, so its payload can be resolved as the new session.
func TestLoginSignsInTheSameViewerAsItsToken(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	ctx := res.SignedIn(context.Background())
	v, company, err := f.svc.Authenticate(context.Background(), res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got := viewer.FromContext(ctx); got == nil || *got != *v {
		t.Errorf("login's viewer = %+v, its token's = %+v", got, *v)
	}
	if got := auth.CompanyFromContext(ctx); got == nil || got.ID != company.ID {
		t.Errorf("login's company = %v, want %d", got, company.ID)
	}
}

func TestCanManageCards(t *testing.T) {
	withRoles := func(roles ...viewer.Role) *ent.Company { return &ent.Company{CardManagerRoles: roles} }
	defaults := withRoles(viewer.DefaultCardManagers...)
	allowSales := withRoles(append(append([]viewer.Role{}, viewer.DefaultCardManagers...), viewer.Salesperson)...)
	noAllocation := withRoles(viewer.Admin, viewer.SalesManager, viewer.CreditManager)
	for _, tc := range []struct {
		name    string
		company *ent.Company
		role    viewer.Role
		want    bool
	}{
		{"default: admin", defaults, viewer.Admin, true},
		{"default: sales manager", defaults, viewer.SalesManager, true},
		{"default: sales allocation", defaults, viewer.SalesAllocation, true},
		{"default: credit manager", defaults, viewer.CreditManager, true},
		{"default: salesperson", defaults, viewer.Salesperson, false},
		{"default: accounts receivable", defaults, viewer.AccountsReceivable, false},
		{"default: viewer", defaults, viewer.Viewer, false},
		{"empty list falls back: credit manager", withRoles(), viewer.CreditManager, true},
		{"empty list falls back: salesperson", withRoles(), viewer.Salesperson, false},
		{"no company falls back: admin", nil, viewer.Admin, true},
		{"company allows salesperson", allowSales, viewer.Salesperson, true},
		{"company allows salesperson: still not viewer", allowSales, viewer.Viewer, false},
		{"company removes sales allocation", noAllocation, viewer.SalesAllocation, false},
		{"company removes sales allocation: admin kept", noAllocation, viewer.Admin, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := auth.CanManageCards(tc.company, tc.role); got != tc.want {
				t.Errorf("CanManageCards(%s) = %v, want %v", tc.role, got, tc.want)
			}
		})
	}
}

func TestNewCompanyUsesDefaultCardManagers(t *testing.T) {
	f := setup(t, testConfig())
	for _, r := range viewer.Roles {
		want := r == viewer.Admin || r == viewer.SalesManager || r == viewer.SalesAllocation || r == viewer.CreditManager
		if got := auth.CanManageCards(f.company, r); got != want {
			t.Errorf("new company, %s: CanManageCards = %v, want %v", r, got, want)
		}
	}
}

func TestPurgeExpired(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	old := f.login(t, "ana@acme.test")
	f.clock.Advance(10 * time.Minute)
	fresh := f.login(t, "ana@acme.test")
	f.clock.Advance(5*time.Minute + time.Second) // old is idle 15m01s, fresh 5m01s

	n, err := f.svc.PurgeExpired(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("PurgeExpired = %d, %v; want 1", n, err)
	}
	if _, _, err := f.svc.Authenticate(context.Background(), fresh.Token); err != nil {
		t.Errorf("fresh session purged: %v", err)
	}
	sum := sha256.Sum256([]byte(old.Token))
	if f.db.Session.Query().Where(session.TokenHash(sum[:])).ExistX(f.sys) {
		t.Errorf("idle session not purged")
	}
}

func TestErrorsDoNotLeakTheToken(t *testing.T) {
	f := setup(t, testConfig())
	f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	f.clock.Advance(time.Hour)
	_, _, err := f.svc.Authenticate(context.Background(), res.Token)
	if err == nil || strings.Contains(fmt.Sprint(err), res.Token) || errors.Unwrap(err) != nil {
		t.Errorf("expired-session error %v: want no cause and no token", err)
	}
}

// Sign-in attempts are limited per client IP, whatever the account.
func TestLoginsAreLimitedPerIP(t *testing.T) {
	d := dbtest.Open(t)
	cfg := auth.DefaultConfig()
	cfg.BcryptCost, cfg.LoginsPerMinute = bcrypt.MinCost, 5
	svc := auth.New(d, cfg, nil)
	for i := range 5 {
		if _, err := svc.Login(context.Background(), fmt.Sprintf("nobody%d@acme.test", i), "wrong password", "198.51.100.7"); apperr.CodeOf(err) != apperr.Unauthenticated {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if _, err := svc.Login(context.Background(), "someone@acme.test", "wrong password", "198.51.100.7"); apperr.CodeOf(err) != apperr.RateLimited {
		t.Fatalf("6th attempt from one IP: %v, want RATE_LIMITED", err)
	}
	if _, err := svc.Login(context.Background(), "someone@acme.test", "wrong password", "198.51.100.8"); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Fatalf("another IP was limited too: %v", err)
	}
}

// BenchmarkLoginRefusals compares the work behind the one refusal answer at
// the production bcrypt cost: an unknown email, a wrong password and a
// locked account should cost about the same, so timing tells no more than
// the answer does.
func BenchmarkLoginRefusals(b *testing.B) {
	d := dbtest.Open(b)
	sys := privacy.DecisionContext(context.Background(), privacy.Allow)
	cfg := auth.DefaultConfig()
	cfg.MaxFailedLogins, cfg.LoginsPerMinute = 1<<30, 1<<30
	svc := auth.New(d, cfg, nil)
	co := d.Company.Create().SetName("Acme").SaveX(sys)
	for _, email := range []string{"ana@acme.test", "lee@acme.test"} {
		if _, err := svc.CreateStaff(sys, auth.NewStaff{CompanyID: co.ID, Email: email, Name: email, Role: viewer.Admin, Password: goodPassword}); err != nil {
			b.Fatal(err)
		}
	}
	d.Staff.Update().Where(staff.Email("lee@acme.test")).SetLockedUntil(time.Now().Add(time.Hour)).ExecX(sys)
	for _, bc := range []struct{ name, email, password string }{
		{"unknown email", "nobody@acme.test", goodPassword},
		{"wrong password", "ana@acme.test", "not the password"},
		{"locked, right password", "lee@acme.test", goodPassword},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Login(context.Background(), bc.email, bc.password, ""); apperr.CodeOf(err) != apperr.Unauthenticated {
					b.Fatalf("Login: %v", err)
				}
			}
		})
	}
}
