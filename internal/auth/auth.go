// Package auth signs staff in and out, resolves bearer tokens to the staff
// viewer, and carries that viewer and their company through a context.
// Its ent calls run as the system (privacy.Allow): sign-in and session lookup
// happen before there is a viewer, and sessions are system-only rows.
package auth

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"cardfile/ent"
	"cardfile/ent/auditevent"
	"cardfile/ent/predicate"
	"cardfile/ent/privacy"
	"cardfile/ent/session"
	"cardfile/ent/staff"
	"cardfile/internal/apperr"
	"cardfile/internal/audit"
	"cardfile/internal/db"
	"cardfile/internal/ratelimit"
	"cardfile/internal/secret"
	"cardfile/internal/viewer"

	"golang.org/x/crypto/bcrypt"
)

// Config holds the session and sign-in limits.
type Config struct {
	// IdleTimeout ends a session this long after its last use.
	IdleTimeout time.Duration
	// AbsoluteLifetime ends a session this long after sign-in, however busy.
	AbsoluteLifetime time.Duration
	// MaxFailedLogins wrong passwords in a row lock the account.
	MaxFailedLogins int
	// Lockout is how long a locked account stays locked.
	Lockout time.Duration
	// BcryptCost is the cost for new password hashes; 0 means bcrypt.DefaultCost.
	BcryptCost int
	// TrustProxy makes the middleware take the client IP from the last
	// X-Forwarded-For entry; set it only behind a proxy that sets that header.
	TrustProxy bool
	// LoginsPerMinute limits sign-in attempts per client IP (30 when zero), so
	// nobody can lock out accounts wholesale or guess passwords quickly.
	LoginsPerMinute int
	// Logins counts sign-in attempts per IP; nil counts them in this
	// process. Replicas share one (ratelimit.For) so together they allow
	// what one allows.
	Logins ratelimit.Limiter
	// Sessions hears when a staff member's sessions end or change, so that
	// every replica ends their live feeds at once; nil tells nobody (open
	// subscriptions then notice at their periodic recheck).
	Sessions SessionEvents
}

// SessionEvents is told when a staff member's sessions end or their rights
// change (the events broker).
type SessionEvents interface {
	StaffChanged(ctx context.Context, staffID int) error
}

// LoginRate is the sign-in attempts allowed per IP and minute.
func (c Config) LoginRate() int { return cmp.Or(c.LoginsPerMinute, 30) }

// DefaultConfig returns the production limits: 15 min idle, 12 h absolute, 10 failures, 30 min lockout.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:      15 * time.Minute,
		AbsoluteLifetime: 12 * time.Hour,
		MaxFailedLogins:  10,
		Lockout:          30 * time.Minute,
	}
}

// Service signs staff in and resolves their sessions.
type Service struct {
	db  *db.DB
	cfg Config
	now func() time.Time
	// dummyHash is compared against for unknown emails so that the
	// answer takes as long as for a known one.
	dummyHash []byte
	logins    ratelimit.Limiter
}

// New returns a Service on client; a nil now means time.Now.
func New(d *db.DB, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("cardfile dummy password"), cfg.BcryptCost)
	if err != nil {
		panic(fmt.Sprintf("auth: bcrypt cost %d: %v", cfg.BcryptCost, err))
	}
	logins := cfg.Logins
	if logins == nil {
		logins = ratelimit.New(cfg.LoginRate(), cfg.LoginRate())
	}
	return &Service{db: d, cfg: cfg, now: now, dummyHash: dummy, logins: logins}
}

// Client-visible messages; each is the only answer for its whole class of failure.
const (
	msgInvalidCredentials = "invalid email or password"
	msgSessionExpired     = "your session has expired; sign in again"
)

// tokenPrefix marks cardfile session tokens so they are recognisable in a leak scan.
const tokenPrefix = "cfs_"

// maxTokenLen bounds what Authenticate will hash: the prefix plus 43 base64 characters, with room to spare.
const maxTokenLen = 128

// system is ctx with the privacy policies bypassed, for work done without a staff viewer.
func system(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

func errInvalidCredentials() error { return apperr.New(apperr.Unauthenticated, msgInvalidCredentials) }

func errSessionExpired() error { return apperr.New(apperr.Unauthenticated, msgSessionExpired) }

// LoginResult is a new session: the bearer token (shown once), the instant
// after which it lapses if unused, and who signed in. GraphQL answers it as
// the LoginPayload.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	Staff     *ent.Staff

	staffViewer *viewer.Staff
	company     *ent.Company
}

// SignedIn returns ctx carrying the viewer and company of the new session,
// as a request sent with its token would: what a login answers about the
// staff member is resolved as them, not as the anonymous caller.
func (r *LoginResult) SignedIn(ctx context.Context) context.Context {
	return signedIn(ctx, r.staffViewer, r.company)
}

func signedIn(ctx context.Context, v *viewer.Staff, company *ent.Company) context.Context {
	return WithCompany(viewer.NewContext(ctx, v), company)
}

// Login checks email and password and opens a session for originIP.
func (s *Service) Login(ctx context.Context, email, password, originIP string) (LoginResult, error) {
	if ok, err := s.logins.Allow(ctx, originIP); err != nil {
		return LoginResult{}, err
	} else if !ok {
		return LoginResult{}, apperr.New(apperr.RateLimited, "too many sign-in attempts from here; wait a minute and try again")
	}
	email = normalizeEmail(email)
	if email == "" {
		return LoginResult{}, apperr.BadInput("email", "enter your email address")
	}
	if password == "" {
		return LoginResult{}, apperr.BadInput("password", "enter your password")
	}
	if len(password) > maxPasswordBytes {
		// No account can have such a password: bcrypt would have refused to hash it.
		return LoginResult{}, errInvalidCredentials()
	}
	sys := system(ctx)
	st, err := s.db.Staff.Query().Where(staff.Email(email)).WithCompany().Only(sys)
	if ent.IsNotFound(err) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return LoginResult{}, errInvalidCredentials()
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("looking up staff by email: %w", err)
	}
	now := s.now()
	if st.LockedUntil != nil && now.Before(*st.LockedUntil) {
		// The same work and answer as a wrong password: a different one would
		// tell whoever is guessing that the account exists.
		_ = bcrypt.CompareHashAndPassword([]byte(st.PasswordHash), []byte(password))
		if err := s.auditLocked(viewer.WithOrigin(sys, originIP), st); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, errInvalidCredentials()
	}
	if bcrypt.CompareHashAndPassword([]byte(st.PasswordHash), []byte(password)) != nil {
		if err := s.recordFailure(sys, st.ID, now); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, errInvalidCredentials()
	}
	if !st.Active {
		return LoginResult{}, errInvalidCredentials()
	}

	company := st.Edges.Company
	token, hash := secret.New(tokenPrefix)
	var sess *ent.Session
	err = s.db.Tx(sys, func(tx *db.Tx) error {
		st, err = tx.Staff.UpdateOne(st).
			SetFailedLogins(0).ClearLockedUntil().SetLastLoginAt(now).
			Save(sys)
		if err != nil {
			return fmt.Errorf("recording sign-in: %w", err)
		}
		sess, err = tx.Session.Create().
			SetStaffID(st.ID).
			SetTokenHash(hash).
			SetCreatedAt(now).
			SetLastSeenAt(now).
			SetExpiresAt(now.Add(s.cfg.AbsoluteLifetime)).
			SetOriginIP(truncate(originIP, 64)).
			Save(sys)
		if err != nil {
			return fmt.Errorf("creating session: %w", err)
		}
		return nil
	})
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{
		Token: token, ExpiresAt: s.expiry(now, now.Add(s.cfg.AbsoluteLifetime)), Staff: st,
		staffViewer: staffViewer(st, company, sess.ID), company: company,
	}, nil
}

// auditLocked records a sign-in refused because the account is locked. The
// caller proved nothing, so the system is the actor and the staff member
// the subject.
func (s *Service) auditLocked(ctx context.Context, st *ent.Staff) error {
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		return audit.RecordAs(ctx, tx, audit.Actor{Kind: auditevent.ActorKindSYSTEM, CompanyID: st.CompanyID}, audit.Entry{
			Action: "staff.login", SubjectType: "Staff", SubjectID: st.ID, Outcome: auditevent.OutcomeDENIED,
			Details: map[string]any{"email": st.Email, "reason": "account locked"},
		})
	})
}

// recordFailure counts a wrong password and locks the account at the limit.
// The increment is an UPDATE … SET failed_logins = failed_logins + 1 whose
// row lock (PostgreSQL) or write lock (SQLite) lasts until the lock decision
// commits, so concurrent attempts cannot lose counts or skip the limit.
func (s *Service) recordFailure(ctx context.Context, staffID int, now time.Time) error {
	return s.db.Tx(ctx, func(tx *db.Tx) error {
		st, err := tx.Staff.UpdateOneID(staffID).AddFailedLogins(1).Save(ctx)
		if err != nil {
			return fmt.Errorf("counting failed sign-in: %w", err)
		}
		if st.FailedLogins < s.cfg.MaxFailedLogins {
			return nil
		}
		err = tx.Staff.UpdateOneID(staffID).
			SetLockedUntil(now.Add(s.cfg.Lockout)).SetFailedLogins(0).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("locking account: %w", err)
		}
		return nil
	})
}

// expiry is when a session last seen at lastSeen lapses: idle or absolute, whichever comes first.
func (s *Service) expiry(lastSeen, absolute time.Time) time.Time {
	idle := lastSeen.Add(s.cfg.IdleTimeout)
	if idle.Before(absolute) {
		return idle
	}
	return absolute
}

// Authenticate resolves a bearer token to the staff viewer and their company.
func (s *Service) Authenticate(ctx context.Context, token string) (*viewer.Staff, *ent.Company, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxTokenLen {
		return nil, nil, errSessionExpired()
	}
	sys := system(ctx)
	sess, err := s.db.Session.Query().
		Where(session.TokenHash(secret.Hash(token))).
		WithStaff(func(q *ent.StaffQuery) { q.WithCompany() }).
		Only(sys)
	if ent.IsNotFound(err) {
		return nil, nil, errSessionExpired()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("looking up session: %w", err)
	}
	now := s.now()
	st := sess.Edges.Staff
	if now.After(s.expiry(sess.LastSeenAt, sess.ExpiresAt)) || st == nil || !st.Active || st.Edges.Company == nil {
		err := s.db.Session.DeleteOneID(sess.ID).Exec(sys)
		if err != nil && !ent.IsNotFound(err) {
			return nil, nil, apperr.Wrap(fmt.Errorf("deleting dead session: %w", err), apperr.Unauthenticated, msgSessionExpired)
		}
		return nil, nil, errSessionExpired()
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		// Conditional, so concurrent requests write at most once per minute.
		err := s.db.Session.Update().
			Where(session.ID(sess.ID), session.LastSeenAtLT(now.Add(-time.Minute))).
			SetLastSeenAt(now).
			Exec(sys)
		if err != nil {
			return nil, nil, fmt.Errorf("touching session: %w", err)
		}
	}
	return staffViewer(st, st.Edges.Company, sess.ID), st.Edges.Company, nil
}

// staffViewer is the viewer for staff member st of company in session sessionID.
func staffViewer(st *ent.Staff, company *ent.Company, sessionID int) *viewer.Staff {
	return &viewer.Staff{
		StaffID:        st.ID,
		CompanyID:      st.CompanyID,
		Role:           st.Role,
		CanManageCards: CanManageCards(company, st.Role),
		SessionID:      sessionID,
	}
}

// Attach authenticates token and returns ctx carrying the viewer and their
// company; for a rejected token it returns ctx marked expired and the reason.
// Other errors (the database) come back with ctx unchanged.
func (s *Service) Attach(ctx context.Context, token string) (context.Context, error) {
	v, company, err := s.Authenticate(ctx, token)
	if err != nil {
		if apperr.CodeOf(err) == apperr.Unauthenticated {
			return context.WithValue(ctx, expiredKey{}, true), err
		}
		return ctx, err
	}
	return signedIn(ctx, v, company), nil
}

// Logout ends the session of token; an unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxTokenLen {
		return nil
	}
	return s.end(ctx, session.TokenHash(secret.Hash(token)))
}

// EndSession ends the session with id sessionID (the viewer's own, for
// logout over a connection that holds no raw token); an unknown id is not an error.
func (s *Service) EndSession(ctx context.Context, sessionID int) error {
	return s.end(ctx, session.ID(sessionID))
}

// end deletes the session matching where and tells every replica, so that
// its open subscriptions end now rather than at their next recheck.
func (s *Service) end(ctx context.Context, where predicate.Session) error {
	sys := system(ctx)
	sess, err := s.db.Session.Query().Where(where).Only(sys)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding session: %w", err)
	}
	if err := s.db.Session.DeleteOneID(sess.ID).Exec(sys); err != nil && !ent.IsNotFound(err) {
		return fmt.Errorf("deleting session: %w", err)
	}
	return s.StaffChanged(ctx, sess.StaffID)
}

// StaffChanged tells every replica that staffID's sessions or rights
// changed (call it after a deactivation or a role change commits): their
// open subscriptions recheck at once and end if no longer allowed.
func (s *Service) StaffChanged(ctx context.Context, staffID int) error {
	if s.cfg.Sessions == nil {
		return nil
	}
	if err := s.cfg.Sessions.StaffChanged(ctx, staffID); err != nil {
		return fmt.Errorf("announcing a change to staff %d's sessions: %w", staffID, err)
	}
	return nil
}

// PurgeExpired deletes sessions past their idle or absolute expiry and returns how many.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	now := s.now()
	n, err := s.db.Session.Delete().
		Where(session.Or(
			session.ExpiresAtLT(now),
			session.LastSeenAtLT(now.Add(-s.cfg.IdleTimeout)),
		)).
		Exec(system(ctx))
	if err != nil {
		return 0, fmt.Errorf("purging expired sessions: %w", err)
	}
	return n, nil
}

// CanManageCards reports whether role may manage cards in company (the default card managers when the company lists none).
func CanManageCards(company *ent.Company, role viewer.Role) bool {
	roles := viewer.DefaultCardManagers
	if company != nil && len(company.CardManagerRoles) > 0 {
		roles = company.CardManagerRoles
	}
	return slices.Contains(roles, role)
}

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

type companyKey struct{}

// WithCompany returns ctx carrying the viewer's company.
func WithCompany(ctx context.Context, c *ent.Company) context.Context {
	return context.WithValue(ctx, companyKey{}, c)
}

// CompanyFromContext returns the viewer's company, or nil for an anonymous caller.
func CompanyFromContext(ctx context.Context) *ent.Company {
	c, _ := ctx.Value(companyKey{}).(*ent.Company)
	return c
}

type expiredKey struct{}

// ExpiredFromContext reports whether the caller presented a session token that was no good.
func ExpiredFromContext(ctx context.Context) bool {
	b, _ := ctx.Value(expiredKey{}).(bool)
	return b
}

// StillValid reports whether an open session may go on receiving live
// updates, and for how long at most (until its absolute expiry): it exists,
// its absolute lifetime has not passed, and its staff member is active and
// may still manage cards. An open subscription counts as activity, so the
// idle timeout does not end it; this read touches nothing.
func (s *Service) StillValid(ctx context.Context, sessionID int) (left time.Duration, ok bool, err error) {
	sess, err := s.db.Session.Query().Where(session.ID(sessionID)).
		WithStaff(func(q *ent.StaffQuery) { q.WithCompany() }).Only(system(ctx))
	if ent.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("checking session: %w", err)
	}
	st := sess.Edges.Staff
	left = sess.ExpiresAt.Sub(s.now())
	return left, left > 0 && st != nil && st.Active && st.Edges.Company != nil &&
		CanManageCards(st.Edges.Company, st.Role), nil
}
