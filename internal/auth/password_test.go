package auth_test

import (
	"context"
	"strings"
	"testing"

	"cardfile/internal/apperr"
	"cardfile/internal/auth"
	"cardfile/internal/viewer"

	"golang.org/x/crypto/bcrypt"
)

func TestCreateStaffValidates(t *testing.T) {
	f := setup(t, testConfig())
	valid := auth.NewStaff{CompanyID: f.company.ID, Email: "ana@acme.test", Name: "Ana", Role: viewer.Admin, Password: goodPassword}
	for _, tc := range []struct {
		name  string
		edit  func(*auth.NewStaff)
		field string
	}{
		{"empty email", func(n *auth.NewStaff) { n.Email = " " }, "email"},
		{"email without @", func(n *auth.NewStaff) { n.Email = "ana.acme.test" }, "email"},
		{"email with display name", func(n *auth.NewStaff) { n.Email = "Ana <ana@acme.test>" }, "email"},
		{"empty name", func(n *auth.NewStaff) { n.Name = "  " }, "name"},
		{"name too long", func(n *auth.NewStaff) { n.Name = strings.Repeat("n", 201) }, "name"},
		{"card number in the name", func(n *auth.NewStaff) { n.Name = "Ana 4111.1111.1111.1111" }, "name"},
		{"unknown role", func(n *auth.NewStaff) { n.Role = "OWNER" }, "role"},
		{"empty role", func(n *auth.NewStaff) { n.Role = "" }, "role"},
		{"password of 9 characters", func(n *auth.NewStaff) { n.Password = "123456789" }, "password"},
		{"password of 73 bytes", func(n *auth.NewStaff) { n.Password = strings.Repeat("p", 73) }, "password"},
		{"9 characters in more bytes", func(n *auth.NewStaff) { n.Password = "ééééééééé" }, "password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid
			tc.edit(&in)
			_, err := f.svc.CreateStaff(context.Background(), in)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.BadUserInput || e.Field != tc.field {
				t.Fatalf("error = %v, want BAD_USER_INPUT on %s", err, tc.field)
			}
		})
	}
	if n := f.db.Staff.Query().CountX(f.sys); n != 0 {
		t.Errorf("%d staff created from invalid input", n)
	}
}

func TestCreateStaff(t *testing.T) {
	f := setup(t, testConfig())
	ctx := context.Background()
	st, err := f.svc.CreateStaff(ctx, auth.NewStaff{
		CompanyID: f.company.ID, Email: " Ana@Acme.TEST ", Name: " Ana Lima ", Role: viewer.CreditManager,
		Password: strings.Repeat("p", 72), // bcrypt's limit is allowed
	})
	if err != nil {
		t.Fatal(err)
	}
	got := f.reload(t, st.ID)
	if got.Email != "ana@acme.test" || got.Name != "Ana Lima" || got.Role != viewer.CreditManager || !got.Active {
		t.Errorf("created %q %q %s active=%v", got.Email, got.Name, got.Role, got.Active)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(got.PasswordHash), []byte(strings.Repeat("p", 72))); err != nil {
		t.Errorf("password_hash is not a bcrypt hash of the password: %v", err)
	}
	if _, err := f.svc.Login(ctx, "ana@acme.test", strings.Repeat("p", 72), ""); err != nil {
		t.Errorf("new staff cannot sign in: %v", err)
	}

	_, err = f.svc.CreateStaff(ctx, auth.NewStaff{
		CompanyID: f.company.ID, Email: "ANA@acme.test", Name: "Other Ana", Role: viewer.Viewer, Password: goodPassword,
	})
	if apperr.CodeOf(err) != apperr.Conflict {
		t.Errorf("duplicate email (other case): %v, want CONFLICT", err)
	}

	_, err = f.svc.CreateStaff(ctx, auth.NewStaff{
		CompanyID: f.company.ID + 1000, Email: "bo@acme.test", Name: "Bo", Role: viewer.Viewer, Password: goodPassword,
	})
	if apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("unknown company: %v, want NOT_FOUND", err)
	}
}

func TestSetPassword(t *testing.T) {
	f := setup(t, testConfig())
	ctx := context.Background()
	st := f.staff(t, "ana@acme.test", viewer.Admin)
	res := f.login(t, "ana@acme.test")
	for range 10 {
		_, _ = f.svc.Login(ctx, "ana@acme.test", "wrong password", "")
	}

	err := f.svc.SetPassword(ctx, st.ID, "short")
	if e, ok := apperr.As(err); !ok || e.Field != "password" {
		t.Fatalf("short password: %v, want BAD_USER_INPUT on password", err)
	}
	if err := f.svc.SetPassword(ctx, st.ID, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if got := f.reload(t, st.ID); got.LockedUntil != nil || got.FailedLogins != 0 {
		t.Errorf("after reset locked_until = %v failed_logins = %d, want unlocked", got.LockedUntil, got.FailedLogins)
	}
	if _, _, err := f.svc.Authenticate(ctx, res.Token); apperr.CodeOf(err) != apperr.Unauthenticated {
		t.Errorf("session from before the reset: %v, want UNAUTHENTICATED", err)
	}
	_, err = f.svc.Login(ctx, "ana@acme.test", goodPassword, "")
	wantErr(t, err, apperr.Unauthenticated, msgInvalid)
	if _, err := f.svc.Login(ctx, "ana@acme.test", "a brand new password", ""); err != nil {
		t.Errorf("new password refused: %v", err)
	}

	if err := f.svc.SetPassword(ctx, st.ID+1000, "a brand new password"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("unknown staff: %v, want NOT_FOUND", err)
	}
}
