package auth

import (
	"context"
	"fmt"
	"unicode/utf8"

	"cardfile/ent"
	"cardfile/ent/company"
	"cardfile/ent/session"
	"cardfile/internal/apperr"
	"cardfile/internal/db"
	"cardfile/internal/textguard"
	"cardfile/internal/viewer"

	"golang.org/x/crypto/bcrypt"
)

const (
	// minPasswordChars is the shortest password accepted for an account.
	minPasswordChars = 10
	// maxPasswordBytes is bcrypt's limit: it ignores (and this package refuses) anything longer.
	maxPasswordBytes = 72
	maxEmailLen      = 254
	maxNameChars     = 200
)

// NewStaff is a staff account to create.
type NewStaff struct {
	CompanyID int
	Email     string
	Name      string
	Role      viewer.Role
	Password  string
}

// CreateStaff validates and creates a staff account with a bcrypt password hash.
func (s *Service) CreateStaff(ctx context.Context, in NewStaff) (*ent.Staff, error) {
	email, err := textguard.Email("email", normalizeEmail(in.Email))
	if err != nil {
		return nil, err
	}
	name, err := textguard.Text("name", in.Name, maxNameChars, true)
	if err != nil {
		return nil, err
	}
	if !in.Role.Valid() {
		return nil, apperr.BadInput("role", "unknown role %q", in.Role)
	}
	hash, err := s.hashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	sys := system(ctx)
	exists, err := s.db.Company.Query().Where(company.ID(in.CompanyID)).Exist(sys)
	if err != nil {
		return nil, fmt.Errorf("checking company %d: %w", in.CompanyID, err)
	}
	if !exists {
		return nil, apperr.NotFoundf("company %d not found", in.CompanyID)
	}
	st, err := s.db.Staff.Create().
		SetCompanyID(in.CompanyID).
		SetEmail(email).
		SetName(name).
		SetRole(in.Role).
		SetPasswordHash(hash).
		Save(sys)
	if ent.IsConstraintError(err) {
		// The company exists, so the one constraint left is the unique email.
		return nil, apperr.Wrap(err, apperr.Conflict, "a staff member with that email already exists")
	}
	if err != nil {
		return nil, fmt.Errorf("creating staff: %w", err)
	}
	return st, nil
}

// SetPassword replaces a staff member's password, unlocks the account and
// ends their sessions, so a reset also signs out whoever had the old one.
func (s *Service) SetPassword(ctx context.Context, staffID int, password string) error {
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	sys := system(ctx)
	return s.db.Tx(sys, func(tx *db.Tx) error {
		err := tx.Staff.UpdateOneID(staffID).
			SetPasswordHash(hash).SetFailedLogins(0).ClearLockedUntil().
			Exec(sys)
		if ent.IsNotFound(err) {
			return apperr.NotFoundf("staff %d not found", staffID)
		}
		if err != nil {
			return fmt.Errorf("setting password: %w", err)
		}
		if _, err := tx.Session.Delete().Where(session.StaffID(staffID)).Exec(sys); err != nil {
			return fmt.Errorf("ending sessions: %w", err)
		}
		return nil
	})
}

// hashPassword checks a new password's length and returns its bcrypt hash.
func (s *Service) hashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < minPasswordChars {
		return "", apperr.BadInput("password", "password must be at least %d characters", minPasswordChars)
	}
	if len(password) > maxPasswordBytes {
		return "", apperr.BadInput("password", "password must be at most %d bytes", maxPasswordBytes)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(hash), nil
}
